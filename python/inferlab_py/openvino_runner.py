"""The openvino backend: OpenVINO's Python API, ONNX read directly, CPU plugin."""
from inferlab_py import Unsupported

_HINTS = {"latency": "LATENCY", "throughput": "THROUGHPUT"}


class OpenVinoRunner:
    @staticmethod
    def configure_process(spec):
        import openvino  # noqa: F401

    @staticmethod
    def versions():
        import openvino as ov
        return {"openvino": ov.get_version()}

    def __init__(self, spec):
        import openvino as ov
        if spec["precision"] != "fp32":
            raise Unsupported(f"the openvino backend runs fp32 only here, not {spec['precision']}")
        self._ov = ov
        self._spec = spec
        hint = spec.get("engine_options", {}).get("openvino.hint", "latency")
        if hint not in _HINTS:
            raise ValueError(f"--ov-hint must be latency or throughput, got {hint}")
        self._hint = hint
        self._core = ov.Core()
        self._model = self._core.read_model(spec["model"]["path"])
        self._request = None
        self._inputs = None

    def prepare(self, inputs):
        ov = self._ov
        self._model.reshape({i: ov.PartialShape(list(x.shape)) for i, x in enumerate(inputs)})
        config = {
            "PERFORMANCE_HINT": _HINTS[self._hint],
            "INFERENCE_NUM_THREADS": int(self._spec["threads"]),
            # CPUs with bf16/AMX would otherwise run an fp32 row in bf16.
            "INFERENCE_PRECISION_HINT": "f32",
        }
        compiled = self._core.compile_model(self._model, "CPU", config)
        self._request = compiled.create_infer_request()
        self.feed(inputs)

    def feed(self, inputs):
        """New inputs of the prepared shapes for the following run() calls."""
        self._inputs = inputs  # kept alive: the tensors below share their memory
        for i, x in enumerate(inputs):
            self._request.set_input_tensor(i, self._ov.Tensor(x, shared_memory=True))

    def run(self):
        self._request.infer()

    def outputs(self):
        return [self._request.get_output_tensor(i).data.copy() for i in range(len(self._request.model_outputs))]

    def timed_region(self):
        return (f"InferRequest.infer() (synchronous, CPU plugin, PERFORMANCE_HINT {_HINTS[self._hint]}) on input "
                "tensors that share the caller's numpy buffers; outputs stay in OpenVINO's tensors (no copy); "
                "timed in Python with perf_counter_ns around the call")

    def timing_boundary(self):
        return "compute-only"

    def threading(self):
        return threading_description(int(self._spec["threads"]), self._hint)

    def version(self):
        return "openvino " + self.versions()["openvino"]


def threading_description(threads, hint="latency"):
    return (f"OpenVINO CPU plugin INFERENCE_NUM_THREADS={threads}, PERFORMANCE_HINT {_HINTS.get(hint, hint)}, "
            "one synchronous infer request")


__all__ = ["OpenVinoRunner", "Unsupported"]
