// The QDQ rewrite. Symmetric quantization everywhere (zero point 0) because
// it is what INT8 GEMM kernels run without a zero-point correction term;
// uint8 for never-negative activations keeps the bit a ReLU output would
// waste on a sign.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>

#include "inferlab/error.h"
#include "inferlab/quantize.h"
#include "optimize/graph_edit.h"

namespace inferlab {

using namespace graph_edit;

namespace {

std::set<std::string> initializer_names(const onnx::GraphProto& g) {
  std::set<std::string> names;
  for (const auto& t : g.initializer()) names.insert(t.name());
  return names;
}

// Which inputs of a quantizable node are activations (quantized per tensor)
// and which one is the weight (quantized per channel); -1: none.
struct NodeRoles {
  std::vector<int> activations;
  int weight = -1;
};

NodeRoles roles_of(const onnx::NodeProto& node, const std::set<std::string>& initializers) {
  NodeRoles r;
  const std::string& op = node.op_type();
  if (op == "Conv" || op == "Gemm") {
    r.activations = {0};
    r.weight = 1;
  } else if (op == "MatMul") {
    for (int i = 0; i < 2; ++i) {
      if (initializers.count(node.input(i)) && i == 1) {
        r.weight = 1;
      } else {
        r.activations.push_back(i);
      }
    }
  }
  return r;
}

// Why `node` cannot be quantized; empty when it can.
std::string unquantizable_reason(const onnx::NodeProto& node, const onnx::GraphProto& g) {
  if (!is_default_domain(node)) return "not an ai.onnx op";
  const std::string& op = node.op_type();
  if (op != "Conv" && op != "Gemm" && op != "MatMul") return "no INT8 form";
  if (op == "MatMul") return {};
  const auto* w = find_initializer(g, node.input(1));
  if (!w) return "its weight is not an initializer";
  if (w->data_type() != onnx::TensorProto::FLOAT) return "its weight is not float32";
  if (op == "Gemm" && int_attribute(node, "transA", 0) != 0) return "Gemm with transA";
  return {};
}

// Per-channel (or per-tensor, channel_axis < 0) symmetric int8 weights in
// [-limit, limit].
struct QuantizedWeight {
  std::string bytes;  // int8 values
  std::vector<float> scales;
  double sqnr_db = 0;
};

QuantizedWeight quantize_weight(const std::vector<float>& w, const std::vector<std::int64_t>& dims, int axis,
                                int limit) {
  std::int64_t channels = 1, inner = 1;
  if (axis >= 0) {
    channels = dims[static_cast<std::size_t>(axis)];
    for (std::size_t d = static_cast<std::size_t>(axis) + 1; d < dims.size(); ++d) inner *= dims[d];
  }
  QuantizedWeight q;
  q.scales.assign(static_cast<std::size_t>(channels), 0.0F);
  const auto channel_of = [&](std::size_t i) {
    return axis < 0 ? 0 : static_cast<std::size_t>((static_cast<std::int64_t>(i) / inner) % channels);
  };
  for (std::size_t i = 0; i < w.size(); ++i) {
    auto& s = q.scales[channel_of(i)];
    s = std::max(s, std::fabs(w[i]));
  }
  const auto top = static_cast<float>(limit);
  for (auto& s : q.scales) s = s > 0 ? s / top : 1.0F;
  q.bytes.resize(w.size());
  double signal = 0, noise = 0;
  for (std::size_t i = 0; i < w.size(); ++i) {
    const float s = q.scales[channel_of(i)];
    const float v = std::clamp(std::nearbyint(w[i] / s), -top, top);
    q.bytes[i] = static_cast<char>(static_cast<std::int8_t>(v));
    const double err = static_cast<double>(w[i]) - static_cast<double>(v) * s;
    signal += static_cast<double>(w[i]) * w[i];
    noise += err * err;
  }
  q.sqnr_db = noise > 0 ? 10.0 * std::log10(signal / noise) : std::numeric_limits<double>::infinity();
  return q;
}

std::string float_bytes(const std::vector<float>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
}

}  // namespace

std::int64_t name_unnamed_nodes(OnnxGraph& graph) {
  auto& g = *graph.proto().mutable_graph();
  NameAllocator names(g);
  std::int64_t named = 0;
  for (auto& node : *g.mutable_node()) {
    if (!node.name().empty()) continue;
    node.set_name(names.make(node.op_type() + "_" + (node.output_size() ? node.output(0) : std::string("node"))));
    ++named;
  }
  return named;
}

std::vector<std::string> quantizable_nodes(const OnnxGraph& graph) {
  std::vector<std::string> names;
  for (const auto& node : graph.proto().graph().node()) {
    if (unquantizable_reason(node, graph.proto().graph()).empty()) names.push_back(node.name());
  }
  return names;
}

std::vector<std::string> activation_inputs(const OnnxGraph& graph, const std::set<std::string>& keep_fp32_nodes) {
  const auto& g = graph.proto().graph();
  const auto initializers = initializer_names(g);
  std::vector<std::string> values;
  std::set<std::string> seen;
  for (const auto& node : g.node()) {
    if (keep_fp32_nodes.count(node.name()) || !unquantizable_reason(node, g).empty()) continue;
    for (int i : roles_of(node, initializers).activations) {
      if (seen.insert(node.input(i)).second) values.push_back(node.input(i));
    }
  }
  return values;
}

int int8_weight_limit(int weight_bits) {
  if (weight_bits == 7) return 63;
  if (weight_bits == 8) return 127;
  throw Error("int8 weights: " + std::to_string(weight_bits) + " bits; give 7 or 8", ErrorKind::kBadInput);
}

QuantizeReport quantize_qdq(OnnxGraph& graph, const QuantizeOptions& options) {
  const int weight_limit = int8_weight_limit(options.weight_bits);
  name_unnamed_nodes(graph);
  auto& model = graph.proto();
  auto& g = *model.mutable_graph();
  const std::int64_t opset = default_opset(model);
  if (opset < 10)
    throw Error(
        graph.origin() + ": INT8 QDQ needs opset >= 10 (QuantizeLinear); the model has opset " + std::to_string(opset),
        ErrorKind::kBadInput);
  const bool per_channel = opset >= 13;  // DequantizeLinear's axis arrived in opset 13
  const auto initializers = initializer_names(g);
  NameAllocator names(g);
  QuantizeReport report;
  report.pass.pass = "int8-qdq";

  std::map<std::string, std::string> dequantized;                // original value -> DQ output
  std::vector<std::pair<std::string, onnx::NodeProto>> inserts;  // (insert before node name, node)
  std::map<std::string, int> other_ops;

  const auto quantize_activation = [&](const std::string& value, const std::string& before) {
    if (auto it = dequantized.find(value); it != dequantized.end()) return it->second;
    auto range = options.activations.find(value);
    if (range == options.activations.end())
      throw Error(graph.origin() + ": no calibrated range for activation '" + value + "'", ErrorKind::kBadInput);
    const bool u8 = range->second.non_negative;
    const float scale = static_cast<float>(range->second.threshold / (u8 ? 255.0 : 127.0));
    const std::string scale_name = names.make(value + "_scale"), zp_name = names.make(value + "_zero_point");
    add_raw_initializer(g, scale_name, onnx::TensorProto::FLOAT, {}, float_bytes({scale}));
    add_raw_initializer(g, zp_name, u8 ? onnx::TensorProto::UINT8 : onnx::TensorProto::INT8, {}, std::string(1, '\0'));
    const std::string q = names.make(value + "_quantized"), dq = names.make(value + "_dequantized");
    inserts.emplace_back(
        before, make_node("QuantizeLinear", names.make(value + "_QuantizeLinear"), {value, scale_name, zp_name}, q));
    inserts.emplace_back(
        before, make_node("DequantizeLinear", names.make(value + "_DequantizeLinear"), {q, scale_name, zp_name}, dq));
    dequantized[value] = dq;
    return dq;
  };

  for (auto& node : *g.mutable_node()) {
    const std::string reason = unquantizable_reason(node, g);
    if (!reason.empty()) {
      if (node.op_type() == "Conv" || node.op_type() == "Gemm" || node.op_type() == "MatMul") {
        report.left_in_fp32.push_back(node.name() + " (" + node.op_type() + "): " + reason);
      } else if (node.op_type() != "Constant") {
        ++other_ops[node.op_type()];
      }
      continue;
    }
    if (options.keep_fp32_nodes.count(node.name())) {
      report.left_in_fp32.push_back(node.name() + " (" + node.op_type() + "): kept in float32 by the accuracy gate");
      continue;
    }
    const NodeRoles roles = roles_of(node, initializers);
    for (int i : roles.activations) node.set_input(i, quantize_activation(node.input(i), node.name()));
    QuantizedLayer layer{node.name(), node.op_type(), "", false, 0};
    if (roles.weight >= 0) {
      const std::string w_name = node.input(roles.weight);
      const auto* w = find_initializer(g, w_name);
      std::vector<float> values;
      if (!w || !read_floats(*w, values))
        throw Error(graph.origin() + ": cannot read weight '" + w_name + "' of " + node_label(node));
      const std::vector<std::int64_t> dims(w->dims().begin(), w->dims().end());
      int axis = -1;
      if (per_channel) {
        if (node.op_type() == "Conv" && dims.size() >= 2) axis = 0;
        if (node.op_type() == "Gemm" && dims.size() == 2) axis = int_attribute(node, "transB", 0) != 0 ? 0 : 1;
        if (node.op_type() == "MatMul" && dims.size() == 2) axis = 1;
      }
      const QuantizedWeight q = quantize_weight(values, dims, axis, weight_limit);
      const std::string q_name = names.make(w_name + "_quantized"), s_name = names.make(w_name + "_scale"),
                        zp_name = names.make(w_name + "_zero_point"), dq = names.make(w_name + "_dequantized");
      add_raw_initializer(g, q_name, onnx::TensorProto::INT8, dims, q.bytes);
      const std::vector<std::int64_t> scale_dims =
          axis < 0 ? std::vector<std::int64_t>{}
                   : std::vector<std::int64_t>{static_cast<std::int64_t>(q.scales.size())};
      add_raw_initializer(g, s_name, onnx::TensorProto::FLOAT, scale_dims, float_bytes(q.scales));
      add_raw_initializer(g, zp_name, onnx::TensorProto::INT8, scale_dims, std::string(q.scales.size(), '\0'));
      auto dq_node =
          make_node("DequantizeLinear", names.make(w_name + "_DequantizeLinear"), {q_name, s_name, zp_name}, dq);
      if (axis >= 0) set_int_attribute(dq_node, "axis", axis);
      inserts.emplace_back(node.name(), dq_node);
      node.set_input(roles.weight, dq);
      layer.weight = w_name;
      layer.per_channel = axis >= 0;
      layer.weight_sqnr_db = q.sqnr_db;
    }
    report.layers.push_back(layer);
    report.pass.details.push_back(
        node_label(node) + (layer.weight.empty() ? ""
                                                 : ": weight SQNR " + std::to_string(layer.weight_sqnr_db) + " dB" +
                                                       (layer.per_channel ? " per channel" : " per tensor")));
  }
  if (!other_ops.empty()) {
    std::string line = "no INT8 form, left in float32:";
    for (const auto& [op, count] : other_ops) line += " " + op + " x" + std::to_string(count);
    report.left_in_fp32.push_back(line);
  }
  // Put each inserted node right before the node it feeds, so the node list
  // stays topologically sorted. A Q/DQ pair two consumers share was made
  // once (`dequantized`), before the first.
  std::map<std::string, std::vector<onnx::NodeProto>> before;
  for (auto& [name, n] : inserts) before[name].push_back(std::move(n));
  google::protobuf::RepeatedPtrField<onnx::NodeProto> nodes;
  for (auto& node : *g.mutable_node()) {
    if (auto it = before.find(node.name()); it != before.end()) {
      for (auto& n : it->second) *nodes.Add() = std::move(n);
    }
    *nodes.Add() = std::move(node);
  }
  g.mutable_node()->Swap(&nodes);
  report.pass.changed = static_cast<std::int64_t>(report.layers.size());
  report.pass.details.insert(
      report.pass.details.begin(),
      "quantized " + std::to_string(report.layers.size()) + " node(s), " + std::to_string(options.weight_bits) +
          "-bit weights " + (per_channel ? "per channel" : "per tensor (opset < 13 has no DequantizeLinear axis)"));
  eliminate_dead_nodes(graph);  // the float32 weights nothing reads any more
  graph.check();
  return report;
}

}  // namespace inferlab
