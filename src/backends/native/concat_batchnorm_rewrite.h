#pragma once
// DenseNet's pre-activation: every dense layer concatenates the block's
// features so far and normalises them, Concat(axis 1) -> BatchNormalization
// (-> Relu), and the BN cannot fold into a Conv (it reads the Concat). Run
// as written that is two passes over a growing tensor per layer (62 BNs and
// 62 Concats in DenseNet-121: 16% and 21% of its profiled time). The pair
// becomes one node, ConcatBatchNormalization in the engine's own domain,
// whose kernel (kernels_concat_bn.cpp) writes each input's channels
// normalised straight into the output: one pass. The Relu after it still
// fuses (fusion.cpp), as it did into the BN.

#ifndef ONNX_ML
#define ONNX_ML 1
#endif
#include <onnx/onnx_pb.h>

namespace inferlab::native {

/// The domain of the engine's own ops (made by its rewrites, never read
/// from a file): the kernel registry has them, ONNX does not.
inline constexpr const char* kNativeDomain = "ai.inferlab.native";
inline constexpr const char* kConcatBatchNormOp = "ConcatBatchNormalization";

/// Rewrites every Concat on axis 1 whose only reader is an inference-mode
/// BatchNormalization with initializer statistics (the Concat's output not
/// a graph output) into one ConcatBatchNormalization node with inputs
/// (scale, B, mean, var, x1, ..., xk), the BN's epsilon and output, and the
/// BN's name. Returns how many were rewritten.
int fuse_concat_batchnorm(onnx::GraphProto& graph);

}  // namespace inferlab::native
