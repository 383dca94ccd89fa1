#pragma once
/// @file graph_passes.h
/// Semantics-preserving rewrites of an ONNX graph, each reporting what it
/// changed: Identity/Dropout removal, BatchNormalization folded into the
/// Conv or Gemm before it, and dead-node / unused-initializer elimination.
/// Used by `inferlab optimize` and by the native engine's importer.

#include <cstdint>
#include <string>
#include <vector>

#include "inferlab/onnx_graph.h"

namespace inferlab {

/// What one pass did.
struct PassReport {
  std::string pass;                  ///< e.g. "fold-batchnorm"
  std::int64_t changed = 0;          ///< nodes removed or rewritten
  std::vector<std::string> details;  ///< one line per change, e.g. "BatchNormalization bn1 -> Conv conv1"
};

/// Removes Identity nodes and inference-mode Dropout nodes (whose mask output
/// is unused), feeding their consumers from their input. A node whose output
/// is a graph output is kept (its name is part of the model's interface).
PassReport remove_identity_and_dropout(OnnxGraph& graph);

/// Folds BatchNormalization (inference form) into the Conv or Gemm that feeds
/// it when that producer's output has no other consumer and the weights are
/// float32 initializers: W' = W * s, b' = (b - mean) * s + beta with
/// s = gamma / sqrt(var + epsilon). New initializers are added; the old ones
/// are left for eliminate_dead_nodes().
PassReport fold_batch_norm(OnnxGraph& graph);

/// Removes nodes none of whose outputs reach a graph output, then
/// initializers (and IR<4 graph inputs naming them) that nothing reads.
PassReport eliminate_dead_nodes(OnnxGraph& graph);

/// The three passes above in order, then the ONNX checker on the result.
std::vector<PassReport> run_graph_passes(OnnxGraph& graph);

}  // namespace inferlab
