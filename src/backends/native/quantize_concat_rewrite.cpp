#include "quantize_concat_rewrite.h"

#include <map>
#include <set>
#include <string>
#include <unordered_map>

#include "graph_index.h"
#include "optimize/graph_edit.h"

namespace inferlab::native {

using namespace graph_edit;

namespace {

// A scalar (one element) initializer named `name`.
bool scalar_initializer(const onnx::GraphProto& graph, const std::string& name) {
  const auto* t = find_initializer(graph, name);
  if (!t) return false;
  std::int64_t count = 1;
  for (auto d : t->dims()) count *= d;
  return count == 1;
}

}  // namespace

int quantize_before_concat(onnx::GraphProto& graph) {
  std::set<const onnx::NodeProto*> removed;
  // Each rewritten Concat -> what takes its place: its inputs' Qs, then itself.
  std::unordered_map<const onnx::NodeProto*, std::vector<onnx::NodeProto>> before;
  {
    const GraphIndex index(graph);
    for (const auto& concat : graph.node()) {
      if (concat.op_type() != "Concat" || !is_default_domain(concat) || concat.input_size() < 2) continue;
      const auto* q = index.only_reader(concat.output(0), "QuantizeLinear");
      if (!q || q->input_size() < 2 || q->input(0) != concat.output(0) || q->output_size() != 1) continue;
      if (!scalar_initializer(graph, q->input(1))) continue;
      if (q->input_size() > 2 && !q->input(2).empty() && !scalar_initializer(graph, q->input(2))) continue;
      onnx::NodeProto joined = concat;
      joined.set_name(concat.name() + "_quantized");
      joined.clear_output();
      joined.add_output(q->output(0));
      std::map<std::string, std::string> quantized;  // Concat input -> its Q's output
      std::vector<onnx::NodeProto> nodes;
      for (int k = 0; k < concat.input_size(); ++k) {
        const std::string& x = concat.input(k);
        auto it = quantized.find(x);
        if (it == quantized.end()) {
          const std::string out = unique_name(graph, q->output(0) + "/in" + std::to_string(k));
          onnx::NodeProto qk = *q;
          qk.set_name(out);
          qk.set_input(0, x);
          qk.clear_output();
          qk.add_output(out);
          nodes.push_back(std::move(qk));
          it = quantized.emplace(x, out).first;
        }
        joined.set_input(k, it->second);
      }
      nodes.push_back(std::move(joined));
      before.emplace(&concat, std::move(nodes));
      removed.insert(q);
    }
  }
  if (before.empty()) return 0;
  // The Concat's place gets its Qs and then the Concat; its old Q goes.
  google::protobuf::RepeatedPtrField<onnx::NodeProto> kept;
  for (const auto& n : graph.node()) {
    if (auto it = before.find(&n); it != before.end()) {
      for (auto& m : it->second) *kept.Add() = m;
    } else if (!removed.count(&n)) {
      *kept.Add() = n;
    }
  }
  graph.mutable_node()->Swap(&kept);
  return static_cast<int>(before.size());
}

}  // namespace inferlab::native
