#!/usr/bin/env python3
"""check_chain.py CHAIN.json STEPS -- checks an `optimize --then` recipe:
the inferlab.optimize-chain/1 document has STEPS steps, each step read the
previous step's file, every output exists and carries the model's
preprocessing metadata, and every step measured Top-1 and batch-1 latency on
native (the figures the summary shows)."""
import json
import os
import sys

import onnx

doc = json.load(open(sys.argv[1]))
steps = int(sys.argv[2])
assert doc["schema"] == "inferlab.optimize-chain/1", doc["schema"]
assert len(doc["steps"]) == steps, f"{len(doc['steps'])} steps, expected {steps}"
previous_output = None
for s in doc["steps"]:
    out = s["output"]
    assert os.path.exists(out), f"step {s['step']}: {out} missing"
    props = {p.key: p.value for p in onnx.load(out).metadata_props}
    assert "inferlab.preprocess" in props, f"{out}: no inferlab.preprocess in {sorted(props)}"
    if previous_output is not None:
        assert s["input"] == previous_output, f"step {s['step']} read {s['input']}, not {previous_output}"
    previous_output = out
    assert s["summary_backend"] == "native", s
    assert s["top1_after"] is not None and 0.5 < s["top1_after"] <= 1.0, s
    assert s["p50_ms_after"] is not None and s["p50_ms_after"] > 0, s
    assert "report" in s and s["report"]["schema"].startswith("inferlab."), s.keys()
    print(f"step {s['step']}: {s['flags']}: params {s['parameters_after']}, top-1 {s['top1_after']:.4f}, "
          f"p50 {s['p50_ms_after']:.3f} ms -> {out}")
first = doc["steps"][0]
assert first["report"]["schema"] == "inferlab.distill/1", first["report"]["schema"]
last_steps = doc["steps"][-1]["report"]["steps"]
assert any(step.startswith("int8") for step in last_steps), last_steps
# The int8 step calibrated with the default (auto): every activation kept the
# calibrator whose measured output SQNR was best, and top-1 held within 1 pt.
int8 = doc["steps"][-1]["report"]
choices = int8["calibration_choices"]
assert choices, "no per-activation calibration choices recorded"
for c in choices:
    sqnr = {k: (v if v is not None else float("inf")) for k, v in c["output_sqnr_db"].items()}
    assert set(sqnr) == {"entropy", "percentile", "minmax"}, sqnr
    assert sqnr[c["calibrator"]] == max(sqnr.values()), c
native = [a for a in int8["accuracy"] if a["backend"] == "native"][0]
assert native["top1_drop_pts"] <= 1.0, f"int8 step lost {native['top1_drop_pts']:.2f} pts"
print(f"int8 step: drop {native['top1_drop_pts']:.2f} pts, calibrators {[c['calibrator'] for c in choices]}")
print("ok")
