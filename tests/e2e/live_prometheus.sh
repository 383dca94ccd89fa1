#!/usr/bin/env bash
# live_prometheus.sh CLI WORKDIR SOURCE_DIR
# A real Prometheus (Debian's, started by scripts/monitoring-stack.sh on a
# free loopback port with a generated config and data folder, scraping every
# second) scrapes `inferlab live --metrics-port`; through Prometheus's HTTP API
# every stage's latency histogram must be queryable (check_prometheus.py) and
# every dashboard expression must run and return series (check_dashboard.py).
# Everything started here is stopped at the end, pass or fail.
#
# More scrape targets join by adding to `targets` and `expect` (e.g. a
# `serve=127.0.0.1:PORT` target and its request histogram).
set -u
cli=$1 work=$2 src=$3
e2e=$src/tests/e2e
. "$e2e/live_served.sh"
rm -rf "$work" && mkdir -p "$work"
fail() { echo "FAIL: $*"; exit 1; }
stack=$work/stack
cleanup() {
  bash "$src/scripts/monitoring-stack.sh" stop --dir "$stack" >/dev/null 2>&1
  stop_live_served
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
