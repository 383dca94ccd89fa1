#include "optimize_workflow/graph_runner.h"

#include <atomic>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <set>

#include "inferlab/error.h"
#include "inferlab/registry.h"
#include "model/onnx_util.h"

namespace inferlab {

namespace {

std::string temp_model_path() {
  // One process may hold several runners (the FP32 reference and a
  // quantized variant); a counter keeps their files apart.
  static std::atomic<int> counter{0};
  const char* dir = std::getenv("TMPDIR");
  return std::string(dir && *dir ? dir : "/tmp") + "/inferlab-optimize-" + std::to_string(::getpid()) + "-" +
         std::to_string(counter++) + ".onnx";
}

}  // namespace

GraphRunner::GraphRunner(const OnnxGraph& graph, const std::string& backend_name, const TensorSpec& input,
                         const Shape& input_shape, int threads)
    : path_(temp_model_path()) {
  graph.save(path_);
  backend_ = create_backend(backend_name);
  ModelSource source;
  source.name = graph.origin();
  source.format = ModelFormat::kOnnx;
  source.path = path_;
  source.inputs = {input};
  for (const auto& o : graph.proto().graph().output()) source.outputs.push_back(onnx_util::spec_from_value_info(o));
  SessionOptions session_options;
  session_options.intra_op_threads = threads;
  session_ = backend_->load(source, session_options);
  session_->prepare({input_shape});
  specs_ = session_->output_specs();
  for (const auto& spec : specs_) outputs_.emplace_back(spec.dtype, spec.shape);
}

GraphRunner::~GraphRunner() {
  session_.reset();
  std::remove(path_.c_str());
}

const std::vector<Tensor>& GraphRunner::run(const Tensor& input) {
  std::vector<Tensor*> outs;
  for (auto& t : outputs_) outs.push_back(&t);
  session_->run({&input}, outs);
  return outputs_;
}

OnnxGraph with_extra_outputs(const OnnxGraph& graph, const std::vector<std::string>& values) {
  OnnxGraph copy = graph;
  // Shapes where inference knows them: OpenCV's importer requires a shape
  // on every declared output. Inferred on the copy itself (value_info only
  // grows), not on a second copy of the weights.
  std::map<std::string, onnx::ValueInfoProto> known;
  try {
    copy.infer_shapes();
    // Inference may know a value's type but not its rank (no shape at all).
    for (const auto& v : copy.proto().graph().value_info()) {
      if (v.type().tensor_type().has_shape()) known[v.name()] = v;
    }
    for (const auto& v : copy.proto().graph().input()) known[v.name()] = v;
  } catch (const Error&) {
    // Engines that need no shapes still run; the others say what is missing.
  }
  // A value whose shape depends on the batch through Shape/Gather/Reshape
  // chains (ShuffleNet's channel shuffle) has none with a symbolic batch,
  // and the checker refuses an output without one. Inferred again at batch
  // 1 (only then, since that copies the weights once more), such a value
  // declares its rank with every dim unnamed: the engine's run fills them.
  std::vector<std::string> unknown;
  for (const auto& v : values) {
    if (!known.count(v)) unknown.push_back(v);
  }
  if (!unknown.empty()) {
    try {
      OnnxGraph at_batch_1 = graph;
      at_batch_1.infer_shapes(1);
      for (const auto& v : at_batch_1.proto().graph().value_info()) {
        if (known.count(v.name()) || !v.type().tensor_type().has_shape()) continue;
        onnx::ValueInfoProto rank_only = v;
        for (auto& dim : *rank_only.mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim()) {
          dim.clear_dim_value();
          dim.clear_dim_param();
        }
        known[v.name()] = rank_only;
      }
    } catch (const Error&) {
      // As above: what stays unknown is named below.
    }
  }
  // Still unknown (a Slice whose bounds come from Div of a Shape, as
  // ShuffleNet's chunk exports): a Conv's data input has its weights' rank,
  // a Gemm's has rank 2, which is all an output declaration needs.
  for (const auto& v : values) {
    if (known.count(v)) continue;
    for (const auto& node : graph.proto().graph().node()) {
      if (node.input_size() < 2 || node.input(0) != v) continue;
      int rank = 0;
      if (node.op_type() == "Gemm") rank = 2;
      for (const auto& t : graph.proto().graph().initializer()) {
        if (node.op_type() == "Conv" && t.name() == node.input(1)) rank = t.dims_size();
      }
      if (rank == 0) continue;
      onnx::ValueInfoProto rank_only;
      rank_only.set_name(v);
      auto* tensor = rank_only.mutable_type()->mutable_tensor_type();
      tensor->set_elem_type(onnx::TensorProto::FLOAT);
      for (int d = 0; d < rank; ++d) tensor->mutable_shape()->add_dim();
      known[v] = rank_only;
      break;
    }
  }
  auto& g = *copy.proto().mutable_graph();
  google::protobuf::RepeatedPtrField<onnx::ValueInfoProto> outputs;
  std::set<std::string> named;
  for (const auto& v : values) {
    if (!named.insert(v).second) continue;
    auto it = known.find(v);
    if (it == known.end())
      throw Error(graph.origin() + ": the shape of '" + v +
                  "' is unknown even at batch 1 (shape inference could not follow the graph), so it cannot be read "
                  "out for calibration");
    *outputs.Add() = it->second;
  }
  for (const auto& o : g.output()) {
    if (named.insert(o.name()).second) *outputs.Add() = o;
  }
  g.mutable_output()->Swap(&outputs);
  return copy;
}

double sqnr_db(const float* reference, const float* candidate, std::size_t count) {
  double signal = 0, noise = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const double r = reference[i], d = r - candidate[i];
    signal += r * r;
    noise += d * d;
  }
  if (noise <= 0) return std::numeric_limits<double>::infinity();
  if (signal <= 0) return -std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(signal / noise);
}

}  // namespace inferlab
