#pragma once
// Layer normalisation as torch exports it below opset 17, nine nodes over
// the last axis,
//   d = x - ReduceMean(x);  n = d / Sqrt(ReduceMean(Pow(d, 2)) + eps);
//   y = n * gamma + beta,
// rewritten into one LayerNormalization node (opset 17's op, axis -1),
// which the engine runs as one oneDNN layer_normalization instead of nine
// passes over the tensor (Swin-T has 25 of them). The Sub and Div may come
// wrapped in the Reshapes inferlab's OpenCV preparation puts around
// broadcasting binaries; gamma and beta may come expanded over leading dims.

#ifndef ONNX_ML
#define ONNX_ML 1
#endif
#include <onnx/onnx_pb.h>

namespace inferlab::native {

/// Rewrites every match in `graph` (axes -1, exponent 2, a scalar epsilon;
/// no intermediate value a graph output or read elsewhere). gamma and beta
/// are absorbed only when they are provably per-last-axis vectors; else
/// they stay as Mul and Add after the node. Returns how many were rewritten.
int rewrite_layernorm(onnx::GraphProto& graph);

}  // namespace inferlab::native
