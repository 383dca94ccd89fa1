"""check_model_metadata.py WORK SOURCE_ONNX: the checks of optimized_file_metadata.sh
on the files and JSON it wrote (see there)."""
import hashlib
import json
import sys

import onnx

work, source = sys.argv[1], sys.argv[2]
source_sha = hashlib.sha256(open(source, "rb").read()).hexdigest()


def props(name):
    return {p.key: p.value for p in onnx.load(f"{work}/{name}", load_external_data=False).metadata_props}


for name, step in [("q.onnx", "int8 QDQ (auto calibration on digits:train, 7-bit weights)"), ("f16.onnx", "fp16"),
                   ("pruned.onnx", "prune 0.3"), ("channels.onnx", "prune-channels 0.1"), ("twice.onnx", "fp16")]:
    p = props(name)
    pre = json.loads(p["inferlab.preprocess"])
    assert pre["mean"] == [0.5] and pre["std"] == [0.5] and pre["channel_order"] == "GRAY", (name, pre)
    assert pre["crop"] == [20, 20], (name, pre)
    assert p["inferlab.source_model"] == "digits_cnn", (name, p)
    assert p["inferlab.source_sha256"] == source_sha, (name, p["inferlab.source_sha256"], source_sha)
    assert step in p["inferlab.optimization"], (name, p["inferlab.optimization"])
twice = props("twice.onnx")["inferlab.optimization"]
assert "prune 0.3" in twice and "; then " in twice, twice


def row(name):
    rows = json.load(open(f"{work}/{name}"))["results"]
    assert len(rows) == 1 and rows[0]["status"] == "ok", rows
    return rows[0]


r = row("acc_int8.json")
assert r["preprocess_source"] == "file metadata", r["preprocess_source"]
# digits_cnn scores ~98.5% in FP32; the lost preprocessing gave 10%.
assert r["top1"] >= 0.95, f"INT8 file top-1 {r['top1']}: not fed like its source model"
b = row("acc_bare.json")
assert b["preprocess_source"] == "guessed from input shape", b["preprocess_source"]
print(f"ok: int8 file top-1 {r['top1']:.3f} from file metadata; bare file: {b['preprocess_source']}")
