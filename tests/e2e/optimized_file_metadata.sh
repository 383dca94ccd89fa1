#!/usr/bin/env bash
# optimized_file_metadata.sh INFERLAB WORKDIR
# Issue 16, defect 1: a file `inferlab optimize` writes must be usable on its
# own. digits_cnn is normalised with mean/std 0.5; its INT8 file, measured as a
# bare file, scored 10% because it was fed the guessed (x1/255) preprocessing.
# Checks: every optimize output (--int8, --fp16, --prune, --prune-channels, and
# a file optimized twice) carries inferlab's metadata_props; accuracy on the
# bare INT8 file takes the file's preprocessing and says so in its JSON; a bare
# file without metadata says on stderr and in its JSON that it was guessed.
set -u
cli=$1 work=$2
rm -rf "$work" && mkdir -p "$work"
here=$(dirname "$0")
fail() { echo "FAIL: $*"; exit 1; }
run() {  # run NAME ARGS...: stdout/stderr to WORK/NAME.{out,err}, exit code checked 0
  local name=$1
  shift
  "$cli" "$@" >"$work/$name.out" 2>"$work/$name.err" || { cat "$work/$name.err"; fail "$name: exit $?"; }
}

run int8 optimize digits_cnn --int8 --calib digits:train --calib-count 128 --backends native --no-latency \
  --sensitivity-samples 8 -o "$work/q.onnx" --quiet
run fp16 optimize digits_cnn --fp16 --backends native --no-latency -o "$work/f16.onnx" --quiet
run prune optimize digits_cnn --prune 0.3 --backends native --no-latency -o "$work/pruned.onnx" --quiet
run prune_channels optimize digits_cnn --prune-channels 0.1 --backends native --no-latency -o "$work/channels.onnx" --quiet
# Optimized twice: the source stays digits_cnn, both steps are named.
run twice optimize "$work/pruned.onnx" --fp16 --backends native --no-latency -o "$work/twice.onnx" --quiet

# The issue's reproduction: the bare INT8 file on native.
run acc_int8 accuracy "$work/q.onnx" --dataset digits --backends native --json "$work/acc_int8.json" --quiet
! grep -q "guessed" "$work/acc_int8.err" || fail "accuracy on q.onnx says its preprocessing was guessed"

# A bare copy of the FP32 file, no manifest beside it: only a guess exists.
model_dir=${INFERLAB_MODEL_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/inferlab/models}
cp "$model_dir/digits_cnn/digits_cnn.onnx" "$work/bare.onnx" || fail "no prepared digits_cnn in $model_dir"
run acc_bare accuracy "$work/bare.onnx" --dataset digits --limit 100 --backends native --json "$work/acc_bare.json" --quiet
[ "$(grep -c "guessed from input shape" "$work/acc_bare.err")" -eq 1 ] ||
  { cat "$work/acc_bare.err"; fail "accuracy on a bare file does not say (once, on stderr) that it guessed"; }

exec /usr/bin/python3 "$here/check_model_metadata.py" "$work" "$model_dir/digits_cnn/digits_cnn.onnx"
