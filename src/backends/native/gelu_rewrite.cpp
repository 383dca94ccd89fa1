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
      if (!near(index.float_scalar(other_input(*add, erf.output(0))), 1.0)) continue;
      const auto* mul = index.only_reader(add->output(0), "Mul");
      if (!mul || other_input(*mul, add->output(0)) != x) continue;
      const auto* half_mul = index.only_reader(mul->output(0), "Mul");
      if (!half_mul) continue;
      if (!near(index.float_scalar(other_input(*half_mul, mul->output(0))), 0.5)) continue;
      matches.push_back({div, {div, &erf, add, mul, half_mul}, x, half_mul->output(0), node_label(*half_mul)});
    }
  }
  if (matches.empty()) return 0;
  // Rebuild the node list: each match's Gelu takes its Div's place (x exists
  // there), and the five nodes go.
  std::set<const onnx::NodeProto*> removed;
  std::unordered_map<const onnx::NodeProto*, onnx::NodeProto> replacement;
  for (const auto& m : matches) {
    removed.insert(m.nodes.begin(), m.nodes.end());
    replacement.emplace(m.div, make_node("Gelu", "Gelu(" + m.name + ")", {m.x}, m.y));
  }
  replace_nodes(graph, replacement, removed);
  return static_cast<int>(matches.size());
}

}  // namespace inferlab::native
