// `inferlab accuracy`: Top-1/Top-5 per backend x precision on a labelled dataset.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>

#include "bench_flags.h"
#include "cli_util.h"
#include "commands.h"
#include "inferlab/accuracy.h"
#include "inferlab/backend.h"
#include "inferlab/contact_sheet.h"
#include "inferlab/error.h"
#include "inferlab/files.h"
#include "inferlab/model_metadata.h"
#include "inferlab/recording.h"
#include "inferlab/registry.h"
#include "inferlab/report.h"
#include "store_flags.h"

namespace inferlab::cli {

namespace {

// Misclassified samples per contact sheet (--failures).
constexpr std::size_t kContactSheetSamples = 32;

struct AccuracyFlags {
  std::string model, dataset, backends = "opencv,torch", precision = "fp32", reference, model_dir;
  std::string json_path, md_path, failures_dir;
  StoreFlags store;
  std::int64_t batch = 16;
  int threads = -1;  // -1: the online CPUs
  int loader_threads = 1;
  EngineFlags engine;
  std::int64_t limit = 0;
  // Preprocessing overrides; unset keeps the manifest's (or the derived default).
  std::optional<int> resize, crop;
  std::optional<double> scale;
  std::string mean, std, channels;
  std::optional<double> min_top1, min_agreement;
  bool quiet = false;
};

std::vector<float> parse_floats(const std::string& text, const std::string& flag) {
  std::vector<float> values;
  for (const auto& item : split_list(text)) {
    try {
      std::size_t used = 0;
      values.push_back(std::stof(item, &used));
      if (used != item.size()) throw std::invalid_argument(item);
    } catch (const std::exception&) {
      throw Error(flag + " " + text + ": '" + item + "' is not a number");
    }
  }
  return values;
}

bool any_override(const AccuracyFlags& f) {
  return f.resize || f.crop || f.scale || !f.channels.empty() || !f.mean.empty() || !f.std.empty();
}

ModelPreprocess preprocessing_for(const ResolvedModel& model, const AccuracyFlags& f) {
  ModelPreprocess declared = preprocess_of_model(model);
  if (any_override(f)) declared.source += ", with command-line overrides";
  Preprocess& p = declared.preprocess;
  if (f.resize) {
    if (*f.resize < 0) throw Error("--resize " + std::to_string(*f.resize) + ": must be >= 0");
    p.resize_shorter_px = *f.resize;
  }
  if (f.crop) {
    if (*f.crop < 1) throw Error("--crop " + std::to_string(*f.crop) + ": must be >= 1");
    p.crop_height_px = p.crop_width_px = *f.crop;
  }
  if (f.scale) p.scale = *f.scale;
  if (!f.channels.empty()) {
    if (f.channels == "RGB") {
      p.channel_order = ChannelOrder::kRgb;
    } else if (f.channels == "BGR") {
      p.channel_order = ChannelOrder::kBgr;
    } else if (f.channels == "GRAY") {
      p.channel_order = ChannelOrder::kGray;
    } else {
      throw Error("--channels " + f.channels + ": expected RGB, BGR or GRAY");
    }
  }
  if (!f.mean.empty()) p.mean = parse_floats(f.mean, "--mean");
  if (!f.std.empty()) p.std = parse_floats(f.std, "--std");
  const auto per_channel = [&](const std::vector<float>& v) {
    return v.size() == 1 || v.size() == static_cast<std::size_t>(p.channels());
  };
  if (!per_channel(p.mean)) throw Error("--mean: give 1 or " + std::to_string(p.channels()) + " values");
  if (!per_channel(p.std)) throw Error("--std: give 1 or " + std::to_string(p.channels()) + " values");
  for (float s : p.std) {
    if (!(s > 0)) throw Error("--std: values must be > 0");
  }
  return declared;
}

// A one-line bar redrawn in place; only when stderr is a terminal, so CI logs
// stay free of carriage returns.
class ProgressBar {
 public:
  explicit ProgressBar(bool enabled) : enabled_(enabled) {}
  void update(const std::string& row, std::size_t done, std::size_t total) {
    if (!enabled_ || total == 0) return;
    constexpr int kWidth = 30;
    const int filled = static_cast<int>(kWidth * done / total);
    std::fprintf(stderr, "\r%-14s [%s%s] %zu/%zu", row.c_str(), std::string(filled, '#').c_str(),
                 std::string(kWidth - filled, '.').c_str(), done, total);
    if (done >= total) std::fputc('\n', stderr);
    std::fflush(stderr);
  }

 private:
  bool enabled_;
};

// One PNG per row that ran, in `dir`, of the misclassified samples the runner
// kept; each row records its sheet's path.
void write_contact_sheets(AccuracyOutcome& outcome, const AccuracyOptions& options, const Dataset& dataset,
                          const std::string& dir) {
  for (std::size_t i = 0; i < outcome.rows.size(); ++i) {
    BenchResult& row = outcome.rows[i];
    if (!row.accuracy) continue;
    const std::vector<Misclassified>& samples = outcome.misclassified[i];
    const std::string path = (std::filesystem::path(dir) / file_safe_name(options.model.name + "." + row.backend + "." +
                                                                          row.precision + ".failures.png"))
                                 .string();
    write_contact_sheet(samples, dataset.class_names(),
                        options.model.name + " on " + row.backend + " " + row.precision + ": first " +
                            std::to_string(samples.size()) + " of " + std::to_string(row.accuracy->misclassified) +
                            " misclassified (" + dataset.name() + ")",
                        path);
    row.accuracy->contact_sheet = path;
  }
}

int run_accuracy_verb(const AccuracyFlags& f) {
  AccuracyOptions options;
  if (f.threads != -1 && f.threads < 1) throw Error("--threads " + std::to_string(f.threads) + ": must be >= 1");
  if (f.loader_threads < 1) throw Error("--loader-threads " + std::to_string(f.loader_threads) + ": must be >= 1");
  if (f.batch < 1) throw Error("--batch " + std::to_string(f.batch) + ": must be >= 1");
  if (f.limit < 0) throw Error("--limit " + std::to_string(f.limit) + ": must be >= 0 (0: all samples)");
  options.threads = f.threads == -1 ? default_thread_count() : f.threads;
  options.loader_threads = f.loader_threads;
  options.engine_options = f.engine.engine_options();
  options.batch = f.batch;
  options.limit = static_cast<std::size_t>(f.limit);
  options.backends = split_list(f.backends);
  if (options.backends.empty()) throw Error("--backends: give at least one backend");
  for (const auto& name : options.backends) create_backend(name);
  options.precisions = split_list(f.precision);
  if (options.precisions.empty()) throw Error("--precision: give at least one precision");
  for (const auto& p : options.precisions) precision_from_name(p);
  if (!f.reference.empty() &&
      std::find(options.backends.begin(), options.backends.end(), f.reference) == options.backends.end()) {
    throw Error("--reference " + f.reference + ": not among --backends " + f.backends);
  }
  options.reference = f.reference;
  options.dataset = f.dataset;
  options.model = resolve_model(f.model, model_directory(f.model_dir));
  const ModelPreprocess preprocess = preprocessing_for(options.model, f);
  options.preprocess = preprocess.preprocess;
  options.preprocess_source = preprocess.source;
  if (!f.json_path.empty()) ensure_writable_file_path(f.json_path, "--json");
  if (!f.md_path.empty()) ensure_writable_file_path(f.md_path, "--md");
  if (!f.failures_dir.empty()) ensure_writable_directory(f.failures_dir, "--failures");
  options.misclassified_kept = f.failures_dir.empty() ? 0 : kContactSheetSamples;
  // Opened and checked before any engine loads, so every bad input is
  // reported first; run_accuracy() reuses it.
  const auto dataset = open_checked_dataset(options);
  std::string store_error;
  std::unique_ptr<ResultStore> store = f.store.open_for_recording(&store_error);

  Environment env = environment_with_engines(options.threads);
  if (!f.quiet) {
    std::cerr << "inferlab accuracy: " << options.model.name << " on " << options.dataset << ", batch " << options.batch
              << ", " << options.threads << " engine thread(s), " << options.loader_threads
              << " loader thread(s); preprocessing (" << preprocess.source << "): " << options.preprocess.describe()
              << '\n';
  }
  // Even with --quiet: a guess that is wrong makes every figure wrong with
  // no other sign (an optimized file without metadata scored 10% that way).
  if (preprocess.source.rfind(kPreprocessGuessed, 0) == 0) {
    std::cerr << "inferlab accuracy: note: " << options.model.argument
              << " declares no preprocessing (no manifest, no inferlab metadata); " << kPreprocessGuessed << ": "
              << options.preprocess.describe() << " (override with --resize --crop --scale --mean --std --channels)\n";
  }
  ProgressBar bar(!f.quiet && isatty(STDERR_FILENO));
  AccuracyOutcome outcome =
      run_accuracy(options, *dataset,
                   [&](const std::string& row, std::size_t done, std::size_t total) { bar.update(row, done, total); });
  if (!f.failures_dir.empty()) write_contact_sheets(outcome, options, *dataset, f.failures_dir);
  std::vector<BenchResult>& results = outcome.rows;

  // Accuracy rows run in this process and finish together: recorded as one run.
  RunRecorder recorder(std::move(store), make_run_record("accuracy", command_line(), env, nullptr), "");
  for (std::size_t i = 0; i < results.size(); ++i) {
    results[i].model_sha256 = options.model.sha256_onnx;
    recorder.record(i, results[i]);
  }

  const BenchTables tables = build_accuracy_tables(results);
  std::cout << render_text(tables);
  int failed_checks = 0;
  for (const auto& r : results) {
    if (!r.accuracy) continue;
    const auto& a = *r.accuracy;
    if (a.wall_s > 0 && a.loader.consumer_wait_ms > 0.2 * a.wall_s * 1000) {
      std::cout << "note: " << r.backend << " " << r.precision << " waited "
                << static_cast<int>(100 * a.loader.consumer_wait_ms / (a.wall_s * 1000))
                << "% of the pass for data: the loader is the bottleneck (try --loader-threads)\n";
    }
    if (f.min_top1 && a.top1 < *f.min_top1) {
      std::cout << "CHECK FAILED: " << r.backend << " " << r.precision << " top-1 " << a.top1 << " < --min-top1 "
                << *f.min_top1 << '\n';
      ++failed_checks;
    }
    if (f.min_agreement && a.agreement_top1 && *a.agreement_top1 < *f.min_agreement) {
      std::cout << "CHECK FAILED: " << r.backend << " " << r.precision << " agreement " << *a.agreement_top1
                << " < --min-agreement " << *f.min_agreement << '\n';
      ++failed_checks;
    }
  }
  nlohmann::json doc = bench_document(env, results);
  if (!f.json_path.empty()) {
    write_file_atomically(f.json_path, doc.dump(2) + "\n");
    std::cout << "wrote " << f.json_path << '\n';
  }
  if (!f.md_path.empty()) {
    write_file_atomically(f.md_path, render_markdown(tables, env));
    std::cout << "wrote " << f.md_path << '\n';
  }
  if (const std::string line = recorder.summary(); !line.empty()) std::cout << line << '\n';
  if (!store_error.empty()) throw Error(store_error + " (the files above were written; nothing was recorded)");
  const bool any_ok = std::any_of(results.begin(), results.end(), [](const BenchResult& r) { return r.ok(); });
  if (!any_ok)
    throw Error(options.model.name + ": no backend produced an accuracy (see the footnotes above)",
                ErrorKind::kCheckFailed);
  return failed_checks > 0 ? 1 : 0;
}

}  // namespace

void add_accuracy(CLI::App& app, int* exit_code) {
  auto* sub = app.add_subcommand("accuracy", "Top-1/Top-5 per backend x precision on a labelled dataset");
  auto f = std::make_shared<AccuracyFlags>();
  sub->add_option("model", f->model, "A prepared model name or a path to .onnx / .pt")->required();
  sub->add_option(
         "--dataset", f->dataset,
         "digits (= digits:test, 1000 held-out digits) | digits:train | digits:all | imagenet:DIR | folder:DIR")
      ->required();
  sub->add_option("--backends", f->backends, "Comma list of backends")->capture_default_str();
  sub->add_option("--precision", f->precision, "Comma list: fp32, fp16, bf16, int8")->capture_default_str();
  sub->add_option("--reference", f->reference, "Backend whose top-1 the others are compared with (default: the first)");
  sub->add_option("--batch", f->batch, "Samples per inference call")->capture_default_str();
  sub->add_option("--threads", f->threads, "Engine intra-op threads (default: the online CPUs)");
  f->engine.add_to(*sub);
  sub->add_option("--loader-threads", f->loader_threads, "Decode/preprocess threads")->capture_default_str();
  sub->add_option("--limit", f->limit, "Use only the first N samples (0: all)")->capture_default_str();
  sub->add_option("--failures", f->failures_dir,
                  "Write a contact sheet of the first 32 misclassified samples per row to this directory");
  sub->add_option("--resize", f->resize, "Override: resize the shorter side to N pixels (0: none)");
  sub->add_option("--crop", f->crop, "Override: center crop N x N");
  sub->add_option("--scale", f->scale, "Override: pixel scale before mean/std (e.g. 0.00392156862745098)");
  sub->add_option("--mean", f->mean, "Override: per-channel mean, comma list");
  sub->add_option("--std", f->std, "Override: per-channel std, comma list");
  sub->add_option("--channels", f->channels, "Override: RGB | BGR | GRAY");
  sub->add_option("--min-top1", f->min_top1, "Exit 1 when a row's top-1 fraction is below this");
  sub->add_option("--min-agreement", f->min_agreement, "Exit 1 when a row's top-1 agreement fraction is below this");
  sub->add_option("--json", f->json_path, "Write the JSON document here");
  sub->add_option("--md", f->md_path, "Write Markdown here");
  sub->add_option("--model-dir", f->model_dir, "Where prepared models live");
  sub->add_flag("--quiet", f->quiet, "No progress on stderr");
  f->store.add_to(*sub, true);
  sub->callback([=] { *exit_code = run_accuracy_verb(*f); });
}

}  // namespace inferlab::cli
