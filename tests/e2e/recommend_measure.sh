#!/usr/bin/env bash
# recommend_measure.sh CLI WORKDIR -- issue 14: `recommend --measure` measures
# (latency and, with --dataset, Top-1) only the configurations this machine
# has no stored row for, records them, then recommends from them; a second
# call finds everything stored and measures nothing.
set -euo pipefail
cli=$1 work=$2
rm -rf "$work" && mkdir -p "$work"
store=$work/results.db
args=(recommend digits_cnn --measure --backends native --batch 1,2 --threads 1 --dataset digits
      --min-duration-ms 200 --max-latency-ms 100000 --min-top1 0.5 --store "$store" --json "$work/rec.json")
"$cli" "${args[@]}" >"$work/first.txt" 2>"$work/first.err"
grep -q "0 configuration(s) stored for .* 2 to measure: native fp32 batch 1, native fp32 batch 2" "$work/first.txt" ||
  { echo "FAIL: first call did not plan both batches"; cat "$work/first.txt"; exit 1; }
grep -q "measuring Top-1 on digits for native" "$work/first.txt" || { echo "FAIL: no Top-1 measured"; exit 1; }
"$cli" results list --store "$store" >"$work/runs.txt"
grep -q bench "$work/runs.txt" && grep -q accuracy "$work/runs.txt" || { echo "FAIL: runs not recorded"; cat "$work/runs.txt"; exit 1; }
/usr/bin/python3 - "$work/rec.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
best = r["best"]
assert best is not None, r
assert best["backend"] == "native" and best["top1"] is not None and best["top1"] > 0.9, best
print("best:", best["backend"], best["batch"], best["top1"])
PY
"$cli" "${args[@]}" >"$work/second.txt" 2>"$work/second.err"
grep -q "2 configuration(s) stored for .* 0 to measure" "$work/second.txt" ||
  { echo "FAIL: the second call measured again"; cat "$work/second.txt"; exit 1; }
grep -q "Top-1 on digits stored for every backend" "$work/second.txt" || { echo "FAIL: Top-1 measured again"; exit 1; }
runs_after=$("$cli" results list --store "$store" | grep -c -E 'bench|accuracy')
[ "$runs_after" -eq 2 ] || { echo "FAIL: $runs_after runs after the second call, expected 2"; exit 1; }
echo "ok: measured once, recommended twice"
