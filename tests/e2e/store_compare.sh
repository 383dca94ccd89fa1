#!/usr/bin/env bash
# store_compare.sh CLI WORKDIR E2E_DIR
# The results store end to end: bench records runs, `results` lists, shows,
# exports and tags them, `compare` flags a deliberately slowed model (the same
# CNN with eight extra 3x3 convolutions after its two, ~5x the work) and does not
# flag ten pairs of identical runs, two concurrent benches into one store lose
# nothing, and a run cut by --max-duration-ms is marked invalid.
#
# Threshold: these VMs drift up to 1.6x between identical passes, and no
# within-run test can see that drift (each run's samples share its moment), so
# the gate uses --threshold 100%, while the slowed model is far beyond it. A
# 2x drift was seen once (one slow worker, below), so a flagged identical pair
# is confirmed on a fresh pair before the test fails. The default 5% is also run on the
# identical pairs and only reported, as a measurement of this machine. p99
# and throughput are shown but do not gate (compare's default): a stall from
# another process has moved them 2x between identical runs here, the median
# 1.4x at worst.
set -u
cli=$1 work=$2 e2e=$3
rm -rf "$work" && mkdir -p "$work"
store=$work/results.db
fail() { echo "FAIL: $*"; exit 1; }
/usr/bin/python3 "$e2e/make_compare_models.py" "$work/models" || fail "cannot write the models"
rules=(--backends opencv --threads 1 --min-duration-ms 300 --min-count 50 --warmup 5 --warmup-ms 100 --quiet)
bench=("${rules[@]}" --store "$store")

"$cli" bench "$work/models/base/cnn.onnx" "${bench[@]}" --json "$work/base.json" >"$work/base.out" || fail "base bench"
"$cli" results tag 1 baseline --store "$store" | grep -q "tag baseline -> run 1" || fail "results tag"
"$cli" bench "$work/models/slow/cnn.onnx" "${bench[@]}" --json "$work/slow.json" >"$work/slow.out" || fail "slow bench"

# The slowed model: flagged from the store (raw samples: Mann-Whitney) and
# from the JSON files (no samples: the medians' CIs).
"$cli" compare baseline 2 --threshold 100% --store "$store" --json "$work/cmp.json" >"$work/cmp.out"
code=$?
cat "$work/cmp.out"
[ $code -eq 1 ] || fail "compare of the slowed model exited $code, expected 1"
/usr/bin/python3 - "$work/cmp.json" <<'PY' || fail "compare JSON"
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["schema"] == "inferlab.compare/1" and doc["regression"], doc
row = doc["rows"][0]
p50 = next(f for f in row["figures"] if f["name"] == "p50_ms")
assert p50["verdict"] == "regression" and "Mann-Whitney" in p50["test"], p50
assert "sha256" in row["note"], row
print("slowed model: p50 %.3f -> %.3f ms (%+.0f%%)" % (p50["base"], p50["new"], 100 * p50["change"]))
PY
"$cli" compare "$work/base.json" "$work/slow.json" --threshold 100% >"$work/cmp_files.out"
code=$?
[ $code -eq 1 ] || fail "compare of the JSON files exited $code, expected 1"
grep -q "95% CIs of the medians do not overlap" "$work/cmp_files.out" || fail "JSON compare did not use the CIs"

# Ten pairs of identical runs: run 1 (baseline) and runs 3..12, consecutive.
for i in $(seq 1 10); do
  "$cli" bench "$work/models/base/cnn.onnx" "${bench[@]}" >/dev/null || fail "identical bench $i"
done
alarms_5=0
prev=1
for run in $(seq 3 12); do
  "$cli" compare $prev $run --threshold 100% --store "$store" --json "$work/same.json" >"$work/same.out"
  code=$?
  [ $code -le 1 ] || { cat "$work/same.out"; fail "compare of identical runs $prev and $run exited $code"; }
  if [ $code -eq 1 ]; then
    # A worker process here sometimes runs 2-3x slower for its whole life
    # (measured 2026-12-07: identical runs 1.20 -> 3.07 ms p50; a plain
    # oneDNN loop outside inferlab does it too), so a flag on an identical
    # pair fails only when a fresh identical pair, in a store of its own, is
    # flagged as well.
    cat "$work/same.out"
    rstore=$work/retry_$run.db
    for k in 1 2; do
      "$cli" bench "$work/models/base/cnn.onnx" "${rules[@]}" --store "$rstore" >/dev/null || fail "retry bench $k"
    done
    "$cli" compare 1 2 --threshold 100% --store "$rstore" >"$work/retry.out"
    code=$?
    [ $code -eq 0 ] || { cat "$work/retry.out"; fail "identical runs flagged at 100% twice: $prev vs $run, then a fresh pair"; }
    echo "identical $prev vs $run flagged, a fresh identical pair not: one slow worker"
  fi
  /usr/bin/python3 -c "import json,sys; f=[x for x in json.load(open(sys.argv[1]))['rows'][0]['figures'] if x['name']=='p50_ms'][0]; print('identical %s vs %s: p50 %+.1f%% (%s)' % (sys.argv[2], sys.argv[3], 100*f['change'], f['test']))" "$work/same.json" $prev $run
  "$cli" compare $prev $run --store "$store" >/dev/null
  [ $? -eq 1 ] && alarms_5=$((alarms_5 + 1))
  prev=$run
done
echo "identical pairs flagged at the default 5% threshold: $alarms_5 of 10 (informational)"

# results list / show / export.
"$cli" results list --store "$store" >"$work/list.out" || fail "results list"
grep -q "12 run(s)" "$work/list.out" || fail "results list count: $(tail -1 "$work/list.out")"
grep -q "baseline" "$work/list.out" || fail "results list shows no tag"
"$cli" results list --store "$store" --model nope | grep -q "^0 run(s)" || fail "results list --model filter"
"$cli" results list --store "$store" --machine "$(hostname)" | grep -q "12 run(s)" || fail "results list --machine"
"$cli" results list --store "$store" --since 2999-01-01 | grep -q "^0 run(s)" || fail "results list --since"
"$cli" results show 2 --store "$store" --json "$work/show.json" >"$work/show.out" || fail "results show"
grep -q "cnn" "$work/show.out" || fail "results show lists no row"
"$cli" results export --store "$store" --backend opencv --csv "$work/all.csv" --json "$work/all.json" >/dev/null ||
  fail "results export"
[ "$(wc -l <"$work/all.csv")" -eq 13 ] || fail "export CSV has $(wc -l <"$work/all.csv") lines, expected 13"
/usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert len(d['results'])==12 and len(d['runs'])==12, d.keys()" "$work/all.json" ||
  fail "export JSON"

# Two benches at once into one store: every row of both arrives.
cstore=$work/concurrent.db
for k in 1 2; do
  "$cli" bench "$work/models/base/cnn.onnx" --backends null --batch 1,2,4,8 --min-duration-ms 50 --min-count 5 \
    --warmup 1 --warmup-ms 0 --quiet --store "$cstore" >"$work/concurrent$k.out" &
done
wait
/usr/bin/python3 - "$cstore" <<'PY' || fail "concurrent benches lost rows"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
runs = db.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
rows = db.execute("SELECT run_id, COUNT(*) FROM results GROUP BY run_id").fetchall()
assert runs == 2 and [n for _, n in rows] == [4, 4], (runs, rows)
print("concurrent benches: 2 runs x 4 rows")
PY

# A run cut by --max-duration-ms before --min-count: recorded, marked invalid,
# footnoted in the tables; the JSONL stream beside the other outputs.
"$cli" bench "$work/models/base/cnn.onnx" --backends opencv --threads 1 --min-count 1000000 --max-duration-ms 50 \
  --warmup 1 --warmup-ms 0 --quiet --store "$store" --out "$work/cut" >"$work/cut.out" || fail "cut bench"
grep -q "invalid run: --max-duration-ms 50 stopped it" "$work/cut.out" || fail "no invalid-run footnote in the table"
grep -q "invalid run" "$work/cut/bench.md" || fail "no invalid-run footnote in the Markdown"
/usr/bin/python3 - "$work/cut/bench.jsonl" <<'PY' || fail "JSONL stream"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert lines[0]["schema"] == "inferlab.bench-stream/1", lines[0]
rows = lines[1:]
assert rows and all(r["valid"] is False and "--min-count 1000000" in r["invalid_reason"] for r in rows), rows
PY
"$cli" results show 13 --store "$store" | grep -q "invalid" || fail "results show does not mark the invalid row"
echo "ok"
