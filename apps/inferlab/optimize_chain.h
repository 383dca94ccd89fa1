#pragma once
// `optimize ... --then "STEP FLAGS"`: recipes of several optimizations
// (distill -> prune+finetune -> int8), each step fed the previous step's
// file, every step's before/after reported and recorded, with one summary.

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "inferlab/distill.h"
#include "inferlab/optimizer.h"

namespace inferlab::cli {

/// One finished step, as the chain summary shows it. `*_after` describe the
/// step's output file; figures of the first backend that produced them.
struct ChainStepSummary {
  std::string label;  ///< e.g. "--prune 0.5 --finetune digits:train"
  std::string input_path, output_path;
  std::int64_t parameters_after = 0, size_bytes_after = 0;
  std::string backend;                 ///< whose Top-1 and p50 are shown
  std::optional<double> top1_after;    ///< fraction; null when not measured
  std::optional<double> p50_ms_after;  ///< batch 1; null when not measured
};

/// The summary row of an optimize step (the optimized model's figures).
ChainStepSummary summarize_step(const OptimizeReport& report, const std::string& label);
/// The summary row of a distillation step (the distilled student's figures).
ChainStepSummary summarize_step(const DistillReport& report, const std::string& label, const std::string& input_path,
                                const std::string& output_path);

/// The file step `index` (0-based) of `count` writes: the final output for the
/// last step, else `<output stem>.step<index+1>.onnx` beside it.
std::string chain_step_output(const std::string& final_output, std::size_t index, std::size_t count);

/// The chain's summary table (step, output, parameters, size, Top-1, p50).
std::string render_chain_summary(const std::vector<ChainStepSummary>& steps);

/// The chain document (schema "inferlab.optimize-chain/1"): one entry per
/// step with its flags, input, output and full report.
nlohmann::json chain_json(const std::vector<ChainStepSummary>& steps, const std::vector<nlohmann::json>& reports);

}  // namespace inferlab::cli
