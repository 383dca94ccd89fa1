// `inferlab bench`: the same models on several backends side by side.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>

#include "bench_flags.h"
#include "cli_util.h"
#include "commands.h"
#include "inferlab/error.h"
#include "inferlab/files.h"
#include "inferlab/html_report.h"
#include "inferlab/optimizer.h"
#include "inferlab/profile_report.h"
#include "inferlab/quantize.h"
#include "inferlab/recording.h"
#include "inferlab/report.h"
#include "serve/http_load.h"
#include "serving_flags.h"
#include "store_flags.h"

namespace inferlab::cli {

namespace {

using RunRecorderFn = std::function<void(std::size_t, const BenchResult&)>;

struct BenchFlags {
  ModelBackendFlags common;
  std::string precision = "fp32";
  std::string batch = "1";
  std::string scenario = "single-stream";
  RunSettings run;
  SweepSettings sweep;
  std::string out_dir, json_path, csv_path, md_path, raw_path, jsonl_path, html_path;
  StoreFlags store;
  bool quiet = false;
  std::string calib, calibrator = "entropy";
  std::size_t calib_count = 256;
  bool profile = false;
  std::int64_t profile_runs = 20;
  std::string trace_dir;
  ServingFlags serving;
  CLI::Option* batch_option = nullptr;
  CLI::Option* max_batch_option = nullptr;  // the sweep's, and the batcher's B in serving scenarios
};

bool is_serving(const std::string& scenario) { return scenario == "server" || scenario == "multi-stream"; }

// Serving scenarios: each --batch value (or --max-batch) is the batcher's
// maximum batch B, one row each; the load flags are checked here.
void serving_options(const BenchFlags& flags, BenchOptions& options) {
  options.serving = flags.serving.resolved();
  if (options.batch_sweep)
    throw Error("--batch sweep: the offline scenario's; with --scenario " + flags.scenario +
                " each --batch value is a dynamic batcher's --max-batch");
  if (flags.max_batch_option->count() > 0) {
    if (flags.batch_option->count() > 0)
      throw Error("--max-batch and --batch: give one (both set the batcher's maximum batch)");
    options.batches = {flags.sweep.max_batch};
  }
  for (auto b : options.batches) {
    options.serving.batcher.max_batch = b;
    validate_serving_settings(options.serving, flags.scenario);
  }
}

BenchOptions to_options(const BenchFlags& flags) {
  BenchOptions options;
  flags.common.fill(options);
  options.precisions = split_list(flags.precision);
  if (options.precisions.empty()) throw Error("--precision: give at least one precision");
  for (const auto& p : options.precisions) precision_from_name(p);
  // "1,sweep": single-stream latency at batch 1, then the offline sweep.
  std::string fixed_batches;
  for (const auto& item : split_list(flags.batch)) {
    if (item == "sweep") {
      options.batch_sweep = true;
    } else {
      fixed_batches += (fixed_batches.empty() ? "" : ",") + item;
    }
  }
  options.batches.clear();
  if (!fixed_batches.empty() || !options.batch_sweep) options.batches = parse_positive_list(fixed_batches, "--batch");
  if (flags.scenario != "single-stream" && flags.scenario != "offline" && !is_serving(flags.scenario)) {
    throw Error("--scenario " + flags.scenario + ": unknown (single-stream, offline, server, multi-stream)");
  }
  options.scenario = flags.scenario;
  if (is_serving(flags.scenario)) {
    serving_options(flags, options);
  } else if (flags.serving.target_qps_option->count() > 0 || flags.serving.settings.find_max_qps ||
             !flags.serving.settings.url.empty()) {
    throw Error("--target-qps, --find-max-qps and --url need --scenario server");
  }
  options.run = flags.run;  // checked with the rest by check_bench_options()
  options.sweep = flags.sweep;
  if (options.sweep.max_batch < 1) throw Error("--max-batch: must be >= 1");
  if (!(options.sweep.min_improvement >= 0)) throw Error("--min-improvement: must be >= 0");
  if (!(options.sweep.max_memory_mb >= 0)) throw Error("--max-memory-mb: must be >= 0");
  options.raw_latencies_path = flags.raw_path;
  if (!flags.calib.empty()) {
    if (std::find(options.precisions.begin(), options.precisions.end(), "int8") == options.precisions.end())
      throw Error("--calib " + flags.calib + ": only used with --precision int8");
    if (flags.calib_count < 1) throw Error("--calib-count: must be >= 1");
    calibrator_from_name(flags.calibrator);  // an unknown name fails before any work
    for (const auto& model : options.models) {
      if (!model.paths.count(ModelFormat::kOnnx))
        throw Error(model.argument + ": --calib quantizes an ONNX file and this model has none");
    }
  }
  if (flags.profile_runs < 1) throw Error("--profile-runs: must be >= 1");
  if (!flags.profile && !flags.trace_dir.empty()) throw Error("--trace-dir: needs --profile");
  options.profile_runs = flags.profile ? flags.profile_runs : 0;
  return options;
}

// Prints each profiled row's per-layer table and writes its Chrome trace;
// the trace's path is kept in the row for the JSON document.
void write_profiles(std::vector<BenchResult>& results, const std::string& trace_dir) {
  for (auto& r : results) {
    const std::string title = r.model + " " + r.backend + " " + r.precision + " batch " + std::to_string(r.batch);
    if (!r.profile) {
      if (!r.profile_unavailable.empty())
        std::cout << "\nno per-layer profile for " << title << ": " << r.profile_unavailable << '\n';
      continue;
    }
    const std::string path =
        trace_dir + "/trace-" +
        file_safe_name(r.model + "-" + r.backend + "-" + r.precision + "-b" + std::to_string(r.batch)) + ".json";
    write_file_atomically(path, chrome_trace(*r.profile, title).dump() + "\n");
    r.profile_trace_path = path;
    // The profiler's own cost shows as the gap between the profiled runs and
    // the measured ones; say it, so nobody reads an inflated profile as truth.
    std::string cost;
    if (r.latency && r.latency->p50_ms > 0) {
      char line[160];
      std::snprintf(
          line, sizeof line, "profiled runs: %.4g ms of layers per run against a measured p50 of %.4g ms (%.2fx)\n",
          r.profile->layers_ms_per_run(), r.latency->p50_ms, r.profile->layers_ms_per_run() / r.latency->p50_ms);
      cost = line;
    }
    std::cout << "\nper-layer profile: " << title << " (" << r.profile->runs
              << " profiled runs after the measurement)\n"
              << render_profile_text(*r.profile) << cost << "wrote " << path
              << " (Chrome trace: chrome://tracing or ui.perfetto.dev)\n";
  }
}

// `--precision int8 --calib DATASET`: each model's ONNX file quantized to the
// optimizer's QDQ form (calibration only: no accuracy gate, no sensitivity
// runs) into `dir`, for the int8 rows of backends that read ONNX.
void make_int8_models(const BenchFlags& flags, CheckedBenchOptions& checked, const std::string& dir) {
  const BenchOptions& options = checked.options();
  const std::string form = "INT8 QDQ ONNX made by inferlab optimize (" + flags.calibrator + " calibration on " +
                           flags.calib + ", " + std::to_string(flags.calib_count) + " samples, " +
                           std::to_string(OptimizeOptions{}.int8_weight_bits) + "-bit weights)";
  std::map<std::string, std::string> paths;
  for (const auto& model : options.models) {
    OptimizeOptions o;
    o.model = model;
    o.output_path = dir + "/" + model.name + ".int8.onnx";
    o.int8 = true;
    o.calib_dataset = flags.calib;
    o.calib_count = flags.calib_count;
    o.calibrator = calibrator_from_name(flags.calibrator);
    o.backends.clear();
    o.measure_latency = false;
    o.measure_sensitivity = false;
    o.threads = options.threads;
    run_optimize(o, nullptr);
    paths[model.name] = o.output_path;
    if (!flags.quiet) std::cerr << model.name << ": quantized to " << form << "\n";
  }
  checked.set_int8_models(std::move(paths), form);
}

// The run just made as an HTML report; with --no-store its run id is 0.
void write_html(const std::string& path, const RunRecord& record, std::int64_t run_id,
                const std::vector<BenchResult>& results, const ChartLibrary& charts) {
  ReportInput input;
  input.title = "inferlab bench";
  RunSummary run;
  run.run = record;
  run.run.id = run_id;
  run.rows = static_cast<std::int64_t>(results.size());
  input.runs.push_back(run);
  for (std::size_t i = 0; i < results.size(); ++i) {
    StoredRow row;
    row.id = static_cast<std::int64_t>(i) + 1;
    row.run_id = run_id;
    row.result = results[i];
    input.rows.push_back(std::move(row));
  }
  write_file_atomically(path, render_html_report(input, charts));
}

// One line per serving row: what the scenario found.
void print_serving_summary(const std::vector<BenchResult>& results) {
  for (const auto& r : results) {
    if (!r.serving || !r.ok() || !r.latency) continue;
    const ServingResult& s = *r.serving;
    char line[512];
    std::snprintf(line, sizeof line,
                  "%s x %s %s, max batch %lld (%s), delay %g us, %d instance(s): %.4g QPS achieved at target %.4g, "
                  "p99 %.4g ms %s bound %.4g ms; mean batch %.2f; %lld dropped, %lld cancelled\n",
                  r.scenario.c_str(), r.model.c_str(), r.backend.c_str(), static_cast<long long>(s.max_batch),
                  s.batch_shapes.c_str(), s.max_queue_delay_us, s.instances, s.achieved_qps, s.target_qps,
                  r.latency->p99_ms, s.bound_met ? "meets the" : "misses the", s.latency_bound_ms, s.mean_batch,
                  static_cast<long long>(s.dropped), static_cast<long long>(s.cancelled));
    std::cout << line;
    if (s.find_max_qps) std::cout << "  search: " << s.search.size() << " probes; " << s.search_stop << '\n';
    for (const auto& [name, split] : s.split_ms) {
      std::snprintf(line, sizeof line, "  %s: p50 %.4g ms, p99 %.4g ms\n", name.c_str(), split.p50_ms, split.p99_ms);
      std::cout << line;
    }
  }
}

// `--url`: the client side of a running `inferlab serve`; one row.
std::vector<BenchResult> run_url_bench(const BenchFlags& flags, const RunRecorderFn& record) {
  if (flags.common.models.size() != 1) throw Error("--url: give exactly one MODEL, the name the server serves");
  std::vector<BenchResult> results{run_http_server_bench(flags.common.models[0], flags.serving.resolved(), flags.run)};
  record(0, results[0]);
  return results;
}

int run_bench_verb(const BenchFlags& flags) {
  const bool url_mode = !flags.serving.settings.url.empty();
  if (url_mode && flags.scenario != "server") throw Error("--url needs --scenario server");
  // Checked once, before any file or store is opened.
  BenchOptions url_options;  // --url: the row records these run rules like any bench row
  std::optional<CheckedBenchOptions> checked;
  if (url_mode) {
    validate_run_settings(flags.run);
    parse_loopback_url(flags.serving.settings.url);
    validate_serving_settings(flags.serving.resolved(), "server");
    url_options.run = flags.run;
  } else {
    checked = check_bench_options(to_options(flags));
  }
  const BenchOptions& options = checked ? checked->options() : url_options;
  // Every output location is checked before the first measurement, so an
  // unwritable path never costs a finished sweep.
  std::string json_path = flags.json_path, csv_path = flags.csv_path, md_path = flags.md_path;
  std::string jsonl_path = flags.jsonl_path;
  if (!flags.out_dir.empty()) {
    ensure_writable_directory(flags.out_dir, "--out");
    if (json_path.empty()) json_path = flags.out_dir + "/bench.json";
    if (csv_path.empty()) csv_path = flags.out_dir + "/bench.csv";
    if (md_path.empty()) md_path = flags.out_dir + "/bench.md";
    if (jsonl_path.empty()) jsonl_path = flags.out_dir + "/bench.jsonl";
  }
  if (!jsonl_path.empty()) ensure_writable_file_path(jsonl_path, "--jsonl");
  if (!json_path.empty()) ensure_writable_file_path(json_path, "--json");
  if (!csv_path.empty()) ensure_writable_file_path(csv_path, "--csv");
  if (!md_path.empty()) ensure_writable_file_path(md_path, "--md");
  if (!options.raw_latencies_path.empty()) ensure_writable_file_path(options.raw_latencies_path, "--raw-latencies");
  // The charting library is read now, so a missing one fails before the sweep.
  std::optional<ChartLibrary> charts;
  if (!flags.html_path.empty()) {
    ensure_writable_file_path(flags.html_path, "--html");
    charts = load_chart_library();
  }

  // Chrome traces go beside the other outputs unless told otherwise.
  const std::string trace_dir = !flags.trace_dir.empty() ? flags.trace_dir
                                : !flags.out_dir.empty() ? flags.out_dir
                                                         : ".";
  if (flags.profile) ensure_writable_directory(trace_dir, "--trace-dir");

  // The store is opened (created, migrated, checked writable) before any
  // work, so a bad --store fails fast and leaves everything else untouched.
  std::string store_error;
  std::unique_ptr<ResultStore> store = flags.store.open_for_recording(&store_error);

  // Quantizing takes a while: only after every output location is known good.
  std::optional<TempDir> int8_dir;
  if (!flags.calib.empty() && checked) {  // --url measures a served model: nothing to quantize
    int8_dir.emplace("inferlab-bench-int8");
    make_int8_models(flags, *checked, int8_dir->path());
  }

  Environment env = environment_with_engines(options.threads);
  ProgressFn progress;
  if (!flags.quiet) progress = [](const std::string& line) { std::cerr << line << '\n'; };
  // Rows reach the store and the JSONL stream as each configuration finishes.
  const RunRecord record = make_run_record("bench", command_line(), env, run_rules_json(options.run));
  RunRecorder recorder(std::move(store), record, jsonl_path);
  const RunRecorderFn record_row = [&](std::size_t index, const BenchResult& row) { recorder.record(index, row); };
  std::vector<BenchResult> results =
      url_mode ? run_url_bench(flags, record_row) : run_bench(*checked, progress, record_row);

  if (flags.profile) write_profiles(results, trace_dir);
  BenchTables tables = build_bench_tables(results);
  std::cout << '\n' << render_text(tables);
  print_serving_summary(results);
  std::cout
      << "weights are seeded, not trained: timings and memory are the architectures'; outputs are not predictions\n";
  nlohmann::json doc = bench_document(env, results);
  if (!json_path.empty()) write_file_atomically(json_path, doc.dump(2) + "\n");
  if (!csv_path.empty()) write_file_atomically(csv_path, render_csv(results));
  if (!md_path.empty()) write_file_atomically(md_path, render_markdown(tables, env));
  if (charts) write_html(flags.html_path, record, recorder.run_id().value_or(0), results, *charts);
  for (const auto& path : {json_path, csv_path, md_path, jsonl_path, flags.html_path}) {
    if (!path.empty()) std::cout << "wrote " << path << '\n';
  }
  if (const std::string line = recorder.summary(); !line.empty()) std::cout << line << '\n';
  if (!store_error.empty()) throw Error(store_error + " (the files above were written; nothing was recorded)");
  return 0;
}

}  // namespace

void add_bench(CLI::App& app, int* exit_code) {
  auto* sub = app.add_subcommand("bench", "Measure models on several backends side by side");
  auto flags = std::make_shared<BenchFlags>();
  flags->common.add_to(*sub);
  sub->add_option("--precision", flags->precision, "Comma list: fp32, fp16, bf16, int8")->capture_default_str();
  flags->batch_option =
      sub->add_option("--batch", flags->batch,
                      "Comma list of batch sizes; 'sweep' adds the offline sweep for maximum throughput (e.g. 1,sweep)")
          ->capture_default_str();
  sub->add_option("--scenario", flags->scenario,
                  "single-stream | offline | server (Poisson arrivals, a p99 bound; each --batch value is the dynamic "
                  "batcher's maximum batch) | multi-stream (N samples per query at a fixed interval)")
      ->capture_default_str();
  sub->add_option("--warmup", flags->run.warmup_count, "Untimed iterations before measuring (at least)")
      ->capture_default_str();
  sub->add_option("--warmup-ms", flags->run.warmup_min_duration_ms, "Untimed warm-up duration (at least)")
      ->capture_default_str();
  sub->add_option("--min-duration-ms", flags->run.min_duration_ms, "Measure at least this long")->capture_default_str();
  sub->add_option("--min-count", flags->run.min_count, "Measure at least this many iterations")->capture_default_str();
  sub->add_option("--max-duration-ms", flags->run.max_duration_ms, "Stop measuring after this long")
      ->capture_default_str();
  sub->add_option("--target-ci", flags->run.target_ci,
                  "Stop early once the 95% CI of the median is this tight (relative half-width, e.g. 0.01)");
  sub->add_option("--target-ci-min-count", flags->run.target_ci_min_count,
                  "The --target-ci early stop needs at least this many samples")
      ->capture_default_str();
  flags->max_batch_option =
      sub->add_option("--max-batch", flags->sweep.max_batch,
                      "Largest batch the sweep tries; with --scenario server|multi-stream: the batcher's maximum batch")
          ->capture_default_str();
  flags->serving.add_batcher_to(*sub, false);
  flags->serving.add_load_to(*sub);
  sub->add_option("--max-memory-mb", flags->sweep.max_memory_mb, "The sweep stops before peak RSS would pass this");
  sub->add_option("--min-improvement", flags->sweep.min_improvement,
                  "The sweep stops when throughput improves by less than this fraction")
      ->capture_default_str();
  sub->add_option("--out", flags->out_dir, "Directory for bench.json, bench.csv and bench.md");
  sub->add_option("--json", flags->json_path, "Write the JSON document here");
  sub->add_option("--csv", flags->csv_path, "Write CSV here");
  sub->add_option("--md", flags->md_path, "Write Markdown here");
  sub->add_option("--html", flags->html_path,
                  "Write the run as a self-contained HTML report with charts (opens offline)");
  sub->add_option("--raw-latencies", flags->raw_path, "Stream every latency sample to this CSV file");
  sub->add_option(
      "--jsonl", flags->jsonl_path,
      "Stream each result row to this JSON Lines file as it finishes (default with --out: DIR/bench.jsonl)");
  flags->store.add_to(*sub, true);
  sub->add_flag("--quiet", flags->quiet, "No progress lines on stderr");
  sub->add_option("--calib", flags->calib,
                  "With --precision int8: quantize each ONNX model to QDQ INT8 first, calibrated on this dataset "
                  "(digits, folder:DIR, imagenet:DIR)");
  sub->add_option("--calib-count", flags->calib_count, "Calibration samples for --calib")->capture_default_str();
  sub->add_option("--calibrator", flags->calibrator,
                  "For --calib: entropy | percentile | minmax | auto (per activation by output SQNR; slower)")
      ->capture_default_str();
  sub->add_flag("--profile", flags->profile,
                "After each measurement, profile extra runs per layer: print each layer's time, share and kernel, "
                "and write a Chrome trace");
  sub->add_option("--profile-runs", flags->profile_runs, "Profiled runs per configuration")->capture_default_str();
  sub->add_option("--trace-dir", flags->trace_dir, "Directory for the Chrome traces (default: --out, else .)");
  sub->callback([=] { *exit_code = run_bench_verb(*flags); });
}

}  // namespace inferlab::cli
