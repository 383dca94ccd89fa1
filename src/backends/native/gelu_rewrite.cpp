// Matching is exact and conservative: a pattern whose constants differ, or
// whose intermediates anything else reads, is left as written.
#include "gelu_rewrite.h"

#include <cmath>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "optimize/graph_edit.h"

namespace inferlab::native {

using namespace graph_edit;

namespace {

class GraphIndex {
 public:
  explicit GraphIndex(const onnx::GraphProto& graph) : graph_(graph) {
    for (const auto& n : graph.node()) {
      for (const auto& o : n.output()) producer_[o] = &n;
      for (const auto& i : n.input()) readers_[i].push_back(&n);
      if (n.op_type() == "Constant") constant_node_[n.output(0)] = &n;
    }
    for (const auto& o : graph.output()) graph_outputs_.insert(o.name());
  }
  const onnx::NodeProto* producer(const std::string& value, const char* op) const {
    auto it = producer_.find(value);
    return it != producer_.end() && it->second->op_type() == op && is_default_domain(*it->second) ? it->second
                                                                                                  : nullptr;
  }
  // The one node reading `value`, when `value` is not a graph output.
  const onnx::NodeProto* only_reader(const std::string& value, const char* op) const {
    if (graph_outputs_.count(value)) return nullptr;
    auto it = readers_.find(value);
    if (it == readers_.end() || it->second.size() != 1) return nullptr;
    const auto* n = it->second[0];
    return n->op_type() == op && is_default_domain(*n) ? n : nullptr;
  }
  // A float scalar constant (initializer or Constant node) named `value`.
  std::optional<float> scalar(const std::string& value) const {
    std::vector<float> values;
    if (const auto* t = find_initializer(graph_, value)) {
      if (read_floats(*t, values) && values.size() == 1) return values[0];
      return std::nullopt;
    }
    auto it = constant_node_.find(value);
    if (it == constant_node_.end()) return std::nullopt;
    for (const auto& a : it->second->attribute()) {
      if (a.name() == "value" && a.has_t() && read_floats(a.t(), values) && values.size() == 1) return values[0];
    }
    return std::nullopt;
  }

 private:
  const onnx::GraphProto& graph_;
  std::unordered_map<std::string, const onnx::NodeProto*> producer_, constant_node_;
  std::unordered_map<std::string, std::vector<const onnx::NodeProto*>> readers_;
  std::set<std::string> graph_outputs_;
};

bool near(std::optional<float> value, double expected) {
  return value && std::abs(*value - expected) <= 1e-5 * std::abs(expected);
}

// The other input of a two-input node, when one of them is `known`.
std::optional<std::string> other_input(const onnx::NodeProto& node, const std::string& known) {
  if (node.input_size() != 2) return std::nullopt;
  if (node.input(0) == known) return node.input(1);
  if (node.input(1) == known) return node.input(0);
  return std::nullopt;
}

}  // namespace

int rewrite_gelu(onnx::GraphProto& graph) {
  struct Match {
    const onnx::NodeProto* div;
    std::set<const onnx::NodeProto*> nodes;
    std::string x, y, name;
  };
  std::vector<Match> matches;
  {
    const GraphIndex index(graph);
    for (const auto& erf : graph.node()) {
      if (erf.op_type() != "Erf" || !is_default_domain(erf) || erf.input_size() != 1) continue;
      const auto* div = index.producer(erf.input(0), "Div");
      if (!div || div->input_size() != 2 || !near(index.scalar(div->input(1)), std::sqrt(2.0))) continue;
      if (!index.only_reader(div->output(0), "Erf")) continue;
      const std::string& x = div->input(0);
      const auto* add = index.only_reader(erf.output(0), "Add");
      if (!add) continue;
      const auto one = other_input(*add, erf.output(0));
      if (!one || !near(index.scalar(*one), 1.0)) continue;
      const auto* mul = index.only_reader(add->output(0), "Mul");
      if (!mul || other_input(*mul, add->output(0)) != x) continue;
      const auto* half_mul = index.only_reader(mul->output(0), "Mul");
      if (!half_mul) continue;
      const auto half = other_input(*half_mul, mul->output(0));
      if (!half || !near(index.scalar(*half), 0.5)) continue;
      matches.push_back({div, {div, &erf, add, mul, half_mul}, x, half_mul->output(0), node_label(*half_mul)});
    }
  }
  if (matches.empty()) return 0;
  // Rebuild the node list: each match's Gelu takes its Div's place (x exists
  // there), and the five nodes go.
  std::set<const onnx::NodeProto*> removed;
  std::unordered_map<const onnx::NodeProto*, const Match*> at_div;
  for (const auto& m : matches) {
    removed.insert(m.nodes.begin(), m.nodes.end());
    at_div[m.div] = &m;
  }
  google::protobuf::RepeatedPtrField<onnx::NodeProto> kept;
  for (const auto& n : graph.node()) {
    if (auto it = at_div.find(&n); it != at_div.end()) {
      *kept.Add() = make_node("Gelu", "Gelu(" + it->second->name + ")", {it->second->x}, it->second->y);
    } else if (!removed.count(&n)) {
      *kept.Add() = n;
    }
  }
  graph.mutable_node()->Swap(&kept);
  return static_cast<int>(matches.size());
}

}  // namespace inferlab::native
