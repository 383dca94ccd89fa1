"""Checks a bench/accuracy JSON for the Python-worker backends' e2e tests.

usage: check_python_backends.py FILE.json MODE
  agree        every row ok; jax/openvino/tvm rows validated against native, cosine >= 0.9999
  dead         jax rows failed naming the worker's last line; native rows ok
  missing      jax rows unsupported naming the install command; native rows ok
  accuracy     every Python-worker row ok with a Top-1 within 1 point of native's, agreeing with
               native on >= 99% of the samples
  tuned        tvm rows ok, validated (cosine >= 0.9999) and MetaSchedule-tuned; a third argument
               "tuned-now" or "cached" says whether the records were made by this run or read back
"""
import json
import sys

doc = json.load(open(sys.argv[1]))
mode = sys.argv[2]
rows = doc["results"]
by_backend = {}
for r in rows:
    by_backend.setdefault(r["backend"], []).append(r)
assert by_backend.get("native"), "no native rows"
for r in by_backend["native"]:
    assert r["status"] == "ok", r
python_rows = [r for b in ("jax", "openvino", "tvm") for r in by_backend.get(b, [])]
assert python_rows, "no Python-worker rows"
for r in python_rows:
    where = f'{r["model"]} {r["backend"]}'
    if mode == "agree":
        assert r["status"] == "ok", (where, r["reason"])
        v = r["validation"]
        assert v and v["reference"].startswith("native"), (where, v)
        assert v["cosine"] >= 0.9999, (where, v)
        assert r["timed_region"] and r["threading"], where
        assert r["latency_ms"]["p50"] > 0 and r["memory_mb"]["peak_rss"] > 0, where
        print(f'{where}: ok, p50 {r["latency_ms"]["p50"]:.2f} ms, cosine {v["cosine"]:.7f}')
    elif mode == "dead":
        assert r["status"] == "failed", (where, r)
        assert "simulated framework crash" in r["reason"] and "exited with code 7" in r["reason"], r["reason"]
    elif mode == "missing":
        assert r["status"] == "unsupported", (where, r)
        assert "setup-python-venv.sh" in r["reason"], r["reason"]
    elif mode == "accuracy":
        assert r["status"] == "ok", (where, r["reason"])
        native = by_backend["native"][0]["top1"]
        assert abs(r["top1"] - native) <= 0.01, (where, r["top1"], native)
        assert r["agreement_top1"] >= 0.99, (where, r["agreement_top1"])
        assert r["timing_boundary"] == "with-copies" and "Python worker" in r["timed_region"], where
        print(f'{where}: top1 {r["top1"]:.4f} (native {native:.4f})')
    elif mode == "tuned":
        assert r["status"] == "ok", (where, r["reason"])
        assert r["validation"]["cosine"] >= 0.9999, (where, r["validation"])
        origin = {"tuned-now": "tuned now", "cached": "records read from"}[sys.argv[3]]
        assert "MetaSchedule-tuned" in r["timed_region"] and origin in r["timed_region"], (where, r["timed_region"])
    else:
        sys.exit(f"unknown mode {mode}")
print(f"{mode}: {len(python_rows)} Python-worker rows as expected")
