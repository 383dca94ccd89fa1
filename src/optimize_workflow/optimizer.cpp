// `inferlab optimize`: the order is passes -> pruning -> FP16 | INT8, then
// the result is measured exactly as users measure any model (the accuracy
// runner and the bench orchestrator), so before/after figures come from the
// same code as every other figure inferlab prints.
#include "inferlab/optimizer.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <optional>
#include <set>
#include <sstream>

#include "inferlab/accuracy.h"
#include "inferlab/bench.h"
#include "inferlab/error.h"
#include "inferlab/files.h"
#include "inferlab/fp16.h"
#include "inferlab/model_metadata.h"
#include "inferlab/pruning.h"
#include "inferlab/registry.h"
#include "optimize/graph_edit.h"
#include "optimize_workflow/graph_runner.h"
#include "optimize_workflow/int8_calibration.h"
#include "optimize_workflow/prune_finetune.h"

namespace fs = std::filesystem;

namespace inferlab {

void check_optimize_options(const OptimizeOptions& o) {
  const auto onnx = o.model.paths.find(ModelFormat::kOnnx);
  if (onnx == o.model.paths.end())
    throw Error(o.model.argument + ": optimize needs an ONNX model", ErrorKind::kBadInput);
  if (o.output_path.empty()) throw Error("-o: give the .onnx file to write", ErrorKind::kBadInput);
  std::error_code ec;
  if (fs::exists(o.output_path, ec) && fs::equivalent(o.output_path, onnx->second, ec))
    throw Error("-o " + o.output_path + ": that is the input model; refusing to overwrite the source",
                ErrorKind::kBadInput);
  if (!o.fp16 && !o.int8 && !o.prune_sparsity && !o.prune_channel_fraction)
    throw Error("optimize: give at least one of --fp16, --int8, --prune, --prune-channels", ErrorKind::kBadInput);
  if (o.fp16 && o.int8) throw Error("--fp16 and --int8: choose one", ErrorKind::kBadInput);
  for (const auto& [flag, value] :
       {std::pair{"--prune", o.prune_sparsity}, {"--prune-channels", o.prune_channel_fraction}}) {
    if (value && !(*value > 0 && *value < 1))
      throw Error(std::string(flag) + " " + std::to_string(*value) + ": sparsity must be in (0, 1)",
                  ErrorKind::kBadInput);
  }
  const bool prunes = o.prune_sparsity || o.prune_channel_fraction;
  if (!o.finetune_dataset.empty() && !prunes)
    throw Error("--finetune needs --prune or --prune-channels", ErrorKind::kBadInput);
  if (o.prune_steps < 1) throw Error("--prune-steps: must be >= 1", ErrorKind::kBadInput);
  if (o.prune_steps > 1 && o.finetune_dataset.empty())
    throw Error("--prune-steps needs --finetune DATASET (gradual pruning fine-tunes between steps)",
                ErrorKind::kBadInput);
  if (o.finetune_epochs < 1) throw Error("--epochs: must be >= 1", ErrorKind::kBadInput);
  if (!(o.finetune_lr > 0)) throw Error("--lr: must be > 0", ErrorKind::kBadInput);
  if (o.int8 && o.calib_dataset.empty())
    throw Error("--int8 needs --calib DATASET (e.g. --calib digits:train)", ErrorKind::kBadInput);
  if (o.calib_count == 0) throw Error("--calib-count: must be >= 1", ErrorKind::kBadInput);
  if (o.max_top1_drop_pts && o.eval_dataset.empty())
    throw Error("--max-top1-drop needs a labelled dataset (--dataset)", ErrorKind::kBadInput);
  if (o.max_top1_drop_pts && *o.max_top1_drop_pts < 0)
    throw Error("--max-top1-drop: must be >= 0 points", ErrorKind::kBadInput);
  ensure_writable_file_path(o.output_path, "-o");
}

namespace {

Preprocess preprocess_of(const ResolvedModel& model) { return preprocess_of_model(model).preprocess; }

// What the output file says was done to it (its inferlab.optimization).
std::string optimization_description(const OptimizeOptions& o) {
  const auto number = [](double value) {
    std::ostringstream out;
    out << value;  // 0.3, not to_string's 0.300000
    return out.str();
  };
  std::string text = "inferlab optimize: graph passes";
  if (o.prune_channel_fraction) text += ", prune-channels " + number(*o.prune_channel_fraction);
  if (o.prune_sparsity) text += ", prune " + number(*o.prune_sparsity);
  if (!o.finetune_dataset.empty()) text += ", fine-tuned on " + o.finetune_dataset;
  if (o.fp16) text += o.fp16_io ? ", fp16 (fp16 inputs/outputs)" : ", fp16";
  if (o.int8) {
    text.append(", int8 QDQ (").append(calibrator_name(o.calibrator)).append(" calibration on ");
    text.append(o.calib_dataset).append(", ").append(std::to_string(o.int8_weight_bits)).append("-bit weights)");
  }
  return text;
}

std::int64_t file_size_bytes(const std::string& path) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  return ec ? 0 : static_cast<std::int64_t>(size);
}

// The optimized file as a model of its own: ONNX only, same interface.
ResolvedModel optimized_model(const ResolvedModel& original, const std::string& path, const std::string& suffix,
                              const ModelMetadata& metadata) {
  ResolvedModel m;
  m.name = original.name + "." + suffix;
  m.argument = path;
  m.paths[ModelFormat::kOnnx] = path;
  m.inputs = original.inputs;
  m.outputs = original.outputs;
  m.file_metadata = metadata;
  return m;
}

// What the backend ran, for the report. How it computes that format is the
// backend's to say (supports(), docs/native.md), not the optimizer's.
std::string model_format_note(const OptimizeOptions& o) {
  if (o.int8) return "ran the INT8 QDQ model";
  if (o.fp16) return o.fp16_io ? "ran the FP16 model (FP16 I/O)" : "ran the FP16 model";
  return "ran the FP32 model";
}

// Always the original's preprocessing: the optimized file has no manifest,
// and a default derived from its input shape could differ.
std::vector<BenchResult> measure_accuracy(const ResolvedModel& model, const Dataset& dataset,
                                          const OptimizeOptions& o) {
  AccuracyOptions a;
  a.model = model;
  a.dataset = o.eval_dataset;
  a.backends = o.backends;
  a.preprocess = preprocess_of(o.model);
  a.threads = o.threads;
  a.limit = o.eval_limit;
  return run_accuracy(a, dataset, nullptr).rows;
}

const BenchResult* row_of(const std::vector<BenchResult>& rows, const std::string& backend) {
  for (const auto& r : rows) {
    if (r.backend == backend) return &r;
  }
  return nullptr;
}

std::vector<AccuracyChange> compare_accuracy(const std::vector<BenchResult>& before,
                                             const std::vector<BenchResult>& after, const OptimizeOptions& o) {
  std::vector<AccuracyChange> changes;
  for (const auto& backend : o.backends) {
    AccuracyChange c;
    c.backend = backend;
    const BenchResult* b = row_of(before, backend);
    const BenchResult* a = row_of(after, backend);
    if (b && b->ok() && b->accuracy) {
      c.top1_before = b->accuracy->top1;
      c.top5_before = b->accuracy->top5;
    }
    if (a) {
      c.status = a->status;
      c.reason = a->reason;
      if (a->ok() && a->accuracy) {
        c.top1_after = a->accuracy->top1;
        c.top5_after = a->accuracy->top5;
        c.execution = model_format_note(o);
      }
    }
    if (c.top1_before && c.top1_after) c.top1_drop_pts = (*c.top1_before - *c.top1_after) * 100.0;
    changes.push_back(c);
  }
  return changes;
}

// The budget holds when every backend that ran both models stays within it
// and at least one did.
std::optional<bool> budget_holds(const std::vector<AccuracyChange>& changes, std::optional<double> budget_pts) {
  if (!budget_pts) return std::nullopt;
  bool any = false;
  for (const auto& c : changes) {
    if (!c.top1_drop_pts) continue;
    any = true;
    // 1e-9: a drop equal to the budget (e.g. exactly 5 of 1000 samples) holds.
    if (*c.top1_drop_pts > *budget_pts + 1e-9) return false;
  }
  return any;
}

OnnxGraph quantized(const OnnxGraph& fp32, const QuantizeOptions& q, OptimizeReport& report) {
  OnnxGraph g = fp32;
  QuantizeReport r = quantize_qdq(g, q);
  report.quantized_layers = r.layers;
  report.left_in_fp32 = r.left_in_fp32;
  report.passes.erase(std::remove_if(report.passes.begin(), report.passes.end(),
                                     [](const PassReport& p) { return p.pass == "int8-qdq"; }),
                      report.passes.end());
  report.passes.push_back(r.pass);
  return g;
}

// Calibration, the QDQ rewrite, per-layer sensitivity and, with a budget,
// the gate that returns the most sensitive layers to FP32 one at a time.
// With the gate, the returned graph is also the last one saved to the
// candidate's path.
OnnxGraph quantize_int8(const OnnxGraph& given, const Dataset& calib, const Dataset* eval,
                        const std::vector<BenchResult>& accuracy_before, const ResolvedModel& candidate,
                        const OptimizeOptions& o, OptimizeReport& report,
                        const std::function<void(const std::string&)>& progress) {
  // Below opset 13 DequantizeLinear has no axis (weights only per tensor),
  // and ONNX Runtime 1.2x's QDQ optimizer inserts Round (opset 11) into an
  // opset-10 model and then refuses to load it. Such a model is converted
  // to opset 13 first, where the converter can.
  std::optional<OnnxGraph> converted;
  if (const std::int64_t opset = graph_edit::default_opset(given.proto()); opset < 13) {
    try {
      converted.emplace(given);
      converted->convert_opset(13);
      progress("opset " + std::to_string(opset) + " converted to 13 for INT8 (per-channel weights)");
      report.steps.push_back("opset " + std::to_string(opset) + " -> 13");
    } catch (const Error& e) {
      converted.reset();
      progress(std::string("staying at opset ") + std::to_string(opset) + " (weights per tensor): " + e.what());
    }
  }
  const OnnxGraph& graph = converted ? *converted : given;
  Shape calib_shape = input_shapes_for(o.model, 16, {}).at(0);
  // A model whose input batch is dynamic may still fix it inside (an
  // exporter's Reshape to 1x2x58x14x14 in ShuffleNet's channel shuffle):
  // then it calibrates one sample per run.
  if (calib_shape.at(0) > 1) {
    try {
      GraphRunner probe(graph, o.calib_backend, o.model.inputs.at(0), calib_shape, o.threads);
    } catch (const Error& e) {
      progress("calibration at batch " + std::to_string(calib_shape[0]) + " failed (" + e.what() +
               "): calibrating at batch 1");
      calib_shape[0] = 1;
    }
  }
  const CalibrationData data =
      load_calibration_data(calib, preprocess_of(o.model), o.model.inputs.at(0), calib_shape, o.calib_count);
  std::size_t samples = 0;
  for (auto v : data.valid) samples += v;
  // Appended piece by piece: GCC 12 warns falsely (-Wrestrict) on " " + to_string().
  report.calibration = calibrator_name(o.calibrator);
  if (o.calibrator == Calibrator::kPercentile) report.calibration.append(" ").append(std::to_string(o.percentile));
  report.calibration.append(" over ").append(std::to_string(samples)).append(" samples of ");
  report.calibration.append(calib.name()).append(" on ").append(o.calib_backend);
  progress("calibration: " + report.calibration);
  QuantizeOptions ranges;
  ranges.weight_bits = o.int8_weight_bits;
  const std::vector<std::string> activations = activation_inputs(graph, {});
  if (o.calibrator == Calibrator::kAuto) {
    const auto stats = activation_statistics(graph, activations, data, true, o.calib_backend, o.threads);
    progress("auto calibration: each activation's calibrator chosen by output SQNR on " +
             std::to_string(std::min(o.sensitivity_samples, samples)) + " samples");
    report.calibration_choices = choose_calibrators(graph, activations, stats, o.percentile, data,
                                                    o.sensitivity_samples, o.calib_backend, o.threads, ranges);
  } else {
    ranges.activations =
        calibrate_activations(graph, activations, data, o.calibrator, o.percentile, o.calib_backend, o.threads);
  }
  OnnxGraph result = quantized(graph, ranges, report);
  report.steps.push_back("int8 (" + calibrator_name(o.calibrator) + ")");
  if (!o.measure_sensitivity && !o.max_top1_drop_pts) return result;
  progress("per-layer sensitivity on " + std::to_string(std::min(o.sensitivity_samples, samples)) + " samples");
  report.sensitivity = measure_sensitivity(graph, ranges, report.quantized_layers, data, o.sensitivity_samples,
                                           o.calib_backend, o.threads);
  if (!eval || !o.max_top1_drop_pts) return result;
  for (std::size_t next = 0;; ++next) {
    result.save(candidate.paths.at(ModelFormat::kOnnx));
    report.accuracy = compare_accuracy(accuracy_before, measure_accuracy(candidate, *eval, o), o);
    report.budget_held = budget_holds(report.accuracy, o.max_top1_drop_pts);
    if (*report.budget_held || next >= report.sensitivity.size()) return result;
    auto& layer = report.sensitivity[next];
    layer.kept_fp32 = true;
    ranges.keep_fp32_nodes.insert(layer.node);
    progress("budget broken: " + layer.node + " (" + layer.op + ", output SQNR " +
             std::to_string(layer.output_sqnr_db) + " dB) back to fp32");
    result = quantized(graph, ranges, report);
  }
}

}  // namespace

OptimizeReport run_optimize(const OptimizeOptions& o, const OptimizeProgressFn& progress_fn) {
  const auto progress = [&](const std::string& line) {
    if (progress_fn) progress_fn(line);
  };
  check_optimize_options(o);
  for (const auto& b : o.backends) create_backend(b);  // an unknown name fails before any work
  const std::string input_path = o.model.paths.at(ModelFormat::kOnnx);
  OptimizeReport report;
  report.model = o.model.name;
  report.input_path = input_path;
  report.output_path = o.output_path;
  report.max_top1_drop_pts = o.max_top1_drop_pts;

  OnnxGraph graph = OnnxGraph::load(input_path);
  graph.check();
  // Written into the graph before any pass, so every file made from it
  // (gate candidates included) is fed like the original without a manifest.
  const ModelMetadata metadata = metadata_for_derived_file(o.model, optimization_description(o));
  write_model_metadata(graph, metadata);
  const GraphSummary before = graph.summarize();
  report.size_bytes_before = file_size_bytes(input_path);
  report.flops_before = before.flops_per_sample;
  report.parameters_before = before.parameter_count;

  // Every dataset opens (and matches the model's input) before any work.
  const ModelPreprocess declared = preprocess_of_model(o.model);
  const Preprocess& preprocess = declared.preprocess;
  report.preprocess_source = declared.source;
  if (declared.guessed() && (o.int8 || !o.eval_dataset.empty())) {
    report.notes.push_back(o.model.argument + " declares no preprocessing; calibration and accuracy used one " +
                           kPreprocessGuessed + " (" + preprocess.describe() +
                           "), and the output records none: prepare the model with a manifest to declare it");
    progress("note: " + report.notes.back());
  }
  std::unique_ptr<Dataset> calib, eval;
  if (o.int8) calib = open_dataset(o.calib_dataset, "--calib");
  if (!o.eval_dataset.empty()) {
    AccuracyOptions a;
    a.model = o.model;
    a.dataset = o.eval_dataset;
    a.preprocess = preprocess;
    eval = open_checked_dataset(a);
  }

  progress("graph passes");
  for (auto& p : run_graph_passes(graph)) report.passes.push_back(std::move(p));
  report.steps.push_back("passes");
  name_unnamed_nodes(graph);

  TempDir scratch("inferlab-optimize");
  // The fine-tuned TorchScript describes the model only when nothing follows
  // pruning (FP16 and INT8 exist as ONNX only).
  const bool torchscript_too = !o.finetune_dataset.empty() && !o.fp16 && !o.int8;
  const std::string torchscript_path = torchscript_too ? scratch.path() + "/finetuned.pt" : "";
  if (o.prune_channel_fraction || o.prune_sparsity) {
    graph = prune_and_finetune(std::move(graph), o, report, scratch.path(), torchscript_path, progress);
    if (o.prune_sparsity) {
      report.notes.push_back(
          "unstructured pruning: no speedup expected (zeros are stored and computed; no engine here uses sparsity)");
    }
  }
  if (o.fp16) {
    progress("fp16 conversion");
    Fp16Options f;
    f.fp16_io = o.fp16_io;
    report.passes.push_back(convert_to_fp16(graph, f));
    report.steps.push_back(o.fp16_io ? "fp16 (fp16 inputs/outputs)" : "fp16");
  }

  const std::string suffix = o.int8 ? "int8" : o.fp16 ? "fp16" : "pruned";
  const std::string candidate_path = scratch.path() + "/" + o.model.name + "." + suffix + ".onnx";
  ResolvedModel candidate = optimized_model(o.model, candidate_path, suffix, metadata);
  if (torchscript_too) candidate.paths[ModelFormat::kTorchScript] = torchscript_path;

  std::vector<BenchResult> accuracy_before;
  if (eval) {
    progress("accuracy of the original on " + o.eval_dataset);
    accuracy_before = measure_accuracy(o.model, *eval, o);
  }

  OnnxGraph result = o.int8 ? quantize_int8(graph, *calib, eval.get(), accuracy_before, candidate, o, report, progress)
                            : std::move(graph);
  // The accuracy gate leaves its last (final) candidate on disk already.
  const bool gate_ran = o.int8 && !report.accuracy.empty();
  if (!gate_ran) result.save(candidate_path);
  if (eval && report.accuracy.empty()) {
    progress("accuracy of the optimized model on " + o.eval_dataset);
    report.accuracy = compare_accuracy(accuracy_before, measure_accuracy(candidate, *eval, o), o);
    report.budget_held = budget_holds(report.accuracy, o.max_top1_drop_pts);
  }
  const GraphSummary after = result.summarize();
  report.flops_after = after.flops_per_sample;
  report.parameters_after = after.parameter_count;
  report.size_bytes_after = file_size_bytes(candidate_path);
  report.weight_sparsity_after = weight_sparsity(result);

  if (o.measure_latency) {
    progress("latency at batch 1, original and optimized");
    BenchOptions b;
    b.models = {o.model, candidate};
    b.backends = o.backends;
    b.threads = o.threads;
    b.run = o.latency_run;
    try {
      report.latency = run_bench(b, [&](const std::string& line) { progress(line); });
    } catch (const Error& e) {
      report.notes.push_back(std::string("latency not measured: ") + e.what());
    }
  }
  // Written last, so a failure above leaves no half-made output behind.
  // The metadata again: a pass that rebuilt the ModelProto must not drop it.
  write_model_metadata(result, metadata);
  result.save(o.output_path);
  if (torchscript_too) {
    report.torchscript_path = fs::path(o.output_path).replace_extension(".pt").string();
    fs::copy_file(torchscript_path, report.torchscript_path, fs::copy_options::overwrite_existing);
  }
  return report;
}

}  // namespace inferlab
