"""The jax backend: an ONNX model lowered op by op to JAX, jitted by XLA for CPU."""
import os

from inferlab_py import Unsupported


def _pin_to_threads(threads):
    # XLA:CPU sizes its intra-op thread pool from the CPUs this process may
    # run on, and has no flag for an exact count, so --threads N pins the
    # process to N of them before jax starts.
    allowed = sorted(os.sched_getaffinity(0))
    if threads < len(allowed):
        os.sched_setaffinity(0, allowed[:threads])


class JaxRunner:
    @staticmethod
    def configure_process(spec):
        os.environ["JAX_PLATFORMS"] = "cpu"
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        _pin_to_threads(int(spec["threads"]))
        if spec["threads"] == 1:
            os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false").strip()
        import jax  # noqa: F401 - imported here so the flags above apply

    @staticmethod
    def versions():
        import jax
        import jaxlib
        return {"jax": jax.__version__, "jaxlib": jaxlib.__version__}

    def __init__(self, spec):
        import jax
        import onnx

        from inferlab_py.onnx_to_jax import lower
        if spec["precision"] != "fp32":
            raise Unsupported(f"the jax backend runs fp32 only, not {spec['precision']}")
        self._jax = jax
        self._spec = spec
        fn, params, self._input_names = lower(onnx.load(spec["model"]["path"]))
        self._jitted = jax.jit(fn)
        self._params = jax.device_put(params)
        self._compiled = None
        self._inputs = None
        self._out = None

    def prepare(self, inputs):
        jax = self._jax
        if len(inputs) != len(self._input_names):
            raise ValueError(f"model has {len(self._input_names)} inputs, got {len(inputs)}")
        self._inputs = [jax.device_put(x) for x in inputs]
        # Compiled ahead of time so no tracing or compilation ever lands in a timed call.
        self._compiled = self._jitted.lower(self._params, *self._inputs).compile()

    def feed(self, inputs):
        """New inputs of the prepared shapes for the following run() calls."""
        self._inputs = [self._jax.device_put(x) for x in inputs]

    def run(self):
        self._out = self._compiled(self._params, *self._inputs)
        self._jax.block_until_ready(self._out)

    def outputs(self):
        import numpy as np
        return [np.asarray(o) for o in self._out]

    def timed_region(self):
        return ("the jitted XLA:CPU executable called on device buffers (inputs and weights placed once at "
                "prepare), block_until_ready on its outputs; outputs stay in XLA's buffers (no host copy); "
                "timed in Python with perf_counter_ns around the call")

    def timing_boundary(self):
        return "compute-only"

    def threading(self):
        return threading_description(int(self._spec["threads"]))

    def version(self):
        v = self.versions()
        return f"jax {v['jax']} (jaxlib {v['jaxlib']}, XLA:CPU)"


def threading_description(threads):
    single = ", --xla_cpu_multi_thread_eigen=false" if threads == 1 else ""
    return (f"XLA:CPU intra-op thread pool sized by pinning the worker process to {threads} CPU(s) "
            f"(sched_setaffinity){single}; one device, calls serialised")
