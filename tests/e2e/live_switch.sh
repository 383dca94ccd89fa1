#!/usr/bin/env bash
# live_switch.sh INFERLAB WORKDIR METHOD [args...]
# Runs `inferlab live` paced like a camera, sends SIGUSR1 twice while it runs
# (each cycles to the next backend), and checks the JSON: the switches are
# recorded with their time and every captured frame is processed or counted
# as dropped; the stored row names the backends in the order they served
# ("a>b>a": its stage figures mix them).
set -u
cli=$1 work=$2 method=$3
shift 3
rm -rf "$work" && mkdir -p "$work"
"$cli" live --method "$method" --duration 6 --monitor plain --json "$work/r.json" --store "$work/results.db" "$@" \
  >"$work/stdout" 2>"$work/stderr" &
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
python3 "$(dirname "$0")/check_live.py" switch "$work/r.json" 2 || exit 1
"$cli" results export --store "$work/results.db" --json "$work/export.json" >/dev/null || { echo "FAIL: export"; exit 1; }
exec python3 - "$work/export.json" "$work/r.json" <<'PY'
import json, sys
row, = json.load(open(sys.argv[1]))["results"]
doc = json.load(open(sys.argv[2]))
served = [doc["switches"][0]["from"]] + [s["to"] for s in doc["switches"] if not s.get("error")]
assert row["backend"] == ">".join(served), (row["backend"], served)
assert len(row["backend_version"].split(">")) == len(served), row["backend_version"]
assert len(row["live"]["switches"]) == len(doc["switches"]) and row["live"]["stages"], row["live"]
print("ok: stored as backend", row["backend"])
PY
