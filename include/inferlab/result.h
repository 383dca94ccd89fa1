#pragma once
/// @file result.h
/// One measured configuration (model x backend x precision x batch x threads
/// x scenario) and the bench document, with JSON conversion (CLI.md schema
/// "inferlab.bench/1").

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "inferlab/environment.h"
#include "inferlab/power.h"
#include "inferlab/profile.h"
#include "inferlab/serving.h"
#include "inferlab/stats.h"

namespace inferlab {

/// How a row ended. Written as "ok" | "failed" | "unsupported" (JSON, the
/// store's status column, CSV, text); result_status_name() and
/// result_status_from_name() are the only conversions.
enum class ResultStatus {
  kOk,           ///< measured
  kFailed,       ///< the engine or the worker failed; `reason` says how
  kUnsupported,  ///< the backend cannot run this model x precision; `reason` says why
};

/// "ok", "failed" or "unsupported".
const char* result_status_name(ResultStatus status);
/// The inverse of result_status_name(); throws Error (kBadInput) for anything else.
ResultStatus result_status_from_name(std::string_view name);

/// Output agreement against the reference backend.
struct ValidationResult {
  std::string reference;  ///< reference backend name
  double max_abs_diff = 0;
  double cosine = 0;
  bool within_tolerance = true;
  double tolerance = 0;  ///< max-abs-diff tolerance applied
  bool operator==(const ValidationResult&) const = default;
};

/// Memory of the measuring (child) process, in MiB.
struct MemoryResult {
  double peak_rss_mb = 0;    ///< VmHWM at the end of the run
  double load_delta_mb = 0;  ///< RSS after load+prepare minus before
  double run_delta_mb = 0;   ///< RSS growth during the measured run
  bool operator==(const MemoryResult&) const = default;
};

/// What the batch loader did while one accuracy row ran.
struct LoaderResult {
  int threads = 0;
  double samples_per_s = 0;     ///< decode + preprocess capacity: samples x threads / busy time
  double busy_ms = 0;           ///< decode + preprocess time summed over loader threads
  double consumer_wait_ms = 0;  ///< inference waited this long for data
  bool operator==(const LoaderResult&) const = default;
};

/// Accuracy of one backend x precision on a labelled dataset (`inferlab accuracy`).
struct AccuracyFields {
  std::string dataset;                   ///< e.g. "digits:test"
  std::string preprocess;                ///< Preprocess::describe() of what every sample went through
  std::string preprocess_source;         ///< "manifest" | "file metadata" | "guessed from input shape" (or overridden)
  std::int64_t samples = 0;              ///< samples evaluated
  std::int64_t corrupt_skipped = 0;      ///< samples skipped because they would not decode
  double top1 = 0;                       ///< fraction in [0, 1]
  double top5 = 0;                       ///< fraction in [0, 1] (top-k with k = min(5, classes))
  std::optional<double> agreement_top1;  ///< fraction of samples whose top-1 equals the reference row's
  std::string agreement_reference;       ///< e.g. "opencv fp32"
  std::int64_t misclassified = 0;
  std::string contact_sheet;  ///< PNG of the first misclassified samples; empty: none written
  LoaderResult loader;
  double inference_samples_per_s = 0;  ///< samples / time inside Session::run()
  double wall_s = 0;                   ///< the whole pass, loading included
  bool operator==(const AccuracyFields&) const = default;
};

/// Heart-rate accuracy of one rPPG method on one clip or a whole set
/// (`inferlab rppg-eval`), against ground truth read every second.
struct HeartRateFields {
  std::string set;                   ///< "synthetic" or "ubfc:DIR"
  std::string clip;                  ///< the clip's name, or "all" for the method pooled over the set
  std::int64_t readings = 0;         ///< readings compared with ground truth
  std::int64_t unavailable = 0;      ///< readings the method could not give
  double mae_bpm = 0, rmse_bpm = 0;  ///< beats per minute
  double mape_pct = 0;               ///< percent
  std::optional<double> pearson;     ///< null with fewer than 3 readings or no spread
  bool operator==(const HeartRateFields&) const = default;
};

/// One timed stage of a live run, as the results store keeps it. Milliseconds.
struct LiveStageFields {
  std::string stage;                          ///< "capture", "face_detect", ..., "end_to_end"
  std::int64_t count = 0;                     ///< timings recorded
  double mean_ms = 0;                         ///< exact
  double p50_ms = 0, p90_ms = 0, p99_ms = 0;  ///< histogram percentiles (see LiveFields::percentiles)
  double max_ms = 0;                          ///< exact
  bool operator==(const LiveStageFields&) const = default;
};

/// A backend switch during a live run.
struct LiveSwitchFields {
  double at_s = 0;  ///< seconds since the start when it was requested
  std::string from, to;
  double switch_ms = 0;  ///< request until the first frame served by `to`
  std::string error;     ///< non-empty when it failed (the old backend kept serving)
  bool operator==(const LiveSwitchFields&) const = default;
};

/// What `inferlab live` measured in one run (one backend under --compare).
/// The stage figures span the whole run: after a switch they mix backends
/// (the row's backend then names each one, "opencv>torch").
struct LiveFields {
  std::string method;  ///< "pos", "chrom", "green", "neural"
  std::string source;  ///< the frame source as described by the pipeline
  bool paced = true;   ///< frames delivered at the source's rate (false: --pace max)
  std::int64_t frames = 0, frames_captured = 0, dropped_frames = 0;
  double duration_s = 0, fps_avg = 0;
  std::optional<double> bpm_median;         ///< null: no reading in the run
  std::optional<double> bpm_mae, bpm_rmse;  ///< against ground truth; null when the source has none
  double rss_mb_avg = 0, rss_mb_max = 0;    ///< RSS sampled every 250 ms, in MB (10^6 bytes)
  double peak_rss_mb = 0;                   ///< the process's peak RSS (VmHWM), in MB
  std::string percentiles;                  ///< how p50/p90/p99 were obtained, in words
  double histogram_bin_width_pct = 0;       ///< relative width of the histogram's bins (0: exact percentiles)
  std::vector<LiveStageFields> stages;      ///< in pipeline order
  std::vector<LiveSwitchFields> switches;
  bool operator==(const LiveFields&) const = default;
};

/// One row of results. Its fields are listed once, in the field table
/// (src/measure/result_fields.h), which the JSON writer and parser, the
/// store's columns and the CSV export all walk. Value type.
struct BenchResult {
  std::string model, backend, backend_version, precision, scenario;
  std::int64_t batch = 1;
  int threads = 1;
  ResultStatus status = ResultStatus::kOk;
  std::string reason;
  std::optional<LatencyStats> latency;
  double throughput_per_s = 0;  ///< samples (images) per second
  std::int64_t count = 0;       ///< measured iterations
  double duration_ms = 0;
  std::optional<MemoryResult> memory;
  std::optional<double> power_w_avg;              ///< null: no sensor (never estimated)
  std::optional<double> energy_mj_per_inference;  ///< millijoules per sample; null: no sensor
  /// The sensor and method (counter or sampled) behind power_w_avg; null with it.
  std::optional<EnergySource> energy_source;
  std::optional<ValidationResult> validation;
  std::string timing_boundary;  ///< "compute-only" | "with-copies" | "end-to-end"
  std::string timed_region;     ///< the timed region in words
  std::string model_format;     ///< "onnx" | "torchscript" | "none"
  std::string model_form;       ///< e.g. "frozen TorchScript (optimize_for_inference)"
  std::string stop_reason;
  /// LoadGen's validity verdict: false when --max-duration-ms stopped the run
  /// before --min-count and --min-duration-ms were met; `invalid_reason` says how.
  bool valid = true;
  std::string invalid_reason;
  std::string model_sha256;  ///< sha256 (hex) of the model's ONNX file; empty when unknown
  /// Raw latencies in ms, evenly strided down to at most kMaxKeptLatencySamples
  /// (stats.h) so a store row stays small; for `compare`'s rank test. Not part
  /// of the JSON document (empty unless the bench orchestrator filled it).
  std::vector<float> latency_samples_ms;
  std::string threading;                      ///< how the engine was configured
  std::string power_note;                     ///< the sensor used, or "n/a: <reason>" naming what was looked for
  bool sweep_best = false;                    ///< this row is the sweep's maximum-throughput point
  std::string sweep_stop;                     ///< why the sweep ended (on the best row)
  std::optional<AccuracyFields> accuracy;     ///< set by `inferlab accuracy`
  std::optional<HeartRateFields> heart_rate;  ///< set by `inferlab rppg-eval`
  std::optional<LiveFields> live;             ///< set by `inferlab live` (scenario "live")
  std::optional<SessionProfile> profile;      ///< set by `bench --profile` where the backend has one
  std::string profile_unavailable;            ///< under --profile: why this row has no profile
  std::string profile_trace_path;             ///< under --profile: the Chrome trace written for this row
  std::optional<ServingResult> serving;       ///< scenarios server and multi-stream (serving.h)

  bool ok() const { return status == ResultStatus::kOk; }
  bool operator==(const BenchResult&) const = default;
};

/// What identifies a measured configuration across runs: the key `compare`
/// matches rows on and `recommend` keeps the newest row of. Value type.
struct ConfigurationId {
  std::string model, backend, precision, scenario;
  std::int64_t batch = 1;
  int threads = 1;
  auto operator<=>(const ConfigurationId&) const = default;
};

/// `row`'s configuration.
inline ConfigurationId configuration_of(const BenchResult& row) {
  return {row.model, row.backend, row.precision, row.scenario, row.batch, row.threads};
}

nlohmann::json to_json(const LatencyStats& stats);
/// The row as the bench document holds it (CLI.md). Leaves out
/// latency_samples_ms and the profile's timeline (events).
nlohmann::json to_json(const BenchResult& result);
/// Parses a result written by to_json(); throws Error on a malformed document.
BenchResult bench_result_from_json(const nlohmann::json& json);

/// One scalar of a row's flat views: absent (SQL NULL, an empty CSV cell), a
/// flag, an integer, a number or text.
using FlatValue = std::variant<std::monostate, bool, std::int64_t, double, std::string>;

/// One named cell of a flat view; `column` points into the field table
/// (static storage).
struct FlatCell {
  std::string_view column;
  FlatValue value;
};

/// The results store's query columns of `row`, in the field table's order
/// (the store keeps the row's whole JSON beside them). A group the row lacks
/// (latency, memory, accuracy) gives absent values; the names never change,
/// so store_columns(BenchResult{}) lists them.
std::vector<FlatCell> store_columns(const BenchResult& row);
/// The CSV export's columns of `row` (render_csv()), in the field table's
/// order; the same rules as store_columns().
std::vector<FlatCell> csv_columns(const BenchResult& row);
nlohmann::json to_json(const Environment& env);
/// A live row's figures as the "live" object of to_json(BenchResult).
nlohmann::json to_json(const LiveFields& live);
/// The inverse of to_json(const LiveFields&); throws Error on a malformed object.
LiveFields live_fields_from_json(const nlohmann::json& json);

/// The whole document: {schema, env, results}.
nlohmann::json bench_document(const Environment& env, const std::vector<BenchResult>& results);

}  // namespace inferlab
