#!/usr/bin/env bash
# live_compare_missing_model.sh INFERLAB WORKDIR
# Issue 16, defect 2: `live --method neural --compare` with no rppg_net
# prepared (an empty model directory) must exit 1, since no run produced a
# row, and every failed row must name the command that prepares the model
# (`--zoo rppg`, not the quick zoo, which does not contain it).
set -u
cli=$1 work=$2
rm -rf "$work" && mkdir -p "$work/models"
fail() { echo "FAIL: $*"; echo "--- stderr:"; cat "$work/stderr"; echo "--- stdout:"; cat "$work/stdout"; exit 1; }
INFERLAB_MODEL_DIR="$work/models" "$cli" live --method neural --compare opencv,torch --duration 2 --pace max \
  --monitor none --json "$work/r.json" >"$work/stdout" 2>"$work/stderr"
code=$?
[ "$code" -lt 128 ] || fail "ended by signal $((code - 128))"
[ "$code" -eq 1 ] || fail "exit $code, expected 1 (every compared run failed)"
[ "$(grep -c "inferlab models prepare --zoo rppg" "$work/stdout")" -eq 2 ] || fail "the hint does not name --zoo rppg for both runs"
! grep -q -- "--zoo quick" "$work/stdout" || fail "the hint names the quick zoo"
exec /usr/bin/python3 -c "
import json, sys
runs = json.load(open(sys.argv[1]))['runs']
assert [r['backend'] for r in runs] == ['opencv', 'torch'], runs
assert all(r['status'] == 'failed' and '--zoo rppg' in r['reason'] for r in runs), runs
print('ok:', runs[0]['reason'])" "$work/r.json"
