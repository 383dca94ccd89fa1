#include "graph_index.h"

#include "optimize/graph_edit.h"

namespace inferlab::native {

namespace {

bool is(const onnx::NodeProto* node, const char* op) {
  return node && (!op || (node->op_type() == op && graph_edit::is_default_domain(*node)));
}

}  // namespace

std::string other_input(const onnx::NodeProto& node, const std::string& known) {
  if (node.input_size() != 2) return "";
  if (node.input(0) == known) return node.input(1);
  return node.input(1) == known ? node.input(0) : "";
}

GraphIndex::GraphIndex(const onnx::GraphProto& graph) : graph_(graph) {
  for (int i = 0; i < graph.node_size(); ++i) {
    const auto& n = graph.node(i);
    for (const auto& o : n.output()) {
      producer_[o] = &n;
      position_[o] = i;
    }
    for (const auto& in : n.input()) {
      if (!in.empty()) readers_[in].push_back(&n);
    }
    if (n.op_type() == "Constant" && n.output_size() == 1) constant_node_[n.output(0)] = &n;
  }
  for (const auto& o : graph.output()) graph_outputs_.insert(o.name());
}

const onnx::NodeProto* GraphIndex::producer(const std::string& value, const char* op) const {
  auto it = producer_.find(value);
  return it != producer_.end() && is(it->second, op) ? it->second : nullptr;
}

const std::vector<const onnx::NodeProto*>& GraphIndex::readers(const std::string& value) const {
  static const std::vector<const onnx::NodeProto*> none;
  auto it = readers_.find(value);
  return it == readers_.end() ? none : it->second;
}

const onnx::NodeProto* GraphIndex::only_reader(const std::string& value, const char* op) const {
  const auto& r = readers(value);
  return r.size() == 1 && !is_graph_output(value) && is(r[0], op) ? r[0] : nullptr;
}

int GraphIndex::position(const std::string& value) const {
  auto it = position_.find(value);
  return it == position_.end() ? -1 : it->second;
}

std::optional<float> GraphIndex::float_scalar(const std::string& value) const {
  std::vector<float> values;
  if (const auto* t = graph_edit::find_initializer(graph_, value)) {
    if (graph_edit::read_floats(*t, values) && values.size() == 1) return values[0];
    return std::nullopt;
  }
  auto it = constant_node_.find(value);
  if (it == constant_node_.end()) return std::nullopt;
  for (const auto& a : it->second->attribute()) {
    if (a.name() == "value" && a.has_t() && graph_edit::read_floats(a.t(), values) && values.size() == 1)
      return values[0];
  }
  return std::nullopt;
}

}  // namespace inferlab::native
