// Matching is conservative: anything it cannot prove equivalent (another
// axis, another exponent, an intermediate read elsewhere, a gamma that is
// not one vector repeated) is left as written.
#include "layernorm_rewrite.h"

#include <algorithm>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "graph_index.h"
#include "model/onnx_util.h"
#include "optimize/graph_edit.h"

namespace inferlab::native {

using namespace graph_edit;

namespace {

std::optional<std::vector<std::int64_t>> int64_initializer(const onnx::GraphProto& graph, const std::string& name) {
  const auto* t = find_initializer(graph, name);
  if (!t || t->data_type() != onnx::TensorProto::INT64) return std::nullopt;
  const Tensor values = onnx_util::tensor_from_proto(*t, "native: initializer '" + name + "'");
  return std::vector<std::int64_t>(values.data_as<std::int64_t>(),
                                   values.data_as<std::int64_t>() + values.element_count());
}

// ReduceMean over the last axis only, keeping it (opset < 18: axes attribute).
bool mean_over_last_axis(const onnx::NodeProto& node) {
  if (node.op_type() != "ReduceMean" || node.input_size() != 1 || int_attribute(node, "keepdims", 1) != 1) return false;
  for (const auto& a : node.attribute()) {
    if (a.name() == "axes") return a.ints_size() == 1 && a.ints(0) == -1;
  }
  return false;
}

struct Binary {
  std::string output;
  std::vector<const onnx::NodeProto*> nodes;
  std::int64_t last_dim = 0;  // the wrapped form's last dim; 0 when unknown
};

// `left op right` with `right` broadcast along the last axis: the node
// itself, or Reshape(Reshape(left, [.., C]) op Reshape(right, [.., 1]), [.., C])
// where the two inner shapes agree on every leading dim, so rows still match.
std::optional<Binary> binary(const onnx::GraphProto& graph, const GraphIndex& index, const char* op,
                             const std::string& left, const std::string& right) {
  for (const auto* n : index.readers(right)) {
    if (n->op_type() == op && n->input_size() == 2 && n->input(0) == left && n->input(1) == right)
      return Binary{n->output(0), {n}, 0};
    if (n->op_type() != "Reshape" || n->input(0) != right) continue;
    const auto* node = index.only_reader(n->output(0), op);
    if (!node || node->input_size() != 2 || node->input(1) != n->output(0)) continue;
    const auto* reshape_left = index.producer(node->input(0), "Reshape");
    if (!reshape_left || reshape_left->input(0) != left || index.only_reader(reshape_left->output(0)) != node) continue;
    const auto* reshape_out = index.only_reader(node->output(0), "Reshape");
    if (!reshape_out) continue;
    const auto a = int64_initializer(graph, reshape_left->input(1));
    const auto b = int64_initializer(graph, n->input(1));
    const auto y = int64_initializer(graph, reshape_out->input(1));
    if (!a || !b || !y || a->empty() || a->size() != b->size() || y->empty()) continue;
    const std::int64_t c = a->back();
    if (c <= 0 || b->back() != 1 || y->back() != c || !std::equal(a->begin(), a->end() - 1, b->begin())) continue;
    return Binary{reshape_out->output(0), {reshape_left, n, node, reshape_out}, c};
  }
  return std::nullopt;
}

// A float initializer that is one vector of `c` values (c = its last dim
// when 0) repeated over its leading dims: that vector, else nothing.
std::optional<std::vector<float>> per_last_axis(const onnx::GraphProto& graph, const std::string& name,
                                                std::int64_t c) {
  const auto* t = find_initializer(graph, name);
  std::vector<float> v;
  if (!t || t->data_type() != onnx::TensorProto::FLOAT || t->dims_size() == 0 || !read_floats(*t, v))
    return std::nullopt;
  const std::int64_t last = t->dims(t->dims_size() - 1);
  // Without a known C only a 1-D vector is safe: its length must be x's
  // last dim for the model to be valid, where a [C', 1] could not be.
  if (c == 0 && (t->dims_size() != 1 || last < 2)) return std::nullopt;
  if (c != 0 && last != c) return std::nullopt;
  for (std::size_t i = static_cast<std::size_t>(last); i < v.size(); ++i) {
    if (v[i] != v[i % static_cast<std::size_t>(last)]) return std::nullopt;
  }
  v.resize(static_cast<std::size_t>(last));
  return v;
}

struct Match {
  const onnx::NodeProto* first;  // the ReduceMean the new node replaces
  std::set<const onnx::NodeProto*> nodes;
  std::string x, y, name;
  float epsilon = 0;
  std::optional<std::vector<float>> gamma, beta;
};

std::optional<Match> match_at(const onnx::GraphProto& graph, const GraphIndex& index, const onnx::NodeProto& mean) {
  if (!mean_over_last_axis(mean) || index.readers(mean.output(0)).size() != 1 || index.is_graph_output(mean.output(0)))
    return std::nullopt;
  Match m{&mean, {&mean}, mean.input(0), "", node_label(mean), 0, {}, {}};
  const auto sub = binary(graph, index, "Sub", m.x, mean.output(0));
  if (!sub) return std::nullopt;
  const std::string& d = sub->output;
  if (index.is_graph_output(d) || index.readers(d).size() != 2) return std::nullopt;
  const onnx::NodeProto* pow = nullptr;
  for (const auto* r : index.readers(d)) {
    if (r->op_type() == "Pow" && r->input_size() == 2 && r->input(0) == d) pow = r;
  }
  if (!pow || index.float_scalar(pow->input(1)) != 2.0F) return std::nullopt;
  const auto* variance = index.only_reader(pow->output(0), "ReduceMean");
  if (!variance || !mean_over_last_axis(*variance)) return std::nullopt;
  const auto* add_eps = index.only_reader(variance->output(0), "Add");
  if (!add_eps) return std::nullopt;
  const auto eps = index.float_scalar(other_input(*add_eps, variance->output(0)));
  const auto* sqrt = index.only_reader(add_eps->output(0), "Sqrt");
  if (!eps || *eps < 0 || !sqrt) return std::nullopt;
  const auto div = binary(graph, index, "Div", d, sqrt->output(0));
  if (!div || index.readers(sqrt->output(0)).size() != 1) return std::nullopt;
  if (sub->last_dim != 0 && div->last_dim != 0 && sub->last_dim != div->last_dim) return std::nullopt;
  m.epsilon = *eps;
  m.nodes.insert(sub->nodes.begin(), sub->nodes.end());
  m.nodes.insert({pow, variance, add_eps, sqrt});
  m.nodes.insert(div->nodes.begin(), div->nodes.end());
  m.y = div->output;
  // The affine part: Mul by gamma, then Add of beta.
  const std::int64_t c = sub->last_dim != 0 ? sub->last_dim : div->last_dim;
  const auto* mul = index.only_reader(m.y, "Mul");
  if (!mul) return m;
  m.gamma = per_last_axis(graph, other_input(*mul, m.y), c);
  if (!m.gamma) return m;
  m.nodes.insert(mul);
  m.y = mul->output(0);
  const auto* add = index.only_reader(m.y, "Add");
  if (!add) return m;
  m.beta = per_last_axis(graph, other_input(*add, m.y), static_cast<std::int64_t>(m.gamma->size()));
  if (!m.beta) return m;
  m.nodes.insert(add);
  m.y = add->output(0);
  return m;
}

}  // namespace

int rewrite_layernorm(onnx::GraphProto& graph) {
  std::vector<Match> matches;
  {
    const GraphIndex index(graph);
    std::set<const onnx::NodeProto*> taken;
    for (const auto& node : graph.node()) {
      if (node.op_type() != "ReduceMean" || !is_default_domain(node)) continue;
      auto m = match_at(graph, index, node);
      if (!m) continue;
      bool overlaps = false;
      for (const auto* n : m->nodes) overlaps = overlaps || taken.count(n);
      if (overlaps) continue;
      taken.insert(m->nodes.begin(), m->nodes.end());
      matches.push_back(std::move(*m));
    }
  }
  if (matches.empty()) return 0;
  // Each LayerNormalization takes its first ReduceMean's place (x exists
  // there; gamma and beta become new initializers), and the matched nodes go.
  NameAllocator names(graph);
  std::set<const onnx::NodeProto*> removed;
  std::unordered_map<const onnx::NodeProto*, onnx::NodeProto> replacement;
  for (const auto& m : matches) {
    removed.insert(m.nodes.begin(), m.nodes.end());
    std::string scale, bias;
    if (m.gamma) {
      scale = names.make(m.name + "/ln_scale");
      add_float_initializer(graph, scale, {static_cast<std::int64_t>(m.gamma->size())}, *m.gamma);
    }
    if (m.beta) {
      bias = names.make(m.name + "/ln_bias");
      add_float_initializer(graph, bias, {static_cast<std::int64_t>(m.beta->size())}, *m.beta);
    }
    onnx::NodeProto ln = make_node("LayerNormalization", "LayerNormalization(" + m.name + ")", {m.x, scale, bias}, m.y);
    set_int_attribute(ln, "axis", -1);
    set_float_attribute(ln, "epsilon", m.epsilon);
    replacement.emplace(m.first, std::move(ln));
  }
  replace_nodes(graph, replacement, removed);
  return static_cast<int>(matches.size());
}

}  // namespace inferlab::native
