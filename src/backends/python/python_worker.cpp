// The C++ half of a Python-worker backend: starts the framework's Python
// process, drives it under the run rules and turns what it reports into a
// BenchResult with the same statistics code as every other backend.

#include <fstream>
#include <memory>

#include "inferlab/error.h"
#include "inferlab/files.h"
#include "inferlab/memory.h"
#include "inferlab/power.h"
#include "inferlab/python_worker.h"
#include "inferlab/stats.h"
#include "python_channel.h"

namespace inferlab {

namespace {

using nlohmann::json;

constexpr double kBytesPerMb = 1024.0 * 1024.0;

// Thrown when the Python process reports an error event or goes away.
struct WorkerStopped {
  ResultStatus status;  // unsupported or failed
  std::string reason;
};

class PythonDriver {
 public:
  PythonDriver(PythonChannel& channel, std::string log_path, std::string backend)
      : channel_(channel), log_path_(std::move(log_path)), backend_(std::move(backend)) {}

  std::string line() {
    std::string text;
    if (!channel_.read_line(text)) died();
    return text;
  }

  // The next JSON event, which must be `expected` (an error event or a dead
  // process becomes WorkerStopped).
  json event(const std::string& expected) {
    const std::string text = line();
    json j;
    try {
      j = json::parse(text);
    } catch (const json::exception&) {
      throw WorkerStopped{ResultStatus::kFailed,
                          "the " + backend_ + " Python worker sent an unreadable reply: " + text};
    }
    if (j.value("event", "") == "error")
      throw WorkerStopped{
          j.value("kind", "failed") == "unsupported" ? ResultStatus::kUnsupported : ResultStatus::kFailed,
          j.value("message", "unknown error")};
    if (j.value("event", "") != expected)
      throw WorkerStopped{ResultStatus::kFailed,
                          "the " + backend_ + " Python worker sent '" + text + "', expected " + expected};
    return j;
  }

  double timed_iteration() {
    channel_.send("R");
    const std::string text = line();
    try {
      return std::stod(text);
    } catch (const std::exception&) {
      throw WorkerStopped{ResultStatus::kFailed,
                          "the " + backend_ + " Python worker sent '" + text + "', expected a latency"};
    }
  }

  [[noreturn]] void died() {
    throw WorkerStopped{ResultStatus::kFailed, describe_worker_end(backend_, channel_.finish(), log_path_)};
  }

 private:
  PythonChannel& channel_;
  std::string log_path_;
  std::string backend_;
};

std::unique_ptr<std::ofstream> open_raw(const std::string& path) {
  if (path.empty()) return nullptr;
  auto raw = std::make_unique<std::ofstream>(path, std::ios::trunc);
  if (!*raw) throw Error(path + ": cannot write raw latencies");
  return raw;
}

void measure(const WorkerSpec& spec, PythonChannel& channel, PythonDriver& driver, BenchResult& result) {
  const json imported = driver.event("imported");
  const std::int64_t rss_start = process_rss_bytes(channel.pid());
  channel.send("L");
  const json loaded = driver.event("loaded");
  const std::int64_t rss_loaded = process_rss_bytes(channel.pid());
  result.backend_version = loaded.value("version", "");
  result.timed_region = loaded.value("timed_region", "");
  result.timing_boundary = loaded.value("timing_boundary", "compute-only");
  result.threading = loaded.value("threading", "");

  std::unique_ptr<std::ofstream> raw = open_raw(spec.raw_latencies_path);
  SampleSink sink;
  if (raw) sink = [&](std::int64_t index, double latency_ms) { *raw << index << ',' << latency_ms << '\n'; };
  EnergyMeter energy;
  result.power_note = energy.description();
  const auto energy_start = energy.read_energy_uj();
  RunOutcome outcome = run_measured_timed(
      spec.run, [&] { return driver.timed_iteration(); }, sink);
  const auto energy_end = energy.read_energy_uj();
  if (raw) raw->flush();
  const std::int64_t rss_end = process_rss_bytes(channel.pid());
  const std::int64_t peak = process_peak_rss_bytes(channel.pid());
  channel.send("Q");
  channel.finish();

  fill_run_statistics(spec, std::move(outcome), result);
  // The Python process's figures: the interpreter and the framework's import
  // are in the baseline (rss_start is read once the framework is imported).
  result.memory =
      MemoryResult{static_cast<double>(peak) / kBytesPerMb, static_cast<double>(rss_loaded - rss_start) / kBytesPerMb,
                   static_cast<double>(rss_end - rss_loaded) / kBytesPerMb};
  record_energy(energy, energy_start, energy_end, spec, result);
  if (spec.profile_runs > 0)
    result.profile_unavailable = spec.backend + " (Python worker) has no per-layer profile in inferlab";
  (void)imported;
  result.status = ResultStatus::kOk;
}

}  // namespace

BenchResult measure_with_python_worker(const WorkerSpec& spec, const PythonEnvironment& env,
                                       const std::string& scratch_stem) {
  BenchResult result = result_for(spec);
  if (!env.installed()) {
    result.status = ResultStatus::kUnsupported;
    result.reason = "the Python environment " + env.venv_dir + " is missing: run " + python_install_command();
    return result;
  }
  const std::string spec_path = scratch_stem + ".python-spec.json";
  const std::string log_path = scratch_stem + ".python.log";
  try {
    write_file_atomically(spec_path, to_json(spec).dump());
    PythonChannel channel({env.python, env.worker_script, spec.backend, spec_path}, log_path);
    PythonDriver driver(channel, log_path, spec.backend);
    try {
      measure(spec, channel, driver, result);
    } catch (const Error&) {
      // A write to a worker that just died: report how it died instead.
      if (!channel.exited()) throw;
      driver.died();
    }
  } catch (const WorkerStopped& stopped) {
    result.status = stopped.status;
    result.reason = stopped.reason;
  } catch (const std::exception& e) {
    result.status = ResultStatus::kFailed;
    result.reason = e.what();
  }
  return result;
}

}  // namespace inferlab
