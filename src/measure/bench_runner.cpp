// The bench orchestrator. Configurations are visited model by model and, for
// each batch, backend by backend, so backends being compared are measured
// close together in time (these VMs drift up to 1.6x between passes).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "inferlab/bench.h"
#include "inferlab/error.h"
#include "inferlab/files.h"
#include "inferlab/registry.h"
#include "inferlab/worker.h"
#include "onnx_retry.h"

namespace inferlab {

namespace {

struct Pair {
  std::string backend;
  std::string precision;
  ModelSource source;
  std::string model_form;
  SupportAnswer support;
};

std::string format_ms(double ms) {
  std::ostringstream out;
  out.precision(ms < 10 ? 3 : 4);
  out << ms;
  return out.str();
}

std::vector<float> read_dump(const std::string& path) {
  std::error_code ec;
  if (path.empty() || !std::filesystem::exists(path, ec)) return {};
  std::string bytes = read_file(path);
  std::vector<float> values(bytes.size() / sizeof(float));
  std::memcpy(values.data(), bytes.data(), values.size() * sizeof(float));
  return values;
}

std::string progress_line(const BenchResult& r) {
  std::string line =
      "  " + r.model + " x " + r.backend + " " + r.precision + " batch " + std::to_string(r.batch) + ": ";
  if (!r.ok() || !r.latency) return line + result_status_name(r.status) + " (" + r.reason + ")";
  std::ostringstream out;
  out << "p50 " << format_ms(r.latency->p50_ms) << " ms, " << static_cast<long long>(std::llround(r.throughput_per_s))
      << "/s, peak RSS " << static_cast<long long>(std::llround(r.memory ? r.memory->peak_rss_mb : 0)) << " MB";
  return line + out.str();
}

class RawLatencyWriter {
 public:
  explicit RawLatencyWriter(const std::string& path) {
    if (path.empty()) return;
    out_ = std::make_unique<std::ofstream>(path, std::ios::trunc);
    if (!*out_) throw Error("--raw-latencies " + path + ": cannot write");
    *out_ << "model,backend,precision,batch,scenario,index,latency_ms\n";
  }
  bool enabled() const { return out_ != nullptr; }
  void append(const BenchResult& r, const std::string& worker_file) {
    if (!out_) return;
    std::ifstream in(worker_file);
    std::string line;
    const std::string prefix =
        r.model + ',' + r.backend + ',' + r.precision + ',' + std::to_string(r.batch) + ',' + r.scenario + ',';
    while (std::getline(in, line)) *out_ << prefix << line << '\n';
    out_->flush();
  }

 private:
  std::unique_ptr<std::ofstream> out_;
};

struct ModelRun {
  const BenchOptions& options;
  const ResolvedModel& model;
  const std::string& scratch;
  RawLatencyWriter& raw;
  const ProgressFn& progress;
  const RowSink& on_row;
  const std::vector<Pair>& pairs;  // this model's plan: every backend x precision
  std::vector<BenchResult>& results;
  std::map<std::size_t, std::string> dump_of_row;  // row index -> output dump
  bool cleaned_tried = false;
  std::optional<CleanedOnnx> cleaned;  // the cleaned copy of a bare ONNX file, made at its first failure

  WorkerSpec spec_for(const Pair& pair, std::int64_t batch, const std::string& scenario) const {
    WorkerSpec spec;
    spec.model = pair.source;
    spec.model_form = pair.model_form;
    spec.model_sha256 = model.sha256_onnx;
    spec.backend = pair.backend;
    spec.precision = pair.precision;
    spec.batch = batch;
    spec.threads = options.threads;
    spec.tactic_selection = options.tactic_selection;
    spec.engine_options = options.engine_options;
    spec.scenario = scenario;
    spec.run = options.run;
    spec.serving = options.serving;
    spec.serving.batcher.max_batch = batch;
    spec.profile_runs = options.profile_runs;
    return spec;
  }

  BenchResult measure(const Pair& pair, std::int64_t batch, const std::string& scenario) {
    static int sequence = 0;
    WorkerSpec spec = spec_for(pair, batch, scenario);
    spec.input_shapes = input_shapes_for(model, batch, options.shape_overrides);
    const std::string stem = scratch + "/run-" + std::to_string(++sequence);
    spec.output_dump_path = stem + ".out.bin";
    if (raw.enabled()) spec.raw_latencies_path = stem + ".raw.csv";
    // The worker makes the row whole (the spec carries the model's name and
    // hash; the profile and the kept samples come back in the row).
    BenchResult r = measure_in_child_process(spec, scratch, options.worker_timeout_s);
    if (r.status == ResultStatus::kFailed && may_retry_cleaned(pair)) r = retry_cleaned(spec, r);
    if (r.ok()) raw.append(r, spec.raw_latencies_path);
    if (progress) progress(progress_line(r));
    results.push_back(r);
    if (on_row) on_row(results.size() - 1, results.back());
    dump_of_row[results.size() - 1] = spec.output_dump_path;
    return r;
  }

  // Only the user's ONNX files are retried (bare, or added with `models
  // add`): the zoo's were cleaned when exported, and an int8 file from
  // --calib is inferlab's own.
  bool may_retry_cleaned(const Pair& pair) const {
    const bool users = !model.manifest || std::find(model.manifest->zoos.begin(), model.manifest->zoos.end(), "user") !=
                                              model.manifest->zoos.end();
    return users && pair.source.format == ModelFormat::kOnnx &&
           pair.source.path == model.source_for(ModelFormat::kOnnx).path;
  }

  BenchResult retry_cleaned(WorkerSpec spec, const BenchResult& failed) {
    if (!cleaned_tried) {
      cleaned_tried = true;
      cleaned = clean_onnx_copy(spec.model.path, scratch + "/" + file_safe_name(model.name) + ".cleaned.onnx");
    }
    if (!cleaned) return failed;
    const std::string original_path = spec.model.path;
    spec.model.path = cleaned->path;
    // The comparison with the original comes first, so the cleaned run's
    // worker writes the row's whole model form.
    spec.model_form = "ONNX cleaned by inferlab's graph passes (" + cleaned->changes +
                      ") because the original failed: " + failed.reason + "; " + cleaned_agreement(spec, original_path);
    BenchResult r = measure_in_child_process(spec, scratch, options.worker_timeout_s);
    if (!r.ok()) {
      // Two attempts, one row: the original's, saying the copy failed too.
      BenchResult still_failed = failed;
      still_failed.reason += " (a copy cleaned by inferlab's graph passes failed too: " + r.reason + ")";
      return still_failed;
    }
    return r;
  }

  // The cleaned copy against the original on another backend that reads
  // both, so a user can see that the passes changed no result.
  std::string cleaned_agreement(const WorkerSpec& cleaned_spec, const std::string& original_path) {
    for (const Pair& other : pairs) {
      // The plan already knows each backend's format: no backend is created here.
      const std::string& name = other.backend;
      if (name == cleaned_spec.backend || other.source.format != ModelFormat::kOnnx || !other.support.supported)
        continue;
      WorkerSpec original = cleaned_spec;
      original.backend = name;
      original.run.warmup_count = 0;
      original.run.warmup_min_duration_ms = 0;
      original.run.min_count = 1;
      original.run.min_duration_ms = 0;
      original.run.target_ci = 0;
      original.raw_latencies_path.clear();
      original.profile_runs = 0;
      original.model.path = original_path;
      original.output_dump_path = scratch + "/agreement-original.bin";
      WorkerSpec copy = original;
      copy.model.path = cleaned_spec.model.path;
      copy.output_dump_path = scratch + "/agreement-cleaned.bin";
      const BenchResult a = measure_in_child_process(original, scratch, options.worker_timeout_s);
      const BenchResult b = measure_in_child_process(copy, scratch, options.worker_timeout_s);
      if (!a.ok() || !b.ok()) continue;
      const ValidationResult v = compare_outputs(read_dump(original.output_dump_path), read_dump(copy.output_dump_path),
                                                 name, options.tolerance, options.min_cosine);
      std::ostringstream out;
      out << "on " << name << " the cleaned copy's outputs differ from the original's by max |diff| " << v.max_abs_diff
          << " (cosine " << v.cosine << ")";
      return out.str();
    }
    return "no other requested backend ran both files, so the copy was not compared with the original";
  }

  void unsupported_row(const Pair& pair, std::int64_t batch, const std::string& scenario) {
    BenchResult r = result_for(spec_for(pair, batch, scenario));
    r.status = ResultStatus::kUnsupported;
    r.reason = pair.support.reason;
    if (progress) progress(progress_line(r));
    results.push_back(r);
    if (on_row) on_row(results.size() - 1, results.back());
  }

  void sweep(const std::vector<Pair>& pairs) {
    std::vector<std::vector<SweepPoint>> points(pairs.size());
    std::vector<std::vector<std::size_t>> rows(pairs.size());
    std::vector<bool> active(pairs.size(), true);
    for (std::size_t i = 0; i < pairs.size(); ++i) {
      if (!pairs[i].support.supported) {
        unsupported_row(pairs[i], options.sweep.start_batch, "offline");
        active[i] = false;
      }
    }
    // Round-robin over pairs: each round measures every still-active pair at
    // its next batch, keeping the compared backends close in time.
    while (std::find(active.begin(), active.end(), true) != active.end()) {
      for (std::size_t i = 0; i < pairs.size(); ++i) {
        if (!active[i]) continue;
        std::string why;
        auto next = next_sweep_batch(options.sweep, points[i], &why);
        if (!next) {
          active[i] = false;
          finish_sweep(points[i], rows[i], why);
          continue;
        }
        BenchResult r = measure(pairs[i], *next, "offline");
        rows[i].push_back(results.size() - 1);
        points[i].push_back(SweepPoint{*next, r.ok(), r.throughput_per_s, r.memory ? r.memory->peak_rss_mb : 0.0});
      }
    }
  }

  void finish_sweep(const std::vector<SweepPoint>& points, const std::vector<std::size_t>& rows,
                    const std::string& why) {
    auto best = best_sweep_point(points);
    if (!best) return;
    for (std::size_t k = 0; k < points.size(); ++k) {
      if (points[k].batch == best->batch && points[k].ok) {
        results[rows[k]].sweep_best = true;
        results[rows[k]].sweep_stop = why;
      }
    }
  }

  void validate() {
    const std::string reference = reference_backend(options);
    for (auto& [row, dump] : dump_of_row) {
      BenchResult& r = results[row];
      // The null backend computes nothing, so its outputs agree with nothing.
      if (!r.ok() || r.model_format == "none") continue;
      // The reference row: same model and batch, reference backend, fp32 if measured, else the same precision.
      std::optional<std::size_t> ref_row;
      for (auto& [other, other_dump] : dump_of_row) {
        const BenchResult& c = results[other];
        if (c.backend != reference || c.batch != r.batch || !c.ok()) continue;
        if (!ref_row || c.precision == "fp32") ref_row = other;
      }
      // The reference backend's other precisions (its bf16 or int8 rows) are
      // compared with its fp32 row too; only that row itself is not.
      if (!ref_row || *ref_row == row) continue;
      auto expected = read_dump(dump_of_row[*ref_row]);
      auto actual = read_dump(dump);
      if (expected.empty() || actual.empty()) continue;
      // Like int8 rows, bf16 rows are compared with the reference's fp32
      // outputs; bf16's own rounding sets their bounds (BenchOptions).
      const bool bf16 = r.precision == "bf16";
      const double tolerance = bf16 ? std::max(options.tolerance, options.bf16_tolerance) : options.tolerance;
      const double min_cosine = bf16 ? std::min(options.min_cosine, options.bf16_min_cosine) : options.min_cosine;
      r.validation = compare_outputs(expected, actual, reference, tolerance, min_cosine);
    }
  }
};

}  // namespace

std::string reference_backend(const BenchOptions& options) {
  if (!options.reference.empty()) return options.reference;
  for (const auto& name : options.backends) {
    if (name != "null") return name;  // null computes nothing: it cannot be a reference
  }
  return options.backends.empty() ? "" : options.backends.front();
}

std::vector<Shape> input_shapes_for(const ResolvedModel& model, std::int64_t batch,
                                    const std::map<std::string, Shape>& shape_overrides) {
  if (model.inputs.empty()) {
    throw Error(model.argument + ": the model declares no input shapes (TorchScript carries none): give --shape NAME=" +
                "1x3x224x224 or prepare it with a manifest");
  }
  std::vector<Shape> shapes;
  for (std::size_t i = 0; i < model.inputs.size(); ++i) {
    const TensorSpec& input = model.inputs[i];
    if (input.dtype != DType::kFloat32) {
      throw Error(model.argument + ": input '" + input.name + "' is " + dtype_name(input.dtype) +
                  "; bench feeds seeded float32 inputs only, so no backend can be fed this model");
    }
    auto it = shape_overrides.find(input.name);
    if (it == shape_overrides.end() && model.inputs.size() == 1) it = shape_overrides.find("");
    // Dimension 0 is the batch, whatever the declaration or --shape said.
    Shape shape = it != shape_overrides.end() ? it->second : input.shape;
    if (!shape.empty()) shape[0] = batch;
    if (!shape_is_static(shape) || shape.empty()) {
      throw Error(model.argument + ": input '" + input.name + "' has unknown dimensions " + shape_to_string(shape) +
                  "; give --shape " + input.name + "=1x3x224x224");
    }
    shapes.push_back(shape);
  }
  return shapes;
}

ValidationResult compare_outputs(const std::vector<float>& reference, const std::vector<float>& candidate,
                                 const std::string& reference_name, double tolerance, double min_cosine) {
  ValidationResult v;
  v.reference = reference_name;
  v.tolerance = tolerance;
  if (reference.size() != candidate.size() || reference.empty()) {
    v.max_abs_diff = INFINITY;
    v.cosine = NAN;
    v.within_tolerance = false;
    return v;
  }
  double max_diff = 0, max_ref = 0, dot = 0, norm_a = 0, norm_b = 0;
  bool finite = true;
  for (std::size_t i = 0; i < reference.size(); ++i) {
    const double a = reference[i], b = candidate[i];
    finite = finite && std::isfinite(a) && std::isfinite(b);
    max_diff = std::max(max_diff, std::abs(a - b));
    max_ref = std::max(max_ref, std::abs(a));
    dot += a * b;
    norm_a += a * a;
    norm_b += b * b;
  }
  v.max_abs_diff = finite ? max_diff : INFINITY;
  v.cosine = (norm_a > 0 && norm_b > 0) ? dot / std::sqrt(norm_a * norm_b) : (norm_a == norm_b ? 1.0 : 0.0);
  // Purely relative: seeded, untrained models have logits anywhere from 1e-14
  // (efficientnet_b0) to 1e8 (resnet152), so no absolute floor fits them all.
  const double allowed = max_ref > 0 ? tolerance * max_ref : tolerance;
  v.within_tolerance = finite && max_diff <= allowed && v.cosine >= min_cosine;
  return v;
}

std::string describe_model_form(const ResolvedModel& model, ModelFormat format) {
  if (format == ModelFormat::kTorchScript) {
    return model.manifest && !model.manifest->torchscript_form.empty() ? model.manifest->torchscript_form
                                                                       : "TorchScript (as given)";
  }
  if (format == ModelFormat::kOnnx) return "ONNX";
  return "none (no model file is read)";
}

SupportAnswer model_support(const Backend& backend, const ResolvedModel& model, const std::string& precision) {
  if (backend.format() != ModelFormat::kNone && model.source_for(backend.format()).path.empty()) {
    return SupportAnswer::no("the " + backend.name() + " backend reads " + model_format_name(backend.format()) +
                             " and " + model.name + " has no such file");
  }
  return backend.supports(model.source_for(backend.format()), precision_from_name(precision));
}

CheckedBenchOptions check_bench_options(BenchOptions options) {
  if (options.backends.empty()) throw Error("--backends: give at least one backend");
  validate_run_settings(options.run);
  for (const auto& model : options.models) {
    std::vector<std::int64_t> first_batches = options.batches;
    if (options.batch_sweep) first_batches.push_back(options.sweep.start_batch);
    for (auto batch : first_batches) input_shapes_for(model, batch, options.shape_overrides);
  }
  return CheckedBenchOptions(std::move(options));
}

void CheckedBenchOptions::set_int8_models(std::map<std::string, std::string> paths, std::string form) {
  options_.int8_onnx_paths = std::move(paths);
  options_.int8_onnx_form = std::move(form);
}

std::vector<BenchResult> run_bench(const BenchOptions& options, const ProgressFn& progress, const RowSink& on_row) {
  return run_bench(check_bench_options(options), progress, on_row);
}

std::vector<BenchResult> run_bench(const CheckedBenchOptions& checked, const ProgressFn& progress,
                                   const RowSink& on_row) {
  const BenchOptions& options = checked.options();
  // Each backend is asked once per model x precision, before the first
  // measurement, so an unrunnable model never costs a half-finished sweep.
  std::vector<std::vector<Pair>> plan;
  for (const auto& model : options.models) {
    std::vector<Pair> pairs;
    std::string reasons;
    for (const auto& name : options.backends) {
      const Backend& backend = shared_backend(name);
      for (const auto& precision_text : options.precisions) {
        Pair pair{backend.name(), precision_text, model.source_for(backend.format()),
                  describe_model_form(model, backend.format()), SupportAnswer::yes()};
        const auto int8_file = options.int8_onnx_paths.find(model.name);
        if (precision_text == "int8" && backend.format() == ModelFormat::kOnnx &&
            int8_file != options.int8_onnx_paths.end()) {
          pair.source.path = int8_file->second;
          pair.model_form = options.int8_onnx_form;
          pair.support = backend.supports(pair.source, Precision::kInt8);
        } else {
          pair.support = model_support(backend, model, precision_text);
        }
        if (!pair.support.supported)
          reasons += (reasons.empty() ? "" : "; ") + pair.backend + ": " + pair.support.reason;
        pairs.push_back(std::move(pair));
      }
    }
    const bool any = std::any_of(pairs.begin(), pairs.end(), [](const Pair& p) { return p.support.supported; });
    if (!any) throw Error(model.argument + ": no requested backend can run it (" + reasons + ")");
    plan.push_back(std::move(pairs));
  }

  if (progress) {
    progress("inferlab bench: " + std::to_string(options.models.size()) + " model(s) x " +
             std::to_string(options.backends.size()) + " backend(s), " + std::to_string(options.threads) +
             " thread(s), each configuration in a fresh worker process");
  }
  TempDir scratch("inferlab-bench");
  RawLatencyWriter raw(options.raw_latencies_path);
  std::vector<BenchResult> results;
  for (std::size_t m = 0; m < options.models.size(); ++m) {
    const std::size_t first_row = results.size();
    ModelRun run{options, options.models[m], scratch.path(), raw, progress, on_row, plan[m], results, {},
                 false,   std::nullopt};
    for (auto batch : options.batches) {
      for (const auto& pair : plan[m]) {
        if (pair.support.supported) {
          run.measure(pair, batch, options.scenario);
        } else {
          run.unsupported_row(pair, batch, options.scenario);
        }
      }
    }
    if (options.batch_sweep) run.sweep(plan[m]);
    run.validate();
    // Validation and the sweep's best point arrive only now: the sink gets
    // this model's rows again, complete.
    if (on_row) {
      for (std::size_t i = first_row; i < results.size(); ++i) on_row(i, results[i]);
    }
  }
  return results;
}

}  // namespace inferlab
