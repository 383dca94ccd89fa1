#pragma once
/// @file onnx_model.h
/// Reading ONNX files through libonnx: declared inputs/outputs and a summary.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "inferlab/tensor.h"

namespace inferlab {

/// What an ONNX file declares, read without running it.
struct OnnxSummary {
  std::vector<TensorSpec> inputs;  ///< graph inputs that are not initializers; symbolic dims are -1
  std::vector<TensorSpec> outputs;
  std::int64_t opset = 0;            ///< default-domain opset version
  std::int64_t parameter_count = 0;  ///< elements in all initializers
  std::int64_t node_count = 0;
  std::map<std::string, std::int64_t> op_counts;      ///< op type -> nodes
  std::string producer;                               ///< producer_name + version
  std::map<std::string, std::string> metadata_props;  ///< the model's metadata_props (key -> value)
};

/// Parses `path` as an ONNX ModelProto. Throws Error (kBadInput) naming the
/// file when it is missing, unreadable, truncated or not an ONNX model.
OnnxSummary inspect_onnx_file(const std::string& path);

}  // namespace inferlab
