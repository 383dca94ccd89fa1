#pragma once
// SqueezeNet's fire modules in a QDQ model: two int8 expand Convs write
// float32, a Concat joins them and a QuantizeLinear quantizes the result
// for the next fire module. Quantization is elementwise with one scale
// (per tensor), so Q(Concat(a, b)) = Concat(Q(a), Q(b)) exactly: with the Q
// moved onto each input, each expand Conv writes its int8 output itself
// (fusion.cpp's requantization), the Concat moves a quarter of the bytes,
// and the standalone quantization pass over the joined tensor is gone
// (squeezenet1_1: 10 QuantizeLinear steps, 25% of its profiled int8 time).

#ifndef ONNX_ML
#define ONNX_ML 1
#endif
#include <onnx/onnx_pb.h>

namespace inferlab::native {

/// Rewrites every Concat whose only reader is a per-tensor QuantizeLinear
/// (scalar initializer scale; zero point absent or a scalar initializer)
/// into one QuantizeLinear per distinct Concat input, with that scale and
/// zero point, and the Concat over their outputs writing the old Q's
/// output. The Concat's output must not be a graph output. Returns how
/// many Concats were rewritten.
int quantize_before_concat(onnx::GraphProto& graph);

}  // namespace inferlab::native
