#include "torch_backend.h"

#include <cstring>
#include <mutex>
#include <sstream>

#include <ATen/Parallel.h>
#include <ATen/Version.h>
#include <c10/core/InferenceMode.h>
#include <torch/script.h>
#include <torch/version.h>

#include "inferlab/error.h"
#include "torch_op_profile.h"

namespace inferlab {

namespace {

// Warm forwards in prepare(): the TorchScript profiling executor records
// shapes on the first run(s) and compiles the optimized plan afterwards, and
// oneDNN creates its primitives on first use; none of that belongs in run().
constexpr int kPrepareWarmForwards = 3;

std::string first_line(std::string text) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    const auto begin = line.find_first_not_of(" \t\r");
    if (begin != std::string::npos) return line.substr(begin);
  }
  return "unknown libtorch error";
}

// c10::Error::what() appends a C++ backtrace; users need the message only.
std::string message_of(const std::exception& e) {
  if (const auto* c10_error = dynamic_cast<const c10::Error*>(&e)) {
    return first_line(c10_error->what_without_backtrace());
  }
  return first_line(e.what());
}

// Value of the first line containing `key` in a libtorch config dump, up to
// the next ',' (show_config() packs build settings into one comma list).
std::string config_value(const std::string& text, const std::string& key) {
  const auto at = text.find(key);
  if (at == std::string::npos) return "unknown";
  const auto begin = at + key.size();
  const auto end = text.find_first_of(",\n", begin);
  std::string value = text.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
  const auto first = value.find_first_not_of(" \t");
  return first == std::string::npos ? std::string("unknown") : value.substr(first);
}

std::string line_containing(const std::string& text, const std::string& needle) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.find(needle) != std::string::npos) return first_line(line);
  }
  return "not found";
}

// at::set_num_interop_threads throws when called a second time or after any
// inter-op work started, so it is attempted once per process; a failure only
// means the default inter-op pool stays, which run() never uses.
void set_interop_threads_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    try {
      at::set_num_interop_threads(1);
    } catch (const std::exception&) {
    }
  });
}

c10::ScalarType to_scalar_type(DType dtype) {
  switch (dtype) {
    case DType::kFloat32:
      return c10::ScalarType::Float;
    case DType::kFloat16:
      return c10::ScalarType::Half;
    case DType::kBFloat16:
      return c10::ScalarType::BFloat16;
    case DType::kInt8:
      return c10::ScalarType::Char;
    case DType::kUInt8:
      return c10::ScalarType::Byte;
    case DType::kInt32:
      return c10::ScalarType::Int;
    case DType::kInt64:
      return c10::ScalarType::Long;
    case DType::kBool:
      return c10::ScalarType::Bool;
    case DType::kUnknown:
      break;
  }
  throw Error("torch: tensors of unknown element type cannot be passed to libtorch");
}

DType from_scalar_type(c10::ScalarType type) {
  switch (type) {
    case c10::ScalarType::Float:
      return DType::kFloat32;
    case c10::ScalarType::Half:
      return DType::kFloat16;
    case c10::ScalarType::BFloat16:
      return DType::kBFloat16;
    case c10::ScalarType::Char:
      return DType::kInt8;
    case c10::ScalarType::Byte:
      return DType::kUInt8;
    case c10::ScalarType::Int:
      return DType::kInt32;
    case c10::ScalarType::Long:
      return DType::kInt64;
    case c10::ScalarType::Bool:
      return DType::kBool;
    default:
      return DType::kUnknown;
  }
}

// Models may return a tensor or (nested) tuples/lists of tensors; outputs
// are numbered in depth-first order.
void collect_tensors(const c10::IValue& value, std::vector<at::Tensor>& tensors) {
  if (value.isTensor()) {
    tensors.push_back(value.toTensor());
  } else if (value.isTuple()) {
    for (const c10::IValue& element : value.toTupleRef().elements()) collect_tensors(element, tensors);
  } else if (value.isTensorList()) {
    for (const at::Tensor& tensor : value.toTensorVector()) tensors.push_back(tensor);
  } else if (value.isList()) {
    for (const c10::IValue& element : value.toListRef()) collect_tensors(element, tensors);
  } else {
    throw Error(
        "torch: the model returns a " + value.tagKind() + "; only tensors and tuples/lists of tensors are supported",
        ErrorKind::kRuntime);
  }
}

class TorchSession final : public Session {
 public:
  TorchSession(ModelSource model, torch::jit::Module module, int threads, std::string graph_form)
      : model_(std::move(model)), module_(std::move(module)), threads_(threads), graph_form_(std::move(graph_form)) {}

  void prepare(const std::vector<Shape>& input_shapes) override {
    if (input_shapes.empty()) throw Error("torch: prepare() needs at least one input shape");
    if (!model_.inputs.empty() && input_shapes.size() != model_.inputs.size()) {
      throw Error("torch: model '" + model_.name + "' has " + std::to_string(model_.inputs.size()) + " inputs but " +
                  std::to_string(input_shapes.size()) + " shapes were given");
    }
    at::set_num_threads(threads_);
    input_shapes_.clear();
    input_dtypes_.clear();
    input_types_.clear();
    input_bytes_.clear();
    for (std::size_t i = 0; i < input_shapes.size(); ++i) {
      if (input_shapes[i].empty() || !shape_is_static(input_shapes[i])) {
        throw Error("torch: input shape " + shape_to_string(input_shapes[i]) + " must be fully known");
      }
      // Undeclared element types default to float32, what image models take.
      DType dtype = i < model_.inputs.size() ? model_.inputs[i].dtype : DType::kFloat32;
      if (dtype == DType::kUnknown) dtype = DType::kFloat32;
      input_shapes_.push_back(input_shapes[i]);
      input_dtypes_.push_back(dtype);
      input_types_.push_back(to_scalar_type(dtype));
      input_bytes_.push_back(static_cast<std::size_t>(shape_element_count(input_shapes[i])) * dtype_size_bytes(dtype));
    }

    std::vector<at::Tensor> outputs;
    try {
      c10::InferenceMode guard;
      for (int warm = 0; warm < kPrepareWarmForwards; ++warm) {
        std::vector<c10::IValue> stack;
        for (std::size_t i = 0; i < input_shapes_.size(); ++i) {
          stack.emplace_back(torch::zeros(input_shapes_[i], torch::TensorOptions().dtype(input_types_[i])));
        }
        outputs.clear();
        collect_tensors(module_.forward(std::move(stack)), outputs);
      }
    } catch (const Error&) {
      throw;
    } catch (const std::exception& e) {
      throw Error("torch: model '" + model_.name + "' rejected input shape " + shape_to_string(input_shapes[0]) + ": " +
                      message_of(e),
                  ErrorKind::kRuntime);
    }
    if (!model_.outputs.empty() && outputs.size() != model_.outputs.size()) {
      throw Error("torch: model '" + model_.name + "' declares " + std::to_string(model_.outputs.size()) +
                      " outputs but libtorch produced " + std::to_string(outputs.size()),
                  ErrorKind::kRuntime);
    }
    output_specs_.clear();
    for (std::size_t i = 0; i < outputs.size(); ++i) {
      TensorSpec spec;
      spec.name = i < model_.outputs.size() ? model_.outputs[i].name : "output" + std::to_string(i);
      spec.dtype = from_scalar_type(outputs[i].scalar_type());
      if (spec.dtype == DType::kUnknown) {
        throw Error("torch: output " + std::to_string(i) + " of model '" + model_.name + "' has element type " +
                        std::string(c10::toString(outputs[i].scalar_type())) + ", which inferlab does not handle",
                    ErrorKind::kRuntime);
      }
      spec.shape.assign(outputs[i].sizes().begin(), outputs[i].sizes().end());
      output_specs_.push_back(std::move(spec));
    }
    results_.reserve(output_specs_.size());
  }

  std::vector<TensorSpec> output_specs() const override { return output_specs_; }

  void run(const std::vector<const Tensor*>& inputs, std::vector<Tensor*>& outputs) override {
    if (inputs.size() != input_shapes_.size() || outputs.size() != output_specs_.size()) {
      throw Error("torch: run() got " + std::to_string(inputs.size()) + " inputs and " +
                  std::to_string(outputs.size()) + " outputs, prepared for " + std::to_string(input_shapes_.size()) +
                  " and " + std::to_string(output_specs_.size()));
    }
    // OpenMP thread counts are per calling thread: a harness that prepares on
    // one thread and runs on another would otherwise run single-threaded.
    if (at::get_num_threads() != threads_) at::set_num_threads(threads_);
    try {
      c10::InferenceMode guard;
      // Module::forward takes its stack by value, so it is built afresh each run.
      std::vector<c10::IValue> stack;
      stack.reserve(inputs.size());
      for (std::size_t i = 0; i < inputs.size(); ++i) {
        if (inputs[i]->dtype() != input_dtypes_[i] || inputs[i]->size_bytes() != input_bytes_[i]) {
          throw Error("torch: input " + std::to_string(i) + " is " + dtype_name(inputs[i]->dtype()) + " " +
                      shape_to_string(inputs[i]->shape()) + ", prepared for " + dtype_name(input_dtypes_[i]) +
                      " with " + std::to_string(input_bytes_[i]) + " bytes");
        }
        // Zero-copy: the graph only reads its inputs (traced/frozen graphs do
        // not write in place into a graph input), so the caller's bytes stay intact.
        stack.emplace_back(torch::from_blob(const_cast<void*>(inputs[i]->data()), input_shapes_[i],
                                            torch::TensorOptions().dtype(input_types_[i])));
      }
      results_.clear();
      if (profiling_) {
        op_profiler_.profile_run([&] { collect_tensors(module_.forward(std::move(stack)), results_); });
      } else {
        collect_tensors(module_.forward(std::move(stack)), results_);
      }
      if (results_.size() != outputs.size()) {
        throw Error("torch: the model returned " + std::to_string(results_.size()) + " outputs, prepared for " +
                        std::to_string(outputs.size()),
                    ErrorKind::kRuntime);
      }
      for (std::size_t i = 0; i < results_.size(); ++i) {
        const at::Tensor dense = results_[i].contiguous();
        const std::size_t bytes = dense.nbytes();
        if (bytes != outputs[i]->size_bytes()) {
          throw Error("torch: output " + std::to_string(i) + " has " + std::to_string(bytes) +
                          " bytes, the caller's tensor " + std::to_string(outputs[i]->size_bytes()),
                      ErrorKind::kRuntime);
        }
        std::memcpy(outputs[i]->data(), dense.data_ptr(), bytes);
      }
      results_.clear();
    } catch (const Error&) {
      throw;
    } catch (const std::exception& e) {
      throw Error("torch: forward failed for model '" + model_.name + "': " + message_of(e), ErrorKind::kRuntime);
    }
  }

  bool set_profiling(bool on) override {
    profiling_ = on;
    op_profiler_.reset();
    return true;
  }
  SessionProfile profile() const override { return op_profiler_.profile(); }

  TimingBoundary timing_boundary() const override { return TimingBoundary::kWithCopies; }
  std::string timed_region_description() const override {
    return "inputs wrapped zero-copy with torch::from_blob, Module::forward under c10::InferenceMode (" + graph_form_ +
           "), outputs made contiguous and memcpy'd into the caller's tensors";
  }

 private:
  ModelSource model_;
  torch::jit::Module module_;
  int threads_;
  std::string graph_form_;
  std::vector<std::vector<std::int64_t>> input_shapes_;
  std::vector<DType> input_dtypes_;
  std::vector<c10::ScalarType> input_types_;
  std::vector<std::size_t> input_bytes_;
  std::vector<TensorSpec> output_specs_;
  std::vector<at::Tensor> results_;
  bool profiling_ = false;
  torch_backend::OpProfiler op_profiler_;
};

class TorchBackend final : public Backend {
 public:
  std::string name() const override { return "torch"; }
  std::string version() const override { return TORCH_VERSION; }
  std::vector<std::string> devices() const override { return {"cpu"}; }

  std::map<std::string, std::string> build_info() const override {
    const std::string config = at::show_config();
    const std::string parallel = at::get_parallel_info();
    return {
        {"parallel_backend", config_value(parallel, "ATen parallel backend:")},
        {"onednn", at::hasMKLDNN() ? line_containing(parallel, "MKL-DNN") : std::string("not built")},
        {"blas", config_value(config, "BLAS_INFO=")},
        {"lapack", config_value(config, "LAPACK_INFO=")},
        {"cpu_capability", config_value(config, "CPU capability usage:")},
    };
  }

  std::string threading_description(int threads) const override {
    return "at::set_num_threads(" + std::to_string(threads) + ") for the " +
           config_value(at::get_parallel_info(), "ATen parallel backend:") +
           " intra-op pool (oneDNN shares it); at::set_num_interop_threads(1) once per process";
  }

  ModelFormat format() const override { return ModelFormat::kTorchScript; }

  SupportAnswer supports(const ModelSource& model, Precision precision) const override {
    if (model.format != ModelFormat::kTorchScript) {
      return SupportAnswer::no("torch reads TorchScript models only (this one is " + model_format_name(model.format) +
                               ")");
    }
    switch (precision) {
      case Precision::kFp32:
        return SupportAnswer::yes();
      case Precision::kFp16:
        return SupportAnswer::no("libtorch's CPU kernels have no fast FP16 path for convolutions and matmuls");
      case Precision::kBf16:
        return SupportAnswer::no(
            "bf16 is not implemented in this adapter (libtorch CPU autocast to bfloat16 exists but is not wired "
            "or validated here)");
      case Precision::kInt8:
        return SupportAnswer::no(
            "int8 needs a model quantized with torch.ao.quantization; this adapter runs models as exported");
    }
    return SupportAnswer::no("unknown precision");
  }

  std::unique_ptr<Session> load(const ModelSource& model, const SessionOptions& options) override {
    check_load_preconditions(*this, model, options);
    set_interop_threads_once();
    at::set_num_threads(options.intra_op_threads);

    torch::jit::Module module;
    try {
      module = torch::jit::load(model.path, torch::kCPU);
      module.eval();
    } catch (const std::exception& e) {
      std::string message = message_of(e);
      if (message.find("required keyword attribute 'value' is undefined") != std::string::npos) {
        message +=
            " (a module saved after torch.jit.optimize_for_inference cannot be reloaded, pytorch/pytorch#81085: "
            "save it after torch.jit.freeze only; inferlab applies optimize_for_inference at load)";
      }
      throw Error("torch: cannot load '" + model.path + "': " + message, ErrorKind::kRuntime);
    }
    // libtorch 1.13 cannot reload a module saved after optimize_for_inference
    // (pytorch/pytorch#81085), so prepared files are frozen only and the
    // oneDNN rewrite happens here; it freezes first when the file is not frozen.
    std::string graph_form = "graph rewritten by torch::jit::optimize_for_inference";
    try {
      module = torch::jit::optimize_for_inference(module);
    } catch (const std::exception& e) {
      graph_form = "graph as loaded; optimize_for_inference failed: " + message_of(e);
    }
    return std::make_unique<TorchSession>(model, std::move(module), options.intra_op_threads, std::move(graph_form));
  }
};

}  // namespace

std::unique_ptr<Backend> make_torch_backend() { return std::make_unique<TorchBackend>(); }

}  // namespace inferlab
