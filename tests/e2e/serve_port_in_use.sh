#!/usr/bin/env bash
# serve_port_in_use.sh CLI WORK E2E_DIR: a port some other process listens
# on makes `inferlab serve --port` exit 2 with one stderr line naming it.
set -u
cli=$1 work=$2 e2e=$3
mkdir -p "$work"
/usr/bin/python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
print(s.getsockname()[1], flush=True)
time.sleep(120)' >"$work/port" &
holder=$!
trap 'kill $holder 2>/dev/null' EXIT
for _ in $(seq 1 100); do [ -s "$work/port" ] && break; sleep 0.05; done
port=$(cat "$work/port")
bash "$e2e/expect.sh" 2 "serve --port: port $port on 127.0.0.1 is in use" "$work/case" "$cli" serve mobilenet_v2 \
  --backend onnxruntime --port "$port"
