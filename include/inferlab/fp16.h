#pragma once
/// @file fp16.h
/// Converts an ONNX model to float16: weights and activations in float16,
/// precision-sensitive ops kept in float32 with Cast nodes at every boundary
/// between the two, and float32 graph inputs/outputs unless asked otherwise.

#include <set>
#include <string>

#include "inferlab/graph_passes.h"
#include "inferlab/onnx_graph.h"

namespace inferlab {

/// Options of convert_to_fp16().
struct Fp16Options {
  /// Op types computed in float32 (their float inputs are cast up, their
  /// outputs cast back down where an FP16 op reads them).
  std::set<std::string> keep_fp32_ops = default_fp16_keep_ops();
  /// When true, graph inputs and outputs become float16 too (callers must
  /// then feed and read float16); otherwise they stay float32 with a Cast
  /// after each input and before each output.
  bool fp16_io = false;

  /// Normalisation statistics, Softmax and the exponential/logarithmic ops
  /// whose float16 range or rounding changes results: Softmax, LogSoftmax,
  /// BatchNormalization, LayerNormalization, InstanceNormalization,
  /// GroupNormalization, ReduceMean, ReduceSum, ReduceSumSquare, Pow, Sqrt,
  /// Exp, Log, Range, Resize (its scales stay float32 in any case).
  static std::set<std::string> default_fp16_keep_ops();
};

/// Rewrites `graph` in place. Needs every float value's type from shape
/// inference (run here); throws Error (kBadInput) naming the value when a
/// type stays unknown, and when the result fails type-checked shape
/// inference or the checker. Raises the opset to 6 at least (Cast). The
/// report lists the initializers converted, the nodes kept in float32 and
/// the Cast nodes inserted.
PassReport convert_to_fp16(OnnxGraph& graph, const Fp16Options& options = {});

}  // namespace inferlab
