#!/usr/bin/env bash
# report_browser.sh CLI WORKDIR E2E_DIR
# HTML reports end to end: real short benches (opencv with a per-layer
# profile, null), an accuracy run on digits_cnn and a short live run go into a
# fresh store;
# `bench --html` writes the run just made and `report` the stored runs; each
# page is rendered in headless Chromium from a file:// URL and must show every
# chart (latency CDF, throughput vs batch, memory, both Pareto fronts, the
# profile bars, the live stage timings) with no console output. A missing charting library is exit 2
# with one line naming the way out.
set -u
cli=$1 work=$2 e2e=$3
rm -rf "$work" && mkdir -p "$work"
store=$work/results.db
fail() { echo "FAIL: $*"; exit 1; }
fast=(--min-duration-ms 100 --min-count 20 --warmup 2 --warmup-ms 0 --threads 1 --quiet --store "$store")

"$cli" bench digits_cnn --backends opencv,null --batch 1,4 --profile --trace-dir "$work" "${fast[@]}" \
  --html "$work/bench.html" >"$work/bench.out" || fail "bench --html: $(tail -3 "$work/bench.out")"
grep -q "wrote $work/bench.html" "$work/bench.out" || fail "bench did not say it wrote the page"
"$cli" accuracy digits_cnn --dataset digits --backends opencv --store "$store" >"$work/acc.out" || fail "accuracy"
"$cli" live --source synthetic:bpm=72,noise=2 --duration 2 --pace max --monitor none --store "$store" \
  >"$work/live.out" || fail "live: $(tail -3 "$work/live.out")"
"$cli" report --store "$store" -o "$work/report.html" >"$work/report.out" || fail "report: $(cat "$work/report.out")"
grep -q "3 run(s)" "$work/report.out" || fail "report did not pick the bench, accuracy and live runs: $(cat "$work/report.out")"

all=(latency-cdf throughput-batch memory pareto-accuracy pareto-memory profile-0 live-stages)
/usr/bin/python3 "$e2e/check_report_page.py" "$work/report.html" "$work" "${all[@]}" || fail "report.html in Chromium"
# bench --html has no accuracy rows: its Pareto front of Top-1 is explained, not drawn.
/usr/bin/python3 "$e2e/check_report_page.py" "$work/bench.html" "$work" latency-cdf throughput-batch memory \
  pareto-memory profile-0 || fail "bench.html in Chromium"
grep -q "not drawn: no bench row has a matching accuracy row" "$work/bench.html" ||
  grep -q "run inferlab accuracy" "$work/bench.html" || fail "bench.html does not say why the Top-1 front is missing"
grep -q "no successful live run among these runs" "$work/bench.html" || fail "bench.html does not say why the live chart is missing"

# --runs by id and by tag.
"$cli" results tag 1 base --store "$store" >/dev/null || fail "tag"
"$cli" report --runs base,2 --store "$store" -o "$work/tagged.html" | grep -q "2 run(s)" || fail "report --runs base,2"

# No charting library: exit 2, one line, nothing written.
INFERLAB_CHARTS_DIR=$work/no-charts "$cli" report --store "$store" -o "$work/none.html" 2>"$work/none.err"
code=$?
[ $code -eq 2 ] || fail "report without the charting library exited $code, expected 2"
[ "$(wc -l <"$work/none.err")" -eq 1 ] && grep -q "fetch-charts.sh" "$work/none.err" || fail "stderr: $(cat "$work/none.err")"
[ ! -e "$work/none.html" ] || fail "a page was written without the charting library"
"$cli" report --runs 999 --store "$store" -o "$work/x.html" 2>"$work/bad.err"
[ $? -eq 2 ] && grep -q "no such run" "$work/bad.err" || fail "report --runs 999: $(cat "$work/bad.err")"
echo "PASS"
