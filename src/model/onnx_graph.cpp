// The ONNX graph layer over libonnx: checker, shape inference, atomic save,
// and a summary whose FLOPs come from the inferred shapes at batch 1.
#include "inferlab/onnx_graph.h"

#include <onnx/checker.h>
#include <onnx/shape_inference/implementation.h>
#include <onnx/version_converter/convert.h>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl.h>
#include <google/protobuf/wire_format_lite.h>

#include <fstream>
#include <limits>
#include <set>
#include <unordered_map>

#include "inferlab/error.h"
#include "inferlab/files.h"
#include "model/onnx_util.h"

namespace inferlab {

namespace {

using namespace onnx_util;

// Initializers above this size are weights, never shape operands.
constexpr std::size_t kShapeOperandMaxBytes = 4096;

// A copy for shape inference, which needs every initializer's type and dims
// but only small ones' values (shape operands): the weights stay behind.
onnx::ModelProto without_weights(const onnx::ModelProto& model) {
  onnx::ModelProto copy;
  copy.set_ir_version(model.ir_version());
  *copy.mutable_opset_import() = model.opset_import();
  *copy.mutable_functions() = model.functions();
  const auto& graph = model.graph();
  auto& g = *copy.mutable_graph();
  g.set_name(graph.name());
  *g.mutable_node() = graph.node();
  *g.mutable_input() = graph.input();
  *g.mutable_output() = graph.output();
  *g.mutable_value_info() = graph.value_info();
  for (const auto& t : graph.initializer()) {
    auto& c = *g.add_initializer();
    if (t.raw_data().size() <= kShapeOperandMaxBytes && t.float_data_size() <= 1024) {
      c = t;
    } else {
      c.set_name(t.name());
      c.set_data_type(t.data_type());
      *c.mutable_dims() = t.dims();
    }
  }
  return copy;
}

std::string first_line(const std::string& text) {
  const auto end = text.find('\n');
  return end == std::string::npos ? text : text.substr(0, end);
}

std::int64_t product(const std::vector<std::int64_t>& dims, std::size_t from = 0) {
  std::int64_t p = 1;
  for (std::size_t i = from; i < dims.size(); ++i) p *= dims[i];
  return p;
}

// name -> fully known shape, from everything shape inference wrote.
std::unordered_map<std::string, std::vector<std::int64_t>> known_shapes(const onnx::GraphProto& graph) {
  std::unordered_map<std::string, std::vector<std::int64_t>> shapes;
  auto add = [&](const onnx::ValueInfoProto& info) {
    const TensorSpec spec = spec_from_value_info(info);
    if (info.type().has_tensor_type() && info.type().tensor_type().has_shape() && shape_is_static(spec.shape)) {
      shapes[spec.name] = spec.shape;
    }
  };
  for (const auto& v : graph.input()) add(v);
  for (const auto& v : graph.value_info()) add(v);
  for (const auto& v : graph.output()) add(v);
  for (const auto& t : graph.initializer()) shapes[t.name()] = {t.dims().begin(), t.dims().end()};
  return shapes;
}

const onnx::AttributeProto* attribute(const onnx::NodeProto& node, const std::string& name) {
  for (const auto& a : node.attribute()) {
    if (a.name() == name) return &a;
  }
  return nullptr;
}

// FLOPs of one node from its shapes; -1 when a shape it needs is unknown.
std::int64_t node_flops(const onnx::NodeProto& node,
                        const std::unordered_map<std::string, std::vector<std::int64_t>>& shapes) {
  auto shape_of = [&](int input) -> const std::vector<std::int64_t>* {
    if (input >= node.input_size()) return nullptr;
    auto it = shapes.find(node.input(input));
    return it == shapes.end() ? nullptr : &it->second;
  };
  const std::vector<std::int64_t>* out = nullptr;
  if (node.output_size() > 0) {
    auto it = shapes.find(node.output(0));
    if (it != shapes.end()) out = &it->second;
  }
  const std::string& op = node.op_type();
  if (op == "Conv") {
    const auto* w = shape_of(1);
    if (!w || !out || w->size() < 2) return -1;
    return 2 * product(*out) * product(*w, 1);  // each output: Cin/group x kernel MACs
  }
  if (op == "ConvTranspose") {
    const auto* x = shape_of(0);
    const auto* w = shape_of(1);
    if (!x || !w || w->size() < 2) return -1;
    return 2 * product(*x) * product(*w, 1);
  }
  if (op == "Gemm") {
    const auto* a = shape_of(0);
    if (!a || !out || a->size() != 2) return -1;
    const auto* trans = attribute(node, "transA");
    const std::int64_t k = trans && trans->i() ? (*a)[0] : (*a)[1];
    return 2 * product(*out) * k;
  }
  if (op == "MatMul") {
    const auto* a = shape_of(0);
    if (!a || !out || a->empty()) return -1;
    return 2 * product(*out) * a->back();
  }
  if (!out) return -1;
  return product(*out);
}

}  // namespace

OnnxGraph::OnnxGraph(std::unique_ptr<onnx::ModelProto> proto, std::string origin)
    : proto_(std::move(proto)), origin_(std::move(origin)) {}
OnnxGraph::OnnxGraph(const OnnxGraph& other)
    : proto_(std::make_unique<onnx::ModelProto>(*other.proto_)), origin_(other.origin_) {}
OnnxGraph& OnnxGraph::operator=(const OnnxGraph& other) {
  if (this != &other) {
    proto_ = std::make_unique<onnx::ModelProto>(*other.proto_);
    origin_ = other.origin_;
  }
  return *this;
}
OnnxGraph::OnnxGraph(OnnxGraph&&) noexcept = default;
OnnxGraph& OnnxGraph::operator=(OnnxGraph&&) noexcept = default;
OnnxGraph::~OnnxGraph() = default;

std::vector<OpType> read_onnx_op_types(const std::string& path) {
  using google::protobuf::internal::WireFormatLite;
  constexpr int kModelGraph = 7;  // ModelProto.graph
  constexpr int kGraphNode = 1;   // GraphProto.node
  std::ifstream file(path, std::ios::binary);
  if (!file) throw Error(path + ": cannot open for reading");
  google::protobuf::io::IstreamInputStream stream(&file);
  google::protobuf::io::CodedInputStream in(&stream);
  in.SetTotalBytesLimit(std::numeric_limits<int>::max());
  std::vector<OpType> ops;
  auto bad = [&] { return Error(path + ": not a valid ONNX model (protobuf parse failed)"); };
  for (std::uint32_t tag = in.ReadTag(); tag != 0; tag = in.ReadTag()) {
    if (WireFormatLite::GetTagFieldNumber(tag) != kModelGraph) {
      if (!WireFormatLite::SkipField(&in, tag)) throw bad();
      continue;
    }
    std::uint32_t graph_size = 0;
    if (!in.ReadVarint32(&graph_size)) throw bad();
    const auto graph_limit = in.PushLimit(static_cast<int>(graph_size));
    // Only nodes are decoded; initializers (the weights) are skipped unread.
    for (std::uint32_t field = in.ReadTag(); field != 0; field = in.ReadTag()) {
      if (WireFormatLite::GetTagFieldNumber(field) != kGraphNode) {
        if (!WireFormatLite::SkipField(&in, field)) throw bad();
        continue;
      }
      std::string bytes;
      onnx::NodeProto node;
      if (!WireFormatLite::ReadBytes(&in, &bytes) || !node.ParseFromString(bytes)) throw bad();
      ops.push_back({node.domain() == "ai.onnx" ? std::string() : node.domain(), node.op_type()});
    }
    in.PopLimit(graph_limit);
  }
  if (!in.ConsumedEntireMessage()) throw bad();
  return ops;
}

OnnxGraph OnnxGraph::load(const std::string& path) {
  auto proto = std::make_unique<onnx::ModelProto>();
  parse_model_file(path, *proto);
  return OnnxGraph(std::move(proto), path);
}

OnnxGraph OnnxGraph::parse(const std::string& bytes, const std::string& origin) {
  auto proto = std::make_unique<onnx::ModelProto>();
  parse_model_bytes(bytes, origin, *proto);
  return OnnxGraph(std::move(proto), origin);
}

void OnnxGraph::check() const {
  try {
    onnx::checker::check_model(*proto_);
  } catch (const std::exception& e) {
    throw Error(origin_ + ": fails the ONNX checker: " + first_line(e.what()));
  }
}

void OnnxGraph::infer_shapes(std::int64_t batch, bool check_types) {
  if (batch > 0) {
    std::set<std::string> initializers;
    for (const auto& t : proto_->graph().initializer()) initializers.insert(t.name());
    for (auto& input : *proto_->mutable_graph()->mutable_input()) {
      if (initializers.count(input.name()) || !input.type().has_tensor_type()) continue;
      auto* shape = input.mutable_type()->mutable_tensor_type()->mutable_shape();
      if (shape->dim_size() > 0 && !shape->dim(0).has_dim_value()) shape->mutable_dim(0)->set_dim_value(batch);
    }
    // Outputs and intermediate values keep the old symbolic batch otherwise,
    // and inference refuses to merge it with the concrete one.
    for (auto& output : *proto_->mutable_graph()->mutable_output()) {
      if (!output.type().has_tensor_type()) continue;
      auto* shape = output.mutable_type()->mutable_tensor_type()->mutable_shape();
      if (shape->dim_size() > 0 && !shape->dim(0).has_dim_value()) shape->mutable_dim(0)->set_dim_value(batch);
    }
    proto_->mutable_graph()->clear_value_info();
  }
  try {
    onnx::ShapeInferenceOptions options(check_types, /*strict_mode=*/1, /*data_prop=*/true);
    onnx::shape_inference::InferShapes(*proto_, onnx::OpSchemaRegistry::Instance(), options);
  } catch (const std::exception& e) {
    throw Error(origin_ + ": shape inference failed: " + first_line(e.what()));
  }
}

void OnnxGraph::convert_opset(std::int64_t target) {
  onnx::ModelProto converted;
  try {
    converted = onnx::version_conversion::ConvertVersion(*proto_, static_cast<int>(target));
  } catch (const std::exception& e) {
    throw Error(origin_ + ": cannot convert to opset " + std::to_string(target) + ": " + first_line(e.what()),
                ErrorKind::kUnsupported);
  }
  // The converter rebuilds the model from its graph IR, which has no place
  // for the model's own key-value metadata (inferlab's preprocessing).
  *converted.mutable_metadata_props() = proto_->metadata_props();
  *proto_ = std::move(converted);
}

std::string OnnxGraph::serialize() const {
  std::string bytes;
  if (!proto_->SerializeToString(&bytes)) throw Error(origin_ + ": cannot serialize the model", ErrorKind::kRuntime);
  return bytes;
}

void OnnxGraph::save(const std::string& path) const { write_file_atomically(path, serialize()); }

GraphSummary OnnxGraph::summarize() const {
  GraphSummary s;
  const auto& model = *proto_;
  for (const auto& opset : model.opset_import()) {
    if (opset.domain().empty() || opset.domain() == "ai.onnx") s.opset = opset.version();
  }
  std::set<std::string> initializers;
  for (const auto& t : model.graph().initializer()) {
    initializers.insert(t.name());
    const std::int64_t elements = product({t.dims().begin(), t.dims().end()});
    s.parameter_count += elements;
    s.parameter_bytes += static_cast<std::int64_t>(elements * dtype_size_bytes(dtype_from_onnx(t.data_type())));
  }
  for (const auto& input : model.graph().input()) {
    if (!initializers.count(input.name())) s.inputs.push_back(spec_from_value_info(input));
  }
  for (const auto& output : model.graph().output()) s.outputs.push_back(spec_from_value_info(output));
  s.node_count = model.graph().node_size();
  s.producer = model.producer_name() + (model.producer_version().empty() ? "" : " " + model.producer_version());
  s.serialized_bytes = static_cast<std::int64_t>(model.ByteSizeLong());

  OnnxGraph at_batch_1(std::make_unique<onnx::ModelProto>(without_weights(model)), origin_);
  bool shapes_ok = true;
  try {
    at_batch_1.infer_shapes(1);
  } catch (const Error&) {
    shapes_ok = false;  // still count nodes; FLOPs stay unknown
  }
  const auto shapes = known_shapes(at_batch_1.proto().graph());
  std::set<std::string> missing;
  for (const auto& node : model.graph().node()) {
    const bool default_domain = node.domain().empty() || node.domain() == "ai.onnx";
    const std::string op = default_domain ? node.op_type() : node.domain() + "." + node.op_type();
    auto& stats = s.ops[op];
    ++stats.nodes;
    const std::int64_t flops = shapes_ok ? node_flops(node, shapes) : -1;
    if (flops < 0) {
      missing.insert(op);
    } else {
      stats.flops += flops;
      s.flops_per_sample += flops;
    }
  }
  s.ops_without_shapes.assign(missing.begin(), missing.end());
  return s;
}

}  // namespace inferlab
