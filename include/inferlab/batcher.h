#pragma once
/// @file batcher.h
/// Dynamic batching in front of any backend session: requests queue up and
/// K engine instances each take up to B samples at a time, or fewer once the
/// oldest queued request has waited D microseconds. Used by the in-process
/// server scenario (bench) and by `inferlab serve`.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "inferlab/backend.h"
#include "inferlab/tensor.h"

namespace inferlab {

/// The steady clock every serving latency is read from.
using ServingClock = std::chrono::steady_clock;

/// How sessions are prepared for batches smaller than the maximum.
enum class BatchShapes {
  kExact,   ///< each instance holds one session prepared per batch size 1..B: no padding
  kPadded,  ///< each instance holds one session prepared at B; smaller batches are zero-padded to B
};
/// "exact" | "padded".
std::string batch_shapes_name(BatchShapes shapes);
/// Parses batch_shapes_name()'s output; throws Error naming --batch-shapes otherwise.
BatchShapes batch_shapes_from_name(const std::string& name);

/// The batcher's knobs. Field names carry units.
struct BatcherSettings {
  std::int64_t max_batch = 1;     ///< B: most samples one engine run takes (--max-batch)
  double max_queue_delay_us = 0;  ///< D: a batch starts once its oldest request waited this long
  int instances = 1;              ///< K: engine instances (sessions) running batches in parallel
  BatchShapes batch_shapes = BatchShapes::kExact;
  std::int64_t max_queue_samples = 4096;  ///< submit() refuses requests beyond this many queued samples
};

/// Throws Error naming the flag (--max-batch, --max-queue-delay-us,
/// --instances, --max-queue) when a setting is out of range.
void validate_batcher_settings(const BatcherSettings& settings);

/// What one request got back. Movable value type.
struct BatchReply {
  std::vector<Tensor> outputs;     ///< this request's rows of each output (leading dim = its samples); empty
                                   ///< when the request did not want outputs or failed
  double queue_ms = 0;             ///< from enqueue to its batch starting on an instance
  double engine_ms = 0;            ///< Session::run() of the batch it rode in
  std::int64_t batch_samples = 0;  ///< real samples in that batch (padding excluded)
  bool cancelled = false;          ///< removed from the queue by cancel_pending() or stop(); never ran
  std::string error;               ///< non-empty: the engine threw (message) or the request was cancelled
};

/// One request: `samples` samples of every model input.
struct BatchRequest {
  /// One tensor per model input, in the model's order, each with leading
  /// dimension `samples` and the model's other dimensions. Borrowed: they
  /// must stay valid until `done` has been called (keep_alive may own them).
  std::vector<const Tensor*> inputs;
  std::shared_ptr<const void> keep_alive;  ///< released after `done` returns
  std::int64_t samples = 1;
  bool want_outputs = true;
  /// Called exactly once for every request submit() accepted, on an instance
  /// thread (or the thread calling cancel_pending()/stop()). Must not throw
  /// and must not call back into the batcher.
  std::function<void(BatchReply&&)> done;
};

/// Counts of what the batcher has run. Value type.
struct BatcherStats {
  std::int64_t batches = 0;
  std::int64_t samples = 0;
  std::int64_t max_queue_samples_seen = 0;      ///< most samples queued at once (see take_max_queue_samples_seen())
  std::vector<std::int64_t> batch_size_counts;  ///< index n: batches that carried n real samples (0..B)
};

/// Loads one session per call (already loaded, not prepared); called K or
/// K x B times by the constructor, on the constructing thread.
using SessionFactory = std::function<std::unique_ptr<Session>()>;

/// Called after every batch on the instance thread that ran it, e.g. to feed
/// metrics; must be thread-safe and must not throw.
using BatchObserver = std::function<void(std::int64_t batch_samples, double engine_ms)>;

/// The queue and its K instance threads. Construction loads and prepares
/// every session and warms each one up, then starts the threads; destruction
/// stops them. submit(), cancel_pending(), stats() and queued_samples() are
/// thread-safe; the batcher owns its sessions.
class DynamicBatcher {
 public:
  /// `sample_shapes`: each model input's shape with leading dimension 1.
  /// `warmup_runs` untimed runs of every prepared session before serving.
  /// Throws Error when a session cannot be prepared, or an output has no
  /// leading batch dimension (batching needs one).
  DynamicBatcher(const SessionFactory& load, std::vector<Shape> sample_shapes, const BatcherSettings& settings,
                 std::int64_t warmup_runs = 2, BatchObserver observer = {});
  DynamicBatcher(const DynamicBatcher&) = delete;
  DynamicBatcher& operator=(const DynamicBatcher&) = delete;
  ~DynamicBatcher();

  /// Queues `request` and returns at once (never waits for the engine). False
  /// when the queue holds max_queue_samples already: the request is refused
  /// and `done` is never called. Throws Error on a malformed request (input
  /// count or shape, samples outside 1..B).
  bool submit(BatchRequest request);

  /// Completes every queued (not yet running) request as cancelled; returns how many.
  std::int64_t cancel_pending();

  /// Cancels what is queued, waits for running batches, joins the threads. Idempotent.
  void stop();

  /// Samples queued now (not yet taken by an instance).
  std::int64_t queued_samples() const;
  /// Counts since construction (max_queue_samples_seen: since the last
  /// take_max_queue_samples_seen()).
  BatcherStats stats() const;
  /// The most samples queued at once since the previous call (or
  /// construction); starts the next such window at the current depth.
  std::int64_t take_max_queue_samples_seen();

  /// Per-sample output specs (leading dimension 1).
  const std::vector<TensorSpec>& sample_output_specs() const { return sample_outputs_; }
  /// Mean engine time in ms of one run at batch `batch` during the warm-up (0 when not measured).
  double warmup_engine_ms(std::int64_t batch) const;
  /// The settings, as given.
  const BatcherSettings& settings() const { return settings_; }
  /// In words, e.g. "exact: 2 instances x sessions prepared for batch 1..8".
  std::string describe() const;
  /// What the sessions time (Session::timed_region_description of the first).
  std::string timed_region() const { return timed_region_; }
  /// Session::timing_boundary of the first session.
  TimingBoundary timing_boundary() const { return timing_boundary_; }

 private:
  struct Queued {
    BatchRequest request;
    ServingClock::time_point enqueued;
  };
  struct Prepared {  // one session at one batch size, with its batch buffers
    std::int64_t batch = 0;
    std::unique_ptr<Session> session;
    std::vector<Tensor> inputs, outputs;
  };
  struct Instance {
    std::vector<Prepared> by_batch;  // exact: index b-1; padded: one entry at B
  };

  void instance_loop(Instance& instance);
  Prepared& prepared_for(Instance& instance, std::int64_t samples);
  void run_batch(Instance& instance, std::vector<Queued>& batch);

  BatcherSettings settings_;
  std::vector<Shape> sample_shapes_;
  std::vector<TensorSpec> sample_outputs_;
  std::vector<double> warmup_ms_by_batch_;  // index b: mean ms at batch b (0: not measured)
  std::string timed_region_;
  TimingBoundary timing_boundary_ = TimingBoundary::kComputeOnly;
  BatchObserver observer_;
  std::vector<std::unique_ptr<Instance>> instances_;
  std::vector<std::thread> threads_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Queued> queue_;
  std::int64_t queued_samples_ = 0;
  bool stopping_ = false;
  BatcherStats stats_;
};

}  // namespace inferlab
