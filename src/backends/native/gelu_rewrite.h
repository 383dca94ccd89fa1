#pragma once
// GELU as torch exports it, five elementwise nodes
//   y = Mul(Mul(x, Add(Erf(Div(x, sqrt 2)), 1)), 0.5),
// rewritten into one Gelu node (ONNX opset 20's op, approximate "none"),
// which the engine runs as one vectorised oneDNN eltwise instead of five
// passes over the tensor (Swin-T's MLPs: 14% of its time was in Erf alone).

#ifndef ONNX_ML
#define ONNX_ML 1
#endif
#include <onnx/onnx_pb.h>

namespace inferlab::native {

/// Rewrites every exact match in `graph` (the constants must be those
/// scalars; no intermediate value may be a graph output or read elsewhere).
/// Returns how many were rewritten.
int rewrite_gelu(onnx::GraphProto& graph);

}  // namespace inferlab::native
