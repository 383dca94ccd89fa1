#pragma once
/// @file onnx_graph.h
/// The ONNX graph layer shared by the optimizer and the native engine: load,
/// check, shape-infer, edit and save a model through libonnx, and summarise
/// it (inputs/outputs, parameters, FLOPs by op type, size, opset).

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "inferlab/tensor.h"

namespace onnx {
class ModelProto;
}

namespace inferlab {

/// Work and count of one op type in a model at batch 1.
struct OpTypeStats {
  std::int64_t nodes = 0;
  std::int64_t flops = 0;  ///< 2 x multiply-accumulates for Conv/Gemm/MatMul; output elements for the rest
};

/// What `inferlab models show` prints for an ONNX file.
struct GraphSummary {
  std::vector<TensorSpec> inputs;  ///< non-initializer graph inputs; symbolic dims -1
  std::vector<TensorSpec> outputs;
  std::int64_t opset = 0;  ///< default-domain opset
  std::string producer;    ///< producer_name and producer_version
  std::int64_t node_count = 0;
  std::int64_t parameter_count = 0;             ///< elements in all initializers
  std::int64_t parameter_bytes = 0;             ///< bytes of initializer data
  std::int64_t serialized_bytes = 0;            ///< size of the model as saved
  std::int64_t flops_per_sample = 0;            ///< sum over op types, at batch 1
  std::map<std::string, OpTypeStats> ops;       ///< op type -> nodes and FLOPs
  std::vector<std::string> ops_without_shapes;  ///< op types whose output shapes inference could not fix
};

/// One node's operator: domain ("" for the default ai.onnx) and op type.
struct OpType {
  std::string domain;
  std::string op;
};

/// The operators of the top-level nodes of the ONNX file at `path`, read
/// from the wire format without materialising the weights (a fraction of a
/// full parse for weight-heavy models). Throws Error naming the file when it
/// cannot be read or parsed.
std::vector<OpType> read_onnx_op_types(const std::string& path);

/// An ONNX model in memory. Owns its ModelProto. Not thread-safe; copyable
/// (a deep copy, for a pass that must compare before and after).
class OnnxGraph {
 public:
  /// Parses `path`. Throws Error (kBadInput) naming the file when it is
  /// missing, unreadable or not an ONNX model.
  static OnnxGraph load(const std::string& path);
  /// Wraps serialized ModelProto bytes; `origin` names them in errors.
  static OnnxGraph parse(const std::string& bytes, const std::string& origin);

  OnnxGraph(const OnnxGraph& other);
  OnnxGraph& operator=(const OnnxGraph& other);
  OnnxGraph(OnnxGraph&&) noexcept;
  OnnxGraph& operator=(OnnxGraph&&) noexcept;
  ~OnnxGraph();

  /// Runs the ONNX checker. Throws Error (kBadInput) "<origin>: fails the
  /// ONNX checker: <first line of its message>".
  void check() const;
  /// Runs ONNX shape inference in place (value_info filled). With
  /// `batch` > 0 every symbolic or unknown first input dimension is first set
  /// to `batch`. With `check_types`, inputs whose types contradict an op's
  /// type constraints are an error too. Throws Error on an inference
  /// failure, naming the node.
  void infer_shapes(std::int64_t batch = 0, bool check_types = false);
  /// Converts the model to default-domain opset `target` with ONNX's version
  /// converter (e.g. opset 10's Clip attributes become inputs); the model's
  /// metadata_props are kept. Throws Error (kUnsupported) naming the op the
  /// converter has no adapter for; the graph is unchanged then.
  void convert_opset(std::int64_t target);
  /// Serializes and writes atomically (temporary file + rename).
  void save(const std::string& path) const;
  std::string serialize() const;

  /// Summary at batch 1 (computed on a copy; this graph is not changed).
  GraphSummary summarize() const;

  /// The file or description this graph came from, for messages.
  const std::string& origin() const { return origin_; }

  /// Direct access for passes (src/optimize) and importers (src/backends/native).
  onnx::ModelProto& proto() { return *proto_; }
  const onnx::ModelProto& proto() const { return *proto_; }

 private:
  OnnxGraph(std::unique_ptr<onnx::ModelProto> proto, std::string origin);
  std::unique_ptr<onnx::ModelProto> proto_;
  std::string origin_;
};

}  // namespace inferlab
