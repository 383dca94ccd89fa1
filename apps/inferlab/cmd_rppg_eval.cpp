// `inferlab rppg-eval`: heart-rate accuracy per rPPG method on the seeded
// synthetic set or a UBFC-rPPG folder, with the per-clip breakdown.
#include <cstdio>
#include <iostream>

#include "cli_util.h"
#include "commands.h"
#include "inferlab/error.h"
#include "inferlab/files.h"
#include "inferlab/recording.h"
#include "inferlab/result.h"
#include "inferlab/rppg_eval.h"
#include "store_flags.h"

namespace inferlab::cli {

namespace {

struct EvalFlags {
  std::string set = "synthetic", methods = "green,chrom,pos,neural", backend = "opencv", model = "rppg_net";
  std::string model_dir, json_path;
  double clip_s = 30;
  StoreFlags store;
};

// A stored row per method and clip, and per method pooled ("all"): the
// model is the method's (the neural model's name, else "rppg-<method>"),
// the backend the one that ran it ("none" for the classical methods).
BenchResult eval_row(const EvalFlags& f, const std::string& method, const std::string& clip, const EvalMetrics& m,
                     ResultStatus status, const std::string& reason) {
  BenchResult row;
  const bool neural = method == "neural";
  row.model = neural ? f.model : "rppg-" + method;
  row.backend = neural ? f.backend : "none";
  row.precision = "fp32";
  row.scenario = "rppg-eval";
  row.status = status;
  row.reason = reason;
  row.timing_boundary = "end-to-end";
  HeartRateFields h;
  h.set = f.set;
  h.clip = clip;
  h.readings = m.readings;
  h.unavailable = m.unavailable;
  h.mae_bpm = m.mae;
  h.rmse_bpm = m.rmse;
  h.mape_pct = m.mape;
  h.pearson = m.pearson;
  row.heart_rate = h;
  return row;
}

std::string cell(double value, bool present, const char* format) {
  if (!present) return "-";
  char text[32];
  std::snprintf(text, sizeof text, format, value);
  return text;
}

void print_metrics_row(const std::string& a, const std::string& b, const EvalMetrics& m, const std::string& note) {
  const bool has = m.readings > 0;
  std::printf("%-16s %-8s %8d %8s %8s %8s %8s  %s\n", a.c_str(), b.c_str(), m.readings,
              cell(m.mae, has, "%.2f").c_str(), cell(m.rmse, has, "%.2f").c_str(), cell(m.mape, has, "%.2f").c_str(),
              cell(m.pearson.value_or(0), m.pearson.has_value(), "%.3f").c_str(), note.c_str());
}

int run_eval(const EvalFlags& f) {
  if (!(f.clip_s >= 8 && f.clip_s <= 600))
    throw Error("--clip-seconds: must be 8..600 (one reading needs 6 s of signal)");
  if (!f.json_path.empty()) ensure_writable_file_path(f.json_path, "--json");
  std::string store_error;
  std::unique_ptr<ResultStore> store = f.store.open_for_recording(&store_error);
  std::vector<EvalClip> clips;
  if (f.set == "synthetic") {
    clips = synthetic_eval_set(f.clip_s);
  } else if (f.set.rfind("ubfc:", 0) == 0) {
    clips = ubfc_eval_set(f.set.substr(5));
  } else {
    throw Error("--set " + f.set + ": expected synthetic or ubfc:DIR");
  }
  EvalOptions options;
  options.methods.clear();
  for (const auto& name : split_list(f.methods)) options.methods.push_back(pulse_method_from_name(name, "--methods"));
  if (options.methods.empty()) throw Error("--methods: give at least one of green, chrom, pos, neural");
  options.backend = f.backend;
  options.model = f.model;
  options.model_dir = f.model_dir;
  const EvalReport report = evaluate_rppg(clips, options);

  std::printf("%-16s %-8s %8s %8s %8s %8s %8s\n", "clip", "method", "readings", "MAE", "RMSE", "MAPE%", "Pearson");
  for (const auto& c : report.clips) {
    print_metrics_row(c.clip, c.method, c.metrics,
                      c.status == ResultStatus::kOk ? "truth " + cell(c.truth_bpm_mean, true, "%.1f") + " BPM"
                                                    : "FAILED: " + c.reason);
  }
  std::printf("\nper method, all clips pooled (MAE/RMSE in BPM, MAPE in %%):\n");
  for (const auto& [name, m] : report.methods) print_metrics_row("all", name, m, "");
  if (!f.json_path.empty()) {
    nlohmann::json doc = {
        {"schema", "inferlab.rppg-eval/1"}, {"set", f.set}, {"env", to_json(environment_with_engines(1))}};
    doc.update(eval_report_json(report));
    write_file_atomically(f.json_path, doc.dump(2) + "\n");
  }
  RunRecorder recorder(std::move(store),
                       make_run_record("rppg-eval", command_line(), environment_with_engines(1), nullptr), "");
  std::size_t index = 0;
  for (const auto& c : report.clips)
    recorder.record(index++, eval_row(f, c.method, c.clip, c.metrics, c.status, c.reason));
  for (const auto& [name, m] : report.methods) {
    const bool neural_failed = name == "neural" && report.neural_status != "ok";
    recorder.record(index++, eval_row(f, name, "all", m, neural_failed ? ResultStatus::kFailed : ResultStatus::kOk,
                                      neural_failed ? report.neural_status : ""));
  }
  if (const std::string line = recorder.summary(); !line.empty()) std::cout << line << '\n';
  if (!store_error.empty()) throw Error(store_error + " (the files above were written; nothing was recorded)");
  return 0;
}

}  // namespace

void add_rppg_eval(CLI::App& app, int* exit_code) {
  auto* sub = app.add_subcommand("rppg-eval", "Heart-rate accuracy (MAE, RMSE, MAPE, Pearson) of each rPPG method");
  auto f = std::make_shared<EvalFlags>();
  sub->add_option("--set", f->set, "synthetic (seeded clips) | ubfc:DIR (default synthetic)");
  sub->add_option("--methods", f->methods, "Comma list of green, chrom, pos, neural (default all)");
  sub->add_option("--backend", f->backend, "Backend running the neural model (default opencv)");
  sub->add_option("--model", f->model, "neural: rPPG model, a path or prepared name (default rppg_net)");
  sub->add_option("--dir", f->model_dir, "Model directory");
  sub->add_option("--clip-seconds", f->clip_s, "Length of each synthetic clip (default 30)");
  sub->add_option("--json", f->json_path, "Write the evaluation as JSON here");
  f->store.add_to(*sub, true);
  sub->callback([f, exit_code] { *exit_code = run_eval(*f); });
}

}  // namespace inferlab::cli
