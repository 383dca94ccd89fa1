#pragma once
// Which nodes the engine fuses into the Conv before them, as oneDNN
// post-ops: Relu, Clip (ReLU6), Sigmoid, SiLU/Swish (x * sigmoid(x), the
// Sigmoid + Mul pair EfficientNet exports), and a residual Add with an
// optional Relu after it (ResNet's and MobileNetV2's skip connections).

#ifndef ONNX_ML
#define ONNX_ML 1
#endif
#include <onnx/onnx_pb.h>

#include <set>
#include <string>
#include <unordered_map>

namespace inferlab::native {

/// One Conv's fused epilogue.
struct Fusion {
  std::string op;                               ///< "Relu", "Clip", "Sigmoid", "Swish", "Add" or "Add+Relu"
  const onnx::NodeProto* activation = nullptr;  ///< Clip's node (for its bounds); the Sigmoid for Swish
  std::string output;                           ///< the value the fused Conv now writes
  std::string residual;                         ///< for "Add": the other operand, added as a oneDNN binary post-op
};

struct FusionPlan {
  std::unordered_map<const onnx::NodeProto*, Fusion> by_conv;
  std::set<const onnx::NodeProto*> absorbed;  ///< nodes that no longer run on their own
};

/// Finds fusable patterns; a Conv output that is a graph output, or read by
/// anything beyond the pattern, is never fused.
FusionPlan plan_fusions(const onnx::GraphProto& graph);

}  // namespace inferlab::native
