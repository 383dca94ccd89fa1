#pragma once
// The metrics `inferlab serve` exports on /metrics, registered once in a
// MetricsRegistry. Internal to src/serve.

#include <cstdint>
#include <mutex>

#include "inferlab/metrics.h"

namespace inferlab {

/// References into a registry (which must outlive this). Updating is
/// thread-safe; refresh_process() serialises itself.
class ServeMetrics {
 public:
  /// Registers every family in `registry` for model `model` on `backend`.
  ServeMetrics(MetricsRegistry& registry, const std::string& model, const std::string& backend);

  /// One answered request: HTTP status and, for 200s, its timings in ms.
  void request_done(int status, double total_ms, double queue_ms, double engine_ms);
  /// One engine run carrying `samples` real samples.
  void batch_done(std::int64_t samples);
  /// Sets the queue depth gauge (samples).
  void set_queue_depth(std::int64_t samples) { queue_depth_.set(static_cast<double>(samples)); }
  /// Reads RSS and CPU time from /proc/self and updates the process gauges:
  /// CPU utilisation is the CPU time used since the previous call over the
  /// wall time since then, as a fraction of all online CPUs.
  void refresh_process();

 private:
  MetricsRegistry& registry_;
  std::string model_;
  MetricHistogram &total_s_, &queue_s_, &engine_s_, &batch_size_;
  MetricGauge &queue_depth_, &rss_bytes_, &cpu_utilisation_;
  MetricCounter& cpu_seconds_;
  MetricCounter* requests_ok_ = nullptr;  // code 200, the per-request path, looked up once
  std::mutex process_mutex_;
  double last_cpu_s_ = -1;
  double last_wall_s_ = 0;
};

}  // namespace inferlab
