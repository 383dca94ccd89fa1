#!/usr/bin/env bash
# live_early_signal.sh INFERLAB WORKDIR DELAY_S
# Issue 16, defect 3: a SIGUSR1 sent DELAY_S seconds after `inferlab live`
# starts (while libraries load and the pipeline is built) must be caught and
# honoured as a backend switch, not end the process with the signal.
set -u
cli=$1 work=$2 delay=$3
rm -rf "$work" && mkdir -p "$work"
"$cli" live --duration 3 --monitor none --json "$work/r.json" >"$work/stdout" 2>"$work/stderr" &
pid=$!
sleep "$delay"
kill -USR1 "$pid"
wait "$pid"
code=$?
[ "$code" -lt 128 ] || { echo "FAIL: ended by signal $((code - 128)) (SIGUSR1 is 10)"; exit 1; }
[ "$code" -eq 0 ] || { echo "FAIL: exit $code"; cat "$work/stderr"; exit 1; }
exec /usr/bin/python3 -c "
import json, sys
switches = json.load(open(sys.argv[1]))['switches']
assert len(switches) == 1 and not switches[0].get('error'), switches
print('ok: switch', switches[0]['from'], '->', switches[0]['to'], 'at', switches[0]['at_s'], 's')" "$work/r.json"
