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
    for (const auto& v : copy.proto().graph().value_info()) known[v.name()] = v;
    for (const auto& v : copy.proto().graph().input()) known[v.name()] = v;
  } catch (const Error&) {
    // Engines that need no shapes still run; the others say what is missing.
  }
  auto& g = *copy.proto().mutable_graph();
  google::protobuf::RepeatedPtrField<onnx::ValueInfoProto> outputs;
  std::set<std::string> named;
  for (const auto& v : values) {
    if (!named.insert(v).second) continue;
    auto* o = outputs.Add();
    if (auto it = known.find(v); it != known.end()) {
      *o = it->second;
    } else {
      o->set_name(v);
      o->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
    }
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
