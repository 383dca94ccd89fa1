#pragma once
// Pruning followed by fine-tuning, gradually in several steps when asked:
// the part of `inferlab optimize` that trains (models/train.py via training.h).

#include <functional>
#include <string>

#include "inferlab/onnx_graph.h"
#include "inferlab/optimizer.h"

namespace inferlab {

// Prunes `graph` to o.prune_channel_fraction / o.prune_sparsity in
// o.prune_steps equal steps, each followed by fine-tuning on
// o.finetune_dataset when one is given (the pruned zeros kept fixed). Appends
// to report.passes, steps, training and training_seconds. The last fine-tuning
// step's TorchScript goes to `torchscript_out` (when not empty and training ran).
OnnxGraph prune_and_finetune(OnnxGraph graph, const OptimizeOptions& o, OptimizeReport& report,
                             const std::string& scratch_dir, const std::string& torchscript_out,
                             const std::function<void(const std::string&)>& progress);

}  // namespace inferlab
