// FP16 conversion. Every float tensor gets a "home" precision from the node
// that produces it (FP16 unless that op is on the keep list); a reader that
// wants the other precision gets a Cast, made once per tensor and precision.
// Initializers and Constant nodes have no producer to follow, so they take
// the precision their readers want, duplicated when readers disagree: a
// BatchNormalization kept in FP32 must see its statistics unrounded.
#include "inferlab/fp16.h"

#include <algorithm>
#include <map>

#include "inferlab/error.h"
#include "inferlab/float16.h"
#include "optimize/graph_edit.h"

namespace inferlab {

using namespace graph_edit;

std::set<std::string> Fp16Options::default_fp16_keep_ops() {
  return {"Softmax",
          "LogSoftmax",
          "BatchNormalization",
          "LayerNormalization",
          "InstanceNormalization",
          "GroupNormalization",
          "ReduceMean",
          "ReduceSum",
          "ReduceSumSquare",
          "Pow",
          "Sqrt",
          "Exp",
          "Log",
          "Range",
          "Resize"};
}

namespace {

constexpr int kFloat = onnx::TensorProto::FLOAT;
constexpr int kHalf = onnx::TensorProto::FLOAT16;

std::string to_half_bytes(const std::vector<float>& values) {
  std::string bytes(values.size() * 2, '\0');
  for (std::size_t i = 0; i < values.size(); ++i) {
    const std::uint16_t h = float_to_float16_bits(values[i]);
    bytes[2 * i] = static_cast<char>(h & 0xFF);
    bytes[2 * i + 1] = static_cast<char>(h >> 8);
  }
  return bytes;
}

// Rewrites a float32 TensorProto as float16 in place; false when its data
// cannot be read (external data).
bool tensor_to_half(onnx::TensorProto& tensor) {
  std::vector<float> values;
  if (!read_floats(tensor, values)) return false;
  tensor.clear_float_data();
  tensor.set_data_type(kHalf);
  tensor.set_raw_data(to_half_bytes(values));
  return true;
}

// Inputs whose type the op fixes to float32 whatever the data type is.
bool input_must_stay_fp32(const onnx::NodeProto& node, int index) {
  if (node.op_type() == "Resize") return index == 1 || index == 2;  // roi, scales
  if (node.op_type() == "Upsample") return index == 1;              // scales
  return false;
}

// Ops that read any type: they need no Cast in front.
bool reads_any_type(const std::string& op) { return op == "Cast" || op == "Shape" || op == "Size"; }

struct Converter {
  Converter(onnx::GraphProto& graph, const Fp16Options& fp16_options) : g(graph), options(fp16_options) {
    report.pass = "fp16";
  }
  onnx::GraphProto& g;
  const Fp16Options& options;
  PassReport report;
  std::unordered_map<std::string, int> types;
  std::unordered_map<std::string, int> home;  // float value -> kFloat or kHalf
  std::map<std::pair<std::string, int>, std::string> casts;
  std::vector<onnx::NodeProto> new_casts;
  NameAllocator names{g};
  std::int64_t converted_initializers = 0, kept_nodes = 0;

  bool is_float(const std::string& value) const {
    auto it = types.find(value);
    return it != types.end() && it->second == kFloat;
  }
  int node_precision(const onnx::NodeProto& node) const {
    return !is_default_domain(node) || options.keep_fp32_ops.count(node.op_type()) ? kFloat : kHalf;
  }
  int wanted_at(const onnx::NodeProto& node, int index) const {
    if (input_must_stay_fp32(node, index)) return kFloat;
    return node_precision(node);
  }

  std::string cast_of(const std::string& value, int to) {
    auto key = std::make_pair(value, to);
    if (auto it = casts.find(key); it != casts.end()) return it->second;
    const std::string out = names.make(value + (to == kHalf ? "_fp16" : "_fp32"));
    new_casts.push_back(make_cast(names.make("Cast_" + out), value, out, to));
    casts[key] = out;
    return out;
  }

  // What each reader of `value` wants; empty when no reader cares.
  std::set<int> readers_want(const std::string& value) const {
    std::set<int> wants;
    for (const auto& node : g.node()) {
      if (reads_any_type(node.op_type())) continue;
      for (int i = 0; i < node.input_size(); ++i) {
        if (node.input(i) == value) wants.insert(wanted_at(node, i));
      }
    }
    for (const auto& o : g.output()) {
      if (o.name() == value) wants.insert(options.fp16_io ? kHalf : kFloat);
    }
    return wants;
  }

  void convert_initializers() {
    const int count = g.initializer_size();
    for (int i = 0; i < count; ++i) {
      auto& t = *g.mutable_initializer(i);
      if (t.data_type() != kFloat) continue;
      const auto wants = readers_want(t.name());
      if (!wants.count(kHalf)) {
        home[t.name()] = kFloat;
        continue;
      }
      if (wants.count(kFloat)) {
        // Mixed readers: a float16 copy for the FP16 ones, the original kept.
        onnx::TensorProto copy = t;
        copy.set_name(names.make(t.name() + "_fp16"));
        if (!tensor_to_half(copy)) throw Error(t.name() + ": external tensor data is not supported by --fp16");
        casts[{t.name(), kHalf}] = copy.name();
        home[t.name()] = kFloat;
        *g.add_initializer() = std::move(copy);
      } else {
        if (!tensor_to_half(t)) throw Error(t.name() + ": external tensor data is not supported by --fp16");
        home[t.name()] = kHalf;
        for (auto& input : *g.mutable_input()) {  // IR < 4 lists initializers as inputs too
          if (input.name() == t.name()) input.mutable_type()->mutable_tensor_type()->set_elem_type(kHalf);
        }
      }
      ++converted_initializers;
    }
  }

  void convert_node_attributes(onnx::NodeProto& node, int precision) {
    if (precision != kHalf) return;
    if (node.op_type() == "Cast" && int_attribute(node, "to", 0) == kFloat) set_int_attribute(node, "to", kHalf);
    for (auto& a : *node.mutable_attribute()) {
      // Constant's value and ConstantOfShape's fill value follow the node.
      if (a.has_t() && a.t().data_type() == kFloat && (a.name() == "value" || a.name() == "value_float")) {
        tensor_to_half(*a.mutable_t());
      }
    }
  }

  void assign_node_precisions() {
    for (auto& node : *g.mutable_node()) {
      int precision = node_precision(node);
      if (node.op_type() == "Constant" && node.output_size() == 1) {
        // Like an initializer: as its readers want (FP32 if any reader does).
        const auto wants = readers_want(node.output(0));
        precision = wants.count(kFloat) || wants.empty() ? kFloat : kHalf;
      }
      const bool has_float =
          std::any_of(node.output().begin(), node.output().end(), [&](const std::string& o) { return is_float(o); });
      if (has_float && precision == kFloat && node.op_type() != "Constant") {
        ++kept_nodes;
        report.details.push_back("kept in fp32: " + node_label(node));
      }
      for (const auto& o : node.output()) {
        if (is_float(o)) home[o] = precision;
      }
      convert_node_attributes(node, precision);
    }
  }

  void insert_input_casts() {
    for (auto& node : *g.mutable_node()) {
      if (reads_any_type(node.op_type())) continue;
      for (int i = 0; i < node.input_size(); ++i) {
        const std::string& value = node.input(i);
        if (value.empty() || !home.count(value)) continue;
        const int want = wanted_at(node, i);
        if (home[value] != want) node.set_input(i, cast_of(value, want));
      }
    }
  }

  // A graph output whose home differs from what the interface promises is
  // renamed inside the graph and re-emitted under its name by a Cast.
  void fix_graph_outputs() {
    const int want = options.fp16_io ? kHalf : kFloat;
    for (auto& output : *g.mutable_output()) {
      const std::string name = output.name();
      if (!home.count(name)) continue;
      output.mutable_type()->mutable_tensor_type()->set_elem_type(want);
      if (home[name] == want) continue;
      const std::string inner = names.make(name + (home[name] == kHalf ? "_fp16" : "_fp32"));
      for (auto& node : *g.mutable_node()) {
        for (auto& o : *node.mutable_output()) {
          if (o == name) o = inner;
        }
        for (auto& in : *node.mutable_input()) {
          if (in == name) in = inner;
        }
      }
      new_casts.push_back(make_cast(names.make("Cast_" + name), inner, name, want));
    }
  }

  void place_casts() {
    // A Cast must follow its input's producer: rebuild the node list with
    // each Cast right after the node (or at the start for graph inputs and
    // initializers) that makes its input.
    std::unordered_map<std::string, std::vector<onnx::NodeProto>> after;
    std::vector<onnx::NodeProto> at_start;
    std::set<std::string> produced;
    for (const auto& node : g.node()) {
      for (const auto& o : node.output()) produced.insert(o);
    }
    for (auto& cast : new_casts) {
      if (produced.count(cast.input(0))) {
        after[cast.input(0)].push_back(std::move(cast));
      } else {
        at_start.push_back(std::move(cast));
      }
    }
    report.changed += static_cast<std::int64_t>(new_casts.size());
    report.details.push_back("inserted " + std::to_string(new_casts.size()) + " Cast node(s)");
    google::protobuf::RepeatedPtrField<onnx::NodeProto> nodes;
    for (auto& c : at_start) *nodes.Add() = std::move(c);
    for (auto& node : *g.mutable_node()) {
      std::vector<std::string> outs(node.output().begin(), node.output().end());
      *nodes.Add() = std::move(node);
      for (const auto& o : outs) {
        if (auto it = after.find(o); it != after.end()) {
          for (auto& c : it->second) *nodes.Add() = std::move(c);
        }
      }
    }
    g.mutable_node()->Swap(&nodes);
  }
};

}  // namespace

PassReport convert_to_fp16(OnnxGraph& graph, const Fp16Options& options) {
  graph.infer_shapes();
  auto& g = *graph.proto().mutable_graph();
  Converter c(g, options);
  c.types = value_elem_types(g);
  for (const auto& node : g.node()) {
    for (const auto& o : node.output()) {
      if (!o.empty() && !c.types.count(o) && node.op_type() != "Shape")
        throw Error(graph.origin() + ": --fp16 needs the type of every value, and shape inference left '" + o + "' (" +
                        node_label(node) + ") unknown",
                    ErrorKind::kBadInput);
    }
  }
  for (auto& input : *g.mutable_input()) {
    if (!c.is_float(input.name())) continue;
    if (options.fp16_io) {
      bool is_initializer = false;
      for (const auto& t : g.initializer()) is_initializer = is_initializer || t.name() == input.name();
      if (!is_initializer) input.mutable_type()->mutable_tensor_type()->set_elem_type(kHalf);
    }
    c.home[input.name()] = options.fp16_io ? kHalf : kFloat;
  }
  c.convert_initializers();
  c.assign_node_precisions();
  c.insert_input_casts();
  c.fix_graph_outputs();
  c.place_casts();
  c.report.changed += c.converted_initializers;
  c.report.details.insert(c.report.details.begin(), "converted " + std::to_string(c.converted_initializers) +
                                                        " initializer(s) to float16; " + std::to_string(c.kept_nodes) +
                                                        " node(s) kept in float32");
  for (auto& opset : *graph.proto().mutable_opset_import()) {
    if ((opset.domain().empty() || opset.domain() == "ai.onnx") && opset.version() < 6) opset.set_version(6);
  }
  g.clear_value_info();
  graph.infer_shapes(0, /*check_types=*/true);
  graph.check();
  return c.report;
}

}  // namespace inferlab
