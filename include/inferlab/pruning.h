#pragma once
/// @file pruning.h
/// Weight pruning of ONNX models for `inferlab optimize`: unstructured
/// magnitude pruning (zeros inside the weight tensors, same shapes) and
/// structured output-channel pruning of Conv layers, with the graph surgery
/// that keeps every consumer's shape consistent (smaller tensors, fewer FLOPs).

#include "inferlab/graph_passes.h"
#include "inferlab/onnx_graph.h"

namespace inferlab {

/// Unstructured magnitude pruning: in every float32 weight initializer of
/// Conv, Gemm and MatMul (the weight input, not the bias), the smallest-|w|
/// fraction `sparsity` of the elements (per tensor, floor(sparsity * n)) is
/// set to zero. A tensor shared by several nodes is pruned once. Throws
/// Error(kBadInput) unless 0 < sparsity < 1. Report details: one line per
/// tensor "conv1.weight: 50.0% zero (1152/2304)"; changed = tensors pruned.
PassReport prune_unstructured(OnnxGraph& graph, double sparsity);

/// Structured channel pruning: for each eligible Conv (group 1, float32
/// initializer weight and bias), removes floor(sparsity * C) of its C output
/// channels, those with the smallest L1 norm (at least one is kept), with the
/// surgery that keeps every shape consistent: its weight rows and bias, the
/// per-channel parameters of BatchNormalization on the way, and the matching
/// input channels of every consumer reached through channel-preserving ops
/// (Conv with group 1: weight dim 1; Flatten(axis 1) or Reshape to [N, -1]
/// followed by Gemm: the weight's block of H*W features per channel).
/// Ineligible convs are left untouched and listed in details with the reason.
/// Value infos are re-inferred and the result passes the ONNX checker.
/// changed = convs pruned. Throws Error(kBadInput) unless 0 < sparsity < 1.
PassReport prune_channels(OnnxGraph& graph, double sparsity);

/// Fraction of zero elements over the weights prune_unstructured considers
/// (0 when the model has none).
double weight_sparsity(const OnnxGraph& graph);

}  // namespace inferlab
