#pragma once
// Runs an in-memory ONNX graph on a backend in this process, for the
// optimizer's calibration and sensitivity passes (no timing: these numbers
// are activations, not measurements). The graph is written to a private
// temporary file because backends load files.
#include <memory>
#include <string>
#include <vector>

#include "inferlab/backend.h"
#include "inferlab/onnx_graph.h"
#include "inferlab/tensor.h"

namespace inferlab {

class GraphRunner {
 public:
  /// Loads `graph` on `backend_name` with float32 input `input_name` of shape
  /// `input_shape` (batch included) and every graph output declared.
  /// Throws Error naming the backend when it cannot load or prepare it.
  GraphRunner(const OnnxGraph& graph, const std::string& backend_name, const TensorSpec& input,
              const Shape& input_shape, int threads);
  ~GraphRunner();
  GraphRunner(const GraphRunner&) = delete;
  GraphRunner& operator=(const GraphRunner&) = delete;

  /// Runs one batch; returns the outputs in graph-output order.
  const std::vector<Tensor>& run(const Tensor& input);
  const std::vector<TensorSpec>& output_specs() const { return specs_; }

 private:
  std::string path_;
  std::unique_ptr<Backend> backend_;
  std::unique_ptr<Session> session_;
  std::vector<TensorSpec> specs_;
  std::vector<Tensor> outputs_;
};

/// A copy of `graph` whose outputs are `values` followed by the original
/// outputs (float32, shapes left to the engine).
OnnxGraph with_extra_outputs(const OnnxGraph& graph, const std::vector<std::string>& values);

/// 10 log10(sum ref^2 / sum (ref - x)^2) over equal-length arrays; +inf when identical.
double sqnr_db(const float* reference, const float* candidate, std::size_t count);

}  // namespace inferlab
