#!/usr/bin/env bash
# int8_engines.sh INFERLAB WORKDIR
# `inferlab optimize --int8` writes a QDQ file (7-bit weights); onnxruntime and
# native both run it, and each loses at most 0.3 pt Top-1 against digits_cnn's
# FP32 on the held-out digits, measured in this run. native gives the same
# Top-1 with oneDNN capped to AVX2 (the kernels of a CPU without VNNI): the
# result does not depend on the ISA.
set -euo pipefail
cli=$1 work=$2
rm -rf "$work" && mkdir -p "$work"
"$cli" optimize digits_cnn --int8 --calib digits:train --dataset digits --backends native --latency-ms 50 \
  -o "$work/digits_cnn.int8.onnx" --json "$work/optimize.json" >/dev/null
"$cli" accuracy digits_cnn --dataset digits --backends onnxruntime,native --quiet --json "$work/fp32.json"
# The optimized file records digits_cnn's preprocessing where the build reads
# it back; the flags say the same thing explicitly for any build.
"$cli" accuracy "$work/digits_cnn.int8.onnx" --dataset digits --backends onnxruntime,native --mean 0.5 --std 0.5 \
  --quiet --json "$work/int8.json"
ONEDNN_MAX_CPU_ISA=AVX2 "$cli" accuracy "$work/digits_cnn.int8.onnx" --dataset digits --backends native \
  --mean 0.5 --std 0.5 --quiet --json "$work/int8_avx2.json"
/usr/bin/python3 - "$work/fp32.json" "$work/int8.json" "$work/int8_avx2.json" <<'PY'
import json, sys
fp32 = {r["backend"]: r["top1"] for r in json.load(open(sys.argv[1]))["results"]}
int8 = {r["backend"]: r["top1"] for r in json.load(open(sys.argv[2]))["results"]}
avx2 = {r["backend"]: r["top1"] for r in json.load(open(sys.argv[3]))["results"]}
for backend in ("onnxruntime", "native"):
    drop = (fp32[backend] - int8[backend]) * 100
    print(f"{backend}: fp32 {fp32[backend]*100:.2f}%, int8 {int8[backend]*100:.2f}%, drop {drop:.2f} pt")
    assert drop <= 0.3, f"{backend}: int8 loses {drop:.2f} pt (> 0.3)"
print(f"native int8 with oneDNN capped to AVX2: {avx2['native']*100:.2f}%")
assert avx2["native"] == int8["native"], "native's int8 Top-1 depends on the ISA"
PY
