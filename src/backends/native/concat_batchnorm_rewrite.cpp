// Only an exact pattern is rewritten: an axis other than 1, a BN in
// training mode, statistics computed at run time or a Concat read twice
// keep the two nodes as written.
#include "concat_batchnorm_rewrite.h"

#include <set>
#include <string>
#include <unordered_map>

#include "graph_index.h"
#include "optimize/graph_edit.h"

namespace inferlab::native {

using namespace graph_edit;

int fuse_concat_batchnorm(onnx::GraphProto& graph) {
  std::set<const onnx::NodeProto*> removed;
  std::unordered_map<const onnx::NodeProto*, onnx::NodeProto> replacement;
  {
    const GraphIndex index(graph);
    for (const auto& concat : graph.node()) {
      if (concat.op_type() != "Concat" || !is_default_domain(concat) || concat.input_size() < 1) continue;
      if (int_attribute(concat, "axis", 0) != 1) continue;
      const auto* bn = index.only_reader(concat.output(0), "BatchNormalization");
      if (!bn || bn->input_size() != 5 || bn->output_size() != 1 || bn->input(0) != concat.output(0)) continue;
      if (int_attribute(*bn, "training_mode", 0) != 0) continue;
      bool statistics_constant = true;
      for (int k = 1; k < 5; ++k) statistics_constant = statistics_constant && find_initializer(graph, bn->input(k));
      if (!statistics_constant) continue;
      onnx::NodeProto fused = make_node(kConcatBatchNormOp, bn->name().empty() ? bn->output(0) : bn->name(),
                                        {bn->input(1), bn->input(2), bn->input(3), bn->input(4)}, bn->output(0));
      fused.set_domain(kNativeDomain);
      for (const auto& x : concat.input()) fused.add_input(x);
      set_float_attribute(fused, "epsilon", float_attribute(*bn, "epsilon", 1e-5F));
      removed.insert(&concat);
      replacement.emplace(bn, std::move(fused));
    }
  }
  if (replacement.empty()) return 0;
  replace_nodes(graph, replacement, removed);
  return static_cast<int>(replacement.size());
}

}  // namespace inferlab::native
