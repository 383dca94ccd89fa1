"""The tvm backend: ONNX imported to Relax, compiled by TVM for this CPU, run by the Relax VM."""
import os

from inferlab_py import Unsupported


def host_target(threads):
    """TVM's llvm target for this machine: -mcpu as LLVM detects the host, num-cores = --threads."""
    import tvm
    return tvm.target.Target({"kind": "llvm", "mcpu": tvm.target.codegen.llvm_get_system_cpu(), "num-cores": threads})


class TvmRunner:
    @staticmethod
    def configure_process(spec):
        # The runtime's thread pool reads this once, when tvm is imported.
        os.environ["TVM_NUM_THREADS"] = str(int(spec["threads"]))
        import tvm  # noqa: F401 - imported here so the thread count applies

    @staticmethod
    def versions():
        import tvm
        return {"tvm": tvm.__version__, "llvm": str(tvm.target.codegen.llvm_version_major())}

    def __init__(self, spec):
        import onnx
        import tvm
        from tvm.relax.frontend.onnx import from_onnx
        if spec["precision"] != "fp32":
            raise Unsupported(f"the tvm backend runs fp32 only, not {spec['precision']}")
        self._tvm = tvm
        self._spec = spec
        self._trials = int(spec.get("engine_options", {}).get("tvm.trials", "0"))
        self._model = onnx.load(spec["model"]["path"])
        self._from_onnx = from_onnx
        self._target = host_target(int(spec["threads"]))
        self._tuning = ("untuned: TVM's default Relax CPU pipeline (operators legalized to TIR and fused, no "
                        "schedules: --tvm-trials N tunes them with MetaSchedule)")
        self._vm = None

    def _import(self, inputs):
        graph_inputs = [i for i in self._model.graph.input if i.name not in {t.name for t in self._model.graph.initializer}]
        if len(inputs) != len(graph_inputs):
            raise ValueError(f"model has {len(graph_inputs)} inputs, got {len(inputs)}")
        shapes = {i.name: list(x.shape) for i, x in zip(graph_inputs, inputs)}
        try:
            return self._from_onnx(self._model, shape_dict=shapes, keep_params_in_input=False)
        except (self._tvm.error.OpNotImplemented, NotImplementedError) as e:
            raise Unsupported(f"TVM's Relax ONNX frontend cannot convert this model: {e}") from e

    def prepare(self, inputs):
        from tvm import relax
        mod = self._import(inputs)
        if self._trials > 0:
            from inferlab_py.tvm_tuning import tuned_executable
            executable, self._tuning = tuned_executable(mod, self._target, self._trials, self._spec["model"]["path"])
        else:
            executable = self._tvm.compile(mod, target=self._target)
        self._vm = relax.VirtualMachine(executable, self._tvm.cpu())
        self.feed(inputs)
        self._vm.invoke_stateful("main")  # the first call allocates the VM's memory pools

    def feed(self, inputs):
        """New inputs of the prepared shapes for the following run() calls."""
        self._inputs = [self._tvm.runtime.tensor(x, self._tvm.cpu()) for x in inputs]
        self._vm.set_input("main", *self._inputs)

    def run(self):
        self._vm.invoke_stateful("main")

    def outputs(self):
        out = self._vm.get_outputs("main")
        if isinstance(out, self._tvm.runtime.Tensor):
            return [out.numpy()]
        return [o.numpy() for o in out]

    def timed_region(self):
        return ("VirtualMachine.invoke_stateful('main') of the Relax VM on input tensors set once at prepare "
                "(its outputs are allocated by the VM inside the call, no host copy); "
                f"{self._tuning}; timed in Python with perf_counter_ns around the call")

    def timing_boundary(self):
        return "compute-only"

    def threading(self):
        return threading_description(int(self._spec["threads"]))

    def version(self):
        return f"tvm {self.versions()['tvm']} (Relax, llvm {self._target.attrs['mcpu']})"


def threading_description(threads):
    return f"TVM runtime thread pool TVM_NUM_THREADS={threads}, target num-cores={threads}; one VM, calls serialised"
