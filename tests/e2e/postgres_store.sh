#!/usr/bin/env bash
# postgres_store.sh CLI WORKDIR E2E_DIR
# The PostgreSQL results store against a real server (Debian's postgresql,
# a fresh data directory, a free loopback port, stopped at the end): two
# benches write into it at once and every row of both arrives; results,
# recommend and report read it back; a live run's row and its stages
# round-trip (schema 2); an unreachable server is exit 2 naming host and
# port, with the run's JSON still written.
set -u
cli=$1 work=$2 e2e=$3
rm -rf "$work" && mkdir -p "$work"
fail() { echo "FAIL: $*"; exit 1; }
# The socket lives with the server: a short path (unix sockets allow ~107 bytes).
server=$(mktemp -d "${TMPDIR:-/tmp}/inferlab-pg.XXXXXX")
chmod 755 "$server"
trap 'bash "$e2e/pg_server.sh" stop "$server/pg"; rm -rf "$server"' EXIT
url=$(bash "$e2e/pg_server.sh" start "$server/pg") || fail "cannot start PostgreSQL"
echo "server: $url"
fast=(--backends null,opencv --batch 1,2 --threads 1 --min-duration-ms 100 --min-count 20 --warmup 2 --warmup-ms 0
      --quiet --store "$url")

"$cli" bench digits_cnn "${fast[@]}" --json "$work/a.json" >"$work/a.out" 2>&1 &
a=$!
"$cli" bench digits_cnn "${fast[@]}" --json "$work/b.json" >"$work/b.out" 2>&1 &
b=$!
wait $a || fail "bench a: $(tail -3 "$work/a.out")"
wait $b || fail "bench b: $(tail -3 "$work/b.out")"
grep -q "recorded run [12] (4 rows) in $url" "$work/a.out" || fail "bench a: $(tail -2 "$work/a.out")"
grep -q "recorded run [12] (4 rows) in $url" "$work/b.out" || fail "bench b: $(tail -2 "$work/b.out")"

"$cli" results export --store "$url" --json "$work/all.json" >/dev/null || fail "results export"
/usr/bin/python3 - "$work/all.json" "$work/a.json" "$work/b.json" <<'PY' || fail "rows lost"
import json, sys
doc = json.load(open(sys.argv[1]))
stored = sorted((r["run_id"], r["backend"], r["batch"], r["latency_ms"]["p50"]) for r in doc["results"])
assert len(doc["runs"]) == 2 and len(stored) == 8, stored
written = sorted((r["backend"], r["batch"], r["latency_ms"]["p50"]) for f in sys.argv[2:] for r in json.load(open(f))["results"])
assert sorted(s[1:] for s in stored) == written, (stored, written)
print("both runs, all 8 rows stored, figures identical to the JSON files")
PY
port=${url##*:}
port=${port%%/*}
count=$(psql -h 127.0.0.1 -p "$port" -U inferlab -d inferlab -tAc \
  "SELECT (SELECT COUNT(*) FROM results) || ' ' || (SELECT MAX(version) FROM schema_migrations)") || fail "psql"
[ "$count" = "8 2" ] || fail "the server holds '$count' (rows, schema version), expected '8 2'"

"$cli" recommend digits_cnn --store "$url" --objective throughput >"$work/rec.out" || fail "recommend: $(cat "$work/rec.out")"
grep -q "best: digits_cnn" "$work/rec.out" || fail "recommend: $(tail -2 "$work/rec.out")"
"$cli" results tag 1 base --store "$url" >/dev/null || fail "tag"
"$cli" report --runs base,2 --store "$url" -o "$work/report.html" >/dev/null || fail "report"
"$cli" compare base 2 --threshold 1000% --store "$url" >"$work/cmp.out" || fail "compare: $(tail -3 "$work/cmp.out")"

# A store of schema 1 (what migration 2 added taken away again: it only adds
# tables) is read as it is, then migrated by the next write, its rows kept.
q() { psql -h 127.0.0.1 -p "$port" -U inferlab -d inferlab -tAc "$1"; }
q "DROP TABLE live_stages; DROP TABLE live_results; DELETE FROM schema_migrations WHERE version = 2" >/dev/null ||
  fail "psql: downgrade"
"$cli" results list --store "$url" | grep -q "^2 run(s)" || fail "results list on a schema-1 store"
[ "$(q "SELECT MAX(version) FROM schema_migrations")" = "1" ] || fail "reading migrated the store"

# A live row: its stages go to live_stages and come back as the run's JSON has them.
"$cli" live --source synthetic --backend opencv --duration 2 --pace max --monitor none --store "$url" \
  --json "$work/live.json" \
  >"$work/live.out" || fail "live: $(tail -3 "$work/live.out")"
grep -q "recorded run 3 (1 rows) in $url" "$work/live.out" || fail "live: $(tail -2 "$work/live.out")"
"$cli" results export --store "$url" --backend opencv --model rppg-pos --json "$work/live-export.json" >/dev/null ||
  fail "results export (live)"
/usr/bin/python3 - "$work/live-export.json" "$work/live.json" <<'PY' || fail "live row"
import json, sys
row, = json.load(open(sys.argv[1]))["results"]
doc = json.load(open(sys.argv[2]))
stages = {s["stage"]: s for s in row["live"]["stages"]}
assert set(stages) == set(doc["stages"]) and row["live"]["frames"] == doc["frames"] > 0, (row, doc["frames"])
for name, s in stages.items():
    assert all(s[k] == doc["stages"][name][k] for k in ("count", "p50_ms", "p90_ms", "p99_ms", "max_ms", "mean_ms")), name
print("live row and %d stages round-trip through PostgreSQL" % len(stages))
PY
[ "$(q "SELECT MAX(version) || ' ' || (SELECT COUNT(*) FROM results) FROM schema_migrations")" = "2 9" ] ||
  fail "not migrated to schema 2 with every row kept"
[ "$(q "SELECT COUNT(*) FROM live_stages")" -ge 6 ] || fail "live_stages holds too few rows"

# Unreachable: measured anyway, JSON written, then exit 2 naming host and port.
"$cli" bench digits_cnn --backends null --min-duration-ms 20 --min-count 5 --warmup 1 --warmup-ms 0 --quiet \
  --store postgresql://inferlab@127.0.0.1:1/inferlab --json "$work/down.json" >"$work/down.out" 2>"$work/down.err"
code=$?
[ $code -eq 2 ] || fail "unreachable server: exit $code, expected 2"
[ "$(wc -l <"$work/down.err")" -eq 1 ] || fail "stderr is not one line: $(cat "$work/down.err")"
grep -q "cannot connect to PostgreSQL at host 127.0.0.1 port 1" "$work/down.err" || fail "$(cat "$work/down.err")"
/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["results"][0]["status"] == "ok"' \
  "$work/down.json" || fail "the run's JSON was not written"
echo "PASS"
