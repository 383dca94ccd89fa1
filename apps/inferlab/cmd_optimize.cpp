// `inferlab optimize`: FP16, INT8 (calibrated QDQ), pruning and graph passes
// on an ONNX model, re-measured and held to an accuracy budget.
#include <iostream>
#include <sstream>

#include "cli_util.h"
#include "commands.h"
#include "inferlab/distill.h"
#include "inferlab/error.h"
#include "inferlab/files.h"
#include "inferlab/optimizer.h"
#include "inferlab/recording.h"
#include "optimize_chain.h"
#include "store_flags.h"
#include "training_progress.h"

namespace inferlab::cli {

namespace {

struct OptimizeFlags {
  std::string model, output, calib, dataset, calibrator = "auto", backends = "opencv,torch,native";
  std::string calib_backend = "native", json_path, model_dir;
  bool fp16 = false, fp16_io = false, int8 = false, no_latency = false, quiet = false;
  std::optional<double> prune, prune_channels, max_top1_drop;
  double percentile = 99.99;
  int weight_bits = 7;
  std::int64_t calib_count = 512, limit = 0, sensitivity_samples = 64;
  int threads = -1;
  double latency_ms = 1000;
  // Training (fine-tuning after pruning, distillation).
  std::string finetune, student, eval_dataset;
  bool distill = false;
  std::optional<int> epochs;
  std::optional<double> lr;
  int prune_steps = 1, seed = 0;
  StoreFlags store;
  double temperature = 4, alpha = 0.9;
  std::vector<std::string> then_steps;  // --then "FLAGS", in order
};

// What one step of a chain starts from: the general settings of the first
// step (backends, threads, latency, limit, seed, ...) without its
// optimization, data and output flags, which each step names itself.
OptimizeFlags step_base(const OptimizeFlags& first) {
  OptimizeFlags f;
  f.backends = first.backends;
  f.calib_backend = first.calib_backend;
  f.model_dir = first.model_dir;
  f.no_latency = first.no_latency;
  f.quiet = first.quiet;
  f.threads = first.threads;
  f.latency_ms = first.latency_ms;
  f.limit = first.limit;
  f.seed = first.seed;
  f.store = first.store;
  return f;
}

// The outcome of one optimize or distill run, for a chain's summary.
struct StepOutcome {
  nlohmann::json report;
  ChainStepSummary summary;
  bool budget_failed = false;
};

// The store a step records into, opened (created, migrated, checked
// writable) before the step's work, so a bad --store fails fast; an
// unreachable server is deferred (`error`) until the step's files are written.
struct StepStore {
  std::unique_ptr<ResultStore> store;
  std::string error;
  explicit StepStore(const OptimizeFlags& f) : store(f.store.open_for_recording(&error)) {}
};

// Records a step's batch-1 latency rows (original and result interleaved per
// backend) as one run, so `results`, `compare` and `report` see an
// optimization round like any bench.
void record_latency_rows(StepStore opened, const std::vector<BenchResult>& rows, const RunSettings& run, int threads) {
  std::unique_ptr<ResultStore> store = std::move(opened.store);
  const std::string store_error = opened.error;
  RunRecorder recorder(
      std::move(store),
      make_run_record("optimize", command_line(), environment_with_engines(threads), run_rules_json(run)), "");
  for (std::size_t i = 0; i < rows.size(); ++i) recorder.record(i, rows[i]);
  if (!recorder.summary().empty()) std::cout << recorder.summary() << '\n';
  if (!store_error.empty()) throw Error(store_error + " (the files above were written; nothing was recorded)");
}

// The held-out set that goes with a training set: digits:train's is digits.
std::string held_out_for(const std::string& train, const std::string& flag) {
  if (!flag.empty()) return flag;
  if (train == "digits:train") return "digits";
  throw Error("--eval-dataset: give the held-out dataset that goes with " + train);
}

RunSettings latency_settings(double latency_ms) {
  if (!(latency_ms > 0)) throw Error("--latency-ms: must be > 0");
  RunSettings run;
  run.min_duration_ms = latency_ms;
  run.min_count = 20;
  run.warmup_min_duration_ms = 200;
  return run;
}

DistillOptions distill_options(const OptimizeFlags& f) {
  if (f.fp16 || f.int8 || f.prune || f.prune_channels || !f.finetune.empty())
    throw Error("--distill: give it alone (chain further steps with --then \"--prune 0.5 --finetune ...\")");
  DistillOptions o;
  o.teacher = resolve_model(f.model, model_directory(f.model_dir));
  o.student = f.student;
  o.dataset = f.dataset;
  if (o.dataset.empty()) throw Error("--distill needs --dataset DATASET (e.g. digits:train)");
  o.eval_dataset = held_out_for(o.dataset, f.eval_dataset);
  o.output_path = f.output;
  o.temperature = f.temperature;
  o.alpha = f.alpha;
  o.epochs = f.epochs.value_or(12);
  o.lr = f.lr.value_or(3e-3);
  o.seed = f.seed;
  o.backends = split_list(f.backends);
  if (o.backends.empty()) throw Error("--backends: give at least one backend");
  if (f.threads != -1 && f.threads < 1) throw Error("--threads " + std::to_string(f.threads) + ": must be >= 1");
  o.threads = f.threads == -1 ? default_thread_count() : f.threads;
  if (f.limit < 0) throw Error("--limit " + std::to_string(f.limit) + ": must be >= 0 (0: all samples)");
  o.eval_limit = static_cast<std::size_t>(f.limit);
  o.measure_latency = !f.no_latency;
  o.latency_run = latency_settings(f.latency_ms);
  return o;
}

StepOutcome run_distill_step(const OptimizeFlags& f, const DistillOptions& o, const std::string& label) {
  StepStore store(f);
  OptimizeProgress progress(f.quiet);
  const DistillReport report = run_distill(o, [&](const std::string& line) { progress(line); });
  std::cout << render_distill_report(report);
  record_latency_rows(std::move(store), report.latency, o.latency_run, o.threads);
  return {to_json(report), summarize_step(report, label, o.teacher.argument, o.output_path), false};
}

OptimizeOptions optimize_options(const OptimizeFlags& f) {
  if (!f.student.empty()) throw Error("--student needs --distill");
  OptimizeOptions o;
  o.model = resolve_model(f.model, model_directory(f.model_dir));
  o.output_path = f.output;
  o.fp16 = f.fp16;
  o.fp16_io = f.fp16_io;
  if (f.fp16_io && !f.fp16) throw Error("--fp16-io needs --fp16");
  o.int8 = f.int8;
  o.prune_sparsity = f.prune;
  o.prune_channel_fraction = f.prune_channels;
  o.finetune_dataset = f.finetune;
  if (!f.finetune.empty()) o.finetune_eval_dataset = held_out_for(f.finetune, f.eval_dataset);
  o.finetune_epochs = f.epochs.value_or(o.finetune_epochs);
  o.finetune_lr = f.lr.value_or(o.finetune_lr);
  o.prune_steps = f.prune_steps;
  o.train_seed = f.seed;
  o.calib_dataset = f.calib;
  if (f.calib_count < 1) throw Error("--calib-count " + std::to_string(f.calib_count) + ": must be >= 1");
  o.calib_count = static_cast<std::size_t>(f.calib_count);
  o.calibrator = calibrator_from_name(f.calibrator);
  o.percentile = f.percentile;
  if (f.weight_bits != 7 && f.weight_bits != 8)
    throw Error("--weight-bits " + std::to_string(f.weight_bits) + ": give 7 or 8");
  o.int8_weight_bits = f.weight_bits;
  o.eval_dataset = f.dataset;
  if (o.eval_dataset.empty() && f.max_top1_drop && !f.calib.empty()) {
    o.eval_dataset = f.calib;
    std::cerr << "note: no --dataset; the accuracy budget is measured on the calibration set " << f.calib
              << " (give --dataset for held-out samples)\n";
  }
  o.max_top1_drop_pts = f.max_top1_drop;
  if (f.limit < 0) throw Error("--limit " + std::to_string(f.limit) + ": must be >= 0 (0: all samples)");
  o.eval_limit = static_cast<std::size_t>(f.limit);
  if (f.sensitivity_samples < 1) throw Error("--sensitivity-samples: must be >= 1");
  o.sensitivity_samples = static_cast<std::size_t>(f.sensitivity_samples);
  o.backends = split_list(f.backends);
  if (o.backends.empty()) throw Error("--backends: give at least one backend");
  o.calib_backend = f.calib_backend;
  if (f.threads != -1 && f.threads < 1) throw Error("--threads " + std::to_string(f.threads) + ": must be >= 1");
  o.threads = f.threads == -1 ? default_thread_count() : f.threads;
  o.measure_latency = !f.no_latency;
  o.latency_run = latency_settings(f.latency_ms);
  return o;
}

StepOutcome run_optimize_step(const OptimizeFlags& f, const OptimizeOptions& o, const std::string& label) {
  StepStore store(f);
  OptimizeProgress progress(f.quiet);
  const OptimizeReport report = run_optimize(o, [&](const std::string& line) { progress(line); });
  std::cout << render_optimize_report(report);
  StepOutcome outcome{to_json(report), summarize_step(report, label), report.budget_held && !*report.budget_held};
  record_latency_rows(std::move(store), report.latency, o.latency_run, o.threads);
  if (outcome.budget_failed) {
    std::cout << "CHECK FAILED: top-1 drop exceeds --max-top1-drop " << *f.max_top1_drop << " pts\n";
  }
  return outcome;
}

// One step, its options built (and so validated) before anything runs.
struct PlannedStep {
  OptimizeFlags flags;
  std::string label;
  std::optional<DistillOptions> distill;
  std::optional<OptimizeOptions> optimize;
};

PlannedStep plan_step(OptimizeFlags f, const std::string& label) {
  PlannedStep step{f, label, std::nullopt, std::nullopt};
  if (f.distill) {
    step.distill = distill_options(f);
    check_distill_options(*step.distill);
  } else {
    step.optimize = optimize_options(f);
    check_optimize_options(*step.optimize);
  }
  return step;
}

StepOutcome run_planned(const PlannedStep& step) {
  return step.distill ? run_distill_step(step.flags, *step.distill, step.label)
                      : run_optimize_step(step.flags, *step.optimize, step.label);
}

// The first step in words, as a --then step would be written.
std::string describe_step(const OptimizeFlags& f) {
  std::ostringstream out;
  auto number = [](double v) {
    std::ostringstream n;
    n << v;
    return n.str();
  };
  if (f.distill) out << " --distill --student " << f.student << " --dataset " << f.dataset;
  if (f.prune) out << " --prune " << number(*f.prune);
  if (f.prune_channels) out << " --prune-channels " << number(*f.prune_channels);
  if (!f.finetune.empty()) out << " --finetune " << f.finetune;
  if (f.fp16) out << " --fp16";
  if (f.int8) out << " --int8 --calib " << f.calib;
  std::string text = out.str();
  return text.empty() ? "graph passes" : text.substr(1);
}

// Every flag a step of a recipe may give (all but MODEL, -o, --json, --then
// and the store, which belong to the whole command).
void define_step_flags(CLI::App& sub, OptimizeFlags& f) {
  sub.add_flag("--fp16", f.fp16, "Weights and activations to float16 (sensitive ops kept in float32)");
  sub.add_flag("--fp16-io", f.fp16_io, "With --fp16: float16 graph inputs and outputs too");
  sub.add_flag("--int8", f.int8, "Static INT8 quantization (QDQ), calibrated on --calib");
  sub.add_option("--prune", f.prune, "Unstructured magnitude pruning to this sparsity, in (0, 1)");
  sub.add_option("--prune-channels", f.prune_channels, "Structured Conv channel pruning: fraction removed, in (0, 1)");
  sub.add_option("--finetune", f.finetune, "After pruning, fine-tune on this dataset (digits:train), zeros kept");
  sub.add_option("--prune-steps", f.prune_steps, "Gradual pruning: K prune -> fine-tune steps (needs --finetune)")
      ->capture_default_str();
  sub.add_flag("--distill", f.distill, "Distil MODEL (the teacher) into --student, trained on --dataset");
  sub.add_option("--student", f.student, "Student architecture (digits_small) or a .onnx file, for --distill");
  sub.add_option("--temperature", f.temperature, "Distillation softmax temperature")->capture_default_str();
  sub.add_option("--alpha", f.alpha, "Distillation: weight of the soft-target loss, in [0, 1]")->capture_default_str();
  sub.add_option("--epochs", f.epochs, "Training epochs (fine-tuning: 5 per step; distillation: 12)");
  sub.add_option("--lr", f.lr, "AdamW peak learning rate (fine-tuning: 5e-4; distillation: 3e-3)");
  sub.add_option("--seed", f.seed, "Training seed")->capture_default_str();
  sub.add_option("--eval-dataset", f.eval_dataset, "Held-out set for training (default: digits for digits:train)");
  sub.add_option("--calib", f.calib, "Calibration dataset: digits:train | digits | imagenet:DIR | folder:DIR");
  sub.add_option("--calib-count", f.calib_count, "Calibration samples")->capture_default_str();
  sub.add_option("--calibrator", f.calibrator,
                 "auto (per activation, the best output SQNR of the three) | minmax | percentile | entropy")
      ->capture_default_str();
  sub.add_option("--percentile", f.percentile, "For --calibrator percentile, in (0, 100]")->capture_default_str();
  sub.add_option("--weight-bits", f.weight_bits,
                 "INT8 weight precision: 7 (the same results on CPUs with and without VNNI) or 8 (VNNI CPUs only)")
      ->capture_default_str();
  sub.add_option("--dataset", f.dataset,
                 "Labelled dataset for accuracy before/after (e.g. digits); with --distill, the training set");
  sub.add_option("--max-top1-drop", f.max_top1_drop,
                 "Accuracy budget in top-1 points; INT8 layers go back to FP32 until it holds; exit 1 if it cannot");
  sub.add_option("--limit", f.limit, "Evaluate only the first N samples (0: all)")->capture_default_str();
  sub.add_option("--sensitivity-samples", f.sensitivity_samples, "Samples for per-layer INT8 sensitivity")
      ->capture_default_str();
  sub.add_option("--backends", f.backends, "Backends measured before and after")->capture_default_str();
  sub.add_option("--calib-backend", f.calib_backend, "Backend that runs calibration and sensitivity")
      ->capture_default_str();
  sub.add_option("--threads", f.threads, "Engine intra-op threads (default: the online CPUs)");
  sub.add_option("--latency-ms", f.latency_ms, "Minimum measuring time per latency row")->capture_default_str();
  sub.add_flag("--no-latency", f.no_latency, "Skip the latency measurement");
  sub.add_option("--model-dir", f.model_dir, "Where prepared models live");
  sub.add_flag("--quiet", f.quiet, "No progress on stderr");
}

// A --then step's flags on top of the first step's general settings.
OptimizeFlags parse_step_flags(const OptimizeFlags& first, const std::string& text) {
  OptimizeFlags step = step_base(first);
  CLI::App parser("optimize --then");
  define_step_flags(parser, step);
  try {
    parser.parse(text, false);
  } catch (const CLI::ParseError& e) {
    throw Error("--then \"" + text + "\": " + e.what());
  }
  if (!step.distill && !step.fp16 && !step.int8 && !step.prune && !step.prune_channels) {
    throw Error("--then \"" + text +
                "\": names no optimization (--int8, --fp16, --prune, --prune-channels, --distill)");
  }
  return step;
}

int run_optimize_verb(const OptimizeFlags& f) {
  if (!f.json_path.empty()) ensure_writable_file_path(f.json_path, "--json");
  if (f.then_steps.empty()) {
    StepOutcome outcome = run_planned(plan_step(f, ""));
    if (!f.json_path.empty()) {
      write_file_atomically(f.json_path, outcome.report.dump(2) + "\n");
      std::cout << "wrote " << f.json_path << '\n';
    }
    return outcome.budget_failed ? 1 : 0;
  }
  // Every step's flags are parsed and checked before the first one runs, so
  // a typo in the last step cannot cost the minutes of training before it.
  // Step k reads step k-1's file (which carries the model's preprocessing
  // in its metadata) and writes <output stem>.step<k>.onnx; the last writes -o.
  const std::size_t count = f.then_steps.size() + 1;
  std::vector<OptimizeFlags> flags{f};
  for (const auto& text : f.then_steps) flags.push_back(parse_step_flags(f, text));
  std::vector<std::string> labels{describe_step(f)};
  for (const auto& text : f.then_steps) labels.push_back(text);
  for (std::size_t i = 0; i < count; ++i) {
    flags[i].model = i == 0 ? f.model : chain_step_output(f.output, i - 1, count);
    flags[i].output = chain_step_output(f.output, i, count);
    // A later step's input does not exist yet: its flags are checked against
    // the first step's model now, and the step is planned again when it runs.
    OptimizeFlags check = flags[i];
    check.model = f.model;
    plan_step(check, labels[i]);
  }
  std::vector<ChainStepSummary> summaries;
  std::vector<nlohmann::json> reports;
  int exit_code = 0;
  for (std::size_t i = 0; i < count; ++i) {
    std::cout << "\n=== recipe step " << (i + 1) << "/" << count << ": " << labels[i] << " ===\n";
    StepOutcome outcome = run_planned(plan_step(flags[i], labels[i]));
    summaries.push_back(outcome.summary);
    reports.push_back(outcome.report);
    if (outcome.budget_failed) {
      exit_code = 1;
      if (i + 1 < count) std::cout << "recipe stopped after step " << (i + 1) << ": its accuracy budget failed\n";
      break;
    }
  }
  std::cout << render_chain_summary(summaries);
  if (!f.json_path.empty()) {
    write_file_atomically(f.json_path, chain_json(summaries, reports).dump(2) + "\n");
    std::cout << "wrote " << f.json_path << '\n';
  }
  return exit_code;
}

}  // namespace

void add_optimize(CLI::App& app, int* exit_code) {
  auto* sub = app.add_subcommand("optimize", "FP16, INT8 (calibrated QDQ), pruning and graph passes on an ONNX model");
  auto f = std::make_shared<OptimizeFlags>();
  sub->add_option("model", f->model, "A prepared model name or a path to .onnx")->required();
  sub->add_option("-o,--output", f->output, "The optimized .onnx to write (never the input)")->required();
  define_step_flags(*sub, *f);
  sub->add_option("--then", f->then_steps,
                  "A further step on the previous step's output, e.g. --then \"--int8 --calib digits:train\" "
                  "(repeatable; earlier steps write OUT.stepN.onnx)");
  sub->add_option("--json", f->json_path,
                  "Write the report as JSON (inferlab.optimize/1; with --then inferlab.optimize-chain/1)");
  f->store.add_to(*sub, true);
  sub->callback([=] { *exit_code = run_optimize_verb(*f); });
}

}  // namespace inferlab::cli
