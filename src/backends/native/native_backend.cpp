// The `native` backend: inferlab's own engine (src/backends/native/engine.h)
// on oneDNN primitives and reference kernels, behind the backend contract.
#include "native_backend.h"

#include <omp.h>

#include <oneapi/dnnl/dnnl.hpp>

#include "engine.h"
#include "inferlab/error.h"

namespace inferlab {

namespace {

class NativeSession final : public Session {
 public:
  NativeSession(const std::string& path, int threads) : engine_(path), threads_(threads) {}
  void prepare(const std::vector<Shape>& input_shapes) override {
    omp_set_num_threads(threads_);
    try {
      engine_.prepare(input_shapes);
    } catch (const dnnl::error& e) {
      throw Error(std::string("native: oneDNN: ") + e.what(), ErrorKind::kRuntime);
    }
  }
  std::vector<TensorSpec> output_specs() const override { return engine_.output_specs(); }
  void run(const std::vector<const Tensor*>& inputs, std::vector<Tensor*>& outputs) override {
    engine_.run(inputs, outputs);
  }
  TimingBoundary timing_boundary() const override { return TimingBoundary::kComputeOnly; }
  std::string timed_region_description() const override {
    return "every kernel of the prepared graph reading the caller's input tensors and writing the caller's output "
           "tensors in place (no copies in or out); intermediates live in one pre-planned arena";
  }

 private:
  native::Engine engine_;
  int threads_;
};

class NativeBackend final : public Backend {
 public:
  std::string name() const override { return "native"; }
  std::string version() const override {
    const dnnl_version_t* v = dnnl_version();
    return "0.1 (oneDNN " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch) +
           ")";
  }
  std::vector<std::string> devices() const override { return {"cpu"}; }
  std::map<std::string, std::string> build_info() const override {
    const dnnl_version_t* v = dnnl_version();
    return {{"oneDNN", std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch) +
                           " (" + (v->cpu_runtime == DNNL_RUNTIME_OMP ? "OpenMP" : "other") + " runtime)"},
            {"ops", std::to_string(native::kernel_registry().size()) + " (oneDNN: Conv, Gemm, MatMul, pooling; "
                                                                       "reference kernels for the rest)"},
            {"precisions", "fp32 (bf16 and int8 not implemented yet)"}};
  }
  std::string threading_description(int threads) const override {
    return "omp_set_num_threads(" + std::to_string(threads) +
           ") for oneDNN's OpenMP runtime; reference kernels run on the calling thread";
  }
  ModelFormat format() const override { return ModelFormat::kOnnx; }

  SupportAnswer supports(const ModelSource& model, Precision precision) const override {
    if (model.format != ModelFormat::kOnnx) {
      return SupportAnswer::no("native reads ONNX models only (this one is " + model_format_name(model.format) + ")");
    }
    if (precision != Precision::kFp32) {
      return SupportAnswer::no("native runs fp32 only so far; " + precision_name(precision) + " (oneDNN " +
                               precision_name(precision) + " primitives) is not implemented yet");
    }
    if (model.path.empty()) return SupportAnswer::yes();
    try {
      const auto missing = native::unsupported_ops(OnnxGraph::load(model.path));
      if (!missing.empty()) {
        std::string list;
        for (const auto& op : missing) list += (list.empty() ? "" : ", ") + op;
        return SupportAnswer::no("the native engine has no kernel for: " + list);
      }
    } catch (const Error& e) {
      return SupportAnswer::no(e.what());
    }
    return SupportAnswer::yes();
  }

  std::unique_ptr<Session> load(const ModelSource& model, const SessionOptions& options) override {
    check_load_preconditions(*this, model, options);
    return std::make_unique<NativeSession>(model.path, options.intra_op_threads);
  }
};

}  // namespace

std::unique_ptr<Backend> make_native_backend() { return std::make_unique<NativeBackend>(); }

}  // namespace inferlab
