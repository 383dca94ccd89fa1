#!/usr/bin/env bash
# bench_quick_zoo.sh INFERLAB WORKDIR
# The quick zoo on opencv, torch and null; then a short sweep. The JSON, CSV,
# Markdown and raw latencies are checked by check_bench.py.
set -euo pipefail
cli=$1 work=$2
rm -rf "$work" && mkdir -p "$work"
here=$(cd "$(dirname "$0")" && pwd)
"$cli" bench mobilenet_v2 squeezenet1_1 --backends opencv,torch,null --batch 1,2 --threads 2 \
  --min-duration-ms 300 --min-count 10 --warmup 2 --warmup-ms 50 \
  --out "$work/fixed" --raw-latencies "$work/fixed/raw.csv" --quiet | tee "$work/fixed.txt"
/usr/bin/python3 "$here/check_bench.py" fixed "$work/fixed" "$work/fixed.txt"
"$cli" bench squeezenet1_1 --backends torch,opencv --batch sweep --max-batch 4 --threads 2 \
  --min-duration-ms 200 --min-count 5 --warmup 1 --warmup-ms 0 --out "$work/sweep" --quiet | tee "$work/sweep.txt"
/usr/bin/python3 "$here/check_bench.py" sweep "$work/sweep" "$work/sweep.txt"
