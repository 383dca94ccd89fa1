// Pattern matching for Conv, Gemm and MatMul epilogue fusion (and the int8
// Conv's QDQ pattern) over the ONNX node list.
#include "fusion.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "concat_batchnorm_rewrite.h"
#include "graph_index.h"
#include "optimize/graph_edit.h"

namespace inferlab::native {

namespace {

// Initializers by name, and the checks the int8 Conv needs of them.
class Initializers {
 public:
  explicit Initializers(const onnx::GraphProto& graph) {
    for (const auto& t : graph.initializer()) by_name_[t.name()] = &t;
  }
  const onnx::TensorProto* find(const std::string& name) const {
    auto it = by_name_.find(name);
    return it == by_name_.end() ? nullptr : it->second;
  }
  static std::int64_t count(const onnx::TensorProto& t) {
    std::int64_t n = 1;
    for (auto d : t.dims()) n *= d;
    return n;
  }
  // Absent (ONNX's default zero point, 0) or an 8-bit initializer of zeros.
  bool zero_point_is_zero(const std::string& name) const {
    if (name.empty()) return true;
    const auto* t = find(name);
    if (!t || (t->data_type() != onnx::TensorProto::INT8 && t->data_type() != onnx::TensorProto::UINT8)) return false;
    if (t->has_raw_data()) {
      return std::all_of(t->raw_data().begin(), t->raw_data().end(), [](char c) { return c == 0; });
    }
    return std::all_of(t->int32_data().begin(), t->int32_data().end(), [](std::int32_t v) { return v == 0; });
  }
  bool is_float(const std::string& name) const {
    const auto* t = find(name);
    return t && t->data_type() == onnx::TensorProto::FLOAT;
  }
  // Every value of an INT8 initializer lies in [lo, hi].
  static bool int8_within(const onnx::TensorProto& t, int lo, int hi) {
    const auto inside = [&](int v) { return v >= lo && v <= hi; };
    if (t.has_raw_data()) {
      return std::all_of(t.raw_data().begin(), t.raw_data().end(),
                         [&](char c) { return inside(static_cast<std::int8_t>(c)); });
    }
    return !t.has_data_location() && std::all_of(t.int32_data().begin(), t.int32_data().end(), inside);
  }

 private:
  std::unordered_map<std::string, const onnx::TensorProto*> by_name_;
};

std::string input_or_empty(const onnx::NodeProto& node, int k) { return k < node.input_size() ? node.input(k) : ""; }

// The output-channel axis of a layer's weights and the weight rank it needs:
// Conv [O, I, kh, kw] axis 0; Gemm [K, N] axis 1, or [N, K] axis 0 with
// transB; MatMul [K, N] axis 1. 0 when the layer has no int8 form.
int weight_rank(const onnx::NodeProto& node, std::int64_t& out_axis) {
  if (node.op_type() == "Conv") {
    out_axis = 0;
    return 4;
  }
  if (node.op_type() == "MatMul" && node.input_size() == 2) {
    out_axis = 1;
    return 2;
  }
  if (node.op_type() != "Gemm") return 0;
  // alpha and beta other than 1 and a transposed A have no int8 form here.
  using graph_edit::float_attribute, graph_edit::int_attribute;
  if (float_attribute(node, "alpha", 1.0F) != 1.0F || float_attribute(node, "beta", 1.0F) != 1.0F ||
      int_attribute(node, "transA", 0) != 0) {
    return 0;
  }
  out_axis = int_attribute(node, "transB", 0) != 0 ? 0 : 1;
  return 2;
}

// The QuantizeLinear that made `value`: its producer, or, for a Concat of
// QuantizeLinear outputs that share one scale and zero point (what
// quantize_before_concat() makes of a Concat -> Q), the first of them.
const onnx::NodeProto* quantizer_of(const std::string& value, const GraphIndex& index) {
  if (const auto* q = index.producer(value, "QuantizeLinear")) return q;
  const auto* concat = index.producer(value, "Concat");
  if (!concat || concat->input_size() < 1) return nullptr;
  const onnx::NodeProto* first = nullptr;
  for (const auto& x : concat->input()) {
    const auto* q = index.producer(x, "QuantizeLinear");
    if (!q || q->input_size() < 2) return nullptr;
    if (!first) {
      first = q;
    } else if (q->input(1) != first->input(1) || input_or_empty(*q, 2) != input_or_empty(*first, 2)) {
      return nullptr;
    }
  }
  return first;
}

void plan_int8_layers(const onnx::GraphProto& graph, const GraphIndex& index, const Initializers& inits,
                      Int8Weights weights, FusionPlan& plan) {
  for (const auto& layer : graph.node()) {
    std::int64_t out_axis = 0;
    const int rank = weight_rank(layer, out_axis);
    if (rank == 0 || layer.input_size() < 2) continue;
    const auto* dq_x = index.producer(layer.input(0), "DequantizeLinear");
    const auto* dq_w = index.producer(layer.input(1), "DequantizeLinear");
    if (!dq_x || !dq_w || dq_x->input_size() < 2 || dq_w->input_size() < 2) continue;
    const auto* q = quantizer_of(dq_x->input(0), index);
    if (!q || q->input_size() < 2) continue;
    // Activations: Q and DQ share one scalar scale; both zero points are 0.
    const std::string s_x = dq_x->input(1);
    const auto* scale = inits.find(s_x);
    if (!scale || !inits.is_float(s_x) || Initializers::count(*scale) != 1 || !inits.find(q->input(1))) continue;
    const auto* q_scale = inits.find(q->input(1));
    if (q->input(1) != s_x && (Initializers::count(*q_scale) != 1 || !inits.is_float(q->input(1)) ||
                               q_scale->raw_data() != scale->raw_data() || !q_scale->has_raw_data())) {
      continue;
    }
    if (!inits.zero_point_is_zero(input_or_empty(*q, 2)) || !inits.zero_point_is_zero(input_or_empty(*dq_x, 2))) {
      continue;
    }
    // Weights: an int8 initializer, per-tensor or per output channel.
    const auto* w_q = inits.find(dq_w->input(0));
    const auto* w_scale = inits.find(dq_w->input(1));
    if (!w_q || w_q->data_type() != onnx::TensorProto::INT8 || w_q->dims_size() != rank || !w_scale ||
        !inits.is_float(dq_w->input(1)) || !inits.zero_point_is_zero(input_or_empty(*dq_w, 2))) {
      continue;
    }
    // Without VNNI oneDNN's int8 kernels sum u8 x s8 pairs in 16 bits
    // (saturating) and halve the weights of an s8 source: beyond 7 bits the
    // layer would compute something else than its QDQ graph, so it runs as
    // written, in float32.
    if (weights == Int8Weights::kSevenBitOnly &&
        !Initializers::int8_within(*w_q, SevenBitWeights::kMin, SevenBitWeights::kMax)) {
      plan.int8_refused[&layer] =
          "float32: its int8 weights use 8 bits, and without VNNI the int8 kernels are exact only for 7";
      continue;
    }
    std::int64_t axis = 1;
    for (const auto& a : dq_w->attribute()) {
      if (a.name() == "axis") axis = a.i() < 0 ? a.i() + rank : a.i();
    }
    const std::int64_t channels = Initializers::count(*w_scale);
    if (channels != 1 && !(channels == w_q->dims(static_cast<int>(out_axis)) && axis == out_axis)) continue;
    const std::string bias = layer.op_type() == "MatMul" ? "" : input_or_empty(layer, 2);
    if (!bias.empty() && !inits.is_float(bias)) continue;
    auto& inputs = plan.int8_by_node[&layer].inputs;
    inputs.assign(Int8Operand::kFloatResultCount, "");
    inputs[Int8Operand::kQuantizedInput] = dq_x->input(0);
    inputs[Int8Operand::kInputScale] = s_x;
    inputs[Int8Operand::kInputZeroPoint] = input_or_empty(*dq_x, 2);
    inputs[Int8Operand::kWeights] = dq_w->input(0);
    inputs[Int8Operand::kWeightScale] = dq_w->input(1);
    inputs[Int8Operand::kWeightZeroPoint] = input_or_empty(*dq_w, 2);
    inputs[Int8Operand::kBias] = bias;
    if (index.only_reader(dq_x->output(0)) == &layer) plan.absorbed.insert(dq_x);
    if (index.only_reader(dq_w->output(0)) == &layer) plan.absorbed.insert(dq_w);
  }
  // An activation DequantizeLinear read by several int8 layers (a fire
  // module's two expand Convs), each taking its quantized input instead,
  // computes what nobody reads: it goes too.
  for (const auto& node : graph.node()) {
    if (node.op_type() != "DequantizeLinear" || node.input_size() < 1 || plan.absorbed.count(&node)) continue;
    if (index.is_graph_output(node.output(0))) continue;
    const auto& readers = index.readers(node.output(0));
    const bool unused = !readers.empty() && std::all_of(readers.begin(), readers.end(), [&](const auto* r) {
      const auto it = plan.int8_by_node.find(r);
      return it != plan.int8_by_node.end() && r->input(0) == node.output(0) &&
             it->second.inputs[Int8Operand::kQuantizedInput] == node.input(0) &&
             std::count(r->input().begin(), r->input().end(), node.output(0)) == 1;
    });
    if (unused) plan.absorbed.insert(&node);
  }
}

// An int8 Conv whose (activated) result only a per-tensor, zero-point-0
// QuantizeLinear reads writes that Q's u8/s8 output itself: the next int8
// Conv reads it as is, and the float result is never stored.
void plan_requantization(const GraphIndex& index, const Initializers& inits, FusionPlan& plan) {
  for (auto& [conv, int8] : plan.int8_by_node) {
    if (conv->op_type() != "Conv") continue;
    auto fused = plan.by_node.find(conv);
    const std::string result = fused == plan.by_node.end() ? conv->output(0) : fused->second.output;
    const auto* q = index.only_reader(result, "QuantizeLinear");
    if (!q || q->input_size() < 2) continue;
    const auto* scale = inits.find(q->input(1));
    if (!scale || !inits.is_float(q->input(1)) || Initializers::count(*scale) != 1) continue;
    const std::string zp = input_or_empty(*q, 2);
    if (!inits.zero_point_is_zero(zp)) continue;
    int8.output = q->output(0);
    int8.inputs.resize(Int8Operand::kRequantizedCount);
    int8.inputs[Int8Operand::kOutputScale] = q->input(1);
    int8.inputs[Int8Operand::kOutputZeroPoint] = zp;
    plan.absorbed.insert(q);
  }
}

// A Mul or Add (squeeze-excitation's gate, a residual sum) whose result
// only a per-tensor, zero-point-0 QuantizeLinear reads writes that Q's u8/s8
// output itself: one pass instead of a float result written and read again.
void plan_quantized_binaries(const onnx::GraphProto& graph, const GraphIndex& index, const Initializers& inits,
                             FusionPlan& plan) {
  for (const auto& node : graph.node()) {
    if ((node.op_type() != "Mul" && node.op_type() != "Add") || node.input_size() != 2 || plan.absorbed.count(&node) ||
        index.is_graph_output(node.output(0))) {
      continue;
    }
    const auto* q = index.only_reader(node.output(0), "QuantizeLinear");
    if (!q || q->input_size() < 3 || plan.absorbed.count(q)) continue;
    const auto* scale = inits.find(q->input(1));
    if (!scale || !inits.is_float(q->input(1)) || Initializers::count(*scale) != 1) continue;
    if (q->input(2).empty() || !inits.find(q->input(2)) || !inits.zero_point_is_zero(q->input(2))) continue;
    Fusion fusion;
    fusion.op = "QuantizeLinear";
    fusion.output = q->output(0);
    fusion.operands = {q->input(1), q->input(2)};
    plan.by_node[&node] = fusion;
    plan.absorbed.insert(q);
  }
}

// MatMul(x, W) + b with W a 2-D float initializer and b a float
// initializer of W's N values (shape [N], [1, N], ...): torch's export of
// nn.Linear on 3-D input. The Add becomes the matmul's bias.
const onnx::NodeProto* bias_add(const onnx::NodeProto& matmul, const GraphIndex& index, const Initializers& inits,
                                const FusionPlan& plan, std::string& bias) {
  if (matmul.input_size() != 2) return nullptr;
  // An int8 MatMul's weights are its W_q.
  const auto int8 = plan.int8_by_node.find(&matmul);
  const std::string weights =
      int8 == plan.int8_by_node.end() ? matmul.input(1) : int8->second.inputs[Int8Operand::kWeights];
  const auto* w = inits.find(weights);
  if (!w || (int8 == plan.int8_by_node.end() && !inits.is_float(weights)) || w->dims_size() != 2) return nullptr;
  const auto* add = index.only_reader(matmul.output(0), "Add");
  if (!add || add->input_size() != 2) return nullptr;
  const std::string& other = add->input(0) == matmul.output(0) ? add->input(1) : add->input(0);
  const auto* b = inits.find(other);
  if (!b || !inits.is_float(other) || Initializers::count(*b) != w->dims(1) || b->dims_size() == 0 ||
      b->dims(b->dims_size() - 1) != w->dims(1)) {
    return nullptr;
  }
  bias = other;
  return add;
}

// HardSigmoid(x) = max(0, min(1, alpha x + beta)) with torch's Hardswish
// constants, so that x * HardSigmoid(x) is oneDNN's hardswish.
bool is_hardswish_gate(const onnx::NodeProto& node) {
  const float alpha = graph_edit::float_attribute(node, "alpha", 0.2F);  // ONNX's defaults
  const float beta = graph_edit::float_attribute(node, "beta", 0.5F);
  return std::abs(alpha - 1.0F / 6.0F) <= 1e-6F && beta == 0.5F;
}

// The epilogue after `head` (the value `producer` or its fused bias Add
// writes): one activation, SiLU's Sigmoid + Mul pair, or a residual Add of
// a value computed before `producer`, with an optional Relu after it.
bool plan_epilogue(const onnx::NodeProto& producer, const std::string& head, const GraphIndex& index, Fusion& fusion,
                   std::set<const onnx::NodeProto*>& absorbed) {
  static const std::set<std::string> activations{"Relu", "Clip", "Sigmoid", "Gelu", "HardSwish", "HardSigmoid"};
  if (index.is_graph_output(head)) return false;
  const auto& users = index.readers(head);
  if (users.size() == 1) {
    const auto* act = users[0];
    if (activations.count(act->op_type())) {
      fusion.op = act->op_type();
      fusion.activation = act;
      fusion.output = act->output(0);
      absorbed.insert(act);
      return true;
    }
    if (act->op_type() != "Add" || act->input_size() != 2 || act->input(0) == act->input(1)) return false;
    // Residual: the result plus a value that exists when the producer runs
    // (a graph input, an initializer, or a node listed before it).
    const std::string& other = act->input(0) == head ? act->input(1) : act->input(0);
    if (index.position(other) >= index.position(producer.output(0))) return false;
    fusion.op = "Add";
    fusion.output = act->output(0);
    fusion.residual = other;
    absorbed.insert(act);
    if (const auto* relu = index.only_reader(act->output(0), "Relu")) {
      fusion.op = "Add+Relu";
      fusion.output = relu->output(0);
      absorbed.insert(relu);
    }
    return true;
  }
  // Swish: Sigmoid(head) read only by a Mul that also reads head. HardSwish
  // as torch exports it below opset 14: head * HardSigmoid(head) with
  // HardSigmoid's alpha 1/6 and beta 1/2 (MobileNetV3).
  if (users.size() != 2) return false;
  for (int k = 0; k < 2; ++k) {
    const auto* sigmoid = users[k];
    const auto* mul = users[1 - k];
    const bool hard = sigmoid->op_type() == "HardSigmoid" && is_hardswish_gate(*sigmoid);
    if ((sigmoid->op_type() != "Sigmoid" && !hard) || mul->op_type() != "Mul" ||
        index.only_reader(sigmoid->output(0)) != mul) {
      continue;
    }
    const bool pair = (mul->input(0) == head && mul->input(1) == sigmoid->output(0)) ||
                      (mul->input(1) == head && mul->input(0) == sigmoid->output(0));
    if (!pair) continue;
    fusion.op = hard ? "HardSwish" : "Swish";
    fusion.activation = sigmoid;
    fusion.output = mul->output(0);
    absorbed.insert(sigmoid);
    absorbed.insert(mul);
    return true;
  }
  return false;
}

}  // namespace

FusionPlan plan_fusions(const onnx::GraphProto& graph, bool int8, Int8Weights int8_weights) {
  const GraphIndex index(graph);
  const Initializers inits(graph);
  FusionPlan plan;
  if (int8) plan_int8_layers(graph, index, inits, int8_weights, plan);
  for (const auto& node : graph.node()) {
    const std::string& op = node.op_type();
    // A standalone BatchNormalization takes the Relu after it (oneDNN's
    // fuse_norm_relu): DenseNet's pre-activation BN + ReLU after each concat.
    if ((op == "BatchNormalization" || op == kConcatBatchNormOp) && node.output_size() == 1 &&
        !index.is_graph_output(node.output(0))) {
      if (const auto* relu = index.only_reader(node.output(0), "Relu")) {
        plan.by_node[&node] = {"Relu", relu, relu->output(0), "", "", {}};
        plan.absorbed.insert(relu);
      }
      continue;
    }
    if (op != "Conv" && op != "Gemm" && op != "MatMul") continue;
    Fusion fusion;
    std::string head = node.output(0);
    if (op == "MatMul" && !index.is_graph_output(head)) {
      if (const auto* add = bias_add(node, index, inits, plan, fusion.bias)) {
        plan.absorbed.insert(add);
        head = fusion.output = add->output(0);
      }
    }
    const bool with_epilogue = plan_epilogue(node, head, index, fusion, plan.absorbed);
    if (with_epilogue || !fusion.bias.empty()) plan.by_node[&node] = fusion;
  }
  if (int8) {
    plan_requantization(index, inits, plan);
    plan_quantized_binaries(graph, index, inits, plan);
  }
  return plan;
}

}  // namespace inferlab::native
