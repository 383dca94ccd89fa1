#!/usr/bin/env bash
# live_prometheus.sh CLI WORKDIR SOURCE_DIR [SERVE_BACKEND]
# A real Prometheus (Debian's, started by scripts/monitoring-stack.sh on a
# free loopback port with a generated config and data folder, scraping every
# second) scrapes `inferlab live --metrics-port` and, given SERVE_BACKEND,
# `inferlab serve squeezenet1_1` after real inference requests; through
# Prometheus's HTTP API every live stage's latency histogram and serve's
# request histogram by stage must be queryable (check_prometheus.py), and
# every dashboard expression must run and return series (check_dashboard.py).
# Everything started here is stopped at the end, pass or fail.
set -u
cli=$1 work=$2 src=$3 serve_backend=${4:-}
e2e=$src/tests/e2e
. "$e2e/live_served.sh"
rm -rf "$work" && mkdir -p "$work"
fail() { echo "FAIL: $*"; exit 1; }
stack=$work/stack
serve_pid="" client_pid=""
cleanup() {
  [ -n "$client_pid" ] && kill "$client_pid" 2>/dev/null && wait "$client_pid" 2>/dev/null
  client_pid=""
  bash "$src/scripts/monitoring-stack.sh" stop --dir "$stack" >/dev/null 2>&1
  stop_live_served
  [ -n "$serve_pid" ] && kill -TERM "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null
  serve_pid=""
}
trap cleanup EXIT
[ -x /usr/bin/prometheus ] || fail "/usr/bin/prometheus is missing: scripts/install-deps.sh installs Debian's prometheus"

start_live_served "$work/live" metrics "$cli" live --source synthetic:bpm=72,noise=2 --window 5 --duration 90 \
  --monitor none --metrics-port 0 || fail "live did not start"
live_target=${LIVE_URL#http://}
live_target=${live_target%/metrics}
targets=("live=$live_target")
stages=capture,face_detect,roi_signal,inference,postprocess,bpm,display,end_to_end
expect=(--expect "live/inferlab_live_stage_latency_seconds/stage=$stages")

if [ -n "$serve_backend" ]; then
  "$cli" serve squeezenet1_1 --backend "$serve_backend" --threads 1 --port 0 >"$work/serve.out" 2>"$work/serve.err" &
  serve_pid=$!
  serve_port=""
  for _ in $(seq 1 600); do
    serve_port=$(sed -n 's|.*at http://127.0.0.1:\([0-9]*\).*|\1|p' "$work/serve.out")
    [ -n "$serve_port" ] && break
    kill -0 "$serve_pid" 2>/dev/null || fail "serve exited: $(cat "$work/serve.err")"
    sleep 0.1
  done
  [ -n "$serve_port" ] || fail "serve printed no port"
  # Real infer requests all along the scrapes (Prometheus's quantiles come
  # from rates, so the histograms must keep moving while it scrapes).
  "$cli" bench squeezenet1_1 --scenario server --url "http://127.0.0.1:$serve_port" --target-qps 4 --min-count 5 \
    --min-duration-ms 60000 --max-duration-ms 120000 --warmup 1 --no-store --quiet >"$work/serve-bench.out" 2>&1 &
  client_pid=$!
  targets+=("serve=127.0.0.1:$serve_port")
  expect+=(--expect "serve/inferlab_serve_request_duration_seconds/stage=total,queue,engine")
fi

port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
bash "$src/scripts/monitoring-stack.sh" --detach --dir "$stack" --port "$port" --interval 1s --no-grafana \
  "${targets[@]}" >"$work/stack.out" 2>&1 || fail "monitoring stack: $(cat "$work/stack.out")"
prom=http://127.0.0.1:$port
/usr/bin/python3 "$e2e/check_prometheus.py" "$prom" "${expect[@]}" --timeout 50 || fail "stage histograms"
curl -fsS "$LIVE_URL" >"$work/metrics.txt" || fail "scrape $LIVE_URL"
/usr/bin/python3 "$e2e/check_dashboard.py" --scrape "$work/metrics.txt" --prometheus "$prom" "$src"/dashboards/*.json ||
  fail "dashboard expressions in Prometheus"
cleanup
[ "$LIVE_EXIT" -eq 0 ] || fail "live exited $LIVE_EXIT after SIGTERM: $(cat "$work/live.err")"
echo PASS
