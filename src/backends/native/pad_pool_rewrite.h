#pragma once
// torch <= 1.13 exports avg_pool2d(..., padding=p, count_include_pad=True)
// as Pad(zeros, p) and an AveragePool without padding (DenseNet's
// transitions, GoogLeNet's and Inception's branches). The engine ran the
// Pad as a reference loop on a plain copy of the tensor (a layout reorder
// before it): Inception-v3 spent 5% of its time in its 9 Pads. An
// AveragePool with pads p and count_include_pad=1 divides by the whole
// window, zeros included, which is exactly that pair: one oneDNN pooling.

#ifndef ONNX_ML
#define ONNX_ML 1
#endif
#include <onnx/onnx_pb.h>

#include <cstdint>

namespace inferlab::native {

/// Rewrites every Pad (constant mode, value absent or 0, non-negative pads
/// on the spatial axes of a 4-D tensor only, no `axes`) whose only reader
/// is an AveragePool without padding (no pads or zeros, auto_pad NOTSET,
/// ceil_mode 0) into that AveragePool with the pads and count_include_pad=1,
/// reading the Pad's input. `opset` is the model's default-domain opset
/// (Pad's pads are an attribute below 11). Returns how many were rewritten.
int fold_pad_into_average_pool(onnx::GraphProto& graph, std::int64_t opset);

}  // namespace inferlab::native
