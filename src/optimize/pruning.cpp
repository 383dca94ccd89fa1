// Pruning over libonnx protobufs. Channel pruning edits several tensors per
// conv, so every edit is planned and checked against the graph as it is at
// that moment before any tensor changes: an ineligible conv is left exactly
// as it was, and a conv whose consumers an earlier conv already sliced sees
// their current sizes.
#include "inferlab/pruning.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <numeric>
#include <set>
#include <unordered_map>

#include "inferlab/error.h"
#include "model/onnx_util.h"
#include "optimize/graph_edit.h"

namespace inferlab {

using namespace graph_edit;

namespace {

// Ops that act on each channel on its own: slicing their input's channels
// slices their output's the same way.
const std::set<std::string> kChannelWise = {
    "Relu",        "LeakyRelu",         "Clip",     "Sigmoid", "HardSigmoid",       "Tanh", "MaxPool",
    "AveragePool", "GlobalAveragePool", "Identity", "Dropout", "BatchNormalization"};

void check_sparsity(double sparsity, const char* pass) {
  if (!(sparsity > 0.0 && sparsity < 1.0)) {
    char text[64];
    std::snprintf(text, sizeof text, "%g", sparsity);
    throw Error(std::string(pass) + ": sparsity " + text +
                " is out of range; give a fraction strictly between 0 and 1 (0.5 removes half)");
  }
}

std::int64_t product(const google::protobuf::RepeatedField<std::int64_t>& dims, int from = 0) {
  std::int64_t p = 1;
  for (int i = from; i < dims.size(); ++i) p *= dims[i];
  return p;
}

// A float32 initializer read by node input `index`, or false.
bool float_input(const onnx::GraphProto& graph, const onnx::NodeProto& node, int index, std::vector<float>& values,
                 std::vector<std::int64_t>* dims = nullptr) {
  if (node.input_size() <= index || node.input(index).empty()) return false;
  const onnx::TensorProto* t = find_initializer(graph, node.input(index));
  if (!t || !read_floats(*t, values)) return false;
  if (dims) dims->assign(t->dims().begin(), t->dims().end());
  return true;
}

// ---- unstructured ----------------------------------------------------------

// The weight operands prune_unstructured considers, each name once: input 1
// of Conv and Gemm; for MatMul input 1, or input 0 when only that one is a
// constant (exporters put the weight on either side).
std::vector<std::string> weight_names(const onnx::GraphProto& graph) {
  std::vector<std::string> names;
  std::set<std::string> seen;
  auto is_initializer = [&](const onnx::NodeProto& n, int i) {
    return n.input_size() > i && !n.input(i).empty() && find_initializer(graph, n.input(i)) != nullptr;
  };
  for (const auto& node : graph.node()) {
    if (!is_default_domain(node)) continue;
    int index = -1;
    if ((node.op_type() == "Conv" || node.op_type() == "Gemm") && is_initializer(node, 1)) index = 1;
    if (node.op_type() == "MatMul") index = is_initializer(node, 1) ? 1 : (is_initializer(node, 0) ? 0 : -1);
    if (index >= 0 && seen.insert(node.input(index)).second) names.push_back(node.input(index));
  }
  return names;
}

std::int64_t count_zeros(const std::vector<float>& values) { return std::count(values.begin(), values.end(), 0.0F); }

}  // namespace

PassReport prune_unstructured(OnnxGraph& model, double sparsity) {
  check_sparsity(sparsity, "prune_unstructured");
  PassReport report{"prune-unstructured", 0, {}};
  auto& graph = *model.proto().mutable_graph();
  for (const auto& name : weight_names(graph)) {
    onnx::TensorProto& tensor = *find_initializer(graph, name);
    std::vector<float> values;
    if (!read_floats(tensor, values)) {
      report.details.push_back(name + ": skipped (not float32 data held in the model)");
      continue;
    }
    const auto n = static_cast<std::int64_t>(values.size());
    // The epsilon keeps 0.29 * 100 from flooring to 28.
    const auto k = static_cast<std::int64_t>(std::floor(sparsity * static_cast<double>(n) + 1e-9));
    if (k > 0) {
      // Exactly k elements, ties broken by position, so repeated values
      // (already-zero weights) cannot push the count past the target.
      std::vector<std::int64_t> order(values.size());
      std::iota(order.begin(), order.end(), 0);
      std::nth_element(order.begin(), order.begin() + (k - 1), order.end(), [&](std::int64_t a, std::int64_t b) {
        const float fa = std::abs(values[a]), fb = std::abs(values[b]);
        return fa < fb || (fa == fb && a < b);
      });
      for (std::int64_t i = 0; i < k; ++i) values[order[i]] = 0.0F;
      write_floats(tensor, values);
      ++report.changed;
    }
    const std::int64_t zeros = count_zeros(values);
    char line[64];
    std::snprintf(line, sizeof line, ": %.1f%% zero (%lld/%lld)", n > 0 ? 100.0 * zeros / n : 0.0,
                  static_cast<long long>(zeros), static_cast<long long>(n));
    report.details.push_back(name + line);
  }
  return report;
}

double weight_sparsity(const OnnxGraph& model) {
  const auto& graph = model.proto().graph();
  std::int64_t zeros = 0, total = 0;
  for (const auto& name : weight_names(graph)) {
    std::vector<float> values;
    if (!read_floats(*find_initializer(graph, name), values)) continue;
    zeros += count_zeros(values);
    total += static_cast<std::int64_t>(values.size());
  }
  return total > 0 ? static_cast<double>(zeros) / static_cast<double>(total) : 0.0;
}

// ---- structured ------------------------------------------------------------

namespace {

struct Edge {
  int node;
  int input;
};

// What the channel walk needs about the graph. Nodes are never added or
// removed while pruning, so node indices and activation readers stay valid;
// only initializer names change, and those are looked up afresh.
struct Context {
  onnx::GraphProto& graph;
  std::unordered_map<std::string, std::vector<Edge>> readers;
  std::set<std::string> graph_outputs, subgraph_reads;
  std::unordered_map<std::string, Shape> shapes;  // at batch 1
  std::string shape_failure;
};

// Shapes come from inference on a copy at batch 1, so a symbolic batch in
// the caller's model stays symbolic. Pruning never changes spatial dims, so
// the H*W read here stays true while channels are removed.
Context make_context(OnnxGraph& model) {
  Context cx{*model.proto().mutable_graph(), {}, {}, {}, {}, {}};
  for (int i = 0; i < cx.graph.node_size(); ++i) {
    const auto& node = cx.graph.node(i);
    for (int k = 0; k < node.input_size(); ++k) {
      if (!node.input(k).empty()) cx.readers[node.input(k)].push_back({i, k});
    }
    collect_subgraph_reads(node, cx.subgraph_reads);
  }
  for (const auto& o : cx.graph.output()) cx.graph_outputs.insert(o.name());
  OnnxGraph copy = model;
  try {
    copy.infer_shapes(1);
  } catch (const Error& e) {
    cx.shape_failure = e.what();
    return cx;
  }
  auto add = [&](const onnx::ValueInfoProto& info) {
    if (info.type().has_tensor_type() && info.type().tensor_type().has_shape()) {
      cx.shapes[info.name()] = onnx_util::spec_from_value_info(info).shape;
    }
  };
  for (const auto& v : copy.proto().graph().input()) add(v);
  for (const auto& v : copy.proto().graph().value_info()) add(v);
  return cx;
}

// The edits one conv's pruning makes, all validated before the first one.
struct Plan {
  std::vector<int> batch_norms;                        // params (inputs 1-4) sliced
  std::vector<int> convs;                              // weight dim 1 sliced
  std::vector<std::pair<int, std::int64_t>> gemms;     // node, H*W: weight's feature blocks sliced
  std::vector<std::pair<int, std::int64_t>> reshapes;  // node, H*W: explicit C*H*W in the shape rewritten
};

std::string reaches(const onnx::NodeProto& node, const std::string& why) {
  return "its output reaches " + node_label(node) + " (" + why + ")";
}

std::string value_escapes(const Context& cx, const std::string& value) {
  if (cx.graph_outputs.count(value)) return value + " is a graph output";
  if (cx.subgraph_reads.count(value)) return value + " is read inside a subgraph";
  return {};
}

// Flatten(axis 1) or Reshape to [N, -1] / [N, C*H*W], then Gemm(s): each
// channel owns a block of H*W consecutive features in the Gemm's input.
std::string plan_flatten(const Context& cx, int index, const std::string& value, std::int64_t channels, Plan& plan) {
  const auto& node = cx.graph.node(index);
  auto it = cx.shapes.find(value);
  if (it == cx.shapes.end() || it->second.size() < 2 ||
      std::any_of(it->second.begin() + 1, it->second.end(), [](std::int64_t d) { return d < 0; })) {
    return reaches(node,
                   "the shape of " + value + " is unknown" + (cx.shape_failure.empty() ? "" : ": " + cx.shape_failure));
  }
  const Shape& shape = it->second;
  if (shape[1] != channels) return reaches(node, "inferred channels disagree with the weight");
  std::int64_t spatial = 1;
  for (std::size_t d = 2; d < shape.size(); ++d) spatial *= shape[d];
  if (node.op_type() == "Flatten") {
    std::int64_t axis = int_attribute(node, "axis", 1);
    if (axis < 0) axis += static_cast<std::int64_t>(shape.size());
    if (axis != 1) return reaches(node, "flattens from axis " + std::to_string(axis) + ", not 1");
  } else {
    const onnx::TensorProto* t = node.input_size() > 1 ? find_initializer(cx.graph, node.input(1)) : nullptr;
    // tensor_from_proto trusts int64_data's length, so it is checked here.
    if (!t || t->data_type() != onnx::TensorProto::INT64 || product(t->dims()) != 2 ||
        (!t->has_raw_data() && t->int64_data_size() != 2)) {
      return reaches(node, "its target shape is not a constant [N, features]");
    }
    const Tensor target = onnx_util::tensor_from_proto(*t, node.input(1));
    const std::int64_t d0 = target.data_as<std::int64_t>()[0], d1 = target.data_as<std::int64_t>()[1];
    const bool batch_kept =
        (d0 == 0 && int_attribute(node, "allowzero", 0) == 0) || d0 == shape[0] || (d0 == -1 && d1 != -1);
    if (!batch_kept || (d1 != -1 && d1 != channels * spatial)) {
      return reaches(node, "it does not reshape to [N, C*H*W]");
    }
    if (d1 != -1) plan.reshapes.emplace_back(index, spatial);
  }
  const std::string& flat = node.output(0);
  if (auto why = value_escapes(cx, flat); !why.empty()) return reaches(node, why);
  auto readers = cx.readers.find(flat);
  if (readers == cx.readers.end()) return {};
  for (const Edge& e : readers->second) {
    const auto& gemm = cx.graph.node(e.node);
    if (gemm.op_type() != "Gemm" || !is_default_domain(gemm) || e.input != 0) {
      return reaches(gemm, "reads the flattened features; only Gemm's input A can drop them");
    }
    std::vector<float> w;
    std::vector<std::int64_t> dims;
    if (int_attribute(gemm, "transA", 0) != 0 || !float_input(cx.graph, gemm, 1, w, &dims) || dims.size() != 2) {
      return reaches(gemm, "needs transA = 0 and a float32 initializer weight");
    }
    const bool trans_b = int_attribute(gemm, "transB", 0) != 0;
    if ((trans_b ? dims[1] : dims[0]) != channels * spatial) {
      return reaches(gemm, "its weight does not have C*H*W = " + std::to_string(channels * spatial) + " inputs");
    }
    plan.gemms.emplace_back(e.node, spatial);
  }
  return {};
}

// Follows `value` (channels in dim 1) to every reader; empty when each one
// can drop the channels, else why not.
std::string plan_readers(const Context& cx, const std::string& value, std::int64_t channels, Plan& plan) {
  if (auto why = value_escapes(cx, value); !why.empty()) return why;
  auto readers = cx.readers.find(value);
  if (readers == cx.readers.end()) return {};
  for (const Edge& e : readers->second) {
    const auto& node = cx.graph.node(e.node);
    const std::string& op = node.op_type();
    if (!is_default_domain(node)) return reaches(node, "custom domain " + node.domain());
    const bool known = kChannelWise.count(op) || op == "Conv" || op == "Flatten" || op == "Reshape";
    if (!known) return reaches(node, op + " cannot drop input channels");
    if (e.input != 0) return reaches(node, "reads it as input " + std::to_string(e.input));
    if (kChannelWise.count(op)) {
      // Dropout's mask, MaxPool's indices, BatchNormalization's training statistics.
      for (int o = 1; o < node.output_size(); ++o) {
        if (!node.output(o).empty() && (cx.readers.count(node.output(o)) || cx.graph_outputs.count(node.output(o)))) {
          return reaches(node, "its output " + std::to_string(o) + " is used");
        }
      }
      if (op == "BatchNormalization") {
        for (int p = 1; p <= 4; ++p) {
          std::vector<float> param;
          if (!float_input(cx.graph, node, p, param) || static_cast<std::int64_t>(param.size()) != channels) {
            return reaches(node, "its parameters are not float32 initializers of one value per channel");
          }
        }
        plan.batch_norms.push_back(e.node);
      }
      if (auto why = plan_readers(cx, node.output(0), channels, plan); !why.empty()) return why;
    } else if (op == "Conv") {
      std::vector<float> w;
      std::vector<std::int64_t> dims;
      if (int_attribute(node, "group", 1) != 1) return reaches(node, "grouped or depthwise");
      if (!float_input(cx.graph, node, 1, w, &dims) || dims.size() < 2 || dims[1] != channels) {
        return reaches(node,
                       "its weight is not a float32 initializer with " + std::to_string(channels) + " input channels");
      }
      plan.convs.push_back(e.node);
    } else if (auto why = plan_flatten(cx, e.node, value, channels, plan); !why.empty()) {
      return why;
    }
  }
  return {};
}

// Readers of an initializer name: node inputs, graph outputs, subgraphs.
bool shared(const Context& cx, const std::string& name) {
  int uses = static_cast<int>(cx.graph_outputs.count(name) + cx.subgraph_reads.count(name));
  for (const auto& node : cx.graph.node())
    uses += static_cast<int>(std::count(node.input().begin(), node.input().end(), name));
  return uses > 1;
}

std::string unique_name(const onnx::GraphProto& graph, const std::string& base) {
  std::set<std::string> taken;
  for (const auto& t : graph.initializer()) taken.insert(t.name());
  for (const auto& i : graph.input()) taken.insert(i.name());
  for (const auto& n : graph.node()) taken.insert(n.output().begin(), n.output().end());
  std::string name = base;
  for (int i = 1; taken.count(name); ++i) name = base + "_" + std::to_string(i);
  return name;
}

void set_input_type(onnx::ValueInfoProto& info, const onnx::TensorProto& t) {
  auto* type = info.mutable_type()->mutable_tensor_type();
  type->set_elem_type(t.data_type());
  type->clear_shape();
  auto* shape = type->mutable_shape();
  for (auto d : t.dims()) shape->add_dim()->set_dim_value(d);
}

// Gives node input `index` the tensor `tensor`. A tensor only this input
// reads is edited in place (its name stays); a shared one keeps its value
// for the other readers and this input gets a copy under a new name.
void replace_input(Context& cx, int node_index, int index, onnx::TensorProto tensor) {
  auto& node = *cx.graph.mutable_node(node_index);
  const std::string name = node.input(index);
  if (!shared(cx, name)) {
    tensor.set_name(name);
    *find_initializer(cx.graph, name) = std::move(tensor);
    // A graph input of the same name (required before IR 4) declares its shape.
    for (auto& input : *cx.graph.mutable_input()) {
      if (input.name() == name) set_input_type(input, *find_initializer(cx.graph, name));
    }
    return;
  }
  const std::string renamed = unique_name(cx.graph, name + "_pruned");
  tensor.set_name(renamed);
  node.set_input(index, renamed);
  const bool listed = std::any_of(cx.graph.input().begin(), cx.graph.input().end(),
                                  [&](const onnx::ValueInfoProto& v) { return v.name() == name; });
  if (listed) {
    auto* input = cx.graph.add_input();
    input->set_name(renamed);
    set_input_type(*input, tensor);
  }
  *cx.graph.add_initializer() = std::move(tensor);
}

// Keeps the channels `keep` of dimension `axis` of a float initializer, where
// each channel spans `block` consecutive entries of that dimension.
void slice_input(Context& cx, int node_index, int index, int axis, std::int64_t block,
                 const std::vector<std::int64_t>& keep) {
  const auto& node = cx.graph.node(node_index);
  std::vector<float> values;
  std::vector<std::int64_t> dims;
  if (!float_input(cx.graph, node, index, values, &dims)) {
    throw Error(node_label(node) + ": input " + std::to_string(index) + " changed while pruning", ErrorKind::kRuntime);
  }
  std::int64_t outer = 1, inner = block;
  for (int d = 0; d < axis; ++d) outer *= dims[d];
  for (std::size_t d = axis + 1; d < dims.size(); ++d) inner *= dims[d];
  const std::int64_t channels = dims[axis] / block;
  std::vector<float> kept;
  kept.reserve(static_cast<std::size_t>(outer) * keep.size() * inner);
  for (std::int64_t o = 0; o < outer; ++o) {
    for (const std::int64_t c : keep) {
      const auto* from = values.data() + (o * channels + c) * inner;
      kept.insert(kept.end(), from, from + inner);
    }
  }
  onnx::TensorProto tensor;
  tensor.set_data_type(onnx::TensorProto::FLOAT);
  dims[axis] = static_cast<std::int64_t>(keep.size()) * block;
  for (auto d : dims) tensor.add_dims(d);
  write_floats(tensor, kept);
  replace_input(cx, node_index, index, std::move(tensor));
}

void apply(Context& cx, int conv, const std::vector<std::int64_t>& keep, const Plan& plan) {
  slice_input(cx, conv, 1, 0, 1, keep);
  const auto& node = cx.graph.node(conv);
  if (node.input_size() > 2 && !node.input(2).empty()) slice_input(cx, conv, 2, 0, 1, keep);
  for (int bn : plan.batch_norms) {
    for (int p = 1; p <= 4; ++p) slice_input(cx, bn, p, 0, 1, keep);
  }
  for (int c : plan.convs) slice_input(cx, c, 1, 1, 1, keep);
  for (const auto& [gemm, spatial] : plan.gemms) {
    const bool trans_b = int_attribute(cx.graph.node(gemm), "transB", 0) != 0;
    slice_input(cx, gemm, 1, trans_b ? 1 : 0, spatial, keep);
  }
  for (const auto& [reshape, spatial] : plan.reshapes) {
    const auto& r = cx.graph.node(reshape);
    const Tensor old = onnx_util::tensor_from_proto(*find_initializer(cx.graph, r.input(1)), r.input(1));
    const std::int64_t target[2] = {old.data_as<std::int64_t>()[0], static_cast<std::int64_t>(keep.size()) * spatial};
    onnx::TensorProto tensor;
    tensor.set_data_type(onnx::TensorProto::INT64);
    tensor.add_dims(2);
    tensor.set_raw_data(std::string(reinterpret_cast<const char*>(target), sizeof target));
    replace_input(cx, reshape, 1, std::move(tensor));
  }
}

// The channels to keep: all but the `remove` with the smallest L1 norm
// (ties: the lower index goes), in their original order.
std::vector<std::int64_t> channels_to_keep(const std::vector<float>& weight, std::int64_t channels,
                                           std::int64_t remove) {
  const std::int64_t per_channel = static_cast<std::int64_t>(weight.size()) / channels;
  std::vector<double> norm(static_cast<std::size_t>(channels), 0.0);
  for (std::int64_t c = 0; c < channels; ++c) {
    for (std::int64_t k = 0; k < per_channel; ++k) norm[c] += std::abs(weight[c * per_channel + k]);
  }
  std::vector<std::int64_t> order(norm.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) { return norm[a] < norm[b]; });
  std::vector<std::int64_t> keep(order.begin() + remove, order.end());
  std::sort(keep.begin(), keep.end());
  return keep;
}

}  // namespace

PassReport prune_channels(OnnxGraph& model, double sparsity) {
  check_sparsity(sparsity, "prune_channels");
  PassReport report{"prune-channels", 0, {}};
  Context cx = make_context(model);
  const bool had_value_info = cx.graph.value_info_size() > 0;
  for (int i = 0; i < cx.graph.node_size(); ++i) {
    const auto& conv = cx.graph.node(i);
    if (conv.op_type() != "Conv" || !is_default_domain(conv)) continue;
    std::vector<float> weight, bias;
    std::vector<std::int64_t> dims;
    std::string why;
    if (int_attribute(conv, "group", 1) != 1) {
      why = "grouped or depthwise";
    } else if (!float_input(cx.graph, conv, 1, weight, &dims) || dims.size() < 3 || dims[0] < 1) {
      why = "its weight is not a float32 initializer";
    } else if (conv.input_size() > 2 && !conv.input(2).empty() &&
               (!float_input(cx.graph, conv, 2, bias) || static_cast<std::int64_t>(bias.size()) != dims[0])) {
      why = "its bias is not a float32 initializer";
    }
    const std::int64_t channels = dims.empty() ? 0 : dims[0];
    const auto remove = std::min(channels - 1, static_cast<std::int64_t>(std::floor(sparsity * channels + 1e-9)));
    if (why.empty() && remove < 1) why = std::to_string(channels) + " output channel(s): none to remove";
    Plan plan;
    if (why.empty()) why = plan_readers(cx, conv.output(0), channels, plan);
    if (!why.empty()) {
      report.details.push_back(node_label(conv) + " not pruned: " + why);
      continue;
    }
    const std::vector<std::int64_t> keep = channels_to_keep(weight, channels, remove);
    apply(cx, i, keep, plan);
    std::string line =
        node_label(conv) + ": " + std::to_string(channels) + " -> " + std::to_string(keep.size()) + " output channels";
    for (int bn : plan.batch_norms) line += "; " + node_label(cx.graph.node(bn)) + " sliced";
    for (int c : plan.convs) line += "; " + node_label(cx.graph.node(c)) + " inputs sliced";
    for (const auto& g : plan.gemms) line += "; " + node_label(cx.graph.node(g.first)) + " inputs sliced";
    report.details.push_back(line);
    ++report.changed;
  }
  if (report.changed > 0) {
    // Inferred shapes of the sliced values are stale now.
    cx.graph.clear_value_info();
    if (had_value_info) model.infer_shapes();
    model.check();
  }
  return report;
}

}  // namespace inferlab
