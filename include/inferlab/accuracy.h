#pragma once
/// @file accuracy.h
/// Top-1/Top-5 of one model per backend x precision on a labelled dataset,
/// with Top-1 agreement against a reference backend and, when asked, the
/// first misclassified samples of each row (contact_sheet.h draws them).

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "inferlab/dataset.h"
#include "inferlab/preprocess.h"
#include "inferlab/result.h"
#include "inferlab/zoo.h"

namespace inferlab {

/// What to evaluate. Field names carry units.
struct AccuracyOptions {
  ResolvedModel model;
  std::string dataset;                ///< command-line form, e.g. "digits" or "folder:/data/pets"
  std::vector<std::string> backends;  ///< in order
  std::vector<std::string> precisions{"fp32"};
  std::string reference;          ///< backend for agreement; empty: the first non-null backend
  Preprocess preprocess;          ///< applied identically for every backend
  std::string preprocess_source;  ///< where `preprocess` came from (model_metadata.h), for the results
  std::int64_t batch = 16;        ///< samples per Session::run()
  int threads = 1;                ///< engine intra-op threads
  std::map<std::string, std::string> engine_options;  ///< SessionOptions::engine_options
  int loader_threads = 1;                             ///< decode/preprocess threads
  std::size_t limit = 0;                              ///< first N samples only; 0: all
  /// Misclassified samples kept per row, first come (with thumbnails); 0: none.
  std::size_t misclassified_kept = 0;
};

/// A sample a model got wrong.
struct Misclassified {
  Image thumbnail;    ///< small copy of the decoded image (see make_thumbnail)
  std::string id;     ///< sample id (file name or "digit #123")
  int label = 0;      ///< true class index
  int predicted = 0;  ///< the model's top-1 class index
};

/// What run_accuracy() measured.
struct AccuracyOutcome {
  std::vector<BenchResult> rows;  ///< one per backend x precision, in order
  /// Per row (same index): its first AccuracyOptions::misclassified_kept
  /// misclassified samples in dataset order; empty for rows that did not run.
  std::vector<std::vector<Misclassified>> misclassified;
};

/// Progress of one row: samples done of the total, and the row's label ("opencv fp32").
using AccuracyProgressFn = std::function<void(const std::string& row, std::size_t done, std::size_t total)>;

/// Checks everything that can be checked before any inference: the dataset
/// opens, the preprocessing produces the model's input, and the dataset's
/// classes fit the model's output. Returns the opened dataset. Throws Error
/// (kBadInput) with one line naming the problem (both sizes where sizes differ).
std::unique_ptr<Dataset> open_checked_dataset(const AccuracyOptions& options);

/// Runs every backend x precision over `dataset` (from open_checked_dataset)
/// in turn, each row its own loader pass, so each row's throughput is its
/// own. Failed or unsupported rows are kept with their reason. Writes no
/// files. Throws Error only for problems found before the first row.
AccuracyOutcome run_accuracy(const AccuracyOptions& options, const Dataset& dataset,
                             const AccuracyProgressFn& progress);

/// Top-k of `scores` (length `classes`): whether `label` is among the k
/// highest (ties broken by lower index, as a stable sort would) and the arg-max.
struct TopK {
  int top1 = -1;
  bool in_top1 = false;
  bool in_top5 = false;
};
TopK rank_scores(const float* scores, int classes, int label);

}  // namespace inferlab
