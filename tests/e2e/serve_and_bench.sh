#!/usr/bin/env bash
# serve_and_bench.sh CLI WORK E2E_DIR MODEL BOUND_MS [SERVE_FLAGS...]
# Starts `inferlab serve MODEL` on a free loopback port, drives it with
# `bench --scenario server --url ... --find-max-qps`, checks the row
# (check_serving.py url), then stops the server with SIGTERM: exit 0.
set -u
cli=$1 work=$2 e2e=$3 model=$4 bound=$5
shift 5
rm -rf "$work" && mkdir -p "$work"
"$cli" serve "$model" --port 0 "$@" >"$work/serve.out" 2>"$work/serve.err" &
server=$!
trap 'kill $server 2>/dev/null' EXIT
port=""
for _ in $(seq 1 600); do
  port=$(sed -n 's|.*at http://127.0.0.1:\([0-9]*\).*|\1|p' "$work/serve.out")
  [ -n "$port" ] && break
  kill -0 $server 2>/dev/null || { echo "FAIL: serve exited"; cat "$work/serve.err"; exit 1; }
  sleep 0.1
done
[ -n "$port" ] || { echo "FAIL: serve printed no port"; exit 1; }
"$cli" bench "$model" --scenario server --url "http://127.0.0.1:$port" --find-max-qps --latency-bound-ms "$bound" \
  --min-duration-ms 300 --min-count 10 --max-duration-ms 5000 --max-probes 6 --search-tolerance 0.2 --warmup 2 \
  --connections 8 --no-store --json "$work/b.json" >"$work/bench.out" 2>"$work/bench.err" ||
  { echo "FAIL: bench exited $?"; cat "$work/bench.err"; exit 1; }
/usr/bin/python3 "$e2e/check_serving.py" "$work/b.json" url || exit 1
kill -TERM $server
wait $server
code=$?
trap - EXIT
[ $code -eq 0 ] || { echo "FAIL: serve exited $code on SIGTERM"; cat "$work/serve.err"; exit 1; }
grep -q "stopped on signal 15" "$work/serve.out" || { echo "FAIL: no clean stop"; cat "$work/serve.out"; exit 1; }
cat "$work/bench.out" | grep -A4 "QPS achieved"
echo ok
