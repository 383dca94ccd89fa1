#pragma once
/// @file optimizer.h
/// `inferlab optimize`: graph passes, then FP16, INT8 (calibrated QDQ) or
/// pruning on an ONNX model, the result written and re-measured — size,
/// FLOPs, latency per backend, Top-1/Top-5 before and after — and held to an
/// accuracy budget (INT8 layers are returned to FP32, most sensitive first,
/// until the budget holds).

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "inferlab/graph_passes.h"
#include "inferlab/quantize.h"
#include "inferlab/result.h"
#include "inferlab/run_rules.h"
#include "inferlab/zoo.h"

namespace inferlab {

/// What to do. Field names carry units.
struct OptimizeOptions {
  ResolvedModel model;      ///< must have an ONNX file
  std::string output_path;  ///< the .onnx to write; never the input file
  bool fp16 = false;
  bool fp16_io = false;
  bool int8 = false;
  std::optional<double> prune_sparsity;          ///< unstructured magnitude pruning, in (0, 1)
  std::optional<double> prune_channel_fraction;  ///< structured Conv channel pruning, in (0, 1)
  std::string finetune_dataset;  ///< fine-tune after pruning on this dataset ("digits:train"); empty: none
  std::string finetune_eval_dataset = "digits";  ///< held-out set of the per-epoch progress figure
  int finetune_epochs = 5;                       ///< epochs per fine-tuning step
  double finetune_lr = 5e-4;                     ///< AdamW peak learning rate (cosine decay to 0)
  int prune_steps = 1;            ///< gradual pruning: K prune -> fine-tune steps to the target (needs a finetune set)
  int train_seed = 0;             ///< seeds fine-tuning (batches, augmentation)
  std::string calib_dataset;      ///< --calib (needed by --int8)
  std::size_t calib_count = 512;  ///< calibration samples
  Calibrator calibrator = Calibrator::kAuto;
  double percentile = 99.99;
  int int8_weight_bits = 7;                 ///< 7 or 8: QuantizeOptions::weight_bits
  std::string eval_dataset;                 ///< accuracy before/after; empty: none measured
  std::optional<double> max_top1_drop_pts;  ///< the budget, in percentage points
  std::size_t eval_limit = 0;               ///< first N evaluation samples; 0: all
  std::size_t sensitivity_samples = 64;     ///< samples for the per-layer sensitivity (SQNR) runs
  bool measure_sensitivity = true;          ///< false: skip the SQNR runs (only without a budget)
  std::vector<std::string> backends{"opencv", "torch", "native"};  ///< measured before and after
  std::string calib_backend = "native";  ///< runs the FP32 model for calibration and sensitivity
  int threads = 1;
  bool measure_latency = true;
  RunSettings latency_run;  ///< run rules of the latency measurement
};

/// Per-layer INT8 quantization error, measured on the sensitivity samples.
struct LayerSensitivity {
  std::string node, op;
  double weight_sqnr_db = 0;  ///< of the weight alone
  double output_sqnr_db = 0;  ///< of the model's output when only this layer is quantized
  bool kept_fp32 = false;     ///< returned to FP32 by the accuracy gate
};

/// Accuracy of one backend before and after.
struct AccuracyChange {
  std::string backend;
  ResultStatus status = ResultStatus::kOk;  ///< of the optimized model
  std::string reason;
  std::optional<double> top1_before, top5_before, top1_after, top5_after;  ///< fractions
  std::optional<double> top1_drop_pts;                                     ///< (before - after) x 100
  std::string execution;  ///< which format ran, e.g. "ran the INT8 QDQ model"
};

/// Everything `inferlab optimize` reports.
struct OptimizeReport {
  std::string model, input_path, output_path;
  std::vector<std::string> steps;  ///< "passes", "fp16", "int8(entropy)", "prune 0.5", ...
  std::vector<PassReport> passes;
  std::int64_t size_bytes_before = 0, size_bytes_after = 0;
  std::int64_t flops_before = 0, flops_after = 0;  ///< per sample at batch 1
  std::int64_t parameters_before = 0, parameters_after = 0;
  double weight_sparsity_after = 0;  ///< fraction of zero Conv/Gemm/MatMul weights
  std::vector<QuantizedLayer> quantized_layers;
  std::vector<std::string> left_in_fp32;
  std::vector<LayerSensitivity> sensitivity;               ///< INT8 only
  std::vector<ActivationCalibration> calibration_choices;  ///< INT8 with --calibrator auto: one per activation
  std::vector<AccuracyChange> accuracy;
  std::vector<BenchResult> latency;  ///< batch 1, original and optimized interleaved per backend
  std::optional<double> max_top1_drop_pts;
  std::optional<bool> budget_held;  ///< null without a budget
  std::string calibration;          ///< e.g. "entropy over 512 samples of digits:train on native"
  std::string preprocess_source;    ///< where calibration/accuracy preprocessing came from (model_metadata.h)
  std::vector<std::string> notes;
  /// Fine-tuning, one object per prune -> fine-tune step as models/train.py
  /// returned it (sparsity, held-out top-1 before and per epoch, loss,
  /// seconds); null when nothing was trained.
  nlohmann::json training;
  double training_seconds = 0;   ///< wall time of all training steps
  std::string torchscript_path;  ///< the TorchScript file written beside output_path; empty: none
};

/// Progress lines for the user.
using OptimizeProgressFn = std::function<void(const std::string& line)>;

/// The checks run_optimize() makes before any work (flags, paths, the
/// output being writable and not the input); throws Error (kBadInput).
/// Lets a recipe check every step before the first one runs.
void check_optimize_options(const OptimizeOptions& options);

/// Runs the whole optimization and writes options.output_path (atomically,
/// only after every check that can fail has run). Throws Error (kBadInput)
/// for bad options (sparsity outside (0, 1), no --calib with --int8, the
/// output naming the input, a calibration set of the wrong input size, a
/// model failing the ONNX checker). A broken budget is reported in
/// budget_held, not thrown.
OptimizeReport run_optimize(const OptimizeOptions& options, const OptimizeProgressFn& progress);

/// The report as JSON (schema "inferlab.optimize/1").
nlohmann::json to_json(const OptimizeReport& report);
/// The report as terminal tables.
std::string render_optimize_report(const OptimizeReport& report);

}  // namespace inferlab
