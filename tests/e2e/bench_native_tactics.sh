#!/usr/bin/env bash
# bench_native_tactics.sh CLI WORKDIR: --tactics reaches the bench worker.
# off: the native run succeeds and no tactic cache is written; on (the
# default): it succeeds and the cache exists with this machine's header.
set -eu
cli=$1 work=$2
rm -rf "$work" && mkdir -p "$work"
export INFERLAB_TACTIC_CACHE="$work/tactics.tsv"
fast=(--min-duration-ms 100 --min-count 5 --warmup 1 --warmup-ms 0 --quiet)
fail() { echo "FAIL: $*"; exit 1; }
ok_status() { /usr/bin/python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"]; sys.exit(0 if r and all(x["status"] == "ok" for x in r) else 1)' "$1"; }

"$cli" bench digits_cnn --backends native --tactics off "${fast[@]}" --json "$work/off.json" >/dev/null
ok_status "$work/off.json" || fail "--tactics off: the run did not succeed"
[ ! -e "$work/tactics.tsv" ] || fail "--tactics off wrote a tactic cache"

"$cli" bench digits_cnn --backends native "${fast[@]}" --json "$work/on.json" >/dev/null
ok_status "$work/on.json" || fail "--tactics on: the run did not succeed"
[ "$(head -1 "$work/tactics.tsv")" = "inferlab-tactics 3" ] || fail "--tactics on wrote no tactic cache"
echo "ok: --tactics off wrote no cache; on wrote $(($(wc -l <"$work/tactics.tsv") - 2)) layer(s)"
