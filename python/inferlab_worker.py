"""inferlab's Python worker: one model on one Python framework, driven by C++.

Started by the C++ launcher inferlab-worker-<backend> (src/backends/python/python_worker.cpp)
as `python inferlab_worker.py BACKEND SPEC.json`, with commands arriving on
fd 3 and replies leaving on fd 4 (stdout and stderr are the log). Protocol,
one line each way:

  worker -> {"event": "imported", "versions": {...}}   framework imported
  L      -> {"event": "loaded", ...}                   model loaded, prepared, seeded
                                                       input run once, outputs dumped
  R      -> <ms>                                       one timed iteration: its latency
  F      -> <ms>                                       feed: the next inputs from spec["feed_input_path"]
                                                       (raw float32, input_shapes, one after another) are
                                                       bound, run once (timed), and every output is written
                                                       to spec["feed_output_path"] as raw float32
  Q      -> (exit 0)
  any failure -> {"event": "error", "kind": "unsupported"|"failed", "message": ...}

Warm-up iterations are R commands whose latency C++ discards. F serves verbs
that bring their own inputs (accuracy): C++ writes a batch, sends F, reads the
scores back (src/backends/python/python_session.cpp). The C++ side
decides when warm-up and measurement stop (the run rules) and
computes every statistic from the latencies sent back; this side only runs and
times the framework call.
"""
import ctypes
import json
import os
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from inferlab_py import Unsupported  # noqa: E402
from inferlab_py.seeded import seeded_uniform  # noqa: E402

_PR_SET_PDEATHSIG = 1
_SIGKILL = 9


def _die_with_parent():
    # A launcher killed at its deadline must not leave a framework spinning.
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, _SIGKILL)
    except (OSError, AttributeError):
        pass


def _runner_class(backend):
    if backend == "jax":
        from inferlab_py.jax_runner import JaxRunner
        return JaxRunner
    if backend == "openvino":
        from inferlab_py.openvino_runner import OpenVinoRunner
        return OpenVinoRunner
    if backend == "tvm":
        from inferlab_py.tvm_runner import TvmRunner
        return TvmRunner
    raise Unsupported(f"no Python runner named {backend!r}")


def _serve(backend, spec, commands, replies):
    def send(obj):
        replies.write(json.dumps(obj) + "\n")
        replies.flush()

    runner_class = _runner_class(backend)
    runner_class.configure_process(spec)
    send({"event": "imported", "versions": runner_class.versions()})
    if commands.readline().strip() != "L":
        return
    runner = runner_class(spec)
    inputs = [seeded_uniform(tuple(shape), spec["input_seed"] + i) for i, shape in enumerate(spec["input_shapes"])]
    runner.prepare(inputs)
    runner.run()  # the validation sample: the seeded input's outputs
    outputs = runner.outputs()
    if spec.get("output_dump_path"):
        _write_float_outputs(spec["output_dump_path"], outputs)
    send({"event": "loaded", "timed_region": runner.timed_region(), "timing_boundary": runner.timing_boundary(),
          "threading": runner.threading(), "version": runner.version(),
          "outputs": [{"shape": list(o.shape), "dtype": str(o.dtype)} for o in outputs]})
    run = runner.run
    clock = time.perf_counter_ns
    for line in commands:
        command = line.strip()
        if command == "R":
            t0 = clock()
            run()
            t1 = clock()
            replies.write(f"{(t1 - t0) / 1e6!r}\n")
            replies.flush()
        elif command == "F":
            runner.feed(_read_inputs(spec["feed_input_path"], spec["input_shapes"]))
            t0 = clock()
            run()
            t1 = clock()
            _write_float_outputs(spec["feed_output_path"], runner.outputs())
            replies.write(f"{(t1 - t0) / 1e6!r}\n")
            replies.flush()
        else:
            return


def _write_float_outputs(path, outputs):
    with open(path + ".partial", "wb") as f:
        for out in outputs:
            if out.dtype.kind == "f":
                f.write(out.astype("<f4", copy=False).tobytes())
    os.replace(path + ".partial", path)


def _read_inputs(path, shapes):
    import numpy as np
    flat = np.fromfile(path, dtype="<f4")
    inputs, at = [], 0
    for shape in shapes:
        count = int(np.prod(shape, dtype=np.int64))
        if at + count > flat.size:
            raise ValueError(f"{path}: {flat.size} floats, the inputs {shapes} need more")
        inputs.append(flat[at:at + count].reshape(shape))
        at += count
    return inputs


def main():
    if len(sys.argv) != 3:
        print("usage: inferlab_worker.py BACKEND SPEC.json (started by inferlab-worker-BACKEND)", file=sys.stderr)
        return 2
    _die_with_parent()
    backend, spec_path = sys.argv[1], sys.argv[2]
    with open(spec_path) as f:
        spec = json.load(f)
    commands = os.fdopen(3, "r")
    replies = os.fdopen(4, "w")
    try:
        _serve(backend, spec, commands, replies)
    except Unsupported as e:
        replies.write(json.dumps({"event": "error", "kind": "unsupported", "message": str(e)}) + "\n")
        replies.flush()
        print(f"{backend}: {e}", file=sys.stderr)
        return 3
    except Exception as e:  # noqa: BLE001 - any framework error becomes a failed row
        traceback.print_exc()
        message = f"{type(e).__name__}: {e}".splitlines()[0][:300]
        replies.write(json.dumps({"event": "error", "kind": "failed", "message": message}) + "\n")
        replies.flush()
        print(f"{backend}: {message}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
