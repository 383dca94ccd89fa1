#pragma once
/// @file metrics.h
/// Prometheus metrics for `serve` and `live --metrics-port`: counters, gauges
/// and histograms with labels, rendered in the Prometheus text exposition
/// format (version 0.0.4) for `GET /metrics`.

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace inferlab {

/// Label name/value pairs of one time series, e.g. {{"stage", "inference"}}.
using MetricLabels = std::vector<std::pair<std::string, std::string>>;

/// A monotonically increasing count. Thread-safe (lock-free).
class MetricCounter {
 public:
  /// Adds `amount` (must be >= 0; negative amounts are ignored).
  void add(double amount = 1.0);
  /// The current value.
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

/// A value that goes up and down (queue depth, RSS). Thread-safe (lock-free).
class MetricGauge {
 public:
  /// Replaces the value.
  void set(double value) { value_.store(value, std::memory_order_relaxed); }
  /// Adds `delta` (may be negative).
  void add(double delta);
  /// The current value.
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

/// Cumulative-bucket histogram (Prometheus semantics: bucket `le` counts all
/// observations <= its bound, plus `+Inf`, `_sum` and `_count`).
/// Thread-safe: observe() is lock-free (one atomic per bucket).
class MetricHistogram {
 public:
  /// `upper_bounds` must be strictly increasing; `+Inf` is implicit.
  explicit MetricHistogram(std::vector<double> upper_bounds);
  /// Records one observation (in the metric's unit, e.g. seconds).
  void observe(double value);
  /// Upper bounds as given (without +Inf).
  const std::vector<double>& upper_bounds() const { return upper_bounds_; }
  /// Non-cumulative count of bucket `i` (i == upper_bounds().size() is +Inf).
  std::uint64_t bucket_count(std::size_t i) const { return buckets_[i].load(std::memory_order_relaxed); }
  /// Number of observations.
  std::uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  /// Sum of observations.
  double sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> upper_bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;
  std::atomic<std::uint64_t> count_{0};
  std::atomic<double> sum_{0.0};
};

/// Latency buckets in seconds from 100 us to 10 s (Prometheus convention:
/// durations in seconds), roughly 2.5x apart.
std::vector<double> default_latency_buckets_s();

/// Owns every metric of one process and renders them. Metric objects live as
/// long as the registry; references returned stay valid (never moved).
/// Registering the same name + labels twice returns the same object; the same
/// name with a different type or help throws Error. Thread-safe.
class MetricsRegistry {
 public:
  /// The counter `name` (should end in `_total`) with `labels`.
  MetricCounter& counter(const std::string& name, const std::string& help, const MetricLabels& labels = {});
  /// The gauge `name` with `labels`.
  MetricGauge& gauge(const std::string& name, const std::string& help, const MetricLabels& labels = {});
  /// The histogram `name` with `labels` and `upper_bounds` (used on first registration).
  MetricHistogram& histogram(const std::string& name, const std::string& help, std::vector<double> upper_bounds,
                             const MetricLabels& labels = {});
  /// Every metric in the text exposition format, families sorted by name.
  std::string render_prometheus() const;

 private:
  enum class Type { kCounter, kGauge, kHistogram };
  struct Family {
    Type type;
    std::string help;
    std::map<MetricLabels, std::unique_ptr<MetricCounter>> counters;
    std::map<MetricLabels, std::unique_ptr<MetricGauge>> gauges;
    std::map<MetricLabels, std::unique_ptr<MetricHistogram>> histograms;
  };
  Family& family(const std::string& name, const std::string& help, Type type);

  mutable std::mutex mutex_;
  std::map<std::string, Family> families_;
};

/// The content type of render_prometheus()'s output.
inline constexpr const char* kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace inferlab
