#!/usr/bin/env python3
"""check_optimize.py REPORT.json KIND -- checks an `inferlab optimize` report
against the issue's done-when figures for digits_cnn on the native engine:
int8: top-1 drop <= 0.3 pts (issue 18: on every ISA) and a file <= 0.3x; fp16: drop <= 0.1 pts and a
file <= 0.52x; prune: the accuracy after is reported. The optimized file
must exist and pass the ONNX checker (Debian's python3-onnx)."""
import json
import sys

import onnx

report = json.load(open(sys.argv[1]))
kind = sys.argv[2]
assert report["schema"] == "inferlab.optimize/1", report["schema"]
native = [a for a in report["accuracy"] if a["backend"] == "native"]
assert native and native[0]["status"] == "ok", report["accuracy"]
drop = native[0]["top1_drop_pts"]
ratio = report["size_bytes"]["after"] / report["size_bytes"]["before"]
onnx.checker.check_model(onnx.load(report["output"]), full_check=True)
limits = {"int8": (0.3, 0.30), "fp16": (0.1, 0.52)}
print(f"{kind}: top-1 {native[0]['top1_before']:.4f} -> {native[0]['top1_after']:.4f}, drop {drop:.2f} pts, "
      f"file {ratio:.3f}x, sparsity {report['weight_sparsity']:.3f}")
if kind in limits:
    max_drop, max_ratio = limits[kind]
    assert drop <= max_drop + 1e-9, f"top-1 drop {drop} > {max_drop}"
    assert ratio <= max_ratio, f"file ratio {ratio} > {max_ratio}"
    if kind == "int8":
        assert report["layers"], "per-layer SQNR missing"
        assert report["budget_held"] is True, report["budget_held"]
else:
    assert native[0]["top1_after"] is not None
    assert abs(report["weight_sparsity"] - 0.5) < 0.01, report["weight_sparsity"]
