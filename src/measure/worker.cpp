// The measuring side of a worker: load, prepare, validate-dump, warm up,
// measure, read memory. Runs inside the child process.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>

#include "inferlab/error.h"
#include "inferlab/files.h"
#include "inferlab/memory.h"
#include "inferlab/power.h"
#include "inferlab/registry.h"
#include "inferlab/worker.h"

namespace inferlab {

namespace {

using nlohmann::json;

constexpr double kBytesPerMb = 1024.0 * 1024.0;

json spec_to_json(const TensorSpec& t) {
  return json{{"name", t.name}, {"dtype", dtype_name(t.dtype)}, {"shape", t.shape}, {"layout", t.layout}};
}

TensorSpec spec_from_json(const json& j) {
  TensorSpec t;
  t.name = j.at("name").get<std::string>();
  t.dtype = dtype_from_name(j.at("dtype").get<std::string>());
  t.shape = j.at("shape").get<Shape>();
  t.layout = j.value("layout", "");
  return t;
}

void dump_outputs(const std::string& path, const std::vector<Tensor>& outputs) {
  std::string bytes;
  for (const auto& t : outputs) {
    if (t.dtype() != DType::kFloat32) continue;  // validation compares float outputs only
    bytes.append(static_cast<const char*>(t.data()), t.size_bytes());
  }
  write_file_atomically(path, bytes);
}

// The per-layer profile comes from extra runs after the measurement, so the
// profiler's clock reads never touch the measured latencies.
void record_profile(Session& session, const WorkerSpec& spec, const std::vector<const Tensor*>& inputs,
                    std::vector<Tensor*>& outputs, BenchResult& result) {
  if (!session.set_profiling(true)) {
    result.profile_unavailable = spec.backend + " has no per-layer profile in inferlab";
    return;
  }
  for (std::int64_t i = 0; i < spec.profile_runs; ++i) session.run(inputs, outputs);
  result.profile = session.profile();
  session.set_profiling(false);
}

}  // namespace

json to_json(const WorkerSpec& s) {
  json inputs = json::array(), outputs = json::array();
  for (const auto& t : s.model.inputs) inputs.push_back(spec_to_json(t));
  for (const auto& t : s.model.outputs) outputs.push_back(spec_to_json(t));
  return json{{"model",
               {{"name", s.model.name},
                {"format", model_format_name(s.model.format)},
                {"path", s.model.path},
                {"inputs", inputs},
                {"outputs", outputs}}},
              {"model_form", s.model_form},
              {"model_sha256", s.model_sha256},
              {"backend", s.backend},
              {"precision", s.precision},
              {"batch", s.batch},
              {"threads", s.threads},
              {"tactic_selection", s.tactic_selection},
              {"engine_options", s.engine_options},
              {"scenario", s.scenario},
              {"input_shapes", s.input_shapes},
              {"run",
               {{"warmup_count", s.run.warmup_count},
                {"warmup_min_duration_ms", s.run.warmup_min_duration_ms},
                {"min_duration_ms", s.run.min_duration_ms},
                {"min_count", s.run.min_count},
                {"max_duration_ms", s.run.max_duration_ms},
                {"target_ci", s.run.target_ci},
                {"target_ci_min_count", s.run.target_ci_min_count}}},
              {"output_dump_path", s.output_dump_path},
              {"raw_latencies_path", s.raw_latencies_path},
              {"input_seed", s.input_seed},
              {"profile_runs", s.profile_runs},
              {"serving", to_json(s.serving)}};
}

WorkerSpec worker_spec_from_json(const json& j) {
  try {
    WorkerSpec s;
    const json& m = j.at("model");
    s.model.name = m.at("name");
    s.model.format = model_format_from_name(m.at("format"));
    s.model.path = m.at("path");
    for (const auto& t : m.at("inputs")) s.model.inputs.push_back(spec_from_json(t));
    for (const auto& t : m.at("outputs")) s.model.outputs.push_back(spec_from_json(t));
    s.model_form = j.value("model_form", "");
    s.model_sha256 = j.value("model_sha256", "");
    s.backend = j.at("backend");
    s.precision = j.at("precision");
    s.batch = j.at("batch");
    s.threads = j.at("threads");
    s.tactic_selection = j.value("tactic_selection", true);
    s.engine_options = j.value("engine_options", std::map<std::string, std::string>{});
    s.scenario = j.at("scenario");
    s.input_shapes = j.at("input_shapes").get<std::vector<Shape>>();
    const json& r = j.at("run");
    s.run.warmup_count = r.at("warmup_count");
    s.run.warmup_min_duration_ms = r.at("warmup_min_duration_ms");
    s.run.min_duration_ms = r.at("min_duration_ms");
    s.run.min_count = r.at("min_count");
    s.run.max_duration_ms = r.at("max_duration_ms");
    s.run.target_ci = r.at("target_ci");
    s.run.target_ci_min_count = r.at("target_ci_min_count");
    s.output_dump_path = j.value("output_dump_path", "");
    s.raw_latencies_path = j.value("raw_latencies_path", "");
    s.input_seed = j.value("input_seed", std::uint64_t{20261124});
    s.profile_runs = j.value("profile_runs", std::int64_t{0});
    if (j.contains("serving")) s.serving = serving_settings_from_json(j.at("serving"));
    return s;
  } catch (const json::exception& e) {
    throw Error(std::string("malformed worker spec: ") + e.what(), ErrorKind::kRuntime);
  }
}

json worker_result_to_json(const BenchResult& row) {
  json j = to_json(row);
  j["latency_samples_ms"] = row.latency_samples_ms;
  if (row.profile) j["profile_timeline"] = to_json(*row.profile);
  return j;
}

BenchResult worker_result_from_json(const json& j) {
  BenchResult row = bench_result_from_json(j);
  try {
    row.latency_samples_ms = j.value("latency_samples_ms", std::vector<float>{});
  } catch (const json::exception& e) {
    throw Error(std::string("malformed worker result: ") + e.what(), ErrorKind::kRuntime);
  }
  if (auto it = j.find("profile_timeline"); it != j.end()) row.profile = session_profile_from_json(*it);
  return row;
}

BenchResult result_for(const WorkerSpec& spec) {
  BenchResult result;
  result.model = spec.model.name;
  result.model_sha256 = spec.model_sha256;
  result.backend = spec.backend;
  result.precision = spec.precision;
  result.batch = spec.batch;
  result.threads = spec.threads;
  result.scenario = spec.scenario;
  result.model_format = model_format_name(spec.model.format);
  result.model_form = spec.model_form;
  return result;
}

void fill_run_statistics(const WorkerSpec& spec, RunOutcome outcome, BenchResult& result) {
  result.count = static_cast<std::int64_t>(outcome.latencies_ms.size());
  result.duration_ms = outcome.duration_ms;
  result.stop_reason = stop_reason_name(outcome.stop_reason);
  result.invalid_reason = run_validity_problem(spec.run, outcome);
  result.valid = result.invalid_reason.empty();
  result.latency_samples_ms = strided_samples(outcome.latencies_ms, kMaxKeptLatencySamples);
  result.latency = compute_latency_stats(std::move(outcome.latencies_ms));
  result.throughput_per_s =
      outcome.duration_ms > 0 ? static_cast<double>(result.count * spec.batch) * 1000.0 / outcome.duration_ms : 0;
}

void record_energy(const EnergyMeter& meter, std::optional<std::uint64_t> start_uj, std::optional<std::uint64_t> end_uj,
                   const WorkerSpec& spec, BenchResult& result) {
  record_energy(meter, start_uj, end_uj, result.count * spec.batch, result);
}

void record_energy(const EnergyMeter& meter, std::optional<std::uint64_t> start_uj, std::optional<std::uint64_t> end_uj,
                   std::int64_t inferences, BenchResult& result) {
  const EnergyFigure figure = energy_figure(start_uj, end_uj, result.duration_ms / 1000.0, inferences);
  result.power_w_avg = figure.power_w_avg;
  result.energy_mj_per_inference = figure.energy_mj_per_inference;
  if (figure.power_w_avg) {
    result.energy_source = meter.source();
    result.power_note = meter.description();
  } else if (!meter.available()) {
    result.power_note = meter.reason();
  } else {
    result.power_note = "n/a: " + meter.description() + " gave no reading over the run (a sensor stopped answering)";
  }
}

SessionOptions session_options_for(const WorkerSpec& spec) {
  SessionOptions options;
  options.precision = precision_from_name(spec.precision);
  options.intra_op_threads = spec.threads;
  options.tactic_selection = spec.tactic_selection;
  options.engine_options = spec.engine_options;
  return options;
}

BenchResult measure_in_this_process(const WorkerSpec& spec) {
  if (spec.scenario == "server" || spec.scenario == "multi-stream") return measure_serving_in_this_process(spec);
  BenchResult result = result_for(spec);
  EnergyMeter energy;
  result.power_note = energy.description();
  try {
    const std::int64_t rss_start = current_rss_bytes();
    std::unique_ptr<Backend> backend = create_backend(spec.backend);
    result.backend_version = backend->version();
    result.threading = backend->threading_description(spec.threads);

    const SessionOptions options = session_options_for(spec);
    std::unique_ptr<Session> session = backend->load(spec.model, options);
    session->prepare(spec.input_shapes);
    result.timing_boundary = timing_boundary_name(session->timing_boundary());
    result.timed_region = session->timed_region_description();

    std::vector<Tensor> inputs;
    std::vector<const Tensor*> input_ptrs;
    for (std::size_t i = 0; i < spec.input_shapes.size(); ++i) {
      inputs.emplace_back(DType::kFloat32, spec.input_shapes[i]);
      fill_seeded_uniform(inputs.back(), spec.input_seed + i);
    }
    for (const auto& t : inputs) input_ptrs.push_back(&t);
    std::vector<Tensor> outputs;
    std::vector<Tensor*> output_ptrs;
    for (const auto& o : session->output_specs()) outputs.emplace_back(o.dtype, o.shape);
    for (auto& t : outputs) output_ptrs.push_back(&t);
    const std::int64_t rss_loaded = current_rss_bytes();

    // The first call doubles as the validation sample: every backend sees the
    // same seeded input bytes, so their outputs are directly comparable.
    session->run(input_ptrs, output_ptrs);
    if (!spec.output_dump_path.empty()) dump_outputs(spec.output_dump_path, outputs);

    std::unique_ptr<std::ofstream> raw;
    SampleSink sink;
    if (!spec.raw_latencies_path.empty()) {
      raw = std::make_unique<std::ofstream>(spec.raw_latencies_path, std::ios::trunc);
      if (!*raw) throw Error(spec.raw_latencies_path + ": cannot write raw latencies");
      sink = [&](std::int64_t index, double latency_ms) { *raw << index << ',' << latency_ms << '\n'; };
    }

    const auto energy_start = energy.read_energy_uj();
    RunOutcome outcome = run_measured(
        spec.run, [&] { session->run(input_ptrs, output_ptrs); }, sink);
    const auto energy_end = energy.read_energy_uj();
    if (raw) raw->flush();

    const std::int64_t rss_end = current_rss_bytes();
    fill_run_statistics(spec, std::move(outcome), result);
    result.memory = MemoryResult{static_cast<double>(peak_rss_bytes()) / kBytesPerMb,
                                 static_cast<double>(rss_loaded - rss_start) / kBytesPerMb,
                                 static_cast<double>(rss_end - rss_loaded) / kBytesPerMb};
    record_energy(energy, energy_start, energy_end, spec, result);
    if (spec.profile_runs > 0) record_profile(*session, spec, input_ptrs, output_ptrs, result);
    result.status = ResultStatus::kOk;
  } catch (const std::exception& e) {
    result.status = ResultStatus::kFailed;
    result.reason = e.what();
  }
  return result;
}

}  // namespace inferlab
