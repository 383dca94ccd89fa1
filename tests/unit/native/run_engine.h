#pragma once
// Runs a small ONNX model built in a test on the native engine, once: the
// outputs (dtypes as the engine reports them) and the steps it ran.

#include <string>
#include <vector>

#include "../onnx_builder.h"
#include "backends/native/engine.h"
#include "inferlab/files.h"

namespace inferlab::native::test {

struct EngineRun {
  std::vector<Tensor> outputs;
  std::vector<StepInfo> steps;

  /// Output `k`'s float32 values.
  std::vector<float> floats(std::size_t k = 0) const {
    const Tensor& t = outputs.at(k);
    return {t.data_as<float>(), t.data_as<float>() + t.element_count()};
  }
  /// Each step's op type, with "+fused" when it fused an epilogue if `with_fused`.
  std::vector<std::string> ops(bool with_fused = false) const {
    std::vector<std::string> names;
    for (const auto& s : steps) names.push_back(s.op + (with_fused && !s.fused.empty() ? "+" + s.fused : ""));
    return names;
  }
};

/// `bf16`: Engine::set_bf16 (the caller checks the CPU has bf16);
/// `tactics`: Engine::set_tactics (on: the cache $INFERLAB_TACTIC_CACHE names).
inline EngineRun run_engine(const onnx::ModelProto& model, const std::vector<const Tensor*>& inputs, bool bf16 = false,
                            bool tactics = true) {
  TempDir dir("inferlab-native-test");
  const std::string path = dir.path() + "/m.onnx";
  write_file_atomically(path, model.SerializeAsString());
  Engine engine(path);
  engine.set_bf16(bf16);
  engine.set_tactics(tactics);
  std::vector<Shape> shapes;
  for (const auto* t : inputs) shapes.push_back(t->shape());
  engine.prepare(shapes);
  EngineRun run;
  for (const auto& spec : engine.output_specs()) run.outputs.emplace_back(spec.dtype, spec.shape);
  std::vector<Tensor*> ptrs;
  for (auto& t : run.outputs) ptrs.push_back(&t);
  engine.run(inputs, ptrs);
  run.steps = engine.steps();
  return run;
}

/// A float32 Tensor of `shape` holding `values`.
inline Tensor float_tensor(const Shape& shape, const std::vector<float>& values) {
  Tensor t(DType::kFloat32, shape);
  std::copy(values.begin(), values.end(), t.data_as<float>());
  return t;
}

/// `values`' bytes, for graph_edit::add_raw_initializer.
template <typename T>
std::string raw_bytes(const std::vector<T>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
}

}  // namespace inferlab::native::test
