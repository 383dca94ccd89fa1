#!/usr/bin/env bash
# live_metrics_dashboard.sh CLI WORKDIR SOURCE_DIR
# `inferlab live --metrics-port 0` on the synthetic source: once the first
# heart-rate reading is in, GET /metrics must carry every stage's latency
# histogram and the frame, queue, memory, CPU and power series, and every
# expression of the dashboards in dashboards/ must name only metrics that
# scrape really has (check_dashboard.py). The run then stops cleanly on SIGTERM.
set -u
cli=$1 work=$2 src=$3
e2e=$src/tests/e2e
. "$e2e/live_served.sh"
rm -rf "$work" && mkdir -p "$work"
fail() { echo "FAIL: $*"; exit 1; }
trap stop_live_served EXIT

start_live_served "$work/live" metrics "$cli" live --source synthetic:bpm=72,noise=2 --window 5 --duration 60 \
  --monitor none --metrics-port 0 --json "$work/live.json" || fail "live did not start"
for _ in $(seq 300); do
  curl -fsS "$LIVE_URL" >"$work/metrics.txt" 2>/dev/null && grep -q '^inferlab_live_bpm ' "$work/metrics.txt" && break
  sleep 0.2
done
grep -q '^inferlab_live_bpm ' "$work/metrics.txt" || fail "no heart-rate reading on $LIVE_URL within 60 s"
for stage in capture face_detect roi_signal inference postprocess bpm display end_to_end; do
  grep -q "^inferlab_live_stage_latency_seconds_bucket{stage=\"$stage\",le=\"+Inf\"} [1-9]" "$work/metrics.txt" ||
    fail "no timings in the $stage histogram"
done
for series in inferlab_live_frames_processed_total inferlab_live_frames_dropped_total \
  'inferlab_live_queue_depth_frames{queue="inference"}' process_resident_memory_bytes process_cpu_seconds_total \
  'inferlab_live_backend_info{backend="'; do
  grep -qF "$series" "$work/metrics.txt" || fail "/metrics lacks $series"
done
grep -q '^inferlab_power_watts \|^inferlab_power_unavailable_info{reason="n/a: ' "$work/metrics.txt" ||
  fail "/metrics has neither a power reading nor the reason there is none"
/usr/bin/python3 "$e2e/check_dashboard.py" --scrape "$work/metrics.txt" "$src"/dashboards/*.json || fail "dashboard"
stop_live_served
[ "$LIVE_EXIT" -eq 0 ] || fail "live exited $LIVE_EXIT after SIGTERM: $(cat "$work/live.err")"
[ -s "$work/live.json" ] || fail "live wrote no JSON after SIGTERM"
echo PASS
