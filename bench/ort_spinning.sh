#!/usr/bin/env bash
# ort_spinning.sh [INFERLAB] [ROUNDS] [MODELS...]
# onnxruntime with intra-op spinning on against off, each configuration in its
# own `inferlab bench` process (one process holding both thread pools would
# have them compete), alternating on/off for ROUNDS rounds so drift lands on
# both. Prints each round's p50 per model and the median ratio on/off.
# Exits 0 whatever it measures: benchmarks never gate on speed.
set -euo pipefail
cli=${1:-build/inferlab}
rounds=${2:-3}
shift $(($# > 2 ? 2 : $#))
models=("${@:-mobilenet_v2}")
[ ${#models[@]} -gt 0 ] || models=(mobilenet_v2)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for ((i = 1; i <= rounds; i++)); do
  for s in on off; do
    "$cli" bench "${models[@]}" --backends onnxruntime --ort-spinning "$s" --threads 2 --min-duration-ms 1000 \
      --min-count 20 --no-store --quiet --json "$work/$s.$i.json" >/dev/null
  done
done
/usr/bin/python3 - "$work" "$rounds" <<'PY'
import json, statistics, sys
work, rounds = sys.argv[1], int(sys.argv[2])
ratios = {}
for i in range(1, rounds + 1):
    p50 = {s: {r["model"]: r["latency_ms"]["p50"] for r in json.load(open(f"{work}/{s}.{i}.json"))["results"]}
           for s in ("on", "off")}
    for model in p50["on"]:
        ratios.setdefault(model, []).append(p50["on"][model] / p50["off"][model])
        print(f"round {i} {model}: spinning on {p50['on'][model]:.2f} ms, off {p50['off'][model]:.2f} ms")
for model, r in ratios.items():
    print(f"{model}: median ratio on/off {statistics.median(r):.3f} ({'on' if statistics.median(r) < 1 else 'off'} is faster here)")
PY
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
