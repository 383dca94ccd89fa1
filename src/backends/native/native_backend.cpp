// The `native` backend: inferlab's own engine (src/backends/native/engine.h)
// on oneDNN primitives and reference kernels, behind the backend contract.
#include "native_backend.h"

#include <omp.h>

#include <algorithm>

#include <oneapi/dnnl/dnnl.hpp>

#include "engine.h"
#include "inferlab/error.h"
#include "onednn_util.h"
#include "tactic_cache.h"
#include "xnnpack_conv.h"

namespace inferlab {

namespace {

// What each kind of model computes in, stated in info and in refusals.
constexpr const char* kPrecisions =
    "fp32; fp16 models (float16 weights, Cast to/from FLOAT16) run with fp32 arithmetic on this CPU (no native fp16 "
    "arithmetic), weights rounded to fp16 (widened at load; Cast to FLOAT16 rounds; float16 graph inputs/outputs "
    "are real float16); QDQ int8 models run each Conv, Gemm and MatMul of the form op(DQ(Q(x)), DQ(W_q)) as a "
    "oneDNN int8 primitive (convolution or matmul; u8/s8 x s8 -> s32, per-channel output scales), other Q/DQ as "
    "written; bf16 (CPUs with avx512_bf16 or AMX): Conv and Gemm/MatMul by constant weights as oneDNN bf16 "
    "primitives with fp32 accumulation, activations bf16 between bf16 layers, fp32 outputs";

class NativeSession final : public Session {
 public:
  NativeSession(const std::string& path, int threads, bool tactics, bool bf16)
      : engine_(path), threads_(threads), tactics_(tactics) {
    engine_.set_tactics(tactics);
    engine_.set_bf16(bf16);
  }
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
    // OpenMP's thread count is per calling thread: `live` prepares on one
    // thread and runs on another, which would otherwise get all cores.
    if (omp_get_max_threads() != threads_) omp_set_num_threads(threads_);
    engine_.run(inputs, outputs);
  }
  bool set_profiling(bool on) override {
    engine_.set_profiling(on);
    return true;
  }
  SessionProfile profile() const override {
    SessionProfile p;
    for (const auto& step : engine_.steps())
      p.layers.push_back({step.node, step.op, step.implementation, step.fused, step.total_ms, step.runs});
    for (const auto& e : engine_.trace()) p.events.push_back({e.step, e.run, e.start_us, e.duration_us});
    p.runs = engine_.profiled_runs();
    p.note =
        "native: steady_clock around each step's kernel (a oneDNN primitive waits for its stream), so a "
        "layer's time includes any layout reorder the step does";
    return p;
  }
  TimingBoundary timing_boundary() const override { return TimingBoundary::kComputeOnly; }
  std::string timed_region_description() const override {
    // Which kernels ran depends on tactic selection: results say whether it was on.
    std::string tactics = "tactic selection off (oneDNN's first pick)";
    if (tactics_) {
      const auto& t = engine_.tactic_stats();
      tactics = "tactic selection on (" + std::to_string(t.layers_tuned) + " layers timed, ";
      tactics += std::to_string(t.cache_hits);
      tactics += " from the cache)";
    }
    return "every kernel of the prepared graph reading the caller's input tensors and writing the caller's output "
           "tensors in place (no copies in or out); intermediates live in one pre-planned arena; " +
           tactics;
  }

 private:
  native::Engine engine_;
  int threads_;
  bool tactics_;
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
            {"precisions", kPrecisions},
            {"cpu isa (oneDNN)", native::onednn_isa_name()},
            {"tactics", "Conv implementations timed at prepare (bench --tactics on|off), choices cached in " +
                            native::default_tactic_cache_path()},
            {"xnnpack (Conv tactic)", native::xnnpack_status()},
            {"bf16", native::cpu_has_bf16() ? "bf16 dot products (oneDNN reports " + native::onednn_isa_name() + ")"
                                            : native::bf16_unsupported_reason()},
            {"int8 dot products", native::cpu_has_vnni()
                                      ? "VNNI (exact s32 sums)"
                                      : "no VNNI: 16-bit pair sums, exact for weights in [-64, 63] (optimize's 7-bit "
                                        "default, s8-source weights given doubled); a layer with 8-bit weights runs "
                                        "in float32"}};
  }
  std::string threading_description(int threads) const override {
    return "omp_set_num_threads(" + std::to_string(threads) +
           ") for oneDNN's OpenMP runtime, which the reference kernels' parallel loops share";
  }
  ModelFormat format() const override { return ModelFormat::kOnnx; }

  SupportAnswer supports(const ModelSource& model, Precision precision) const override {
    if (model.format != ModelFormat::kOnnx) {
      return SupportAnswer::no("native reads ONNX models only (this one is " + model_format_name(model.format) + ")");
    }
    if (precision == Precision::kFp16) {
      return SupportAnswer::no(
          "native has no fp16 arithmetic on this CPU (oneDNN 2.6 has no fp16 CPU path): run an fp16 model (`inferlab "
          "optimize --fp16`) at fp32 precision; it computes in fp32 with weights and Cast points rounded to fp16");
    }
    // int8 runs from a QDQ model only (the graph says what is quantized);
    // without VNNI only its layers with 7-bit weights run as int8 kernels.
    if (precision == Precision::kInt8 && model.path.empty())
      return SupportAnswer::no(
          "native runs int8 only from a QDQ model file (`inferlab optimize --int8`, or `bench --precision int8 "
          "--calib DATASET`)");
    // bf16 runs the fp32 model's Convs and MatMuls in bf16: the CPU decides,
    // then the model's ops as for fp32.
    if (precision == Precision::kBf16 && !native::cpu_has_bf16())
      return SupportAnswer::no("native: " + native::bf16_unsupported_reason());
    if (model.path.empty()) return SupportAnswer::yes();
    try {
      // The op list only, read once: a full parse would load every weight just to answer.
      const auto ops = read_onnx_op_types(model.path);
      const auto missing = native::unsupported_ops(ops);
      if (!missing.empty()) {
        std::string list;
        for (const auto& op : missing) list += (list.empty() ? "" : ", ") + op;
        return SupportAnswer::no("the native engine has no kernel for: " + list);
      }
      if (precision != Precision::kInt8) return SupportAnswer::yes();
      for (const auto& [domain, op] : ops) {
        if (op == "QuantizeLinear" || op == "DequantizeLinear") return SupportAnswer::yes();
      }
    } catch (const Error& e) {
      return SupportAnswer::no(e.what());
    }
    return SupportAnswer::no(
        "this model has no QuantizeLinear/DequantizeLinear: native runs int8 only from a QDQ "
        "model (`inferlab optimize --int8`, or `bench --precision int8 --calib DATASET` to quantize first)");
  }

  std::unique_ptr<Session> load(const ModelSource& model, const SessionOptions& options) override {
    check_load_preconditions(*this, model, options);
    return std::make_unique<NativeSession>(model.path, options.intra_op_threads, options.tactic_selection,
                                           options.precision == Precision::kBf16);
  }
};

}  // namespace

std::unique_ptr<Backend> make_native_backend() { return std::make_unique<NativeBackend>(); }

}  // namespace inferlab
