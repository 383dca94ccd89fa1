#!/usr/bin/env bash
# live_json.sh WORKDIR CHECK_MODE CHECK_ARG INFERLAB ARGS...
# Runs INFERLAB ARGS... --json WORKDIR/r.json, requires exit 0 and an empty
# stderr, then checks the document with check_live.py CHECK_MODE.
set -u
work=$1 mode=$2 arg=$3
shift 3
rm -rf "$work" && mkdir -p "$work"
"$@" --json "$work/r.json" >"$work/stdout" 2>"$work/stderr"
code=$?
[ "$code" -eq 0 ] || { echo "FAIL: exit $code"; cat "$work/stderr"; tail -5 "$work/stdout"; exit 1; }
[ ! -s "$work/stderr" ] || { echo "FAIL: stderr not empty"; cat "$work/stderr"; exit 1; }
tail -12 "$work/stdout"
exec python3 "$(dirname "$0")/check_live.py" "$mode" "$work/r.json" $arg
