#include "null_backend.h"

#include "inferlab/error.h"

namespace inferlab {

namespace {

// Output specs follow the model's declaration so the harness allocates and
// hands over exactly what a real backend would get; unknown dimensions other
// than the batch become 1 because the null backend computes nothing to infer them.
std::vector<TensorSpec> null_output_specs(const std::vector<TensorSpec>& declared, std::int64_t batch) {
  if (declared.empty()) return {TensorSpec{"output", DType::kFloat32, {batch, 1}, {}}};
  std::vector<TensorSpec> specs = declared;
  for (TensorSpec& spec : specs) {
    if (spec.dtype == DType::kUnknown) spec.dtype = DType::kFloat32;
    if (spec.shape.empty()) spec.shape = {batch};
    spec.shape[0] = batch;
    for (std::int64_t& dim : spec.shape) {
      if (dim < 0) dim = 1;
    }
  }
  return specs;
}

class NullSession final : public Session {
 public:
  explicit NullSession(ModelSource model) : model_(std::move(model)) {}

  void prepare(const std::vector<Shape>& input_shapes) override {
    if (!model_.inputs.empty() && input_shapes.size() != model_.inputs.size()) {
      throw Error("null backend: model '" + model_.name + "' declares " + std::to_string(model_.inputs.size()) +
                  " inputs but " + std::to_string(input_shapes.size()) + " shapes were given");
    }
    std::int64_t batch = 1;
    if (!input_shapes.empty() && !input_shapes[0].empty()) batch = input_shapes[0][0];
    if (batch < 1) throw Error("null backend: batch must be at least 1 (got " + std::to_string(batch) + ")");
    output_specs_ = null_output_specs(model_.outputs, batch);
    input_count_ = input_shapes.size();
  }

  std::vector<TensorSpec> output_specs() const override { return output_specs_; }

  void run(const std::vector<const Tensor*>& inputs, std::vector<Tensor*>& outputs) override {
    if (inputs.size() != input_count_ || outputs.size() != output_specs_.size()) {
      throw Error("null backend: run() got " + std::to_string(inputs.size()) + " inputs and " +
                  std::to_string(outputs.size()) + " outputs, prepared for " + std::to_string(input_count_) + " and " +
                  std::to_string(output_specs_.size()));
    }
    // One volatile store keeps the call from being optimized into nothing, so
    // what is measured is the harness plus a real virtual call.
    if (!outputs.empty() && outputs[0] != nullptr && outputs[0]->data() != nullptr) {
      *static_cast<volatile unsigned char*>(outputs[0]->data()) = 0;
    }
    asm volatile("" ::: "memory");
  }

  TimingBoundary timing_boundary() const override { return TimingBoundary::kComputeOnly; }
  std::string timed_region_description() const override {
    return "no work: argument checks and one volatile byte store into the first output";
  }

 private:
  ModelSource model_;
  std::vector<TensorSpec> output_specs_;
  std::size_t input_count_ = 0;
};

class NullBackend final : public Backend {
 public:
  std::string name() const override { return "null"; }
  std::string version() const override { return "builtin"; }
  std::vector<std::string> devices() const override { return {"cpu"}; }
  std::map<std::string, std::string> build_info() const override {
    return {{"purpose", "measures the harness's own per-iteration overhead"}};
  }
  std::string threading_description(int /*threads*/) const override {
    return "none: run() does no work, the thread count is ignored";
  }
  ModelFormat format() const override { return ModelFormat::kNone; }
  SupportAnswer supports(const ModelSource& /*model*/, Precision /*precision*/) const override {
    return SupportAnswer::yes();
  }
  std::unique_ptr<Session> load(const ModelSource& model, const SessionOptions& /*options*/) override {
    return std::make_unique<NullSession>(model);
  }
};

}  // namespace

std::unique_ptr<Backend> make_null_backend() { return std::make_unique<NullBackend>(); }

}  // namespace inferlab
