// Model loading for the native engine: passes, op check, weights held once.
#include "model_store.h"

#include <cstdint>
#include <cstring>

#include "batch_fold_rewrite.h"
#include "concat_batchnorm_rewrite.h"
#include "engine.h"
#include "gelu_rewrite.h"
#include "layernorm_rewrite.h"
#include "model/onnx_util.h"
#include "optimize/graph_edit.h"
#include "pad_pool_rewrite.h"
#include "quantize_concat_rewrite.h"

namespace inferlab::native {

ModelStore::ModelStore(std::string path) : path_(std::move(path)), graph_(OnnxGraph::load(path_)) { load(); }

void ModelStore::load() {
  passes_ = run_graph_passes(graph_);
  if (const int folds = unfold_batch_folds(*graph_.proto().mutable_graph()); folds > 0) {
    passes_.push_back({"native-batch-unfold",
                       folds * 3,
                       {std::to_string(folds) + " x Reshape/op/Reshape (prepare.py's batch fold) -> op"}});
  }
  if (const int pools =
          fold_pad_into_average_pool(*graph_.proto().mutable_graph(), graph_edit::default_opset(graph_.proto()));
      pools > 0) {
    passes_.push_back(
        {"native-pad-pool", pools, {std::to_string(pools) + " x Pad/AveragePool -> AveragePool (count_include_pad)"}});
  }
  if (const int moved = quantize_before_concat(*graph_.proto().mutable_graph()); moved > 0) {
    passes_.push_back({"native-quantize-concat",
                       moved,
                       {std::to_string(moved) + " x Concat -> QuantizeLinear -> QuantizeLinear per input -> Concat"}});
  }
  if (const int fused = fuse_concat_batchnorm(*graph_.proto().mutable_graph()); fused > 0) {
    passes_.push_back({"native-concat-bn",
                       fused,
                       {std::to_string(fused) + " x Concat/BatchNormalization -> ConcatBatchNormalization"}});
  }
  if (const int gelus = rewrite_gelu(*graph_.proto().mutable_graph()); gelus > 0) {
    passes_.push_back({"native-gelu", gelus * 4, {std::to_string(gelus) + " x Div/Erf/Add/Mul/Mul -> Gelu"}});
  }
  const int nodes_before = graph_.proto().graph().node_size();
  if (const int norms = rewrite_layernorm(*graph_.proto().mutable_graph()); norms > 0) {
    const int removed = nodes_before - graph_.proto().graph().node_size();
    passes_.push_back({"native-layernorm",
                       removed,
                       {std::to_string(norms) + " x ReduceMean/Sub/Pow/ReduceMean/Add/Sqrt/Div(/Mul/Add) -> "
                                                "LayerNormalization"}});
  }
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
    const DType dtype = onnx_util::dtype_from_onnx(t.data_type());
    // float16 is widened (a copy): the engine computes in float32.
    const bool supported = dtype == DType::kFloat32 || dtype == DType::kInt64 || dtype == DType::kInt32 ||
                           dtype == DType::kInt8 || dtype == DType::kUInt8 || dtype == DType::kBool;
    const Shape shape(t.dims().begin(), t.dims().end());
    const bool aligned = reinterpret_cast<std::uintptr_t>(t.raw_data().data()) % 8 == 0;
    if (t.has_raw_data() && supported && !t.has_data_location() && aligned &&
        t.raw_data().size() == static_cast<std::size_t>(shape_element_count(shape)) * dtype_size_bytes(dtype)) {
      initializers_.emplace(t.name(), Constant(dtype, shape, t.raw_data().data()));
    } else {
      auto [it, added] = copies_.emplace(
          t.name(), widen_float16(onnx_util::tensor_from_proto(t, "native: initializer '" + t.name() + "'")));
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
