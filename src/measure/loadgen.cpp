// The load generator: scheduled issue, per-query completion tracking, early
// stopping, and the server / multi-stream scenarios built on them.
#include "inferlab/loadgen.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <limits>
#include <mutex>
#include <thread>

#include "inferlab/error.h"
#include "inferlab/stats.h"

namespace inferlab {

namespace {

double ms_between(ServingClock::time_point from, ServingClock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

ServingClock::time_point at_offset(ServingClock::time_point start, double offset_ms) {
  return start +
         std::chrono::duration_cast<ServingClock::duration>(std::chrono::duration<double, std::milli>(offset_ms));
}

std::vector<std::int64_t> difference(const std::vector<std::int64_t>& after, const std::vector<std::int64_t>& before) {
  std::vector<std::int64_t> out(after.size(), 0);
  for (std::size_t i = 0; i < after.size(); ++i) out[i] = after[i] - (i < before.size() ? before[i] : 0);
  return out;
}

// Per-query state shared with completion callbacks on other threads. Slots
// are preallocated, so a callback never allocates.
struct Tracker {
  explicit Tracker(std::size_t queries, std::int64_t samples_per_query)
      : remaining(queries),
        failed(queries),
        latency_ms(queries, std::numeric_limits<double>::quiet_NaN()),
        queue_ms(queries * static_cast<std::size_t>(samples_per_query), -1),
        engine_ms(queue_ms.size(), -1),
        round_trip_ms(queue_ms.size(), -1) {
    for (auto& r : remaining) r.store(samples_per_query, std::memory_order_relaxed);
    for (auto& f : failed) f.store(false, std::memory_order_relaxed);
  }
  std::vector<std::atomic<std::int64_t>> remaining;
  std::vector<std::atomic<bool>> failed;
  std::vector<double> latency_ms;
  std::vector<double> queue_ms, engine_ms, round_trip_ms;
  std::vector<ServingClock::time_point> arrival;
  std::atomic<std::int64_t> over_bound{0}, cancelled{0}, outstanding_samples{0};
  std::atomic<std::int64_t> last_completion_ns{0};
  std::mutex mutex;
  std::condition_variable all_done;
};

}  // namespace

BatcherTarget::BatcherTarget(DynamicBatcher& batcher, const std::vector<Tensor>& sample_inputs) : batcher_(batcher) {
  for (const Tensor& t : sample_inputs) inputs_.push_back(&t);
}

bool BatcherTarget::issue(SampleDone done) {
  BatchRequest request;
  request.inputs = inputs_;
  request.samples = 1;
  request.want_outputs = false;
  request.done = [done = std::move(done)](BatchReply&& reply) {
    SampleTiming t;
    t.ok = reply.error.empty();
    t.cancelled = reply.cancelled;
    t.queue_ms = reply.queue_ms;
    t.engine_ms = reply.engine_ms;
    done(t);
  };
  return batcher_.submit(std::move(request));
}

std::int64_t BatcherTarget::take_max_queue_depth() { return batcher_.take_max_queue_samples_seen(); }

LatencySummary summarize_ms(std::vector<double> values_ms) {
  LatencySummary s;
  if (values_ms.empty()) return s;
  const LatencyStats stats = compute_latency_stats(std::move(values_ms));
  s.p50_ms = stats.p50_ms;
  s.p99_ms = stats.p99_ms;
  s.mean_ms = stats.mean_ms;
  return s;
}

LoadRun run_load(QueryTarget& target, const std::vector<double>& arrivals_ms, std::int64_t samples_per_query,
                 double bound_ms, bool early_stop, double max_duration_ms) {
  if (arrivals_ms.empty()) throw Error("run_load: no queries to issue", ErrorKind::kRuntime);
  const std::size_t planned = arrivals_ms.size();
  Tracker tracker(planned, samples_per_query);
  // More than this many queries over the bound (or lost) puts the type-7 p99
  // of the planned queries over it whatever the rest do.
  const auto hopeless = static_cast<std::int64_t>(std::floor(0.01 * static_cast<double>(planned - 1))) + 2;

  const std::vector<std::int64_t> counts_before = target.batch_size_counts();
  target.take_max_queue_depth();
  LoadRun run;
  std::int64_t issued = 0, dropped = 0;
  const auto start = ServingClock::now();
  const auto deadline = at_offset(start, max_duration_ms);
  tracker.arrival.resize(planned);
  for (std::size_t q = 0; q < planned; ++q) {
    const auto arrival = at_offset(start, arrivals_ms[q]);
    if (arrival > deadline) {
      run.stop_reason = StopReason::kMaxDuration;
      break;
    }
    if (early_stop && tracker.over_bound.load() >= hopeless) {
      run.probe.early_stopped = true;
      break;
    }
    std::this_thread::sleep_until(arrival);
    tracker.arrival[q] = arrival;
    ++issued;
    bool refused = false;
    for (std::int64_t s = 0; s < samples_per_query && !refused; ++s) {
      const std::size_t slot = q * static_cast<std::size_t>(samples_per_query) + static_cast<std::size_t>(s);
      tracker.outstanding_samples.fetch_add(1);
      auto done = [&tracker, q, slot, bound_ms](const SampleTiming& t) {
        const auto now = ServingClock::now();
        if (t.ok) {
          tracker.queue_ms[slot] = t.queue_ms;
          tracker.engine_ms[slot] = t.engine_ms;
          tracker.round_trip_ms[slot] = t.round_trip_ms;
        } else {
          if (t.cancelled) tracker.cancelled.fetch_add(1);
          if (!tracker.failed[q].exchange(true)) tracker.over_bound.fetch_add(1);
        }
        if (tracker.remaining[q].fetch_sub(1) == 1 && !tracker.failed[q].load()) {
          const double latency = ms_between(tracker.arrival[q], now);
          tracker.latency_ms[q] = latency;
          if (latency > bound_ms) tracker.over_bound.fetch_add(1);
        }
        const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
        std::int64_t seen = tracker.last_completion_ns.load();
        while (ns > seen && !tracker.last_completion_ns.compare_exchange_weak(seen, ns)) {
        }
        // Only the last completion takes the lock (so the drain's waiter,
        // which checks under it, cannot miss the wake-up): the batcher's
        // threads do not queue on one mutex for every sample.
        if (tracker.outstanding_samples.fetch_sub(1) == 1) {
          std::lock_guard lock(tracker.mutex);
          tracker.all_done.notify_all();
        }
      };
      if (!target.issue(std::move(done))) {
        tracker.outstanding_samples.fetch_sub(1);
        refused = true;
        // The query is lost: its samples already issued complete into nothing.
        if (!tracker.failed[q].exchange(true)) tracker.over_bound.fetch_add(1);
        tracker.remaining[q].fetch_sub(samples_per_query - s);
        ++dropped;
      }
    }
  }
  // Drain: what is still queued at the deadline (or after an early stop) is
  // cancelled; running batches and requests in flight finish.
  {
    std::unique_lock lock(tracker.mutex);
    if (!run.probe.early_stopped) {
      tracker.all_done.wait_until(lock, deadline, [&] { return tracker.outstanding_samples.load() == 0; });
    }
  }
  if (tracker.outstanding_samples.load() > 0) {
    if (!run.probe.early_stopped) run.stop_reason = StopReason::kMaxDuration;
    target.cancel_pending();
  }
  {
    std::unique_lock lock(tracker.mutex);
    tracker.all_done.wait(lock, [&] { return tracker.outstanding_samples.load() == 0; });
  }

  for (std::size_t q = 0; q < planned; ++q) {
    if (!std::isnan(tracker.latency_ms[q])) run.latencies_ms.push_back(tracker.latency_ms[q]);
  }
  for (std::size_t i = 0; i < tracker.queue_ms.size(); ++i) {
    if (tracker.queue_ms[i] < 0) continue;
    run.queue_ms.push_back(tracker.queue_ms[i]);
    run.engine_ms.push_back(tracker.engine_ms[i]);
    if (tracker.round_trip_ms[i] >= 0) run.round_trip_ms.push_back(tracker.round_trip_ms[i]);
  }
  const auto last_ns = tracker.last_completion_ns.load();
  const auto start_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(start.time_since_epoch()).count();
  run.duration_ms = last_ns > start_ns ? static_cast<double>(last_ns - start_ns) / 1e6 : 0;
  run.batch_size_counts = difference(target.batch_size_counts(), counts_before);
  run.max_queue_depth = target.take_max_queue_depth();

  QpsProbe& p = run.probe;
  p.issued = issued;
  p.completed = static_cast<std::int64_t>(run.latencies_ms.size());
  p.dropped = dropped;
  // Queries the deadline left unissued count as cancelled: the run could not
  // serve them in its time (the shortened run is also invalid under the run rules).
  const std::int64_t unissued = early_stop && p.early_stopped ? 0 : static_cast<std::int64_t>(planned) - issued;
  p.cancelled = tracker.cancelled.load() + unissued;
  p.achieved_qps = run.duration_ms > 0 ? static_cast<double>(p.completed) * 1000.0 / run.duration_ms : 0;
  if (!run.latencies_ms.empty()) {
    std::vector<double> sorted = run.latencies_ms;
    std::sort(sorted.begin(), sorted.end());
    p.p99_ms = percentile_sorted(sorted, 0.99);
  }
  p.met = !p.early_stopped && p.completed == static_cast<std::int64_t>(planned) && p.p99_ms <= bound_ms;
  return run;
}

namespace {

// Queries one run at `qps` issues under the run rules. The cap is half of
// what --max-duration-ms holds on average, so the random arrivals of a run
// that the cap shortened still fit in it and leave time to drain.
std::int64_t planned_queries(double qps, const RunSettings& run) {
  const double by_duration = std::ceil(qps * run.min_duration_ms / 1000.0);
  const double cap = std::floor(0.5 * qps * run.max_duration_ms / 1000.0);
  const double n = std::min(std::max(static_cast<double>(run.min_count), by_duration), std::max(cap, 1.0));
  return static_cast<std::int64_t>(n);
}

void fill_from_run(const LoadRun& r, ServingResult& serving) {
  serving.target_qps = r.probe.target_qps;
  serving.achieved_qps = r.probe.achieved_qps;
  serving.bound_met = r.probe.met;
  serving.issued = r.probe.issued;
  serving.completed = r.probe.completed;
  serving.dropped = r.probe.dropped;
  serving.cancelled = r.probe.cancelled;
  serving.max_queue_depth = r.max_queue_depth;
  serving.batch_size_counts = r.batch_size_counts;
  std::int64_t runs = 0, samples = 0;
  for (std::size_t n = 0; n < r.batch_size_counts.size(); ++n) {
    runs += r.batch_size_counts[n];
    samples += r.batch_size_counts[n] * static_cast<std::int64_t>(n);
  }
  serving.mean_batch = runs > 0 ? static_cast<double>(samples) / static_cast<double>(runs) : 0;
  serving.split_ms["queue"] = summarize_ms(r.queue_ms);
  serving.split_ms["engine"] = summarize_ms(r.engine_ms);
  if (!r.round_trip_ms.empty()) {
    serving.split_ms["round_trip"] = summarize_ms(r.round_trip_ms);
    std::vector<double> overhead;
    for (std::size_t i = 0; i < r.round_trip_ms.size() && i < r.queue_ms.size(); ++i)
      overhead.push_back(r.round_trip_ms[i] - r.queue_ms[i] - r.engine_ms[i]);
    serving.split_ms["network_and_serialisation"] = summarize_ms(overhead);
  }
}

}  // namespace

LoadRun run_server_scenario(QueryTarget& target, const ServingSettings& settings, const RunSettings& run,
                            double estimated_capacity_qps, ServingResult& serving) {
  validate_serving_settings(settings, "server");
  serving.latency_bound_ms = settings.latency_bound_ms;
  serving.find_max_qps = settings.find_max_qps;
  serving.samples_per_query = 1;
  std::uint64_t seed = settings.seed;
  auto probe = [&](double qps, bool early_stop) {
    const auto arrivals = poisson_arrivals_ms(qps, planned_queries(qps, run), seed++);
    LoadRun r = run_load(target, arrivals, 1, settings.latency_bound_ms, early_stop, run.max_duration_ms);
    r.probe.target_qps = qps;
    serving.search.push_back(r.probe);
    return r;
  };
  if (!settings.find_max_qps) {
    LoadRun r = probe(settings.target_qps, false);
    fill_from_run(r, serving);
    serving.search_stop = "a single run at --target-qps";
    return r;
  }
  const double start = settings.target_qps > 0 ? settings.target_qps : std::max(kMinSearchQps, estimated_capacity_qps);
  QpsSearch search(start, settings.search_tolerance, settings.max_probes);
  std::optional<LoadRun> best, last;
  while (auto qps = search.next()) {
    LoadRun r = probe(*qps, true);
    search.record(*qps, r.probe.met);
    if (r.probe.met && (!best || r.probe.target_qps > best->probe.target_qps)) best = r;
    last = std::move(r);
  }
  serving.search_stop = search.stop_reason();
  LoadRun reported = best ? std::move(*best) : std::move(*last);
  fill_from_run(reported, serving);
  return reported;
}

LoadRun run_multi_stream_scenario(QueryTarget& target, const ServingSettings& settings, const RunSettings& run,
                                  ServingResult& serving) {
  validate_serving_settings(settings, "multi-stream");
  const double by_duration = std::ceil(run.min_duration_ms / settings.interval_ms);
  const double cap = std::max(1.0, std::floor(run.max_duration_ms / settings.interval_ms));
  const auto n = static_cast<std::int64_t>(std::min(std::max(static_cast<double>(run.min_count), by_duration), cap));
  std::vector<double> arrivals(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i)
    arrivals[static_cast<std::size_t>(i)] = static_cast<double>(i) * settings.interval_ms;
  LoadRun r = run_load(target, arrivals, settings.samples_per_query, settings.interval_ms, false, run.max_duration_ms);
  r.probe.target_qps = 1000.0 / settings.interval_ms;
  serving.latency_bound_ms = settings.interval_ms;
  serving.samples_per_query = settings.samples_per_query;
  serving.interval_ms = settings.interval_ms;
  serving.search.push_back(r.probe);
  serving.search_stop = "a single run at one query per --interval-ms";
  fill_from_run(r, serving);
  return r;
}

}  // namespace inferlab
