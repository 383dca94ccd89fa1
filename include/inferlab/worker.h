#pragma once
/// @file worker.h
/// One configuration (model x backend x precision x batch) measured in its
/// own child process, so one engine's allocations never pollute another's
/// memory figures and a crashing engine cannot take the sweep down.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "inferlab/backend.h"
#include "inferlab/result.h"
#include "inferlab/run_rules.h"
#include "inferlab/serving.h"

namespace inferlab {

/// Everything a worker needs to produce its row whole; travels to the child
/// as JSON.
struct WorkerSpec {
  ModelSource model;         ///< file and declared I/O for this backend's format; model.name names the row
  std::string model_form;    ///< e.g. "frozen TorchScript", shown in results
  std::string model_sha256;  ///< sha256 (hex) of the model's ONNX file, for the row; empty when unknown
  std::string backend;
  std::string precision = "fp32";
  std::int64_t batch = 1;
  int threads = 1;
  bool tactic_selection = true;                       ///< SessionOptions::tactic_selection
  std::map<std::string, std::string> engine_options;  ///< SessionOptions::engine_options
  std::string scenario = "single-stream";
  std::vector<Shape> input_shapes;  ///< batch already substituted
  RunSettings run;
  std::string output_dump_path;    ///< where to write the outputs of the seeded input (float32, raw)
  std::string raw_latencies_path;  ///< empty: do not stream samples
  std::uint64_t input_seed = 20261124;
  /// > 0: this many profiled runs after the measurement, into the row's
  /// profile (or profile_unavailable); 0: no profile.
  std::int64_t profile_runs = 0;
  /// Scenarios "server" and "multi-stream": the load and the batcher
  /// (batcher.max_batch equals `batch`; input_shapes are at that batch).
  ServingSettings serving;
};

nlohmann::json to_json(const WorkerSpec& spec);
/// Throws Error on a malformed spec.
WorkerSpec worker_spec_from_json(const nlohmann::json& json);

/// The worker's result file: the row as to_json() writes it, plus what the
/// bench document leaves out (latency_samples_ms, the profile's timeline),
/// so the row the parent reads back is the row the worker made.
nlohmann::json worker_result_to_json(const BenchResult& row);
/// The inverse of worker_result_to_json(); throws Error when malformed.
BenchResult worker_result_from_json(const nlohmann::json& json);

/// A result carrying `spec`'s identity (model, model_sha256, backend,
/// precision, batch, threads, scenario, format) and nothing measured yet.
BenchResult result_for(const WorkerSpec& spec);

/// Fills `result`'s count, duration, stop reason, validity verdict, latency
/// statistics, throughput and kept raw samples (latency_samples_ms,
/// strided_samples()) from a measured run. Shared by every worker kind, so
/// the statistics are computed by one piece of code.
void fill_run_statistics(const WorkerSpec& spec, RunOutcome outcome, BenchResult& result);

/// Fills `result`'s power_w_avg, energy_mj_per_inference and energy_source
/// from two EnergyMeter readings around the measured run (call after
/// fill_run_statistics: it needs count and duration_ms), and power_note with
/// the sensor or the n/a reason. Leaves the figures null when either reading
/// is missing: never an estimate. Shared by every worker kind.
void record_energy(const EnergyMeter& meter, std::optional<std::uint64_t> start_uj, std::optional<std::uint64_t> end_uj,
                   const WorkerSpec& spec, BenchResult& result);
/// The same for a run of `inferences` samples (the serving scenarios, whose
/// samples are not count x batch).
void record_energy(const EnergyMeter& meter, std::optional<std::uint64_t> start_uj, std::optional<std::uint64_t> end_uj,
                   std::int64_t inferences, BenchResult& result);

/// The session options `spec` asks for (precision, threads, tactics, engine options).
SessionOptions session_options_for(const WorkerSpec& spec);

/// Measures `spec` in this process and returns the result (status "failed"
/// with the engine's message when it throws). Used by the hidden `_worker` verb.
BenchResult measure_in_this_process(const WorkerSpec& spec);

/// The server or multi-stream scenario of `spec` in this process: the
/// sessions behind a DynamicBatcher driven by the load generator
/// (loadgen.h); the result carries `serving`. Called by
/// measure_in_this_process() for those scenarios.
BenchResult measure_serving_in_this_process(const WorkerSpec& spec);

/// Runs `spec` in a child process, the backend's worker executable
/// (worker_executable_for), and returns its result. A child that crashes, is
/// killed by a signal or passes `timeout_s` becomes a "failed" result whose
/// reason says so, with the last line the child printed. `scratch_dir` holds
/// the spec, result and log files.
BenchResult measure_in_child_process(const WorkerSpec& spec, const std::string& scratch_dir, double timeout_s);

/// The worker executable for `backend`: inferlab-worker-<backend> in
/// $INFERLAB_WORKER_DIR, else beside the running executable.
std::string worker_executable_for(const std::string& backend);

/// The path of the running executable (/proc/self/exe).
std::string current_executable_path();

}  // namespace inferlab
