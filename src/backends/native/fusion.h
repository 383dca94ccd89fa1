#pragma once
// Which nodes the engine fuses into the Conv, Gemm or MatMul before them,
// as oneDNN post-ops: Relu, Clip (ReLU6), Sigmoid, HardSigmoid, Gelu
// (rewrite_gelu()'s), HardSwish (ONNX's, or x * HardSigmoid(x) with torch's
// constants, MobileNetV3's export below opset 14), SiLU/Swish (x * sigmoid(x), the Sigmoid + Mul pair EfficientNet
// exports), and a residual Add with an optional Relu after it (ResNet's and
// MobileNetV2's skip connections, Swin's MLP). A MatMul by constant 2-D
// weights also takes the bias Add after it (nn.Linear on 3-D input). A
// standalone BatchNormalization takes a Relu after it.

#ifndef ONNX_ML
#define ONNX_ML 1
#endif
#include <onnx/onnx_pb.h>

#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "int8_operands.h"

namespace inferlab::native {

/// One Conv's, Gemm's or MatMul's fused epilogue, a BatchNormalization's
/// Relu, or the QuantizeLinear after a Mul or Add (int8 models).
struct Fusion {
  /// "Relu", "Clip", "Sigmoid", "HardSigmoid", "Gelu", "HardSwish", "Swish", "Add" or
  /// "Add+Relu" (see parse_epilogue()); "QuantizeLinear" after a Mul or Add
  /// whose only reader is a per-tensor, zero-point-0 QuantizeLinear with a
  /// constant scale (the binary writes its u8/s8 output); empty for a
  /// MatMul's bias alone.
  std::string op;
  /// Clip's or HardSigmoid's node (for its bounds or alpha, beta); the Sigmoid for Swish
  const onnx::NodeProto* activation = nullptr;
  std::string output;    ///< the value the fused node now writes
  std::string residual;  ///< for "Add": the other operand, added as a oneDNN binary post-op
  std::string bias;      ///< MatMul only: the initializer its absorbed Add added
  /// Read after the node's inputs (and bias): a fused QuantizeLinear's scale and zero point.
  std::vector<std::string> operands;
};

/// A Conv, Gemm or MatMul fed by the optimizer's QDQ pattern, run as one
/// int8 primitive: Conv(DQ(Q(x, s_x, 0)), DQ(W_q, s_w, 0, axis 0), bias),
/// and likewise for Gemm and MatMul with constant 2-D weights quantized per
/// tensor or per output column.
struct Int8Layer {
  /// The kernel's inputs by Int8Operand slot: {Q output, s_x, zp_x, W_q, s_w,
  /// zp_w, bias} ("" when absent; a MatMul's bias is the Add fused after it),
  /// then {s_y, zp_y} when the result is requantized (Conv only).
  std::vector<std::string> inputs;
  /// Non-empty: the Conv writes this QuantizeLinear output (u8/s8) instead of
  /// a float result; that Q is absorbed.
  std::string output;
};

struct FusionPlan {
  std::unordered_map<const onnx::NodeProto*, Fusion> by_node;  ///< by the Conv, Gemm, MatMul or BN fused into
  std::unordered_map<const onnx::NodeProto*, Int8Layer> int8_by_node;
  /// QDQ layers left to run as written (float32), with the reason.
  std::unordered_map<const onnx::NodeProto*, std::string> int8_refused;
  std::set<const onnx::NodeProto*> absorbed;  ///< nodes that no longer run on their own
};

/// Which int8 weights the CPU's int8 kernels sum exactly.
enum class Int8Weights {
  kAny,           ///< VNNI (or AMX): exact s32 sums of any s8 weights
  kSevenBitOnly,  ///< no VNNI: only weights in [-64, 63] (see plan_fusions)
};

/// Finds fusable patterns; a value that is a graph output, or read by
/// anything beyond the pattern, is never fused away. With `int8`, QDQ Convs,
/// Gemms and MatMuls whose scales are constants and zero points constant zeros
/// become Int8Layers; a DequantizeLinear the layer was its only reader of is
/// absorbed, and a Mul or Add that only a QuantizeLinear reads writes its
/// output (Fusion "QuantizeLinear"). With Int8Weights::kSevenBitOnly a layer whose weights leave
/// [-64, 63] stays in float32 (listed in int8_refused): without VNNI
/// oneDNN's u8 x s8 pair sums saturate 16 bits beyond that, and its
/// s8-source kernels halve the weights.
FusionPlan plan_fusions(const onnx::GraphProto& graph, bool int8 = true, Int8Weights int8_weights = Int8Weights::kAny);

}  // namespace inferlab::native
