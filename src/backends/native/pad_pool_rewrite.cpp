#include "pad_pool_rewrite.h"

#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "graph_index.h"
#include "optimize/graph_edit.h"

namespace inferlab::native {

using namespace graph_edit;

namespace {

std::vector<std::int64_t> int_list_attribute(const onnx::NodeProto& node, const std::string& name) {
  for (const auto& a : node.attribute()) {
    if (a.name() == name) return {a.ints().begin(), a.ints().end()};
  }
  return {};
}

// The constant value is absent, or a float initializer holding 0.
bool zero_value(const onnx::GraphProto& graph, const onnx::NodeProto& pad, std::int64_t opset) {
  if (opset < 11) return float_attribute(pad, "value", 0.0F) == 0.0F;
  if (pad.input_size() < 3 || pad.input(2).empty()) return true;
  const auto* t = find_initializer(graph, pad.input(2));
  std::vector<float> v;
  return t && read_floats(*t, v) && v.size() == 1 && v[0] == 0.0F;
}

// Pads [n0, c0, h0, w0, n1, c1, h1, w1] on the spatial axes only, as
// AveragePool's [h0, w0, h1, w1]; empty when the Pad does anything else.
std::vector<std::int64_t> spatial_pads(const onnx::GraphProto& graph, const onnx::NodeProto& pad, std::int64_t opset) {
  std::vector<std::int64_t> pads;
  if (opset < 11) {
    pads = int_list_attribute(pad, "pads");
  } else {
    if (pad.input_size() < 2 || (pad.input_size() > 3 && !pad.input(3).empty())) return {};
    const auto* t = find_initializer(graph, pad.input(1));
    if (!t || !read_int64s(*t, pads)) return {};
  }
  if (pads.size() != 8 || pads[0] != 0 || pads[1] != 0 || pads[4] != 0 || pads[5] != 0) return {};
  for (auto p : pads) {
    if (p < 0) return {};
  }
  return {pads[2], pads[3], pads[6], pads[7]};
}

bool unpadded_pool(const onnx::NodeProto& pool) {
  for (const auto& a : pool.attribute()) {
    if (a.name() == "auto_pad" && a.s() != "NOTSET") return false;
    if (a.name() == "ceil_mode" && a.i() != 0) return false;
    if (a.name() == "pads") {
      for (auto p : a.ints()) {
        if (p != 0) return false;
      }
    }
  }
  return int_list_attribute(pool, "kernel_shape").size() == 2;
}

}  // namespace

int fold_pad_into_average_pool(onnx::GraphProto& graph, std::int64_t opset) {
  std::set<const onnx::NodeProto*> removed;
  std::unordered_map<const onnx::NodeProto*, onnx::NodeProto> replacement;
  {
    const GraphIndex index(graph);
    for (const auto& pad : graph.node()) {
      if (pad.op_type() != "Pad" || !is_default_domain(pad) || pad.input_size() < 1) continue;
      const std::string mode = [&] {
        for (const auto& a : pad.attribute()) {
          if (a.name() == "mode") return a.s();
        }
        return std::string("constant");
      }();
      if (mode != "constant" || !zero_value(graph, pad, opset)) continue;
      const auto pads = spatial_pads(graph, pad, opset);
      if (pads.empty()) continue;
      const auto* pool = index.only_reader(pad.output(0), "AveragePool");
      if (!pool || pool->input(0) != pad.output(0) || !unpadded_pool(*pool)) continue;
      onnx::NodeProto folded = *pool;
      folded.set_input(0, pad.input(0));
      auto* attributes = folded.mutable_attribute();
      for (int k = attributes->size() - 1; k >= 0; --k) {
        const std::string& name = attributes->Get(k).name();
        if (name == "pads" || name == "count_include_pad" || name == "auto_pad") attributes->DeleteSubrange(k, 1);
      }
      auto* p = folded.add_attribute();
      p->set_name("pads");
      p->set_type(onnx::AttributeProto::INTS);
      for (auto v : pads) p->add_ints(v);
      set_int_attribute(folded, "count_include_pad", 1);
      removed.insert(&pad);
      replacement.emplace(pool, std::move(folded));
    }
  }
  if (replacement.empty()) return 0;
  replace_nodes(graph, replacement, removed);
  return static_cast<int>(replacement.size());
}

}  // namespace inferlab::native
