#!/usr/bin/env bash
# store_cost_pg.sh STORE_COST [ARGS...]
# store_cost against PostgreSQL: a throwaway server (tests/e2e/pg_server.sh:
# initdb in a temporary folder, a free loopback port, fsync off, so the figure
# is the client, protocol and server work per row, not the disk's), then
# store_cost URL ARGS..., then the server is stopped and removed.
set -euo pipefail
store_cost=$1
shift
here=$(cd "$(dirname "$0")" && pwd)
server=$(mktemp -d "${TMPDIR:-/tmp}/inferlab-pg-cost.XXXXXX")
chmod 755 "$server"
trap 'bash "$here/../tests/e2e/pg_server.sh" stop "$server/pg"; rm -rf "$server"' EXIT
url=$(bash "$here/../tests/e2e/pg_server.sh" start "$server/pg")
"$store_cost" "$url" "$@"
