// Pattern matching for Conv + activation fusion over the ONNX node list.
#include "fusion.h"

#include <vector>

namespace inferlab::native {

FusionPlan plan_fusions(const onnx::GraphProto& graph) {
  std::set<std::string> graph_outputs;
  for (const auto& o : graph.output()) graph_outputs.insert(o.name());
  std::unordered_map<std::string, std::vector<const onnx::NodeProto*>> readers;
  for (const auto& node : graph.node()) {
    for (const auto& in : node.input()) {
      if (!in.empty()) readers[in].push_back(&node);
    }
  }
  auto only_reader = [&](const std::string& value) -> const onnx::NodeProto* {
    auto it = readers.find(value);
    return it != readers.end() && it->second.size() == 1 && !graph_outputs.count(value) ? it->second[0] : nullptr;
  };

  // The residual must exist when the Conv runs: a graph input, an
  // initializer, or the output of a node listed before the Conv.
  std::unordered_map<std::string, int> position;
  for (int i = 0; i < graph.node_size(); ++i) {
    for (const auto& o : graph.node(i).output()) position[o] = i;
  }
  auto produced_before = [&](const std::string& value, const onnx::NodeProto& conv) {
    auto it = position.find(value);
    if (it == position.end()) return true;
    return it->second < position[conv.output(0)];
  };

  FusionPlan plan;
  for (const auto& conv : graph.node()) {
    if (conv.op_type() != "Conv" || graph_outputs.count(conv.output(0))) continue;
    const auto& users = readers[conv.output(0)];
    if (users.size() == 1) {
      const auto* act = users[0];
      if (act->op_type() == "Relu" || act->op_type() == "Clip" || act->op_type() == "Sigmoid") {
        plan.by_conv[&conv] = {act->op_type(), act, act->output(0), ""};
        plan.absorbed.insert(act);
      } else if (act->op_type() == "Add" && act->input_size() == 2 && act->input(0) != act->input(1)) {
        // Residual: the Conv's result plus a value computed earlier.
        const std::string& other = act->input(0) == conv.output(0) ? act->input(1) : act->input(0);
        if (!produced_before(other, conv)) continue;
        Fusion fusion{"Add", nullptr, act->output(0), other};
        plan.absorbed.insert(act);
        if (const auto* relu = only_reader(act->output(0)); relu && relu->op_type() == "Relu") {
          fusion = {"Add+Relu", nullptr, relu->output(0), other};
          plan.absorbed.insert(relu);
        }
        plan.by_conv[&conv] = fusion;
      }
      continue;
    }
    // Swish: Sigmoid(c) read only by a Mul that also reads c.
    if (users.size() != 2) continue;
    for (int k = 0; k < 2; ++k) {
      const auto* sigmoid = users[k];
      const auto* mul = users[1 - k];
      if (sigmoid->op_type() != "Sigmoid" || mul->op_type() != "Mul" || only_reader(sigmoid->output(0)) != mul) {
        continue;
      }
      const bool pair = (mul->input(0) == conv.output(0) && mul->input(1) == sigmoid->output(0)) ||
                        (mul->input(1) == conv.output(0) && mul->input(0) == sigmoid->output(0));
      if (!pair) continue;
      plan.by_conv[&conv] = {"Swish", sigmoid, mul->output(0), ""};
      plan.absorbed.insert(sigmoid);
      plan.absorbed.insert(mul);
      break;
    }
  }
  return plan;
}

}  // namespace inferlab::native
