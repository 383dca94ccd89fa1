#include "onnxruntime_backend.h"

#include <onnxruntime_cxx_api.h>

#include <cstring>
#include <set>

#include "inferlab/error.h"
#include "inferlab/files.h"
#include "inferlab/onnx_graph.h"
#include "ort_options.h"
#include "ort_profile.h"

namespace inferlab {

namespace {

// Warm runs in prepare(): ORT allocates its arena, creates MLAS packed
// weights and, at the first run, its thread pool's work queues; none of that
// belongs in run().
constexpr int kPrepareWarmRuns = 3;

// ORT's messages can span lines (a node's stack of complaints); the first
// line names the node and the problem.
std::string first_line(const std::string& text) {
  const auto end = text.find('\n');
  return end == std::string::npos ? text : text.substr(0, end);
}

DType from_ort_type(ONNXTensorElementDataType type) {
  switch (type) {
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT:
      return DType::kFloat32;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16:
      return DType::kFloat16;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16:
      return DType::kBFloat16;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8:
      return DType::kInt8;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8:
      return DType::kUInt8;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32:
      return DType::kInt32;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64:
      return DType::kInt64;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL:
      return DType::kBool;
    default:
      return DType::kUnknown;
  }
}

// ORT's NOT_IMPLEMENTED (no kernel for an op, attribute or type) is the
// engine saying "unsupported"; anything else is a failure.
ErrorKind kind_of(const Ort::Exception& e) {
  return e.GetOrtErrorCode() == ORT_NOT_IMPLEMENTED ? ErrorKind::kUnsupported : ErrorKind::kRuntime;
}

const Ort::MemoryInfo& cpu_memory() {
  static const Ort::MemoryInfo info = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
  return info;
}

// Ort::Values that view caller-owned bytes, re-made only when the caller
// hands different buffers, so run() normally creates nothing.
class BoundValues {
 public:
  template <typename TensorPtr>
  const Ort::Value* bind(const std::vector<TensorPtr>& tensors, const std::vector<ONNXTensorElementDataType>& types) {
    bool same = values_.size() == tensors.size();
    for (std::size_t i = 0; same && i < tensors.size(); ++i) same = pointers_[i] == tensors[i]->data();
    if (!same) {
      values_.clear();
      pointers_.clear();
      for (std::size_t i = 0; i < tensors.size(); ++i) {
        void* data = const_cast<void*>(static_cast<const void*>(tensors[i]->data()));
        const Shape& shape = tensors[i]->shape();
        values_.push_back(Ort::Value::CreateTensor(cpu_memory(), data, tensors[i]->size_bytes(), shape.data(),
                                                   shape.size(), types[i]));
        pointers_.push_back(tensors[i]->data());
      }
    }
    return values_.data();
  }
  void clear() {
    values_.clear();
    pointers_.clear();
  }

 private:
  std::vector<Ort::Value> values_;
  std::vector<const void*> pointers_;
};

class OrtSession final : public Session {
 public:
  OrtSession(ModelSource model, ort::OrtSettings settings, Ort::Session session)
      : model_(std::move(model)), settings_(std::move(settings)), session_(std::move(session)) {
    Ort::AllocatorWithDefaultOptions allocator;
    for (std::size_t i = 0; i < session_.GetInputCount(); ++i) {
      input_names_.push_back(session_.GetInputNameAllocated(i, allocator).get());
      input_types_.push_back(session_.GetInputTypeInfo(i).GetTensorTypeAndShapeInfo().GetElementType());
    }
    for (std::size_t i = 0; i < session_.GetOutputCount(); ++i) {
      output_names_.push_back(session_.GetOutputNameAllocated(i, allocator).get());
    }
    for (const auto& n : input_names_) input_name_ptrs_.push_back(n.c_str());
    for (const auto& n : output_names_) output_name_ptrs_.push_back(n.c_str());
  }

  void prepare(const std::vector<Shape>& input_shapes) override {
    if (input_shapes.size() != input_names_.size()) {
      throw Error("onnxruntime: model '" + model_.name + "' has " + std::to_string(input_names_.size()) +
                  " inputs but " + std::to_string(input_shapes.size()) + " shapes were given");
    }
    warm_inputs_.clear();
    for (std::size_t i = 0; i < input_shapes.size(); ++i) {
      // An empty shape is a scalar (rank 0), which ONNX models may take.
      if (!shape_is_static(input_shapes[i])) {
        throw Error("onnxruntime: input shape " + shape_to_string(input_shapes[i]) + " must be fully known");
      }
      const DType dtype = from_ort_type(input_types_[i]);
      if (dtype == DType::kUnknown) {
        throw Error("onnxruntime: input '" + input_names_[i] + "' has an element type inferlab does not handle");
      }
      warm_inputs_.emplace_back(dtype, input_shapes[i]);
      std::memset(warm_inputs_.back().data(), 0, warm_inputs_.back().size_bytes());
    }
    output_specs_.clear();
    try {
      for (int warm = 0; warm < kPrepareWarmRuns; ++warm) {
        std::vector<Ort::Value> results = run_allocating(session_);
        if (warm == 0) record_output_specs(results);
      }
    } catch (const Ort::Exception& e) {
      // prepare() knows the input shapes, not their values: a model that
      // reads parameters (scales, sizes, depths) from its inputs cannot run
      // on the zeros used here, and needs those parameters as constants.
      throw Error(
          "onnxruntime: model '" + model_.name + "' did not run on zero-valued inputs of shape " +
              (input_shapes.empty() ? std::string("(none)") : shape_to_string(input_shapes[0])) +
              " at prepare (inputs that are parameters must be constants in the model): " + first_line(e.what()),
          e.GetOrtErrorCode() == ORT_RUNTIME_EXCEPTION ? ErrorKind::kRuntime : ErrorKind::kUnsupported);
    }
    inputs_.clear();
    outputs_.clear();
  }

  std::vector<TensorSpec> output_specs() const override { return output_specs_; }

  void run(const std::vector<const Tensor*>& inputs, std::vector<Tensor*>& outputs) override {
    if (inputs.size() != warm_inputs_.size() || outputs.size() != output_specs_.size()) {
      throw Error("onnxruntime: run() got " + std::to_string(inputs.size()) + " inputs and " +
                  std::to_string(outputs.size()) + " outputs, prepared for " + std::to_string(warm_inputs_.size()) +
                  " and " + std::to_string(output_specs_.size()));
    }
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      if (inputs[i]->dtype() != warm_inputs_[i].dtype() || inputs[i]->shape() != warm_inputs_[i].shape()) {
        throw Error("onnxruntime: input " + std::to_string(i) + " is " + dtype_name(inputs[i]->dtype()) + " " +
                    shape_to_string(inputs[i]->shape()) + ", prepared for " + dtype_name(warm_inputs_[i].dtype()) +
                    " " + shape_to_string(warm_inputs_[i].shape()));
      }
    }
    for (std::size_t i = 0; i < outputs.size(); ++i) {
      if (outputs[i]->dtype() != output_specs_[i].dtype || outputs[i]->shape() != output_specs_[i].shape) {
        throw Error("onnxruntime: output " + std::to_string(i) + " is " + dtype_name(outputs[i]->dtype()) + " " +
                    shape_to_string(outputs[i]->shape()) + ", prepared for " + dtype_name(output_specs_[i].dtype) +
                    " " + shape_to_string(output_specs_[i].shape));
      }
    }
    Ort::Session& session = profiling_session_ ? *profiling_session_ : session_;
    try {
      const Ort::Value* in = inputs_.bind(inputs, input_types_);
      Ort::Value* out = const_cast<Ort::Value*>(outputs_.bind(outputs, output_types_));
      session.Run(run_options_, input_name_ptrs_.data(), in, inputs.size(), output_name_ptrs_.data(), out,
                  outputs.size());
    } catch (const Ort::Exception& e) {
      const std::string message = first_line(e.what());
      // Output shapes are fixed at prepare (the backend contract); an output
      // whose shape follows the input values (NonZero, Unique, ...) breaks that.
      if (message.find("invalid dimensions for output") != std::string::npos) {
        throw Error("onnxruntime: model '" + model_.name +
                        "' has an output whose shape depends on the input values, not only on their shapes; "
                        "inferlab fixes output shapes at prepare (" +
                        message + ")",
                    ErrorKind::kUnsupported);
      }
      throw Error("onnxruntime: run failed for model '" + model_.name + "': " + message, kind_of(e));
    }
  }

  bool set_profiling(bool on) override {
    profiling_session_.reset();
    profile_ = {};
    profile_done_ = false;
    profile_dir_.reset();
    if (!on) return true;
    // ORT profiles a session from its creation, so a second session with the
    // profiler on serves the profiled runs; its first run is a warm-up that
    // profile_from_ort_json() leaves out.
    profile_dir_ = std::make_unique<TempDir>("inferlab-ort-profile");
    Ort::SessionOptions options = ort::make_session_options(settings_);
    options.EnableProfiling((profile_dir_->path() + "/ort").c_str());
    try {
      profiling_session_ = std::make_unique<Ort::Session>(ort::process_env(), model_.path.c_str(), options);
      run_allocating(*profiling_session_);
    } catch (const Ort::Exception& e) {
      throw Error("onnxruntime: cannot start the profiler: " + first_line(e.what()), ErrorKind::kRuntime);
    }
    return true;
  }

  SessionProfile profile() const override {
    if (!profiling_session_ || profile_done_) return profile_;
    Ort::AllocatorWithDefaultOptions allocator;
    const std::string path = profiling_session_->EndProfilingAllocated(allocator).get();
    profile_ = ort::profile_from_ort_json(nlohmann::json::parse(read_file(path)), 1);
    profile_done_ = true;
    return profile_;
  }

  TimingBoundary timing_boundary() const override { return TimingBoundary::kComputeOnly; }
  std::string timed_region_description() const override {
    return "Ort::Session::Run on Ort::Values that view the caller's input and output tensors (no copies; made once "
           "per buffer), CPU execution provider, " +
           ort::describe(settings_);
  }

 private:
  std::vector<Ort::Value> run_allocating(Ort::Session& session) {
    std::vector<Ort::Value> inputs;
    for (std::size_t i = 0; i < warm_inputs_.size(); ++i) {
      Tensor& t = warm_inputs_[i];
      inputs.push_back(Ort::Value::CreateTensor(cpu_memory(), t.data(), t.size_bytes(), t.shape().data(),
                                                t.shape().size(), input_types_[i]));
    }
    return session.Run(run_options_, input_name_ptrs_.data(), inputs.data(), inputs.size(), output_name_ptrs_.data(),
                       output_name_ptrs_.size());
  }

  void record_output_specs(const std::vector<Ort::Value>& results) {
    output_types_.clear();
    for (std::size_t i = 0; i < results.size(); ++i) {
      if (!results[i].IsTensor()) {
        throw Error(
            "onnxruntime: output '" + output_names_[i] + "' is not a tensor (sequences and maps are not handled)",
            ErrorKind::kRuntime);
      }
      const auto info = results[i].GetTensorTypeAndShapeInfo();
      TensorSpec spec;
      spec.name = output_names_[i];
      spec.dtype = from_ort_type(info.GetElementType());
      if (spec.dtype == DType::kUnknown) {
        throw Error("onnxruntime: output '" + spec.name + "' has an element type inferlab does not handle",
                    ErrorKind::kRuntime);
      }
      spec.shape = info.GetShape();
      output_types_.push_back(info.GetElementType());
      output_specs_.push_back(std::move(spec));
    }
  }

  ModelSource model_;
  ort::OrtSettings settings_;
  Ort::Session session_;
  Ort::RunOptions run_options_;
  std::vector<std::string> input_names_, output_names_;
  std::vector<const char*> input_name_ptrs_, output_name_ptrs_;
  std::vector<ONNXTensorElementDataType> input_types_, output_types_;
  std::vector<Tensor> warm_inputs_;  // zeros of the prepared shapes and types: the warm runs' inputs
  std::vector<TensorSpec> output_specs_;
  BoundValues inputs_, outputs_;
  std::unique_ptr<TempDir> profile_dir_;
  mutable std::unique_ptr<Ort::Session> profiling_session_;
  mutable SessionProfile profile_;
  mutable bool profile_done_ = false;
};

// Domains whose operators ONNX Runtime's CPU provider implements.
const std::set<std::string> kKnownDomains = {"", "ai.onnx", "ai.onnx.ml", "com.microsoft"};

class OrtBackend final : public Backend {
 public:
  std::string name() const override { return "onnxruntime"; }
  std::string version() const override { return Ort::GetVersionString(); }
  std::vector<std::string> devices() const override { return {"cpu"}; }

  std::map<std::string, std::string> build_info() const override {
    std::string providers;
    for (const auto& p : Ort::GetAvailableProviders()) providers += (providers.empty() ? "" : ", ") + p;
    return {{"build", Ort::GetBuildInfoString()},
            {"providers (compiled in)", providers},
            {"providers used", "CPUExecutionProvider (the GPU providers' libraries are not shipped with the runtime)"},
            {"api", "C/C++ API version " + std::to_string(ORT_API_VERSION) + " headers"},
            {"precisions", "fp32; int8 from QDQ models (inferlab optimize --int8); fp16 models run as written"}};
  }

  std::string threading_description(int threads) const override {
    ort::OrtSettings settings;
    settings.intra_op_threads = threads;
    return "SessionOptions: " + ort::describe(settings) + " (--ort-spinning, --ort-opt change the last two)";
  }

  ModelFormat format() const override { return ModelFormat::kOnnx; }

  SupportAnswer supports(const ModelSource& model, Precision precision) const override {
    if (model.format != ModelFormat::kOnnx) {
      return SupportAnswer::no("onnxruntime reads ONNX models only (this one is " + model_format_name(model.format) +
                               ")");
    }
    if (precision == Precision::kFp16) {
      return SupportAnswer::no(
          "ONNX Runtime's x86 CPU provider has float16 kernels for few ops and casts the rest: run an fp16 model "
          "(`inferlab optimize --fp16`) at fp32 precision, where it runs as written");
    }
    if (precision == Precision::kBf16) {
      return SupportAnswer::no("ONNX Runtime's CPU provider has no bf16 path for ONNX models in inferlab");
    }
    if (model.path.empty()) {
      return precision == Precision::kInt8 ? SupportAnswer::no(kInt8Needs) : SupportAnswer::yes();
    }
    bool quantized = false;
    try {
      for (const auto& [domain, op] : read_onnx_op_types(model.path)) {
        if (kKnownDomains.count(domain) == 0) {
          return SupportAnswer::no("operator " + op + " of domain '" + domain +
                                   "' has no ONNX Runtime CPU kernel (custom domains need a custom-op library)");
        }
        quantized = quantized || op == "QuantizeLinear" || op == "DequantizeLinear" || op == "QLinearConv" ||
                    op == "QLinearMatMul";
      }
    } catch (const Error& e) {
      return SupportAnswer::no(e.what());
    }
    if (precision == Precision::kInt8 && !quantized) return SupportAnswer::no(kInt8Needs);
    return SupportAnswer::yes();
  }

  std::unique_ptr<Session> load(const ModelSource& model, const SessionOptions& options) override {
    check_load_preconditions(*this, model, options);
    ort::OrtSettings settings = ort::settings_from(options);
    try {
      Ort::Session session(ort::process_env(), model.path.c_str(), ort::make_session_options(settings));
      return std::make_unique<OrtSession>(model, std::move(settings), std::move(session));
    } catch (const Ort::Exception& e) {
      throw Error("onnxruntime: cannot load '" + model.path + "': " + first_line(e.what()), kind_of(e));
    }
  }

 private:
  static constexpr const char* kInt8Needs =
      "onnxruntime runs int8 from a quantized (QDQ) model file: `inferlab optimize --int8`, or `bench --precision "
      "int8 --calib DATASET` to quantize first";
};

}  // namespace

std::unique_ptr<Backend> make_onnxruntime_backend() { return std::make_unique<OrtBackend>(); }

}  // namespace inferlab
