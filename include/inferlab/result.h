#pragma once
/// @file result.h
/// One measured configuration (model x backend x precision x batch x threads
/// x scenario) and the bench document, with JSON conversion (CLI.md schema
/// "inferlab.bench/1").

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "inferlab/environment.h"
#include "inferlab/stats.h"

namespace inferlab {

/// Output agreement against the reference backend.
struct ValidationResult {
  std::string reference;  ///< reference backend name
  double max_abs_diff = 0;
  double cosine = 0;
  bool within_tolerance = true;
  double tolerance = 0;  ///< max-abs-diff tolerance applied
};

/// Memory of the measuring (child) process, in MiB.
struct MemoryResult {
  double peak_rss_mb = 0;    ///< VmHWM at the end of the run
  double load_delta_mb = 0;  ///< RSS after load+prepare minus before
  double run_delta_mb = 0;   ///< RSS growth during the measured run
};

/// One row of results.
struct BenchResult {
  std::string model, backend, backend_version, precision, scenario;
  std::int64_t batch = 1;
  int threads = 1;
  std::string status = "ok";  ///< "ok" | "failed" | "unsupported"
  std::string reason;
  std::optional<LatencyStats> latency;
  double throughput_per_s = 0;  ///< samples (images) per second
  std::int64_t count = 0;       ///< measured iterations
  double duration_ms = 0;
  std::optional<MemoryResult> memory;
  std::optional<double> power_w_avg;  ///< null: no sensor (never estimated)
  std::optional<double> energy_mj_per_inference;
  std::optional<ValidationResult> validation;
  std::string timing_boundary;  ///< "compute-only" | "with-copies" | "end-to-end"
  std::string timed_region;     ///< the timed region in words
  std::string model_format;     ///< "onnx" | "torchscript" | "none"
  std::string model_form;       ///< e.g. "frozen TorchScript (optimize_for_inference)"
  std::string stop_reason;
  std::string threading;    ///< how the engine was configured
  std::string power_note;   ///< e.g. "n/a: no powercap/hwmon sensor"
  bool sweep_best = false;  ///< this row is the sweep's maximum-throughput point
  std::string sweep_stop;   ///< why the sweep ended (on the best row)
};

nlohmann::json to_json(const LatencyStats& stats);
nlohmann::json to_json(const BenchResult& result);
/// Parses a result written by to_json(); throws Error on a malformed document.
BenchResult bench_result_from_json(const nlohmann::json& json);
nlohmann::json to_json(const Environment& env);

/// The whole document: {schema, env, results}.
nlohmann::json bench_document(const Environment& env, const std::vector<BenchResult>& results);

}  // namespace inferlab
