#!/usr/bin/env bash
# expect.sh EXIT STDERR_REGEX WORKDIR CMD ARGS...
# Runs CMD (with @WORK@ in its arguments replaced by WORKDIR) and checks the
# CLI contract for bad input: the expected exit code, no signal, exactly one
# line on stderr matching STDERR_REGEX, and the result file that existed before
# (WORKDIR/r.json) left exactly as it was, with no temporary files beside it.
set -u
expected=$1 regex=$2 work=$3
shift 3
rm -rf "$work" && mkdir -p "$work"
sentinel='{"previous": "result that must survive"}'
printf '%s' "$sentinel" >"$work/r.json"
args=()
for a in "$@"; do args+=("${a//@WORK@/$work}"); done
"${args[@]}" >"$work/stdout" 2>"$work/stderr"
code=$?
fail() { echo "FAIL: $*"; echo "--- stderr:"; cat "$work/stderr"; echo "--- stdout:"; head -20 "$work/stdout"; exit 1; }
[ "$code" -lt 128 ] || fail "ended by signal $((code - 128))"
[ "$code" -eq "$expected" ] || fail "exit code $code, expected $expected"
lines=$(grep -c . "$work/stderr")
[ "$lines" -eq 1 ] || fail "stderr has $lines lines, expected exactly one"
grep -Eq -- "$regex" "$work/stderr" || fail "stderr does not match /$regex/"
[ "$(cat "$work/r.json")" = "$sentinel" ] || fail "an existing result file was changed"
leftovers=$(find "$work" -name '*.tmp.*' | head -1)
[ -z "$leftovers" ] || fail "temporary file left behind: $leftovers"
echo "ok: exit $code: $(cat "$work/stderr")"
