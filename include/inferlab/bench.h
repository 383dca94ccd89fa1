#pragma once
/// @file bench.h
/// The bench orchestrator: models x backends x precisions x batches, each
/// configuration measured in a fresh child process, outputs validated against
/// a reference backend, and the batch sweep for maximum throughput.

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "inferlab/result.h"
#include "inferlab/run_rules.h"
#include "inferlab/serving.h"
#include "inferlab/sweep.h"
#include "inferlab/zoo.h"

namespace inferlab {

/// What to measure. Field names carry units.
struct BenchOptions {
  std::vector<ResolvedModel> models;
  std::vector<std::string> backends;  ///< in order; the first is the default reference
  std::vector<std::string> precisions{"fp32"};
  std::vector<std::int64_t> batches{1};  ///< fixed batches, measured first (may be empty with batch_sweep)
  bool batch_sweep = false;              ///< then an offline sweep for maximum throughput
  int threads = 1;
  bool tactic_selection = true;                       ///< SessionOptions::tactic_selection for every session
  std::map<std::string, std::string> engine_options;  ///< SessionOptions::engine_options for every session
  std::string scenario = "single-stream";
  RunSettings run;
  SweepSettings sweep;
  std::string reference;       ///< empty: the first backend
  double tolerance = 1e-3;     ///< max |diff| relative to max(1, max |reference|)
  double min_cosine = 0.9999;  ///< ... and cosine at least this
  /// bf16 rows are held to the looser of these and the two above: bfloat16
  /// keeps 8 significant bits (up to 2^-9 relative per rounding of weights
  /// and activations, compounded over the layers), so the fp32 bounds would
  /// flag every bf16 row. Measured against native fp32 (docs/native.md):
  /// max |diff| 0.3% of max |reference| on a 4-layer CNN, 0.5-0.7% on
  /// resnet152's 155 layers; cosine >= 0.99998 on all of them. A wrong
  /// kernel is off by far more (oneDNN's gemm bf16 residual: 7-10%, cosine
  /// 0.91 on resnet18).
  double bf16_tolerance = 0.05;
  double bf16_min_cosine = 0.999;
  std::map<std::string, Shape> shape_overrides;  ///< input name -> shape (batch included)
  std::string raw_latencies_path;                ///< CSV of every sample; empty: none
  double worker_timeout_s = 600;
  /// Model name -> a QDQ INT8 ONNX file (made by `bench --calib`): int8 rows of
  /// backends that read ONNX run it instead of the model's own ONNX file.
  std::map<std::string, std::string> int8_onnx_paths;
  std::string int8_onnx_form;     ///< how those files were made, shown as their model form
  std::int64_t profile_runs = 0;  ///< > 0: this many profiled runs after each measurement (`--profile`)
  /// Scenarios server and multi-stream: the load and the batcher; each entry
  /// of `batches` is then the batcher's max_batch (one row each).
  ServingSettings serving;
};

/// Receives each result row as soon as its configuration finishes (`row_index`
/// is its index in run_bench()'s return value), and again for rows that the
/// reference validation or the batch sweep completes later; a later call for
/// the same index replaces the earlier row. Called on run_bench()'s thread;
/// an exception it throws ends run_bench() with that exception.
using RowSink = std::function<void(std::size_t row_index, const BenchResult& row)>;

/// Progress lines for the user ("mobilenet_v2 x torch batch 1: 5.2 ms").
using ProgressFn = std::function<void(const std::string& line)>;

/// Input shapes for `model` at `batch`: declared dims with the batch
/// substituted, or `shape_overrides`. Throws Error (kBadInput) naming the
/// model and input when a dimension stays unknown or the dtype cannot be fed.
std::vector<Shape> input_shapes_for(const ResolvedModel& model, std::int64_t batch,
                                    const std::map<std::string, Shape>& shape_overrides);

/// How `model` exists in `format`, for results: the manifest's TorchScript
/// form (e.g. "frozen TorchScript ..."), "ONNX", or "none".
std::string describe_model_form(const ResolvedModel& model, ModelFormat format);

/// Whether `backend` can run `model` at `precision`: no when the model has
/// no file in the backend's format, else the backend's own supports().
SupportAnswer model_support(const Backend& backend, const ResolvedModel& model, const std::string& precision);

/// BenchOptions that check_bench_options() accepted: checked once, so a
/// caller can check them before its own slow work (opening a store,
/// quantizing) and run_bench() need not check them again. Value type.
class CheckedBenchOptions {
 public:
  const BenchOptions& options() const { return options_; }
  /// `bench --calib`: the QDQ INT8 ONNX file made for each model and how it
  /// was made (BenchOptions::int8_onnx_paths, int8_onnx_form).
  void set_int8_models(std::map<std::string, std::string> paths, std::string form);

 private:
  friend CheckedBenchOptions check_bench_options(BenchOptions options);
  explicit CheckedBenchOptions(BenchOptions options) : options_(std::move(options)) {}
  BenchOptions options_;
};

/// Checks what needs no model file read and no backend asked: backends
/// given, run settings (validate_run_settings), each model's input shapes at
/// its first batches. Throws Error (kBadInput) naming the flag or input.
CheckedBenchOptions check_bench_options(BenchOptions options);

/// Runs the whole plan. Each requested backend is created once in this
/// process (shared_backend) and asked supports() once per model x
/// precision; every configuration is then measured by a worker process
/// that returns its row whole. Rows for failed/unsupported pairs are kept,
/// with their reason; the sweep continues past them. Throws Error
/// (kBadInput) only for problems found before any measurement (e.g. no
/// requested backend can run a model at all).
std::vector<BenchResult> run_bench(const CheckedBenchOptions& options, const ProgressFn& progress,
                                   const RowSink& on_row = {});
/// check_bench_options(), then the above.
std::vector<BenchResult> run_bench(const BenchOptions& options, const ProgressFn& progress, const RowSink& on_row = {});

/// The backend whose outputs are the reference: `reference`, else the first
/// requested backend other than null.
std::string reference_backend(const BenchOptions& options);

/// Compares two output dumps (float32). Sets max_abs_diff, cosine.
ValidationResult compare_outputs(const std::vector<float>& reference, const std::vector<float>& candidate,
                                 const std::string& reference_name, double tolerance, double min_cosine);

}  // namespace inferlab
