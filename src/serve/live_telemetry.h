#pragma once
// The sampler behind `live --metrics-port` and `live --web`: at a fixed
// interval it takes the pipeline's snapshot, brings the Prometheus series up
// to date and publishes one JSON sample to the web monitor's event stream.
// One sampler feeds both, so the page and Prometheus show the same figures.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "inferlab/live.h"
#include "serve/event_stream.h"
#include "serve/live_metrics.h"

namespace inferlab {

/// Mean latency of each stage over one sampling interval, in milliseconds;
/// nullopt for a stage that timed nothing in the interval.
struct IntervalLatency {
  std::string stage;
  std::optional<double> mean_ms;
};

/// One web monitor sample (the `sample` event's data): t_s, fps, frames,
/// dropped_frames, backend, backend_cycle, switching, method, source, face,
/// bpm (null before the first reading) with bpm_snr_db / bpm_note, stage_ms
/// [{stage, mean_ms: interval mean or null}] in pipeline order, stages [{name, p50_ms, p99_ms, count}]
/// over the run, queues {name: depth}, rss_mb, cpu_utilisation, power_w
/// (null without a sensor) with power_note, switches [...], finished.
/// Pure function; thread-safe.
nlohmann::json live_sample_json(const LiveSnapshot& snapshot, double fps, const std::vector<IntervalLatency>& stage_ms,
                                const ProcessUsage& usage, bool finished);

/// User + system CPU time of this process in seconds (getrusage).
double process_cpu_seconds();

/// Owns the sampling thread. The pipeline and `metrics` must outlive it.
/// Thread-safe.
class LiveTelemetry {
 public:
  /// `interval`: time between samples (the web monitor's update period).
  LiveTelemetry(const LivePipeline& pipeline, LiveMetrics& metrics, std::chrono::milliseconds interval);
  ~LiveTelemetry();
  LiveTelemetry(const LiveTelemetry&) = delete;
  LiveTelemetry& operator=(const LiveTelemetry&) = delete;

  /// Takes the first sample now and starts the thread.
  void start();
  /// Takes a last sample (finished: true), ends the event stream and joins.
  /// Idempotent.
  void finish();

  /// The `sample` events (SSE readers wait on it).
  EventStream& events() { return events_; }
  /// The newest sample as JSON text ("{}" before the first).
  std::string latest() const;
  /// Samples taken so far.
  std::int64_t samples() const { return samples_.load(); }

 private:
  void sample(bool finished);

  const LivePipeline& pipeline_;
  LiveMetrics& metrics_;
  const std::chrono::milliseconds interval_;
  EventStream events_;
  std::thread thread_;
  std::atomic<std::int64_t> samples_{0};

  mutable std::mutex mutex_;  // guards everything below
  std::condition_variable wake_;
  bool stopping_ = false, finished_ = false;
  std::string latest_ = "{}";
  // State of the previous sample, for per-interval figures (sampler thread only).
  std::chrono::steady_clock::time_point last_at_;
  std::int64_t last_frames_ = 0;
  double last_cpu_s_ = 0;
  std::vector<LiveMetrics::StageTotals> last_totals_;
};

}  // namespace inferlab
