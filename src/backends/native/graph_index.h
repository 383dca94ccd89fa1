#pragma once
// Who produces and who reads each value of an ONNX graph, for the engine's
// pattern matchers (fusion.cpp, gelu_rewrite.cpp). Holds pointers into the
// graph: valid while its node list is not changed.

#ifndef ONNX_ML
#define ONNX_ML 1
#endif
#include <onnx/onnx_pb.h>

#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace inferlab::native {

/// The other input of a two-input `node` when one of them is `known`; ""
/// when `node` has not two inputs or `known` is neither.
std::string other_input(const onnx::NodeProto& node, const std::string& known);

class GraphIndex {
 public:
  explicit GraphIndex(const onnx::GraphProto& graph);

  /// The node writing `value` when it is a default-domain `op`, else null.
  const onnx::NodeProto* producer(const std::string& value, const char* op) const;
  /// Every node reading `value`, in graph order (empty for none).
  const std::vector<const onnx::NodeProto*>& readers(const std::string& value) const;
  bool is_graph_output(const std::string& value) const { return graph_outputs_.count(value) > 0; }
  /// The only reader of `value`, when `value` is not a graph output and that
  /// reader is a default-domain `op` (any op when `op` is null); else null.
  const onnx::NodeProto* only_reader(const std::string& value, const char* op = nullptr) const;
  /// Position of the node writing `value` in the node list; -1 for graph
  /// inputs, initializers and unknown names.
  int position(const std::string& value) const;
  /// A float32 scalar constant (initializer or Constant node) named `value`.
  std::optional<float> float_scalar(const std::string& value) const;

 private:
  const onnx::GraphProto& graph_;
  std::unordered_map<std::string, const onnx::NodeProto*> producer_, constant_node_;
  std::unordered_map<std::string, int> position_;
  std::unordered_map<std::string, std::vector<const onnx::NodeProto*>> readers_;
  std::set<std::string> graph_outputs_;
};

}  // namespace inferlab::native
