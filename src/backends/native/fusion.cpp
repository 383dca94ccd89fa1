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

  FusionPlan plan;
  for (const auto& conv : graph.node()) {
    if (conv.op_type() != "Conv" || graph_outputs.count(conv.output(0))) continue;
    const auto& users = readers[conv.output(0)];
    if (users.size() == 1) {
      const auto* act = users[0];
      if (act->op_type() == "Relu" || act->op_type() == "Clip" || act->op_type() == "Sigmoid") {
        plan.by_conv[&conv] = {act->op_type(), act, act->output(0)};
        plan.absorbed.insert(act);
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
      plan.by_conv[&conv] = {"Swish", sigmoid, mul->output(0)};
      plan.absorbed.insert(sigmoid);
      plan.absorbed.insert(mul);
      break;
    }
  }
  return plan;
}

}  // namespace inferlab::native
