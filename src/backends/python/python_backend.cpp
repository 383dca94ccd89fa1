#include "python_backend.h"

#include "inferlab/python_worker.h"

namespace inferlab {

namespace {

struct Framework {
  const char* name;
  const char* package;    // the PyPI distribution whose version is shown
  const char* engine;     // what runs the model, in words
  const char* threading;  // how --threads is applied; %d is the count
};

const Framework kJax{"jax", "jax", "ONNX lowered op by op to jax.numpy/lax, jitted by XLA for CPU",
                     "XLA:CPU intra-op thread pool sized by pinning the worker process to %d CPU(s) "
                     "(sched_setaffinity; with 1, also --xla_cpu_multi_thread_eigen=false); calls serialised"};
const Framework kOpenVino{"openvino", "openvino", "OpenVINO runtime (Python API), ONNX read directly, CPU plugin",
                          "OpenVINO CPU plugin INFERENCE_NUM_THREADS=%d, PERFORMANCE_HINT from --ov-hint "
                          "(latency default), one synchronous infer request"};
const Framework kTvm{"tvm", "apache-tvm",
                     "ONNX imported to Relax, compiled by TVM's LLVM backend for this CPU (-mcpu as LLVM detects "
                     "the host), run by the Relax VM; untuned unless --tvm-trials N (MetaSchedule)",
                     "TVM runtime thread pool TVM_NUM_THREADS=%d (target num-cores the same); calls serialised"};

class PythonWorkerBackend final : public Backend {
 public:
  explicit PythonWorkerBackend(const Framework& framework) : framework_(framework), env_(python_environment()) {}

  std::string name() const override { return framework_.name; }

  std::string version() const override {
    const std::string v = python_package_version(env_, framework_.package);
    if (v.empty()) return "not installed";
    if (std::string(framework_.name) == "jax")
      return "jax " + v + " (jaxlib " + python_package_version(env_, "jaxlib") + ", XLA:CPU)";
    if (std::string(framework_.name) == "tvm") return "tvm " + v + " (Relax, LLVM)";
    return std::string(framework_.package) + " " + v;
  }

  std::vector<std::string> devices() const override { return {"cpu"}; }

  std::map<std::string, std::string> build_info() const override {
    return {
        {"runs as", "Python worker (python/inferlab_worker.py driven by inferlab-worker-" + name() + ")"},
        {"engine", framework_.engine},
        {"environment", env_.venv_dir + (env_.installed() ? "" : " (missing: run " + python_install_command() + ")")}};
  }

  std::string threading_description(int threads) const override {
    std::string text = framework_.threading;
    const auto at = text.find("%d");
    if (at != std::string::npos) text.replace(at, 2, std::to_string(threads));
    return text;
  }

  ModelFormat format() const override { return ModelFormat::kOnnx; }

  SupportAnswer supports(const ModelSource& model, Precision precision) const override {
    (void)model;
    if (!env_.installed()) {
      return SupportAnswer::no("the Python environment " + env_.venv_dir + " is missing: run " +
                               python_install_command());
    }
    if (python_package_version(env_, framework_.package).empty()) {
      return SupportAnswer::no(std::string(framework_.package) + " is not installed in " + env_.venv_dir + ": run " +
                               python_install_command());
    }
    if (precision != Precision::kFp32) {
      return SupportAnswer::no(name() + " runs fp32 only in inferlab so far, not " + precision_name(precision));
    }
    // Whether every op converts is known only once the worker reads the
    // graph; an op it cannot lower makes that row "unsupported" naming it.
    return SupportAnswer::yes();
  }

  // The session drives a worker process (python_worker.h): `bench` measures
  // in inferlab-worker-<name> instead, this serves verbs with their own
  // inputs (accuracy).
  std::unique_ptr<Session> load(const ModelSource& model, const SessionOptions& options) override {
    check_load_preconditions(*this, model, options);
    return make_python_session(name(), model, options, env_);
  }

 private:
  Framework framework_;
  PythonEnvironment env_;
};

}  // namespace

std::unique_ptr<Backend> make_jax_backend() { return std::make_unique<PythonWorkerBackend>(kJax); }
std::unique_ptr<Backend> make_openvino_backend() { return std::make_unique<PythonWorkerBackend>(kOpenVino); }
std::unique_ptr<Backend> make_tvm_backend() { return std::make_unique<PythonWorkerBackend>(kTvm); }

}  // namespace inferlab
