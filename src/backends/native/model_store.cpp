// Model loading for the native engine: passes, op check, weights held once.
#include "model_store.h"

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
  // Lifted out, then dropped from the protobuf: the weights live once.
  for (auto& t : *graph_.proto().mutable_graph()->mutable_initializer()) {
    initializers_.emplace(t.name(), tensor_from_proto(t));
    t.clear_raw_data();
    t.clear_float_data();
    t.clear_int64_data();
    t.clear_int32_data();
  }
  released_ = false;
}

const onnx::GraphProto& ModelStore::graph() const { return graph_.proto().graph(); }

const Tensor* ModelStore::initializer(const std::string& name) const {
  auto it = initializers_.find(name);
  return it == initializers_.end() ? nullptr : &it->second;
}

void ModelStore::release_all_but(const std::set<std::string>& keep) {
  for (auto it = initializers_.begin(); it != initializers_.end();) {
    if (keep.count(it->first)) {
      ++it;
    } else {
      it = initializers_.erase(it);
      released_ = true;
    }
  }
}

void ModelStore::reload() {
  graph_ = OnnxGraph::load(path_);
  load();
}

}  // namespace inferlab::native
