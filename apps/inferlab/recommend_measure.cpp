#include "recommend_measure.h"

#include <iostream>
#include <set>
#include <tuple>

#include "cli_util.h"
#include "inferlab/accuracy.h"
#include "inferlab/bench.h"
#include "inferlab/dataset.h"
#include "inferlab/environment.h"
#include "inferlab/error.h"
#include "inferlab/model_metadata.h"
#include "inferlab/recording.h"
#include "inferlab/registry.h"

namespace inferlab::cli {

namespace {

using ConfigKey = std::tuple<std::string, std::string, std::int64_t>;  // backend, precision, batch

std::string describe(const ConfigKey& k) {
  return std::get<0>(k) + " " + std::get<1>(k) + " batch " + std::to_string(std::get<2>(k));
}

// A row is "present" when it says something a recommendation can use:
// measured (ok) or known impossible (unsupported). Failed rows are retried.
bool settled(const BenchResult& r) { return r.ok() || r.status == ResultStatus::kUnsupported; }

void measure_latency(const MeasureFlags& f, const ResolvedModel& model, const std::vector<ConfigKey>& missing,
                     int threads, const StoreFlags& store_flags) {
  BenchOptions options;
  options.models = {model};
  std::set<std::string> precisions;
  std::set<std::int64_t> batches;
  for (const auto& [backend, precision, batch] : missing) {
    if (std::find(options.backends.begin(), options.backends.end(), backend) == options.backends.end())
      options.backends.push_back(backend);
    precisions.insert(precision);
    batches.insert(batch);
  }
  options.precisions.assign(precisions.begin(), precisions.end());
  options.batches.assign(batches.begin(), batches.end());
  options.threads = threads;
  options.run.min_duration_ms = f.min_duration_ms;
  std::string store_error;
  auto store = store_flags.open_for_recording(&store_error);
  if (!store)
    throw Error(store_error.empty() ? "recommend --measure: --no-store leaves nothing to recommend from" : store_error);
  const Environment env = environment_with_engines(threads);
  RunRecorder recorder(std::move(store), make_run_record("bench", command_line(), env, run_rules_json(options.run)),
                       "");
  run_bench(
      options, [](const std::string& line) { std::cerr << line << '\n'; },
      [&](std::size_t index, const BenchResult& row) { recorder.record(index, row); });
  if (const std::string line = recorder.summary(); !line.empty()) std::cout << line << '\n';
}

void measure_accuracy(const MeasureFlags& f, const ResolvedModel& model, const std::vector<std::string>& backends,
                      const std::vector<std::string>& precisions, int threads, const StoreFlags& store_flags) {
  AccuracyOptions options;
  options.model = model;
  options.dataset = f.dataset;
  options.backends = backends;
  options.precisions = precisions;
  options.threads = threads;
  const ModelPreprocess preprocess = preprocess_of_model(model);
  options.preprocess = preprocess.preprocess;
  options.preprocess_source = preprocess.source;
  const auto dataset = open_checked_dataset(options);
  std::string store_error;
  auto store = store_flags.open_for_recording(&store_error);
  if (!store)
    throw Error(store_error.empty() ? "recommend --measure: --no-store leaves nothing to recommend from" : store_error);
  RunRecorder recorder(std::move(store),
                       make_run_record("accuracy", command_line(), environment_with_engines(threads), nullptr), "");
  const auto rows = run_accuracy(options, *dataset, [](const std::string&, std::size_t, std::size_t) {}).rows;
  for (std::size_t i = 0; i < rows.size(); ++i) recorder.record(i, rows[i]);
  if (const std::string line = recorder.summary(); !line.empty()) std::cout << line << '\n';
}

}  // namespace

void MeasureFlags::add_to(CLI::App& app) {
  app.add_flag("--measure", measure,
               "First measure (and record) the configurations this machine has no stored row for");
  app.add_option("--backends", backends, "With --measure: backends to cover")->capture_default_str();
  app.add_option("--precision", precisions, "With --measure: precisions to cover")->capture_default_str();
  app.add_option("--batch", batches, "With --measure: batch sizes to cover")->capture_default_str();
  app.add_option("--threads", threads, "With --measure: engine threads (default: the online CPUs)");
  app.add_option("--dataset", dataset, "With --measure: also measure Top-1 on this dataset where it is missing");
  app.add_option("--min-duration-ms", min_duration_ms, "With --measure: minimum measuring time per configuration")
      ->capture_default_str();
  app.add_option("--model-dir", model_dir, "Where prepared models live");
}

void measure_missing(const MeasureFlags& f, const std::vector<std::string>& models, const StoreFlags& store_flags) {
  // Every flag is checked before anything runs.
  const std::vector<std::string> backends = split_list(f.backends);
  if (backends.empty()) throw Error("--backends: give at least one backend");
  for (const auto& b : backends) create_backend(b);
  const std::vector<std::string> precisions = split_list(f.precisions);
  if (precisions.empty()) throw Error("--precision: give at least one precision");
  for (const auto& p : precisions) precision_from_name(p);
  const std::vector<std::int64_t> batches = parse_positive_list(f.batches, "--batch");
  if (f.threads != -1 && f.threads < 1) throw Error("--threads " + std::to_string(f.threads) + ": must be >= 1");
  if (!(f.min_duration_ms > 0)) throw Error("--min-duration-ms: must be > 0");
  const int threads = f.threads == -1 ? default_thread_count() : f.threads;
  std::vector<ResolvedModel> resolved;
  for (const auto& m : models) resolved.push_back(resolve_model(m, model_directory(f.model_dir)));

  // Accuracy rows name the split they ran ("digits" runs "digits:test").
  const std::string dataset_name = f.dataset.empty() ? "" : open_dataset(f.dataset, "--dataset")->name();
  const std::string host = machine_hostname();
  for (const auto& model : resolved) {
    std::set<ConfigKey> have;
    std::set<std::pair<std::string, std::string>> have_top1;  // backend, precision
    {
      auto store = store_flags.open_for_recording();
      if (!store) throw Error("recommend --measure: --no-store leaves nothing to recommend from");
      RowFilter filter;
      filter.model = model.name;
      filter.machine = host;
      for (const auto& row : store->rows(filter)) {
        const BenchResult& r = row.result;
        if (!settled(r) || r.threads != threads) continue;
        if (r.accuracy) {
          if (r.accuracy->dataset == dataset_name) have_top1.insert({r.backend, r.precision});
        } else if (r.scenario == "single-stream") {
          have.insert({r.backend, r.precision, r.batch});
        }
      }
    }
    std::vector<ConfigKey> missing;
    for (const auto& b : backends)
      for (const auto& p : precisions)
        for (auto n : batches)
          if (!have.count({b, p, n})) missing.push_back({b, p, n});
    std::cout << model.name << ": " << (backends.size() * precisions.size() * batches.size() - missing.size())
              << " configuration(s) stored for " << host << " at " << threads << " thread(s), " << missing.size()
              << " to measure";
    for (const auto& k : missing) std::cout << (k == missing.front() ? ": " : ", ") << describe(k);
    std::cout << '\n';
    if (!missing.empty()) measure_latency(f, model, missing, threads, store_flags);
    if (f.dataset.empty()) continue;
    std::vector<std::string> top1_backends;
    std::set<std::string> top1_precisions;
    for (const auto& b : backends)
      for (const auto& p : precisions)
        if (!have_top1.count({b, p})) {
          if (std::find(top1_backends.begin(), top1_backends.end(), b) == top1_backends.end())
            top1_backends.push_back(b);
          top1_precisions.insert(p);
        }
    if (top1_backends.empty()) {
      std::cout << model.name << ": Top-1 on " << f.dataset << " stored for every backend\n";
      continue;
    }
    std::cout << model.name << ": measuring Top-1 on " << f.dataset << " for " << join_list(top1_backends) << '\n';
    measure_accuracy(f, model, top1_backends, {top1_precisions.begin(), top1_precisions.end()}, threads, store_flags);
  }
}

}  // namespace inferlab::cli
