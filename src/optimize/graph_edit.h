#pragma once
// Small editing helpers over libonnx protobufs shared by the optimizer's
// passes (graph passes, FP16, QDQ, pruning). Private to src/.
#include <cstdint>
#include <cstring>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "model/onnx_util.h"

namespace inferlab::graph_edit {

// How many nodes read each value, and whether it is a graph output.
struct Uses {
  std::unordered_map<std::string, int> consumers;
  std::set<std::string> graph_outputs;

  explicit Uses(const onnx::GraphProto& graph) {
    for (const auto& node : graph.node()) {
      for (const auto& input : node.input()) {
        if (!input.empty()) ++consumers[input];
      }
    }
    for (const auto& output : graph.output()) graph_outputs.insert(output.name());
  }
  int count(const std::string& value) const {
    auto it = consumers.find(value);
    return it == consumers.end() ? 0 : it->second;
  }
};

inline void rename_input(onnx::GraphProto& graph, const std::string& from, const std::string& to) {
  for (auto& node : *graph.mutable_node()) {
    for (auto& input : *node.mutable_input()) {
      if (input == from) input = to;
    }
  }
}

inline std::string node_label(const onnx::NodeProto& node) {
  return node.op_type() + " " + (node.name().empty() ? node.output(0) : node.name());
}

inline bool is_default_domain(const onnx::NodeProto& node) {
  return node.domain().empty() || node.domain() == "ai.onnx";
}

/// The model's ai.onnx opset version; 0 when it imports none.
inline std::int64_t default_opset(const onnx::ModelProto& model) {
  for (const auto& o : model.opset_import()) {
    if (o.domain().empty() || o.domain() == "ai.onnx") return o.version();
  }
  return 0;
}

inline onnx::TensorProto* find_initializer(onnx::GraphProto& graph, const std::string& name) {
  for (auto& t : *graph.mutable_initializer()) {
    if (t.name() == name) return &t;
  }
  return nullptr;
}
inline const onnx::TensorProto* find_initializer(const onnx::GraphProto& graph, const std::string& name) {
  for (const auto& t : graph.initializer()) {
    if (t.name() == name) return &t;
  }
  return nullptr;
}

// float32 initializer contents, whichever of raw_data / float_data holds them.
inline bool read_floats(const onnx::TensorProto& tensor, std::vector<float>& values) {
  if (tensor.data_type() != onnx::TensorProto::FLOAT || tensor.has_data_location()) return false;
  std::int64_t count = 1;
  for (auto d : tensor.dims()) count *= d;
  if (tensor.has_raw_data()) {
    if (tensor.raw_data().size() != static_cast<std::size_t>(count) * sizeof(float)) return false;
    values.resize(static_cast<std::size_t>(count));
    std::memcpy(values.data(), tensor.raw_data().data(), tensor.raw_data().size());
    return true;
  }
  if (tensor.float_data_size() != count) return false;
  values.assign(tensor.float_data().begin(), tensor.float_data().end());
  return true;
}

/// An INT64 tensor's values (raw or typed storage), as read_floats() does
/// for float32; false for another type or a count that does not match dims.
inline bool read_int64s(const onnx::TensorProto& tensor, std::vector<std::int64_t>& values) {
  if (tensor.data_type() != onnx::TensorProto::INT64 || tensor.has_data_location()) return false;
  std::int64_t count = 1;
  for (auto d : tensor.dims()) count *= d;
  if (tensor.has_raw_data()) {
    if (tensor.raw_data().size() != static_cast<std::size_t>(count) * sizeof(std::int64_t)) return false;
    values.resize(static_cast<std::size_t>(count));
    std::memcpy(values.data(), tensor.raw_data().data(), tensor.raw_data().size());
    return true;
  }
  if (tensor.int64_data_size() != count) return false;
  values.assign(tensor.int64_data().begin(), tensor.int64_data().end());
  return true;
}

/// Replaces a float32 initializer's values (as raw_data).
inline void write_floats(onnx::TensorProto& tensor, const std::vector<float>& values) {
  tensor.clear_float_data();
  tensor.set_raw_data(std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float)));
}

/// Every name the nodes of If/Loop/Scan bodies under `node` read: they see
/// outer-scope values by name without listing them as node inputs.
inline void collect_subgraph_reads(const onnx::NodeProto& node, std::set<std::string>& reads) {
  for (const auto& a : node.attribute()) {
    std::vector<const onnx::GraphProto*> bodies;
    if (a.has_g()) bodies.push_back(&a.g());
    for (const auto& g : a.graphs()) bodies.push_back(&g);
    for (const auto* body : bodies) {
      for (const auto& inner : body->node()) {
        for (const auto& in : inner.input()) reads.insert(in);
        collect_subgraph_reads(inner, reads);
      }
    }
  }
}

inline void add_float_initializer(onnx::GraphProto& graph, const std::string& name,
                                  const std::vector<std::int64_t>& dims, const std::vector<float>& values) {
  auto* t = graph.add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::FLOAT);
  for (auto d : dims) t->add_dims(d);
  t->set_raw_data(std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float)));
}

inline std::string unique_name(const onnx::GraphProto& graph, const std::string& base) {
  std::set<std::string> taken;
  for (const auto& t : graph.initializer()) taken.insert(t.name());
  for (const auto& n : graph.node()) {
    for (const auto& o : n.output()) taken.insert(o);
  }
  std::string name = base;
  for (int i = 1; taken.count(name); ++i) name = base + "_" + std::to_string(i);
  return name;
}

inline float float_attribute(const onnx::NodeProto& node, const std::string& name, float fallback) {
  for (const auto& a : node.attribute()) {
    if (a.name() == name) return a.f();
  }
  return fallback;
}

inline std::int64_t int_attribute(const onnx::NodeProto& node, const std::string& name, std::int64_t fallback) {
  for (const auto& a : node.attribute()) {
    if (a.name() == name) return a.i();
  }
  return fallback;
}

inline void set_float_attribute(onnx::NodeProto& node, const std::string& name, float value) {
  for (auto& a : *node.mutable_attribute()) {
    if (a.name() == name) {
      a.set_f(value);
      return;
    }
  }
  auto* a = node.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(value);
}

inline void set_int_attribute(onnx::NodeProto& node, const std::string& name, std::int64_t value) {
  for (auto& a : *node.mutable_attribute()) {
    if (a.name() == name) {
      a.set_i(value);
      return;
    }
  }
  auto* a = node.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(value);
}

/// Adds an initializer of any element type from its raw little-endian bytes.
inline void add_raw_initializer(onnx::GraphProto& graph, const std::string& name, int elem_type,
                                const std::vector<std::int64_t>& dims, std::string bytes) {
  auto* t = graph.add_initializer();
  t->set_name(name);
  t->set_data_type(elem_type);
  for (auto d : dims) t->add_dims(d);
  t->set_raw_data(std::move(bytes));
}

/// Fresh value/node names: every name already used in the graph, plus the
/// ones handed out, is taken. Cheaper than unique_name() in loops.
class NameAllocator {
 public:
  explicit NameAllocator(const onnx::GraphProto& graph) {
    for (const auto& t : graph.initializer()) taken_.insert(t.name());
    for (const auto& i : graph.input()) taken_.insert(i.name());
    for (const auto& n : graph.node()) {
      taken_.insert(n.name());
      for (const auto& o : n.output()) taken_.insert(o);
    }
  }
  std::string make(const std::string& base) {
    std::string name = base;
    for (int i = 1; taken_.count(name); ++i) name = base + "_" + std::to_string(i);
    taken_.insert(name);
    return name;
  }

 private:
  std::set<std::string> taken_;
};

/// Element type (TensorProto::DataType) of every value whose type the graph
/// states: graph inputs and outputs, value_info, initializers.
inline std::unordered_map<std::string, int> value_elem_types(const onnx::GraphProto& graph) {
  std::unordered_map<std::string, int> types;
  auto note = [&](const onnx::ValueInfoProto& v) {
    if (v.type().has_tensor_type() && v.type().tensor_type().elem_type() != 0)
      types[v.name()] = v.type().tensor_type().elem_type();
  };
  for (const auto& v : graph.input()) note(v);
  for (const auto& v : graph.output()) note(v);
  for (const auto& v : graph.value_info()) note(v);
  for (const auto& t : graph.initializer()) types[t.name()] = t.data_type();
  return types;
}

/// A one-output node (not yet in any graph).
inline onnx::NodeProto make_node(const std::string& op, const std::string& name, std::vector<std::string> inputs,
                                 const std::string& output) {
  onnx::NodeProto n;
  n.set_op_type(op);
  n.set_name(name);
  for (auto& i : inputs) n.add_input(i);
  n.add_output(output);
  return n;
}

/// Rebuilds `graph`'s node list in order: a node in `replacement` gives way
/// to its replacement, a node in `removed` (and not replaced) goes, the rest
/// stay. The pointers are into the current list, which this invalidates.
inline void replace_nodes(onnx::GraphProto& graph,
                          const std::unordered_map<const onnx::NodeProto*, onnx::NodeProto>& replacement,
                          const std::set<const onnx::NodeProto*>& removed) {
  google::protobuf::RepeatedPtrField<onnx::NodeProto> kept;
  for (const auto& n : graph.node()) {
    if (auto it = replacement.find(&n); it != replacement.end()) {
      *kept.Add() = it->second;
    } else if (!removed.count(&n)) {
      *kept.Add() = n;
    }
  }
  graph.mutable_node()->Swap(&kept);
}

/// Cast(`input`, to=`to`) -> `output`, named `name`.
inline onnx::NodeProto make_cast(const std::string& name, const std::string& input, const std::string& output, int to) {
  onnx::NodeProto cast = make_node("Cast", name, {input}, output);
  set_int_attribute(cast, "to", to);
  return cast;
}

}  // namespace inferlab::graph_edit
