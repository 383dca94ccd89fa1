// Graph passes over libonnx protobufs. Every pass leaves a graph that the
// ONNX checker accepts and that computes the same function; tests run the
// before and after models on a real engine to prove it.
#include "inferlab/graph_passes.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <set>
#include <unordered_map>

#include "inferlab/error.h"
#include "model/onnx_util.h"
#include "optimize/graph_edit.h"

namespace inferlab {

using namespace graph_edit;

namespace {

// The BatchNormalization parameters as per-channel scale s and shift t
// (y = s * x + t); false when they are not float32 initializers.
bool batch_norm_affine(const onnx::GraphProto& graph, const onnx::NodeProto& bn, std::vector<float>& scale,
                       std::vector<float>& shift) {
  std::vector<float> gamma, beta, mean, var;
  const onnx::TensorProto* t[4];
  for (int i = 0; i < 4; ++i) {
    t[i] = find_initializer(graph, bn.input(i + 1));
    if (!t[i]) return false;
  }
  if (!read_floats(*t[0], gamma) || !read_floats(*t[1], beta) || !read_floats(*t[2], mean) ||
      !read_floats(*t[3], var)) {
    return false;
  }
  const std::size_t c = gamma.size();
  if (beta.size() != c || mean.size() != c || var.size() != c) return false;
  const float epsilon = float_attribute(bn, "epsilon", 1e-5F);
  scale.resize(c);
  shift.resize(c);
  for (std::size_t i = 0; i < c; ++i) {
    scale[i] = gamma[i] / std::sqrt(var[i] + epsilon);
    shift[i] = beta[i] - mean[i] * scale[i];
  }
  return true;
}

// Conv: W [Cout, Cin/g, k...] scaled per output channel; bias b' = b*s + t.
bool fold_into_conv(onnx::GraphProto& graph, onnx::NodeProto& conv, const std::vector<float>& scale,
                    const std::vector<float>& shift) {
  const onnx::TensorProto* w = find_initializer(graph, conv.input(1));
  std::vector<float> weights, bias;
  if (!w || !read_floats(*w, weights) || w->dims_size() < 2 || w->dims(0) != static_cast<std::int64_t>(scale.size())) {
    return false;
  }
  if (conv.input_size() > 2 && !conv.input(2).empty()) {
    const onnx::TensorProto* b = find_initializer(graph, conv.input(2));
    if (!b || !read_floats(*b, bias) || bias.size() != scale.size()) return false;
  } else {
    bias.assign(scale.size(), 0.0F);
  }
  const std::size_t per_channel = weights.size() / scale.size();
  for (std::size_t c = 0; c < scale.size(); ++c) {
    for (std::size_t k = 0; k < per_channel; ++k) weights[c * per_channel + k] *= scale[c];
    bias[c] = bias[c] * scale[c] + shift[c];
  }
  const std::vector<std::int64_t> w_dims(w->dims().begin(), w->dims().end());
  const std::string w_name = unique_name(graph, conv.input(1) + "_bnfolded");
  const std::string b_name =
      unique_name(graph, (conv.name().empty() ? conv.output(0) : conv.name()) + "_bias_bnfolded");
  add_float_initializer(graph, w_name, w_dims, weights);
  add_float_initializer(graph, b_name, {static_cast<std::int64_t>(bias.size())}, bias);
  conv.set_input(1, w_name);
  if (conv.input_size() > 2) {
    conv.set_input(2, b_name);
  } else {
    conv.add_input(b_name);
  }
  return true;
}

// Gemm: Y = alpha*A*B + beta*C; BN on Y's columns: B's output columns scaled,
// C' = s*(beta*C) + t, beta becomes 1. Only 1-D (or absent) C is folded.
bool fold_into_gemm(onnx::GraphProto& graph, onnx::NodeProto& gemm, const std::vector<float>& scale,
                    const std::vector<float>& shift) {
  const onnx::TensorProto* b = find_initializer(graph, gemm.input(1));
  std::vector<float> weights, bias;
  if (!b || !read_floats(*b, weights) || b->dims_size() != 2) return false;
  const bool trans_b = int_attribute(gemm, "transB", 0) != 0;
  const std::int64_t n = trans_b ? b->dims(0) : b->dims(1);
  const std::int64_t k = trans_b ? b->dims(1) : b->dims(0);
  if (n != static_cast<std::int64_t>(scale.size())) return false;
  const float beta = float_attribute(gemm, "beta", 1.0F);
  if (gemm.input_size() > 2 && !gemm.input(2).empty()) {
    const onnx::TensorProto* c = find_initializer(graph, gemm.input(2));
    if (!c || !read_floats(*c, bias) || c->dims_size() != 1 || bias.size() != scale.size()) return false;
  } else {
    bias.assign(scale.size(), 0.0F);
  }
  for (std::int64_t row = 0; row < (trans_b ? n : k); ++row) {
    for (std::int64_t col = 0; col < (trans_b ? k : n); ++col) {
      weights[row * (trans_b ? k : n) + col] *= scale[trans_b ? row : col];
    }
  }
  for (std::size_t i = 0; i < scale.size(); ++i) bias[i] = scale[i] * beta * bias[i] + shift[i];
  const std::string w_name = unique_name(graph, gemm.input(1) + "_bnfolded");
  const std::string c_name =
      unique_name(graph, (gemm.name().empty() ? gemm.output(0) : gemm.name()) + "_bias_bnfolded");
  add_float_initializer(graph, w_name, {b->dims(0), b->dims(1)}, weights);
  add_float_initializer(graph, c_name, {n}, bias);
  gemm.set_input(1, w_name);
  if (gemm.input_size() > 2) {
    gemm.set_input(2, c_name);
  } else {
    gemm.add_input(c_name);
  }
  set_float_attribute(gemm, "beta", 1.0F);
  return true;
}

}  // namespace

PassReport remove_identity_and_dropout(OnnxGraph& model) {
  PassReport report{"remove-identity-dropout", 0, {}};
  auto& graph = *model.proto().mutable_graph();
  const Uses uses(graph);
  std::vector<int> removed;
  for (int i = 0; i < graph.node_size(); ++i) {
    const auto& node = graph.node(i);
    const bool identity = node.op_type() == "Identity";
    // Dropout in inference is the identity on output 0; its mask must be unused.
    const bool dropout = node.op_type() == "Dropout" &&
                         (node.output_size() < 2 || node.output(1).empty() || uses.count(node.output(1)) == 0);
    if (!(identity || dropout) || node.input_size() < 1 || uses.graph_outputs.count(node.output(0))) continue;
    if (dropout && node.input_size() > 2 && !node.input(2).empty()) {
      // training_mode given as an input: only a constant false is the identity.
      const onnx::TensorProto* t = find_initializer(graph, node.input(2));
      if (!t || t->data_type() != onnx::TensorProto::BOOL) continue;
      const bool on = t->has_raw_data() ? (!t->raw_data().empty() && t->raw_data()[0] != 0)
                                        : (t->int32_data_size() > 0 && t->int32_data(0) != 0);
      if (on) continue;
    }
    report.details.push_back(node_label(node) + " removed");
    rename_input(graph, node.output(0), node.input(0));
    removed.push_back(i);
  }
  for (auto it = removed.rbegin(); it != removed.rend(); ++it) graph.mutable_node()->DeleteSubrange(*it, 1);
  report.changed = static_cast<std::int64_t>(removed.size());
  return report;
}

PassReport fold_batch_norm(OnnxGraph& model) {
  PassReport report{"fold-batchnorm", 0, {}};
  auto& graph = *model.proto().mutable_graph();
  const Uses uses(graph);
  std::unordered_map<std::string, int> producer;
  for (int i = 0; i < graph.node_size(); ++i) {
    for (const auto& o : graph.node(i).output()) producer[o] = i;
  }
  std::vector<int> removed;
  for (int i = 0; i < graph.node_size(); ++i) {
    const auto& bn = graph.node(i);
    if (bn.op_type() != "BatchNormalization" || bn.input_size() != 5) continue;
    if (bn.output_size() > 1 &&
        std::any_of(bn.output().begin() + 1, bn.output().end(), [&](const std::string& o) { return !o.empty(); })) {
      continue;  // training-mode outputs (running mean/var) requested
    }
    auto it = producer.find(bn.input(0));
    if (it == producer.end()) continue;
    auto& prev = *graph.mutable_node(it->second);
    if ((prev.op_type() != "Conv" && prev.op_type() != "Gemm") || uses.count(prev.output(0)) != 1 ||
        uses.graph_outputs.count(prev.output(0))) {
      continue;
    }
    std::vector<float> scale, shift;
    if (!batch_norm_affine(graph, bn, scale, shift)) continue;
    const bool folded = prev.op_type() == "Conv" ? fold_into_conv(graph, prev, scale, shift)
                                                 : fold_into_gemm(graph, prev, scale, shift);
    if (!folded) continue;
    report.details.push_back(node_label(bn) + " folded into " + node_label(prev));
    prev.set_output(0, bn.output(0));
    removed.push_back(i);
  }
  for (auto r = removed.rbegin(); r != removed.rend(); ++r) graph.mutable_node()->DeleteSubrange(*r, 1);
  report.changed = static_cast<std::int64_t>(removed.size());
  return report;
}

PassReport eliminate_dead_nodes(OnnxGraph& model) {
  PassReport report{"eliminate-dead-nodes", 0, {}};
  auto& graph = *model.proto().mutable_graph();
  // Walk backwards from the graph outputs: a node is live when one of its
  // outputs is needed; topological order makes one backward sweep enough.
  std::set<std::string> needed;
  for (const auto& o : graph.output()) needed.insert(o.name());
  std::vector<bool> live(graph.node_size(), false);
  for (int i = graph.node_size() - 1; i >= 0; --i) {
    const auto& node = graph.node(i);
    for (const auto& o : node.output()) {
      if (needed.count(o)) live[i] = true;
    }
    if (!live[i]) continue;
    for (const auto& in : node.input()) needed.insert(in);
    collect_subgraph_reads(node, needed);
  }
  for (int i = graph.node_size() - 1; i >= 0; --i) {
    if (live[i]) continue;
    report.details.push_back(node_label(graph.node(i)) + " removed (its outputs are never used)");
    graph.mutable_node()->DeleteSubrange(i, 1);
    ++report.changed;
  }
  std::int64_t initializers_removed = 0;
  for (int i = graph.initializer_size() - 1; i >= 0; --i) {
    if (needed.count(graph.initializer(i).name())) continue;
    const std::string name = graph.initializer(i).name();
    graph.mutable_initializer()->DeleteSubrange(i, 1);
    for (int k = graph.input_size() - 1; k >= 0; --k) {
      if (graph.input(k).name() == name) graph.mutable_input()->DeleteSubrange(k, 1);
    }
    ++initializers_removed;
  }
  if (initializers_removed > 0) {
    report.details.push_back(std::to_string(initializers_removed) + " unused initializer(s) removed");
  }
  return report;
}

std::vector<PassReport> run_graph_passes(OnnxGraph& graph) {
  std::vector<PassReport> reports;
  reports.push_back(remove_identity_and_dropout(graph));
  reports.push_back(fold_batch_norm(graph));
  reports.push_back(eliminate_dead_nodes(graph));
  graph.check();
  return reports;
}

}  // namespace inferlab
