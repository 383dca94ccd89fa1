#!/usr/bin/env bash
# validate_disagreement.sh INFERLAB WORKDIR
# A prepared model whose ONNX is squeezenet and whose TorchScript is
# mobilenet: same input and output shapes, different functions. validate
# must notice and exit 1 (and name it DISAGREES), never exit 0.
set -uo pipefail
cli=$1 work=$2
rm -rf "$work" && mkdir -p "$work/models/mixed"
src=$("$cli" models list --json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["model_dir"])')
/usr/bin/python3 - "$src" "$work/models/mixed" <<'PY'
import json, os, sys
src, dst = sys.argv[1], sys.argv[2]
m = json.load(open(os.path.join(src, "mobilenet_v2", "manifest.json")))
os.symlink(os.path.join(src, "squeezenet1_1", "squeezenet1_1.onnx"), os.path.join(dst, "mixed.onnx"))
os.symlink(os.path.join(src, "mobilenet_v2", "mobilenet_v2.pt"), os.path.join(dst, "mixed.pt"))
m["name"] = "mixed"
m["files"] = {"onnx": "mixed.onnx", "torchscript": "mixed.pt"}
m.pop("sha256", None)
json.dump(m, open(os.path.join(dst, "manifest.json"), "w"))
PY
"$cli" validate mixed --backends torch,opencv --model-dir "$work/models" >"$work/out.txt" 2>&1
code=$?
cat "$work/out.txt"
[ $code -eq 1 ] || { echo "FAIL: validate exited $code, expected 1"; exit 1; }
grep -q DISAGREES "$work/out.txt" || { echo "FAIL: no DISAGREES verdict"; exit 1; }
echo "ok: disagreement detected"
