// `inferlab accuracy`: every backend x precision over the same dataset, with
// the same preprocessing. Rows run one after another, each with its own loader
// pass, so a row's inference throughput is not shared with another engine.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include "inferlab/accuracy.h"
#include "inferlab/batch_loader.h"
#include "inferlab/bench.h"
#include "inferlab/error.h"
#include "inferlab/registry.h"
#include "inferlab/stats.h"

namespace inferlab {

namespace {

using Clock = std::chrono::steady_clock;

constexpr int kThumbnailPx = 96;

// The class count a model declares: the last dimension of its first output.
int declared_classes(const ResolvedModel& model) {
  if (model.outputs.empty() || model.outputs[0].shape.empty()) return -1;
  const std::int64_t last = model.outputs[0].shape.back();
  return last > 0 ? static_cast<int>(last) : -1;
}

void check_classes(const Dataset& dataset, int classes, const std::string& model_name) {
  if (dataset.class_count() > 0 && dataset.class_count() != classes) {
    throw Error("--dataset " + dataset.name() + " has " + std::to_string(dataset.class_count()) + " classes but " +
                model_name + " outputs " + std::to_string(classes) + " scores per sample");
  }
  if (dataset.class_count() < 0) {
    const int needed = dataset.max_label_plus_one();
    if (needed > classes) {
      throw Error("--dataset " + dataset.name() + " has labels up to " + std::to_string(needed - 1) + " but " +
                  model_name + " outputs only " + std::to_string(classes) + " scores per sample");
    }
  }
}

struct RowOutcome {
  std::vector<int> predictions;              // top-1 per dataset index; -1 where not evaluated
  std::vector<Misclassified> misclassified;  // the first options.misclassified_kept
};

class RowRunner {
 public:
  RowRunner(const AccuracyOptions& options, const Dataset& dataset, const AccuracyProgressFn& progress)
      : options_(options), dataset_(dataset), progress_(progress) {}

  // Fills `row` (status ok on success) and returns its predictions and
  // the misclassified samples it kept.
  RowOutcome run(Backend& backend, const std::string& precision, BenchResult& row) const {
    RowOutcome outcome{std::vector<int>(dataset_.size(), -1), {}};
    const auto wall_start = Clock::now();
    SessionOptions session_options;
    session_options.precision = precision_from_name(precision);
    session_options.intra_op_threads = options_.threads;
    session_options.engine_options = options_.engine_options;
    auto session = backend.load(options_.model.source_for(backend.format()), session_options);
    session->prepare(input_shapes_for(options_.model, options_.batch, {}));
    row.threading = backend.threading_description(options_.threads);
    row.timing_boundary = timing_boundary_name(session->timing_boundary());
    row.timed_region = session->timed_region_description();

    std::vector<Tensor> outputs;
    std::vector<Tensor*> output_ptrs;
    for (const auto& spec : session->output_specs()) outputs.emplace_back(spec.dtype, spec.shape);
    for (auto& t : outputs) output_ptrs.push_back(&t);
    if (outputs.empty() || outputs[0].dtype() != DType::kFloat32) {
      throw Error(options_.model.name + ": the first output must be float32 scores");
    }
    const int classes = static_cast<int>(outputs[0].element_count() / options_.batch);
    check_classes(dataset_, classes, options_.model.name);

    LoaderOptions loader_options;
    loader_options.batch = options_.batch;
    loader_options.threads = options_.loader_threads;
    loader_options.limit = options_.limit;
    loader_options.thumbnail_px = options_.misclassified_kept == 0 ? 0 : kThumbnailPx;
    BatchLoader loader(dataset_, options_.preprocess, loader_options);

    std::vector<double> batch_ms;
    std::int64_t samples = 0, top1 = 0, top5 = 0, wrong = 0;
    const std::string label = row.backend + " " + row.precision;
    std::size_t done = 0;
    while (auto batch = loader.next()) {
      const std::vector<const Tensor*> inputs{&batch->input};
      const auto start = Clock::now();
      session->run(inputs, output_ptrs);
      batch_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
      const float* scores = outputs[0].data_as<float>();
      for (std::size_t i = 0; i < batch->valid; ++i) {
        const TopK r = rank_scores(scores + i * classes, classes, batch->labels[i]);
        outcome.predictions[batch->indices[i]] = r.top1;
        ++samples;
        top1 += r.in_top1;
        top5 += r.in_top5;
        if (!r.in_top1) {
          ++wrong;
          if (outcome.misclassified.size() < options_.misclassified_kept) {
            outcome.misclassified.push_back(
                {std::move(batch->thumbnails[i]), dataset_.sample_id(batch->indices[i]), batch->labels[i], r.top1});
          }
        }
      }
      done += batch->valid + batch->corrupt.size();
      if (progress_) progress_(label, done, loader.sample_count());
    }
    if (samples == 0) throw Error("--dataset " + dataset_.name() + ": no sample could be decoded");

    const LoaderStats stats = loader.stats();
    AccuracyFields a;
    a.dataset = dataset_.name();
    a.preprocess = options_.preprocess.describe();
    a.preprocess_source = options_.preprocess_source;
    a.samples = samples;
    a.corrupt_skipped = static_cast<std::int64_t>(stats.corrupt);
    a.top1 = static_cast<double>(top1) / samples;
    a.top5 = static_cast<double>(top5) / samples;
    a.misclassified = wrong;
    a.loader = {stats.threads, stats.samples_per_s(), stats.busy_ms, stats.consumer_wait_ms};
    double run_ms = 0;
    for (double ms : batch_ms) run_ms += ms;
    a.inference_samples_per_s = run_ms > 0 ? samples * 1000.0 / run_ms : 0;
    a.wall_s = std::chrono::duration<double>(Clock::now() - wall_start).count();
    row.latency = compute_latency_stats(batch_ms);
    row.count = static_cast<std::int64_t>(batch_ms.size());
    row.duration_ms = run_ms;
    row.throughput_per_s = a.inference_samples_per_s;
    row.accuracy = a;
    row.status = ResultStatus::kOk;
    return outcome;
  }

 private:
  const AccuracyOptions& options_;
  const Dataset& dataset_;
  const AccuracyProgressFn& progress_;
};

}  // namespace

TopK rank_scores(const float* scores, int classes, int label) {
  TopK r;
  if (classes <= 0) return r;
  // NaN never wins: a model emitting NaN is wrong, not lucky.
  auto value = [&](int i) { return std::isnan(scores[i]) ? -std::numeric_limits<float>::infinity() : scores[i]; };
  r.top1 = 0;
  for (int i = 1; i < classes; ++i) {
    if (value(i) > value(r.top1)) r.top1 = i;
  }
  r.in_top1 = r.top1 == label;
  if (label < 0 || label >= classes) return r;
  // Rank of the label: classes that beat it, ties going to the lower index.
  int better = 0;
  for (int i = 0; i < classes; ++i) {
    if (value(i) > value(label) || (value(i) == value(label) && i < label)) ++better;
  }
  r.in_top5 = better < std::min(5, classes);
  return r;
}

std::unique_ptr<Dataset> open_checked_dataset(const AccuracyOptions& options) {
  const ResolvedModel& model = options.model;
  if (model.inputs.size() != 1) {
    throw Error(model.argument + ": accuracy needs a model with one image input; this one has " +
                std::to_string(model.inputs.size()));
  }
  if (options.batch < 1) throw Error("--batch " + std::to_string(options.batch) + ": must be >= 1");
  check_preprocess_matches(options.preprocess, model.inputs[0], model.name);
  auto dataset = open_dataset(options.dataset);
  if (const int classes = declared_classes(model); classes > 0) check_classes(*dataset, classes, model.name);
  return dataset;
}

AccuracyOutcome run_accuracy(const AccuracyOptions& options, const Dataset& dataset,
                             const AccuracyProgressFn& progress) {
  if (options.backends.empty()) throw Error("--backends: give at least one backend");
  std::vector<std::unique_ptr<Backend>> backends;
  for (const auto& name : options.backends) backends.push_back(create_backend(name));

  std::vector<BenchResult> rows;
  std::vector<RowOutcome> outcomes;
  RowRunner run(options, dataset, progress);
  for (auto& backend : backends) {
    for (const auto& precision : options.precisions) {
      BenchResult row;
      row.model = options.model.name;
      row.backend = backend->name();
      row.backend_version = backend->version();
      row.precision = precision;
      row.batch = options.batch;
      row.threads = options.threads;
      row.scenario = "accuracy";
      row.model_format = model_format_name(backend->format());
      row.model_form = describe_model_form(options.model, backend->format());
      SupportAnswer support = backend->name() == "null"
                                  ? SupportAnswer::no("the null backend computes nothing; accuracy needs real outputs")
                                  : model_support(*backend, options.model, precision);
      RowOutcome outcome;
      if (!support.supported) {
        row.status = ResultStatus::kUnsupported;
        row.reason = support.reason;
      } else {
        try {
          outcome = run.run(*backend, precision, row);
        } catch (const Error& e) {
          // e.g. a Python-worker framework that cannot convert an op.
          row.status = e.kind() == ErrorKind::kUnsupported ? ResultStatus::kUnsupported : ResultStatus::kFailed;
          row.reason = e.what();
        } catch (const std::exception& e) {
          row.status = ResultStatus::kFailed;
          row.reason = e.what();
        }
      }
      rows.push_back(std::move(row));
      outcomes.push_back(std::move(outcome));
    }
  }

  // Agreement: against the reference backend's first row that ran (its first precision).
  const std::string reference_backend = options.reference;
  std::size_t reference = rows.size();
  for (std::size_t i = 0; i < rows.size() && reference == rows.size(); ++i) {
    const bool wanted = reference_backend.empty() ? rows[i].backend != "null" : rows[i].backend == reference_backend;
    if (wanted && rows[i].ok()) reference = i;
  }
  if (reference < rows.size()) {
    const std::string reference_name = rows[reference].backend + " " + rows[reference].precision;
    for (std::size_t i = 0; i < rows.size(); ++i) {
      if (!rows[i].ok()) continue;
      std::int64_t both = 0, same = 0;
      for (std::size_t s = 0; s < outcomes[i].predictions.size(); ++s) {
        const int mine = outcomes[i].predictions[s], theirs = outcomes[reference].predictions[s];
        if (mine < 0 || theirs < 0) continue;
        ++both;
        same += mine == theirs;
      }
      rows[i].accuracy->agreement_reference = reference_name;
      if (both > 0) rows[i].accuracy->agreement_top1 = static_cast<double>(same) / both;
    }
  }
  AccuracyOutcome result{std::move(rows), {}};
  for (auto& outcome : outcomes) result.misclassified.push_back(std::move(outcome.misclassified));
  return result;
}

}  // namespace inferlab
