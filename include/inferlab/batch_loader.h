#pragma once
/// @file batch_loader.h
/// Feeds a dataset to a model in fixed-size batches: decoding and
/// preprocessing run on their own threads, in parallel with inference, and
/// the loader's own throughput is measured so a slow loader is visible.

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "inferlab/dataset.h"
#include "inferlab/preprocess.h"
#include "inferlab/tensor.h"

namespace inferlab {

/// One batch, always `batch` samples wide: when samples were skipped or the
/// dataset ran out, the tail is zero padding and `valid` says how many lead.
struct Batch {
  std::size_t sequence = 0;          ///< 0, 1, 2, ... in dataset order
  Tensor input;                      ///< [batch, C, H, W] (or NHWC) float32
  std::size_t valid = 0;             ///< samples that are real, at the front
  std::vector<std::size_t> indices;  ///< dataset index of each valid sample
  std::vector<int> labels;           ///< label of each valid sample
  std::vector<Image> thumbnails;     ///< per valid sample when thumbnails were asked for
  std::vector<std::string> corrupt;  ///< sample ids that could not be decoded (skipped)
};

/// What the loader did, measured.
struct LoaderStats {
  std::size_t samples = 0;                    ///< samples delivered (decoded and preprocessed)
  std::size_t corrupt = 0;                    ///< samples skipped because they would not decode
  std::vector<std::string> corrupt_examples;  ///< the first few skipped sample ids
  int threads = 0;
  double busy_ms = 0;           ///< decode + preprocess time summed over the loader threads
  double consumer_wait_ms = 0;  ///< time next() blocked waiting for a batch (a slow loader shows here)
  /// Samples per second the loader threads sustain when never blocked:
  /// samples x threads / busy time. 0 before any sample.
  double samples_per_s() const;
};

/// Options for BatchLoader. Field names carry units.
struct LoaderOptions {
  std::int64_t batch = 1;         ///< samples per batch (>= 1)
  int threads = 1;                ///< decode/preprocess threads (>= 1)
  std::size_t limit = 0;          ///< use only the first `limit` samples; 0: all
  std::size_t queue_batches = 4;  ///< finished batches held ahead of the consumer
  int thumbnail_px = 0;           ///< > 0: keep a thumbnail of every sample (contact sheets)
};

/// Loads `dataset` batch by batch on `threads` worker threads; one consumer
/// calls next() to get batches in dataset order. The dataset must outlive
/// the loader. next() is for one consumer thread; stats() may be called
/// from it between batches. Destruction stops and joins the workers.
class BatchLoader {
 public:
  BatchLoader(const Dataset& dataset, const Preprocess& preprocess, const LoaderOptions& options);
  ~BatchLoader();
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;

  /// The next batch in order, or nullopt when the dataset is exhausted.
  /// Rethrows (as Error) a failure raised on a worker thread.
  std::optional<Batch> next();
  /// Number of batches this loader will deliver.
  std::size_t batch_count() const { return batch_count_; }
  /// Samples this loader will look at (after `limit`).
  std::size_t sample_count() const { return sample_count_; }
  LoaderStats stats() const;

 private:
  void work(int thread_index);
  Batch load(std::size_t sequence, double& busy_ms) const;

  const Dataset& dataset_;
  Preprocess preprocess_;
  LoaderOptions options_;
  std::size_t sample_count_ = 0;
  std::size_t batch_count_ = 0;

  mutable std::mutex mutex_;
  std::condition_variable ready_;  // a batch finished (consumer waits)
  std::condition_variable room_;   // the consumer took one (workers wait)
  std::size_t next_to_load_ = 0;
  std::size_t next_to_deliver_ = 0;
  std::map<std::size_t, Batch> finished_;
  std::string worker_error_;
  bool stopping_ = false;
  LoaderStats stats_;
  std::vector<std::thread> workers_;
};

}  // namespace inferlab
