#!/usr/bin/env bash
# pg_server.sh start DIR | stop DIR
# A throwaway PostgreSQL server for tests: initdb into DIR/data (trust
# authentication, loopback only), on a free port, socket in DIR; prints the
# store URL (postgresql://inferlab@127.0.0.1:PORT/inferlab) on start. initdb
# refuses to run as root, so as root the server runs as the `postgres` user
# (Debian's postgresql package creates it). Debian keeps the server programs
# in /usr/lib/postgresql/<version>/bin.
set -euo pipefail
cmd=$1 dir=$2
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$bin/initdb" ] || { echo "pg_server: no PostgreSQL server programs (Debian: postgresql)" >&2; exit 1; }
as=()
if [ "$(id -u)" -eq 0 ]; then as=(runuser -u postgres --); fi
case $cmd in
start)
  mkdir -p "$dir"
  [ ${#as[@]} -eq 0 ] || chown postgres "$dir"
  port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "${as[@]}" "$bin/initdb" -D "$dir/data" -U inferlab --auth=trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 ||
    { echo "pg_server: initdb failed: $(tail -2 "$dir/initdb.log")" >&2; exit 1; }
  "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off" start >/dev/null ||
    { echo "pg_server: the server did not start: $(tail -2 "$dir/server.log")" >&2; exit 1; }
  "${as[@]}" "$bin/createdb" -h 127.0.0.1 -p "$port" -U inferlab inferlab 2>/dev/null ||
    /usr/bin/createdb -h 127.0.0.1 -p "$port" -U inferlab inferlab
  echo "postgresql://inferlab@127.0.0.1:$port/inferlab"
  ;;
stop)
  [ -d "$dir/data" ] && "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  ;;
esac
