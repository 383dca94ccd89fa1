// Only prepare.py's own folds are undone (matched by its node names and
// the exact shape constants it writes): a Reshape pattern written by anyone
// else may mean something else.
#include "batch_fold_rewrite.h"

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

// A 1-D INT64 initializer's values (prepare.py's shape constants).
std::optional<std::vector<std::int64_t>> int64_initializer(const onnx::GraphProto& graph, const std::string& name) {
  const auto* t = find_initializer(graph, name);
  std::vector<std::int64_t> values;
  if (!t || t->dims_size() != 1 || !read_int64s(*t, values)) return std::nullopt;
  return values;
}

bool is_fold_node(const onnx::NodeProto& node) {
  return node.name().rfind("inferlab_fix/", 0) == 0 && node.name().find("/batch_folded_") != std::string::npos &&
         is_default_domain(node);
}

// [1, -1, d2, ...] with every d positive: what prepare.py reshapes an operand to.
bool operand_fold(const std::vector<std::int64_t>& s) {
  if (s.size() < 2 || s[0] != 1 || s[1] != -1) return false;
  for (std::size_t k = 2; k < s.size(); ++k) {
    if (s[k] <= 0) return false;
  }
  return true;
}

}  // namespace

int unfold_batch_folds(onnx::GraphProto& graph) {
  static const std::set<std::string> ops{"Add", "Sub", "Mul", "Div"};
  std::set<const onnx::NodeProto*> removed;
  std::unordered_map<const onnx::NodeProto*, onnx::NodeProto> replacement;
  {
    const GraphIndex index(graph);
    for (const auto& op : graph.node()) {
      if (!ops.count(op.op_type()) || op.input_size() != 2 || !is_fold_node(op)) continue;
      const auto* ra = index.producer(op.input(0), "Reshape");
      const auto* rb = index.producer(op.input(1), "Reshape");
      const auto* ry = index.only_reader(op.output(0), "Reshape");
      if (!ra || !rb || !ry || ra == rb || !is_fold_node(*ra) || !is_fold_node(*rb) || !is_fold_node(*ry)) continue;
      if (index.only_reader(ra->output(0)) != &op || index.only_reader(rb->output(0)) != &op) continue;
      if (ra->input_size() != 2 || rb->input_size() != 2 || ry->input_size() != 2) continue;
      const auto sa = int64_initializer(graph, ra->input(1));
      const auto sb = int64_initializer(graph, rb->input(1));
      const auto sy = int64_initializer(graph, ry->input(1));
      if (!sa || !sb || !sy || !operand_fold(*sa) || !operand_fold(*sb)) continue;
      // The result: [-1, C, d2, ...] of the operands' rank, each d the
      // broadcast of theirs.
      const std::size_t rank = sa->size();
      if (sb->size() != rank || sy->size() != rank || (*sy)[0] != -1 || (*sy)[1] <= 0) continue;
      bool broadcasts = true;
      for (std::size_t k = 2; k < rank && broadcasts; ++k) {
        const std::int64_t a = (*sa)[k], b = (*sb)[k], y = (*sy)[k];
        broadcasts = (a == b && y == a) || (a == 1 && y == b) || (b == 1 && y == a);
      }
      if (!broadcasts) continue;
      removed.insert({ra, rb, ry});
      onnx::NodeProto unfolded =
          make_node(op.op_type(), op.name() + "_unfolded", {ra->input(0), rb->input(0)}, ry->output(0));
      replacement.emplace(&op, std::move(unfolded));
    }
  }
  if (replacement.empty()) return 0;
  replace_nodes(graph, replacement, removed);
  return static_cast<int>(replacement.size());
}

}  // namespace inferlab::native
