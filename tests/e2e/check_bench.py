"""check_bench.py MODE OUT_DIR STDOUT_FILE: checks a bench run's files field by field.

MODE "fixed": quick zoo x {opencv, torch, null} x batch {1, 2}.
MODE "sweep": squeezenet1_1 x {torch, opencv}, --batch sweep --max-batch 4.
"""
import csv
import json
import math
import os
import sys

mode, out_dir, stdout_file = sys.argv[1:4]
failures = []


def check(condition, message):
    if not condition:
        failures.append(message)


doc = json.load(open(os.path.join(out_dir, "bench.json")))
check(doc["schema"] == "inferlab.bench/1", "schema")
env = doc["env"]
for key in ["cpu_model", "isa", "cores", "threads", "governor", "os", "compiler", "libraries", "git_revision",
            "started_at"]:
    check(key in env, f"env lacks {key}")
check("opencv" in env["libraries"] and "torch" in env["libraries"], "env.libraries lacks engine versions")
check(env["started_at"].endswith("Z") and "T" in env["started_at"], "started_at not ISO-8601 UTC")

results = doc["results"]
for r in results:
    name = f'{r["model"]} x {r["backend"]} batch {r["batch"]}'
    for key in ["model", "backend", "backend_version", "precision", "batch", "threads", "scenario", "status", "reason",
                "latency_ms", "throughput_per_s", "count", "duration_ms", "memory_mb", "power_w",
                "energy_mj_per_inference", "validation", "timing_boundary"]:
        check(key in r, f"{name}: lacks {key}")
    check(r["status"] == "ok", f'{name}: status {r["status"]} ({r["reason"]})')
    if r["status"] != "ok":
        continue
    lat = r["latency_ms"]
    order = [lat["min"], lat["p50"], lat["p90"], lat["p95"], lat["p99"], lat["p999"], lat["max"]]
    check(all(a <= b for a, b in zip(order, order[1:])), f"{name}: percentiles not ordered {order}")
    check(lat["ci95_p50"][0] <= lat["p50"] <= lat["ci95_p50"][1], f"{name}: CI does not contain p50")
    check(lat["min"] <= lat["mean"] <= lat["max"] and lat["stddev"] >= 0, f"{name}: mean/stddev inconsistent")
    check(r["count"] >= 5, f'{name}: count {r["count"]}')
    expected_tp = r["count"] * r["batch"] * 1000.0 / r["duration_ms"]
    check(math.isclose(r["throughput_per_s"], expected_tp, rel_tol=1e-6), f"{name}: throughput inconsistent")
    mem = r["memory_mb"]
    check(mem is not None and mem["peak_rss"] > 0, f"{name}: no memory figures")
    check(r["power_w"] is None or r["power_w"]["avg"] > 0, f"{name}: power figure invalid")
    check(r["timing_boundary"] in ("compute-only", "with-copies", "end-to-end"), f"{name}: timing_boundary")
    check(r["threads"] == 2, f"{name}: threads {r['threads']}")

if mode == "fixed":
    keys = {(r["model"], r["backend"], r["batch"]) for r in results}
    for model in ["mobilenet_v2", "squeezenet1_1"]:
        for backend in ["opencv", "torch", "null"]:
            for batch in [1, 2]:
                check((model, backend, batch) in keys, f"missing {model} x {backend} batch {batch}")
    for r in results:
        if r["backend"] == "torch" and r["status"] == "ok":
            v = r["validation"]
            check(v is not None and v["reference"] == "opencv", f'{r["model"]} torch: no validation vs opencv')
            if v:
                check(v["within_tolerance"] and v["cosine"] > 0.9999, f'{r["model"]} torch disagrees: {v}')
        if r["backend"] in ("opencv", "null"):
            check(r["validation"] is None, f'{r["model"]} {r["backend"]}: should carry no validation')
    # Engines are isolated per process: each torch row loaded torch, so its
    # load delta is real (tens of MB), and the null rows load nothing heavy.
    null_peak = max(r["memory_mb"]["peak_rss"] for r in results if r["backend"] == "null")
    torch_peak = min(r["memory_mb"]["peak_rss"] for r in results if r["backend"] == "torch")
    check(torch_peak > null_peak, f"torch peak RSS {torch_peak} not above null's {null_peak}: isolation?")
    raw = list(csv.DictReader(open(os.path.join(out_dir, "raw.csv"))))
    check(len(raw) == sum(r["count"] for r in results), f"raw.csv has {len(raw)} samples, results count "
          f"{sum(r['count'] for r in results)}")
    rows = list(csv.DictReader(open(os.path.join(out_dir, "bench.csv"))))
    check(len(rows) == len(results), "bench.csv rows")
    md = open(os.path.join(out_dir, "bench.md")).read()
    check("| mobilenet_v2 |" in md and "Environment" in md, "bench.md lacks the table or environment")
elif mode == "sweep":
    for backend in ["torch", "opencv"]:
        rows = [r for r in results if r["backend"] == backend]
        best = [r for r in rows if r.get("sweep_best")]
        check(len(best) == 1, f"{backend}: {len(best)} sweep_best rows")
        check([r["batch"] for r in rows][:1] == [1], f"{backend}: sweep does not start at 1")
        batches = [r["batch"] for r in rows]
        check(all(b2 == 2 * b1 for b1, b2 in zip(batches, batches[1:])), f"{backend}: batches {batches} not doubling")
        check(max(batches) <= 4, f"{backend}: passed --max-batch 4: {batches}")
        if best:
            check(best[0]["throughput_per_s"] == max(r["throughput_per_s"] for r in rows), f"{backend}: best not max")
            check(best[0]["sweep_stop"] != "", f"{backend}: no sweep stop reason")

text = open(stdout_file).read()
check("Inference time at batch 1" in text and "squeezenet1_1" in text, "terminal table missing")
if failures:
    print("FAIL:\n  " + "\n  ".join(failures))
    sys.exit(1)
print(f"ok: {len(results)} results checked ({mode})")
