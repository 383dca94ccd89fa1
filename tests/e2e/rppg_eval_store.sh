#!/usr/bin/env bash
# rppg_eval_store.sh CLI WORKDIR -- issue 14: rppg-eval is recorded in the
# results store like every measuring verb: one row per method and clip and
# one pooled row per method, with the heart-rate errors that `results show`
# prints and `results export` returns.
set -euo pipefail
cli=$1 work=$2
rm -rf "$work" && mkdir -p "$work"
store=$work/results.db
"$cli" rppg-eval --methods pos,green --clip-seconds 8 --store "$store" --json "$work/eval.json" >"$work/out.txt"
grep -q "recorded run 1 (14 rows)" "$work/out.txt" || { echo "FAIL: not recorded"; cat "$work/out.txt"; exit 1; }
"$cli" results show 1 --store "$store" >"$work/show.txt"
grep -q "MAE_bpm" "$work/show.txt" || { echo "FAIL: results show prints no heart-rate table"; cat "$work/show.txt"; exit 1; }
"$cli" results export --store "$store" --json "$work/export.json" >/dev/null
/usr/bin/python3 - "$work/export.json" "$work/eval.json" <<'PY'
import json, sys
exported = json.load(open(sys.argv[1]))
rows = exported["results"]
evaluation = json.load(open(sys.argv[2]))
pooled = {r["model"]: r["heart_rate"] for r in rows if r.get("heart_rate", {}).get("clip") == "all"}
assert set(pooled) == {"rppg-pos", "rppg-green"}, pooled
for method, h in pooled.items():
    assert h["readings"] > 0 and h["set"] == "synthetic", h
    # The stored figures are the evaluation's own.
    doc = evaluation["methods"][method.split("-")[1]]
    assert abs(doc["mae"] - h["mae_bpm"]) < 1e-9, (doc, h)
print("ok:", {m: round(h["mae_bpm"], 3) for m, h in pooled.items()})
PY
