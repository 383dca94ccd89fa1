// Model loading for the native engine: passes, op check, weights held once.
#include "model_store.h"

#include <cstdint>
#include <cstring>

#include "engine.h"

namespace inferlab::native {

namespace {

DType dtype_of(int onnx_type) {
  switch (onnx_type) {
    case onnx::TensorProto::FLOAT:
      return DType::kFloat32;
    case onnx::TensorProto::INT64:
      return DType::kInt64;
    case onnx::TensorProto::INT32:
      return DType::kInt32;
    default:
      return DType::kUnknown;
  }
}

}  // namespace

Tensor tensor_from_proto(const onnx::TensorProto& t) {
  const DType dtype = dtype_of(t.data_type());
  if (dtype == DType::kUnknown || t.has_data_location()) {
    throw Error("constant '" + t.name() + "': data type " + std::to_string(t.data_type()) +
                " or external data is not supported by the native engine");
  }
  Tensor out(dtype, Shape(t.dims().begin(), t.dims().end()));
  const std::size_t bytes = out.size_bytes();
  if (t.has_raw_data()) {
    if (t.raw_data().size() != bytes) throw Error("constant '" + t.name() + "': raw_data has the wrong size");
    std::memcpy(out.data(), t.raw_data().data(), bytes);
  } else if (dtype == DType::kFloat32) {
    std::copy(t.float_data().begin(), t.float_data().end(), out.data_as<float>());
  } else if (dtype == DType::kInt64) {
    std::copy(t.int64_data().begin(), t.int64_data().end(), out.data_as<std::int64_t>());
  } else {
    std::copy(t.int32_data().begin(), t.int32_data().end(), out.data_as<std::int32_t>());
  }
  return out;
}

ModelStore::ModelStore(std::string path) : path_(std::move(path)), graph_(OnnxGraph::load(path_)) { load(); }

void ModelStore::load() {
  passes_ = run_graph_passes(graph_);
  if (const auto missing = unsupported_ops(graph_); !missing.empty()) {
    std::string list;
    for (const auto& op : missing) list += (list.empty() ? "" : ", ") + op;
    throw Error("native: " + path_ + " uses ops the native engine does not implement: " + list);
  }
  opset_ = 13;
  for (const auto& o : graph_.proto().opset_import()) {
    if (o.domain().empty() || o.domain() == "ai.onnx") opset_ = static_cast<int>(o.version());
  }
  initializers_.clear();
  copies_.clear();
  proto_index_.clear();
  // Weights are read where the protobuf holds them (raw_data, the form every
  // exporter writes): no second copy. Typed-field initializers are small and copied.
  auto& inits = *graph_.proto().mutable_graph()->mutable_initializer();
  for (int i = 0; i < inits.size(); ++i) {
    const auto& t = inits.Get(i);
    proto_index_[t.name()] = i;
    const DType dtype = dtype_of(t.data_type());
    const Shape shape(t.dims().begin(), t.dims().end());
    const bool aligned = reinterpret_cast<std::uintptr_t>(t.raw_data().data()) % 8 == 0;
    if (t.has_raw_data() && dtype != DType::kUnknown && !t.has_data_location() && aligned &&
        t.raw_data().size() == static_cast<std::size_t>(shape_element_count(shape)) * dtype_size_bytes(dtype)) {
      initializers_.emplace(t.name(), Constant(dtype, shape, t.raw_data().data()));
    } else {
      auto [it, added] = copies_.emplace(t.name(), tensor_from_proto(t));
      initializers_.emplace(t.name(), Constant(it->second));
    }
  }
  released_ = false;
}

const onnx::GraphProto& ModelStore::graph() const { return graph_.proto().graph(); }

const Constant* ModelStore::initializer(const std::string& name) const {
  auto it = initializers_.find(name);
  return it == initializers_.end() ? nullptr : &it->second;
}

void ModelStore::release(const std::string& name) {
  if (!initializers_.erase(name)) return;
  copies_.erase(name);
  // std::string::clear keeps capacity; swapping with an empty string frees it.
  auto it = proto_index_.find(name);
  if (it != proto_index_.end()) {
    std::string().swap(*graph_.proto().mutable_graph()->mutable_initializer(it->second)->mutable_raw_data());
  }
  released_ = true;
}

void ModelStore::release_all_but(const std::set<std::string>& keep) {
  std::vector<std::string> names;
  for (const auto& [name, constant] : initializers_) {
    if (!keep.count(name)) names.push_back(name);
  }
  for (const auto& name : names) release(name);
}

void ModelStore::reload() {
  graph_ = OnnxGraph::load(path_);
  load();
}

}  // namespace inferlab::native
