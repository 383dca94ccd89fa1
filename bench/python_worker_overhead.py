"""Our Python-worker timing vs the framework's own minimal timing loop.

usage: python_worker_overhead.py BUILD_DIR MODEL.onnx BACKEND [THREADS] [SECONDS]

Runs, alternately in fresh processes (these VMs drift between passes), the
launcher build/inferlab-worker-BACKEND on a WorkerSpec (the row `inferlab
bench` would measure) and the framework's own loop in the project
environment's python: the same runner, no launcher, no pipe, timed with
perf_counter_ns. Prints both medians and their ratio (target: within 3%).
Run it with the venv's python (it imports inferlab_py and the framework).
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "python"))


def spec_for(model, backend, threads, seconds, dump):
    return {"model": {"name": os.path.basename(model), "format": "onnx", "path": model, "inputs": [], "outputs": []},
            "model_form": "ONNX", "backend": backend, "precision": "fp32", "batch": 1, "threads": threads,
            "tactic_selection": True, "engine_options": {}, "scenario": "single-stream",
            "input_shapes": [[1, 3, 224, 224]],
            "run": {"warmup_count": 5, "warmup_min_duration_ms": 200, "min_duration_ms": seconds * 1000,
                    "min_count": 50, "max_duration_ms": 600000, "target_ci": 0, "target_ci_min_count": 20},
            "output_dump_path": dump, "raw_latencies_path": "", "samples_path": "", "input_seed": 20261124,
            "profile_path": "", "profile_runs": 20}


OWN_LOOP = r"""
import json, sys, time, statistics
sys.path.insert(0, sys.argv[1])
from inferlab_py.seeded import seeded_uniform
spec = json.load(open(sys.argv[2]))
backend = spec["backend"]
if backend == "jax":
    from inferlab_py.jax_runner import JaxRunner as R
else:
    from inferlab_py.openvino_runner import OpenVinoRunner as R
R.configure_process(spec)
r = R(spec)
r.prepare([seeded_uniform(tuple(s), spec["input_seed"] + i) for i, s in enumerate(spec["input_shapes"])])
for _ in range(5):
    r.run()
lat, start = [], time.perf_counter()
while len(lat) < 50 or time.perf_counter() - start < spec["run"]["min_duration_ms"] / 1000:
    t0 = time.perf_counter_ns(); r.run(); lat.append((time.perf_counter_ns() - t0) / 1e6)
print(statistics.median(lat))
"""


def main():
    build, model, backend = sys.argv[1], os.path.abspath(sys.argv[2]), sys.argv[3]
    threads = int(sys.argv[4]) if len(sys.argv) > 4 else os.cpu_count()
    seconds = float(sys.argv[5]) if len(sys.argv) > 5 else 3.0
    work = tempfile.mkdtemp(prefix="inferlab-pyoverhead-")
    spec_path = os.path.join(work, "spec.json")
    with open(spec_path, "w") as f:
        json.dump(spec_for(model, backend, threads, seconds, os.path.join(work, "out.bin")), f)
    ours, own = [], []
    for _ in range(2):  # interleaved passes
        result = os.path.join(work, "result.json")
        subprocess.run([os.path.join(build, f"inferlab-worker-{backend}"), spec_path, result], check=True)
        row = json.load(open(result))
        if row["status"] != "ok":
            sys.exit(f"worker: {row['status']}: {row['reason']}")
        ours.append(row["latency_ms"]["p50"])
        out = subprocess.run([sys.executable, "-c", OWN_LOOP, os.path.join(HERE, "..", "python"), spec_path],
                             check=True, capture_output=True, text=True)
        own.append(float(out.stdout.strip().splitlines()[-1]))
    a, b = statistics.median(ours), statistics.median(own)
    print(f"{backend} {os.path.basename(model)} threads={threads}: inferlab worker p50 {a:.3f} ms, "
          f"framework's own loop median {b:.3f} ms, ratio {a / b:.3f} (passes: ours {ours}, own {own})")


if __name__ == "__main__":
    main()
