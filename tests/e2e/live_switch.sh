#!/usr/bin/env bash
# live_switch.sh INFERLAB WORKDIR METHOD [args...]
# Runs `inferlab live` paced like a camera, sends SIGUSR1 twice while it runs
# (each cycles to the next backend), and checks the JSON: the switches are
# recorded with their time and every captured frame is processed or counted
# as dropped.
set -u
cli=$1 work=$2 method=$3
shift 3
rm -rf "$work" && mkdir -p "$work"
"$cli" live --method "$method" --duration 6 --monitor plain --json "$work/r.json" "$@" >"$work/stdout" 2>"$work/stderr" &
pid=$!
# Wait for the first monitor line (the stream is flowing), at most 60 s.
for _ in $(seq 600); do grep -q '^t=' "$work/stdout" && break; sleep 0.1; done
sleep 1
kill -USR1 "$pid"
sleep 2
kill -USR1 "$pid"
wait "$pid"
code=$?
[ "$code" -eq 0 ] || { echo "FAIL: exit $code"; cat "$work/stderr"; exit 1; }
[ ! -s "$work/stderr" ] || { echo "FAIL: stderr not empty"; cat "$work/stderr"; exit 1; }
grep -q "switch at" "$work/stdout" || { echo "FAIL: the summary shows no switch"; tail -5 "$work/stdout"; exit 1; }
exec python3 "$(dirname "$0")/check_live.py" switch "$work/r.json" 2
