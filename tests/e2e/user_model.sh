#!/usr/bin/env bash
# user_model.sh INFERLAB WORKDIR
# A user's own model, not in the zoo, exported by the test itself to ONNX and
# TorchScript: `models add` makes it a named model and `bench NAME` lands all
# four engines in one table, agreeing; a bare .pt runs with --shape; a pair
# that is not the same model is refused with exit 1 and nothing written.
set -euo pipefail
cli=$1 work=$2
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$work" && mkdir -p "$work/models"
/usr/bin/python3 "$here/export_user_model.py" "$work/export"
fast=(--threads 2 --min-duration-ms 100 --min-count 5 --warmup 1 --warmup-ms 0 --quiet)

"$cli" models add user_net --onnx "$work/export/user_net.onnx" --torchscript "$work/export/user_net.pt" \
  --dir "$work/models"
test -f "$work/models/user_net/manifest.json"
"$cli" models list --dir "$work/models" | grep -q user_net
"$cli" bench user_net --model-dir "$work/models" --backends onnxruntime,native,torch,opencv "${fast[@]}" \
  --json "$work/named.json"
/usr/bin/python3 "$here/check_engines.py" "$work/named.json" user_net onnxruntime,native,torch,opencv
# A plain torch.onnx.export keeps Identity nodes that OpenCV 4.6 rejects: its
# row ran a copy cleaned by inferlab's graph passes, says so, and names its
# max |diff| against the original on another engine.
/usr/bin/python3 - "$work/named.json" <<'PY'
import json, sys
rows = {r["backend"]: r for r in json.load(open(sys.argv[1]))["results"]}
form = rows["opencv"]["model_form"]
assert "cleaned by inferlab's graph passes" in form and "Identity" in form, form
assert "max |diff|" in form and "on onnxruntime" in form, form
PY

# The README's bare-TorchScript example: --shape declares the input.
"$cli" bench "$work/export/user_net.pt" --backends torch --shape input=1x3x224x224 "${fast[@]}" \
  --json "$work/bare_pt.json"
/usr/bin/python3 "$here/check_engines.py" "$work/bare_pt.json" user_net torch

# Two different models under one name: exit 1 naming the difference, no folder.
set +e
"$cli" models add mismatched --onnx "$work/export/user_net.onnx" --torchscript "$work/export/other.pt" \
  --dir "$work/models" >"$work/mismatch.out" 2>"$work/mismatch.err"
code=$?
set -e
[ "$code" -eq 1 ] || { echo "FAIL: mismatched pair exited $code, expected 1"; cat "$work/mismatch.err"; exit 1; }
grep -q "max |diff|" "$work/mismatch.err" || { echo "FAIL: no max |diff| in: $(cat "$work/mismatch.err")"; exit 1; }
[ ! -e "$work/models/mismatched" ] || { echo "FAIL: a refused model was written"; exit 1; }
[ -z "$(ls -A "$work/models" | grep -v '^user_net$' || true)" ] || { echo "FAIL: leftovers: $(ls -A "$work/models")"; exit 1; }
echo "ok: models add, bench on four engines, bare .pt with --shape, mismatched pair refused"
