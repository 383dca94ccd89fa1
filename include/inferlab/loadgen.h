#pragma once
/// @file loadgen.h
/// The load generator behind the server and multi-stream scenarios: it
/// issues queries at scheduled times to a QueryTarget (an in-process
/// DynamicBatcher, or an HTTP server), never waiting for the engine, and
/// measures each query's latency from its scheduled arrival, so time spent
/// queueing counts.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "inferlab/batcher.h"
#include "inferlab/run_rules.h"
#include "inferlab/serving.h"

namespace inferlab {

/// How one issued sample ended, as its target reports it.
struct SampleTiming {
  bool ok = false;            ///< false: failed or cancelled
  bool cancelled = false;     ///< removed from a queue before it ran
  double queue_ms = 0;        ///< waiting in the server's batcher queue
  double engine_ms = 0;       ///< the engine run it rode in
  double round_trip_ms = -1;  ///< HTTP only: request sent to response parsed; < 0 in-process
};

/// Called once per issued sample, from any thread; must not throw.
using SampleDone = std::function<void(const SampleTiming&)>;

/// The system under test as the load generator sees it (LoadGen's SUT).
/// Implementations are thread-safe.
class QueryTarget {
 public:
  virtual ~QueryTarget() = default;
  /// Issues one sample and returns at once. False when refused (its queue is
  /// full): `done` is then never called. Otherwise `done` is called exactly once.
  virtual bool issue(SampleDone done) = 0;
  /// Completes every issued sample still queued (not running) as cancelled;
  /// returns how many.
  virtual std::int64_t cancel_pending() = 0;
  /// Cumulative engine runs by real batch size (index n: runs with n samples);
  /// the load generator takes differences around each run.
  virtual std::vector<std::int64_t> batch_size_counts() = 0;
  /// The most samples queued at once since the last call (then reset).
  virtual std::int64_t take_max_queue_depth() = 0;
};

/// A QueryTarget over an in-process DynamicBatcher fed one fixed seeded
/// sample. The batcher and `sample_inputs` (leading dimension 1) are borrowed
/// and must outlive the target.
class BatcherTarget final : public QueryTarget {
 public:
  BatcherTarget(DynamicBatcher& batcher, const std::vector<Tensor>& sample_inputs);
  bool issue(SampleDone done) override;
  std::int64_t cancel_pending() override { return batcher_.cancel_pending(); }
  std::vector<std::int64_t> batch_size_counts() override { return batcher_.stats().batch_size_counts; }
  std::int64_t take_max_queue_depth() override;

 private:
  DynamicBatcher& batcher_;
  std::vector<const Tensor*> inputs_;
};

/// One timed run of the load generator.
struct LoadRun {
  QpsProbe probe;                    ///< the summary (target, achieved, p99, met, counts)
  std::vector<double> latencies_ms;  ///< completed queries' latencies, in issue order
  double duration_ms = 0;            ///< first scheduled arrival to last completion
  StopReason stop_reason = StopReason::kMinimumsMet;
  std::vector<double> queue_ms, engine_ms, round_trip_ms;  ///< per completed sample
  std::vector<std::int64_t> batch_size_counts;             ///< engine runs during this run, by batch size
  std::int64_t max_queue_depth = 0;
};

/// Issues `arrivals_ms.size()` queries of `samples_per_query` samples each at
/// the given offsets from now and waits for them. Stops issuing when
/// `max_duration_ms` has passed (what is still queued is then cancelled) or,
/// with `early_stop`, once more than 1% of the planned queries are over
/// `bound_ms` or lost (the p99 can no longer meet it). A query's latency runs
/// from its scheduled arrival to its last sample's completion.
LoadRun run_load(QueryTarget& target, const std::vector<double>& arrivals_ms, std::int64_t samples_per_query,
                 double bound_ms, bool early_stop, double max_duration_ms);

/// The server scenario: one run at settings.target_qps, or with
/// settings.find_max_qps the QpsSearch from settings.target_qps (or, when 0,
/// from `estimated_capacity_qps`). Each run issues max(--min-count,
/// qps x --min-duration-ms) queries, capped at half of qps x --max-duration-ms.
/// Returns the reported run (the highest QPS that met the bound; else the
/// last probe) and fills `serving` (target, achieved, bound_met, counts, search).
LoadRun run_server_scenario(QueryTarget& target, const ServingSettings& settings, const RunSettings& run,
                            double estimated_capacity_qps, ServingResult& serving);

/// The multi-stream scenario: a query of settings.samples_per_query samples
/// every settings.interval_ms, max(--min-count, --min-duration-ms / interval)
/// queries (capped by --max-duration-ms); bound = the interval. Fills `serving`.
LoadRun run_multi_stream_scenario(QueryTarget& target, const ServingSettings& settings, const RunSettings& run,
                                  ServingResult& serving);

/// The p50/p99/mean of `values_ms` (empty: zeros).
LatencySummary summarize_ms(std::vector<double> values_ms);

}  // namespace inferlab
