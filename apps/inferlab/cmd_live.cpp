// `inferlab live`: the real-time rPPG demonstrator with its Timing Monitor.
// --compare runs each backend in a child process of its own, so each row's
// memory is that backend's alone and one backend failing does not end the rest.
// Each run is recorded in the results store (one row, or one per compared
// backend) after its JSON is written, unless --no-store.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string_view>

#include "cli_util.h"
#include "commands.h"
#include "inferlab/error.h"
#include "inferlab/files.h"
#include "inferlab/live_json.h"
#include "inferlab/live_row.h"
#include "inferlab/recording.h"
#include "inferlab/registry.h"
#include "inferlab/result.h"
#include "live_monitor.h"
#include "serve/live_web.h"
#include "store_flags.h"

extern char** environ;

namespace inferlab::cli {

namespace {

constexpr const char* kLiveSchema = "inferlab.live/1";

struct LiveFlags {
  std::string source = "synthetic", backend, method = "pos", model = "rppg_net", model_dir, compare, monitor = "plain";
  std::string json_path, pace = "source";
  double duration_s = -1;  // -1: not given
  int threads = 1;
  double window_s = 10;
  int metrics_port = -1, web_port = -1;  // -1: not served
  std::string host = "127.0.0.1";
  StoreFlags store;
};

// Backends a switch cycles through: every compiled-in engine except null.
std::vector<std::string> switchable_backends() {
  std::vector<std::string> names;
  for (const auto& entry : known_backends()) {
    if (entry.compiled_in && entry.name != "null") names.push_back(entry.name);
  }
  return names;
}

LiveOptions options_from(const LiveFlags& f) {
  LiveOptions o;
  o.source = f.source;
  o.method = pulse_method_from_name(f.method);
  const auto cycle = switchable_backends();
  if (cycle.empty()) throw Error("--backend: no inference backend is compiled into this build (see inferlab info)");
  o.backend = f.backend.empty() ? cycle.front() : f.backend;
  create_backend(o.backend);  // an unknown name fails here, naming the choices
  o.cycle = cycle;
  o.model = f.model;
  o.model_dir = f.model_dir;
  o.duration_s = f.duration_s < 0 ? 0 : f.duration_s;
  if (f.pace != "source" && f.pace != "max") throw Error("--pace " + f.pace + ": expected source or max");
  o.paced = f.pace == "source";
  o.threads = f.threads;
  o.window_s = f.window_s;
  return o;
}

void check_flags(const LiveFlags& f) {
  if (f.duration_s == 0 || (f.duration_s < 0 && f.duration_s != -1) || !std::isfinite(f.duration_s)) {
    char given[32];
    std::snprintf(given, sizeof given, "%g", f.duration_s);
    throw Error(std::string("--duration ") + given +
                ": must be a number of seconds > 0 (leave it out to run until Ctrl-C)");
  }
  if (f.threads < 1) throw Error("--threads " + std::to_string(f.threads) + ": must be >= 1");
  if (!(f.window_s >= 5 && f.window_s <= 60)) throw Error("--window: must be 5..60 seconds");
  monitor_mode_from_name(f.monitor);
  if (!f.json_path.empty()) ensure_writable_file_path(f.json_path, "--json");
  for (const auto& [flag, port] : {std::pair{"--metrics-port", f.metrics_port}, std::pair{"--web", f.web_port}}) {
    if (port != -1 && (port < 0 || port > 65535)) {
      throw Error(std::string(flag) + " " + std::to_string(port) + ": a TCP port 0-65535 (0 picks a free one)");
    }
    if (port != -1 && !f.compare.empty()) {
      throw Error(std::string(flag) + " serves one run: leave out --compare (each compared run is its own process)");
    }
  }
}

void print_summary(const LiveReport& r) {
  std::printf("\n%s on %s, method %s: %lld frames in %.1f s = %.1f FPS; %lld captured, %lld dropped\n",
              r.source.c_str(), r.backend.c_str(), r.method.c_str(), static_cast<long long>(r.frames), r.duration_s,
              r.fps_avg, static_cast<long long>(r.frames_captured), static_cast<long long>(r.dropped_frames));
  std::printf("backend role: %s\n", r.backend_role.c_str());
  const int readings = static_cast<int>(r.bpm_series.size());
  if (r.bpm_median) {
    std::printf("BPM median %.1f over %d readings", *r.bpm_median, readings);
    if (r.bpm_mae) std::printf("; vs ground truth MAE %.2f, RMSE %.2f BPM", *r.bpm_mae, *r.bpm_rmse);
    std::printf("\n");
  } else {
    std::printf("BPM unavailable (%s)\n", r.bpm_series.empty() ? "run shorter than the first analysis window"
                                                               : r.bpm_series.back().unavailable_reason.c_str());
  }
  std::printf("%-12s %10s %10s %10s %10s\n", "stage", "p50 ms", "p99 ms", "mean ms", "count");
  for (const auto& s : r.stages) {
    std::printf("%-12s %10.3f %10.3f %10.3f %10lld\n", s.name.c_str(), s.p50_ms, s.p99_ms, s.mean_ms,
                static_cast<long long>(s.count));
  }
  std::printf("RSS avg %.1f MB, max %.1f MB (at start %.1f MB); power %s\n", r.rss_mb_avg, r.rss_mb_max, r.rss_mb_start,
              r.power_w_avg ? (std::to_string(*r.power_w_avg) + " W").c_str() : r.power_note.c_str());
  for (const auto& s : r.switches) {
    std::printf("switch at %.2f s: %s -> %s in %.2f ms%s\n", s.at_s, s.from.c_str(), s.to.c_str(), s.switch_ms,
                s.error.empty() ? "" : (" FAILED: " + s.error).c_str());
  }
}

nlohmann::json document_with(const Environment& env, nlohmann::json body) {
  nlohmann::json doc = {{"schema", kLiveSchema}, {"env", to_json(env)}};
  doc.update(body);
  return doc;
}

// What the run was asked to do, kept with it in the store (runs.run_rules_json).
nlohmann::json live_settings_json(const LiveFlags& f) {
  return {{"duration_s", f.duration_s < 0 ? nlohmann::json(nullptr) : nlohmann::json(f.duration_s)},
          {"pace", f.pace},
          {"window_s", f.window_s},
          {"method", f.method},
          {"source", f.source}};
}

// Records `rows` as one run (nothing under --no-store) and says so; then
// throws the store error deferred at opening, if any (the JSON is written).
void record_live_rows(const LiveFlags& f, std::unique_ptr<ResultStore> store, const Environment& env,
                      const std::vector<BenchResult>& rows, const std::string& store_error) {
  RunRecorder recorder(std::move(store), make_run_record("live", command_line(), env, live_settings_json(f)), "");
  for (std::size_t i = 0; i < rows.size(); ++i) recorder.record(i, rows[i]);
  if (const std::string line = recorder.summary(); !line.empty()) std::cout << line << '\n';
  if (!store_error.empty()) throw Error(store_error + " (the files above were written; nothing was recorded)");
}

int run_single(const LiveFlags& f) {
  // Before the (possibly slow) model load: a SIGUSR1 sent meanwhile must be
  // counted, not take its default action and end the process.
  install_live_signal_handlers();
  // A bad --store fails here, before anything runs; an unreachable server is
  // said at the end, after the JSON (store_flags.h).
  std::string store_error;
  std::unique_ptr<ResultStore> store = f.store.open_for_recording(&store_error);
  const Environment env = environment_with_engines(f.threads);
  LiveOptions options = options_from(f);
  const bool served = f.metrics_port >= 0 || f.web_port >= 0;
  // The stage histograms see every timing the pipeline records, as it records it.
  auto metrics = std::make_shared<LiveMetrics>();
  if (served) {
    options.stage_observer = [metrics](std::string_view stage, double ms) { metrics->observe_stage(stage, ms); };
  }
  LivePipeline pipeline(options);
  std::optional<LiveMonitoring> http;  // after the pipeline: stops before it is destroyed
  if (served) {
    http.emplace(pipeline, *metrics, LiveHttpOptions{f.host, f.metrics_port, f.web_port});
    http->start();
    if (f.web_port >= 0) std::printf("web monitor: http://%s:%d/\n", f.host.c_str(), http->web_port());
    if (f.metrics_port >= 0) std::printf("metrics: http://%s:%d/metrics\n", f.host.c_str(), http->metrics_port());
    std::fflush(stdout);
  }
  pipeline.start();
  run_monitor(pipeline, monitor_mode_from_name(f.monitor));
  const LiveReport report = pipeline.wait();
  if (http) http->stop();
  print_summary(report);
  if (!f.json_path.empty()) {
    write_file_atomically(f.json_path, document_with(env, live_report_json(report)).dump(2) + "\n");
  }
  record_live_rows(f, std::move(store), env, {live_result_row(report, f.threads)}, store_error);
  return 0;
}

// Runs `inferlab live` for one backend in a child process; its stderr goes
// to a file so a failure becomes that row's reason.
nlohmann::json run_child(const LiveFlags& f, const std::string& backend, const TempDir& tmp) {
  const std::string json = tmp.path() + "/" + backend + ".json", err = tmp.path() + "/" + backend + ".err";
  std::vector<std::string> args{"/proc/self/exe", "live",
                                "--source",       f.source,
                                "--backend",      backend,
                                "--method",       f.method,
                                "--duration",     std::to_string(f.duration_s),
                                "--monitor",      f.monitor == "tui" ? "plain" : f.monitor,
                                "--json",         json,
                                "--pace",         f.pace,
                                "--threads",      std::to_string(f.threads),
                                "--model",        f.model,
                                "--window",       std::to_string(f.window_s),
                                "--no-store"};  // the parent records every backend's row as one run
  if (!f.model_dir.empty()) args.insert(args.end(), {"--dir", f.model_dir});
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t pid = 0;
  const int spawned = posix_spawn(&pid, "/proc/self/exe", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) throw Error("--compare: cannot start a child process for backend " + backend, ErrorKind::kRuntime);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    auto doc = nlohmann::json::parse(read_file(json));
    doc.erase("schema");
    doc.erase("env");
    doc["status"] = "ok";
    return doc;
  }
  std::string reason;
  std::ifstream in(err);
  std::getline(in, reason);
  if (reason.rfind("inferlab: ", 0) == 0) reason = reason.substr(10);
  if (reason.empty()) reason = WIFSIGNALED(status) ? "ended by signal " + std::to_string(WTERMSIG(status)) : "failed";
  return {{"backend", backend}, {"status", "failed"}, {"reason", reason}};
}

int run_compare(const LiveFlags& f) {
  const auto backends = split_list(f.compare);
  if (backends.empty()) throw Error("--compare: give at least one backend, e.g. --compare opencv,torch");
  if (f.duration_s <= 0) throw Error("--compare needs --duration S (seconds per backend)");
  for (const auto& b : backends) create_backend(b);
  options_from(f);  // flags that are wrong for every backend fail before any run
  std::string store_error;
  std::unique_ptr<ResultStore> store = f.store.open_for_recording(&store_error);
  const Environment env = environment_with_engines(f.threads);
  const auto method = pulse_method_from_name(f.method);
  if (!method_runs_model(method)) {
    std::printf(
        "note: method %s runs no model, so the backends differ only in what they load; "
        "compare engines with --method neural\n",
        f.method.c_str());
  }
  TempDir tmp("inferlab-live");
  nlohmann::json runs = nlohmann::json::array();
  std::vector<LiveReport> rows;
  std::vector<BenchResult> stored;
  for (const auto& backend : backends) {
    std::printf("== %s: %g s\n", backend.c_str(), f.duration_s);
    std::fflush(stdout);
    runs.push_back(run_child(f, backend, tmp));
    if (runs.back()["status"] == "ok") {
      rows.push_back(live_report_from_json(runs.back()));
      stored.push_back(live_result_row(rows.back(), f.threads));
    } else {
      const std::string reason = runs.back()["reason"].get<std::string>();
      std::printf("%s FAILED: %s\n", backend.c_str(), reason.c_str());
      stored.push_back(failed_live_row(backend, f.method, f.method == "neural" ? f.model : "", f.threads, reason));
    }
  }
  std::printf("\n%s", comparison_table(rows).c_str());
  if (!f.json_path.empty()) write_file_atomically(f.json_path, document_with(env, {{"runs", runs}}).dump(2) + "\n");
  record_live_rows(f, std::move(store), env, stored, store_error);
  // A comparison missing a row compares nothing: scripts must see it fail
  // (CLI.md: 1, the run finished but a check failed).
  const std::size_t failed = backends.size() - rows.size();
  if (failed > 0) {
    std::fprintf(stderr, "inferlab live: %zu of %zu compared runs failed (reasons above)\n", failed, backends.size());
    return 1;
  }
  return 0;
}

}  // namespace

void add_live(CLI::App& app, int* exit_code) {
  auto* sub = app.add_subcommand("live", "Real-time camera heart rate (rPPG) with a stage-by-stage Timing Monitor");
  auto f = std::make_shared<LiveFlags>();
  sub->add_option("--source", f->source, "synthetic[:k=v,...] | file:PATH | camera:N | ubfc:DIR (default synthetic)");
  sub->add_option("--backend", f->backend, "Backend running the inference stage (default: the first compiled in)");
  sub->add_option("--method", f->method, "pos | chrom | green | neural (default pos)");
  sub->add_option("--model", f->model, "neural: rPPG model, a path or prepared name (default rppg_net)");
  sub->add_option("--dir", f->model_dir, "Model directory (default $INFERLAB_MODEL_DIR or ~/.cache/inferlab/models)");
  sub->add_option("--duration", f->duration_s, "Seconds to run (default: until Ctrl-C or the end of the source)");
  sub->add_option("--compare", f->compare, "Run each of these backends in turn for --duration seconds");
  sub->add_option("--monitor", f->monitor, "tui | plain | none (default plain)");
  sub->add_option("--json", f->json_path, "Write the run (or comparison) as JSON here");
  sub->add_option("--pace", f->pace, "source: frames at the source's rate, like a camera; max: as fast as possible");
  sub->add_option("--threads", f->threads, "Engine intra-op threads for the neural model (default 1)");
  sub->add_option("--window", f->window_s, "Heart-rate analysis window in seconds (default 10)");
  sub->add_option("--metrics-port", f->metrics_port,
                  "Serve GET /metrics (Prometheus) on this port; 0 picks a free one");
  sub->add_option("--web", f->web_port,
                  "Serve the web Timing Monitor on this port (also /metrics); 0 picks a free one");
  sub->add_option("--host", f->host, "Address --metrics-port and --web listen on (default 127.0.0.1, loopback only)");
  f->store.add_to(*sub, true);
  sub->callback([f, exit_code] {
    check_flags(*f);
    *exit_code = f->compare.empty() ? run_single(*f) : run_compare(*f);
  });
}

}  // namespace inferlab::cli
