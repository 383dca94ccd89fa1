// Reads what an ONNX file declares, through libonnx's protobuf classes.
#include <onnx/onnx_pb.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "inferlab/error.h"
#include "inferlab/onnx_model.h"
#include "model/onnx_util.h"

namespace inferlab {

using namespace onnx_util;

OnnxSummary inspect_onnx_file(const std::string& path) {
  onnx::ModelProto model;
  parse_model_file(path, model);
  const auto& graph = model.graph();

  OnnxSummary summary;
  for (const auto& opset : model.opset_import()) {
    if (opset.domain().empty() || opset.domain() == "ai.onnx") summary.opset = opset.version();
  }

  // Before IR version 4 initializers had to be listed as graph inputs too;
  // they are weights, not inputs a caller feeds.
  std::set<std::string> initializers;
  for (const auto& tensor : graph.initializer()) {
    initializers.insert(tensor.name());
    std::int64_t elements = 1;
    for (std::int64_t d : tensor.dims()) elements *= d;
    summary.parameter_count += elements;
  }
  for (const auto& input : graph.input()) {
    if (initializers.count(input.name()) == 0) summary.inputs.push_back(spec_from_value_info(input));
  }
  for (const auto& output : graph.output()) summary.outputs.push_back(spec_from_value_info(output));
  if (summary.outputs.empty()) throw Error(path + ": ONNX model declares no graph outputs");

  summary.node_count = graph.node_size();
  for (const auto& node : graph.node()) {
    const bool default_domain = node.domain().empty() || node.domain() == "ai.onnx";
    ++summary.op_counts[default_domain ? node.op_type() : node.domain() + "." + node.op_type()];
  }
  for (const auto& entry : model.metadata_props()) summary.metadata_props[entry.key()] = entry.value();
  summary.producer = model.producer_name();
  if (!model.producer_version().empty()) {
    summary.producer += (summary.producer.empty() ? "" : " ") + model.producer_version();
  }
  return summary;
}

}  // namespace inferlab
