// The server and multi-stream scenarios inside a worker process: K engine
// instances behind the dynamic batcher, driven by the load generator.
#include <fstream>
#include <future>
#include <memory>

#include "inferlab/error.h"
#include "inferlab/files.h"
#include "inferlab/loadgen.h"
#include "inferlab/memory.h"
#include "inferlab/power.h"
#include "inferlab/registry.h"
#include "inferlab/worker.h"

namespace inferlab {

namespace {

constexpr double kBytesPerMb = 1024.0 * 1024.0;

// The outputs of one request carrying the whole seeded batch, as a
// single-stream worker at that batch would dump them, so the bench's
// validation compares this row with the reference like any other.
void dump_batch_outputs(DynamicBatcher& batcher, const WorkerSpec& spec) {
  std::vector<Tensor> inputs;
  BatchRequest request;
  for (std::size_t i = 0; i < spec.input_shapes.size(); ++i) {
    inputs.emplace_back(DType::kFloat32, spec.input_shapes[i]);
    fill_seeded_uniform(inputs.back(), spec.input_seed + i);
    request.inputs.push_back(&inputs.back());
  }
  request.samples = spec.input_shapes.at(0).at(0);
  std::promise<BatchReply> promise;
  auto future = promise.get_future();
  request.done = [&promise](BatchReply&& reply) { promise.set_value(std::move(reply)); };
  if (!batcher.submit(std::move(request)))
    throw Error("the batcher refused the validation request", ErrorKind::kRuntime);
  BatchReply reply = future.get();
  if (!reply.error.empty()) throw Error(reply.error, ErrorKind::kRuntime);
  std::string bytes;
  for (const Tensor& t : reply.outputs) {
    if (t.dtype() == DType::kFloat32) bytes.append(static_cast<const char*>(t.data()), t.size_bytes());
  }
  write_file_atomically(spec.output_dump_path, bytes);
}

}  // namespace

BenchResult measure_serving_in_this_process(const WorkerSpec& spec) {
  BenchResult result = result_for(spec);
  EnergyMeter energy;
  result.power_note = energy.description();
  try {
    const ServingSettings& settings = spec.serving;
    validate_serving_settings(settings, spec.scenario);
    const std::int64_t rss_start = current_rss_bytes();
    std::unique_ptr<Backend> backend = create_backend(spec.backend);
    result.backend_version = backend->version();
    result.threading = backend->threading_description(spec.threads);
    const SessionOptions options = session_options_for(spec);

    std::vector<Shape> sample_shapes = spec.input_shapes;
    for (Shape& s : sample_shapes) s.at(0) = 1;
    DynamicBatcher batcher([&] { return backend->load(spec.model, options); }, sample_shapes, settings.batcher,
                           std::max<std::int64_t>(1, spec.run.warmup_count));
    result.timing_boundary = timing_boundary_name(TimingBoundary::kEndToEnd);
    result.timed_region =
        "from each query's scheduled arrival to its completion: the batcher's queue, gathering "
        "the batch, the engine (" +
        batcher.timed_region() + ") and scattering the outputs";
    if (!spec.output_dump_path.empty()) dump_batch_outputs(batcher, spec);

    std::vector<Tensor> sample;
    for (std::size_t i = 0; i < sample_shapes.size(); ++i) {
      sample.emplace_back(DType::kFloat32, sample_shapes[i]);
      fill_seeded_uniform(sample.back(), spec.input_seed + i);
    }
    const std::int64_t rss_loaded = current_rss_bytes();
    BatcherTarget target(batcher, sample);
    const std::int64_t b = settings.batcher.max_batch;
    const double batch_ms = batcher.warmup_engine_ms(b);
    const double capacity_qps =
        batch_ms > 0 ? static_cast<double>(settings.batcher.instances * b) * 1000.0 / batch_ms : 0;

    ServingResult serving;
    const auto energy_start = energy.read_energy_uj();
    LoadRun run = spec.scenario == "server"
                      ? run_server_scenario(target, settings, spec.run, 0.8 * capacity_qps, serving)
                      : run_multi_stream_scenario(target, settings, spec.run, serving);
    const auto energy_end = energy.read_energy_uj();
    serving.max_batch = b;
    serving.max_queue_delay_us = settings.batcher.max_queue_delay_us;
    serving.instances = settings.batcher.instances;
    serving.batch_shapes = batch_shapes_name(settings.batcher.batch_shapes);
    serving.batching = batcher.describe();
    batcher.stop();

    if (!spec.raw_latencies_path.empty()) {
      std::ofstream raw(spec.raw_latencies_path, std::ios::trunc);
      for (std::size_t i = 0; i < run.latencies_ms.size(); ++i) raw << i << ',' << run.latencies_ms[i] << '\n';
    }
    if (run.latencies_ms.empty()) {
      throw Error("no query completed at " + std::to_string(serving.target_qps) + " QPS (" +
                      std::to_string(serving.dropped) + " dropped, " + std::to_string(serving.cancelled) +
                      " cancelled): the engine is overloaded or failing",
                  ErrorKind::kRuntime);
    }
    RunOutcome outcome;
    outcome.latencies_ms = run.latencies_ms;
    outcome.duration_ms = run.duration_ms;
    outcome.warmup_iterations = std::max<std::int64_t>(1, spec.run.warmup_count);
    outcome.stop_reason = run.stop_reason;
    const double achieved = serving.achieved_qps;
    const std::int64_t samples = serving.completed * serving.samples_per_query;
    fill_run_statistics(spec, std::move(outcome), result);
    result.throughput_per_s = achieved * static_cast<double>(serving.samples_per_query);
    const std::int64_t rss_end = current_rss_bytes();
    result.memory = MemoryResult{static_cast<double>(peak_rss_bytes()) / kBytesPerMb,
                                 static_cast<double>(rss_loaded - rss_start) / kBytesPerMb,
                                 static_cast<double>(rss_end - rss_loaded) / kBytesPerMb};
    // Under --find-max-qps the meter spans every probe, not the reported one.
    if (!settings.find_max_qps) {
      record_energy(energy, energy_start, energy_end, samples, result);
    } else if (energy.available()) {
      result.power_note = "n/a under --find-max-qps: the readings span every probe, not the reported run";
    } else {
      result.power_note = energy.reason();
    }
    result.serving = std::move(serving);
    if (spec.profile_runs > 0)
      result.profile_unavailable = "--scenario " + spec.scenario + " has no per-layer profile in inferlab";
    result.status = ResultStatus::kOk;
  } catch (const std::exception& e) {
    result.status = ResultStatus::kFailed;
    result.reason = e.what();
  }
  return result;
}

}  // namespace inferlab
