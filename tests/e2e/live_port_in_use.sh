#!/usr/bin/env bash
# live_port_in_use.sh CLI WORKDIR FLAG
# A port another process listens on: `live FLAG PORT` exits 2 with one stderr
# line naming the flag and the port, before any frame is processed.
set -u
cli=$1 work=$2 flag=$3
rm -rf "$work" && mkdir -p "$work"
fail() { echo "FAIL: $*"; exit 1; }
/usr/bin/python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
print(s.getsockname()[1], flush=True)
time.sleep(120)' >"$work/port" &
holder=$!
trap 'kill $holder 2>/dev/null; wait $holder 2>/dev/null' EXIT
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.1; done
port=$(cat "$work/port")
[ -n "$port" ] || fail "no port held"
"$cli" live --duration 2 --monitor none "$flag" "$port" >"$work/out" 2>"$work/err"
code=$?
[ $code -eq 2 ] || fail "exit $code, expected 2: $(cat "$work/err")"
[ "$(wc -l <"$work/err")" -eq 1 ] || fail "stderr is not one line: $(cat "$work/err")"
grep -q -- "$flag: port $port on 127.0.0.1 is in use" "$work/err" || fail "stderr: $(cat "$work/err")"
echo PASS
