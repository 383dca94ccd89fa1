#pragma once
// The Prometheus series of one `inferlab live` run (`live --metrics-port`,
// and /metrics on `live --web`): stage latency histograms fed by the
// pipeline's own timings as they happen, and counters/gauges brought up to
// date from the pipeline's snapshots.

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "inferlab/live.h"
#include "inferlab/metrics.h"

namespace inferlab {

/// Process-wide figures that are not part of a LiveSnapshot.
struct ProcessUsage {
  double cpu_seconds = 0;                 ///< user + system CPU time since the process started
  std::optional<double> cpu_utilisation;  ///< CPU seconds per wall second over the last interval (1 = one core)
};

/// Series (all in base units: seconds, bytes, watts):
///   inferlab_live_frames_{captured,processed,dropped}_total
///   inferlab_live_stage_latency_seconds{stage}            histogram
///   inferlab_live_queue_depth_frames{queue}, inferlab_live_queue_capacity_frames{queue}
///   inferlab_live_bpm, inferlab_live_bpm_snr_db           (from the first reading on; NaN while none)
///   inferlab_live_face_detected, inferlab_live_backend_info{backend,method},
///   inferlab_live_backend_switching, inferlab_live_backend_switches_total{result},
///   inferlab_live_backend_switch_seconds                  histogram
///   process_resident_memory_bytes, process_cpu_seconds_total, inferlab_process_cpu_utilisation_ratio
///   inferlab_power_watts (a sensor exists) | inferlab_power_unavailable_info{reason} (none does)
/// Thread-safe: observe_stage() from any stage thread (lock-free), update()
/// and render() from any thread.
class LiveMetrics {
 public:
  LiveMetrics();
  LiveMetrics(const LiveMetrics&) = delete;
  LiveMetrics& operator=(const LiveMetrics&) = delete;

  /// Records one stage timing in milliseconds (exported in seconds).
  void observe_stage(std::string_view stage, double latency_ms);
  /// Brings every counter and gauge up to `snapshot` and `usage`.
  void update(const LiveSnapshot& snapshot, const ProcessUsage& usage);
  /// The text exposition (Prometheus 0.0.4) of every series.
  std::string render() const { return registry_.render_prometheus(); }

  /// Running sum (seconds) and count of one stage's histogram.
  struct StageTotals {
    std::string stage;
    double sum_s = 0;
    std::uint64_t count = 0;
  };
  /// Every stage's totals in pipeline order (callers difference two of these
  /// for the mean latency over an interval).
  std::vector<StageTotals> stage_totals() const;

 private:
  MetricsRegistry registry_;
  std::vector<std::pair<std::string, MetricHistogram*>> stages_;  // fixed after construction
  MetricCounter &captured_, &processed_, &dropped_, &cpu_seconds_;
  MetricCounter &switches_ok_, &switches_failed_;
  MetricHistogram& switch_seconds_;
  MetricGauge &face_, &switching_, &rss_, &cpu_utilisation_;

  std::mutex update_mutex_;  // update() is read-modify-write on the counters
  std::string backend_, method_;
  std::size_t switches_seen_ = 0;
  bool bpm_seen_ = false;
};

/// Stage histogram buckets: 10 us .. 10 s (capture and display take
/// microseconds, a neural inference or a switch tens of milliseconds).
std::vector<double> live_latency_buckets_s();

}  // namespace inferlab
