// Matching is exact and conservative: a pattern whose constants differ, or
// whose intermediates anything else reads, is left as written.
#include "gelu_rewrite.h"

#include <cmath>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "graph_index.h"
#include "optimize/graph_edit.h"

namespace inferlab::native {

using namespace graph_edit;

namespace {

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
      if (!div || div->input_size() != 2 || !near(index.float_scalar(div->input(1)), std::sqrt(2.0))) continue;
      if (!index.only_reader(div->output(0), "Erf")) continue;
      const std::string& x = div->input(0);
      const auto* add = index.only_reader(erf.output(0), "Add");
      if (!add) continue;
      const auto one = other_input(*add, erf.output(0));
      if (!one || !near(index.float_scalar(*one), 1.0)) continue;
      const auto* mul = index.only_reader(add->output(0), "Mul");
      if (!mul || other_input(*mul, add->output(0)) != x) continue;
      const auto* half_mul = index.only_reader(mul->output(0), "Mul");
      if (!half_mul) continue;
      const auto half = other_input(*half_mul, mul->output(0));
      if (!half || !near(index.float_scalar(*half), 0.5)) continue;
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
