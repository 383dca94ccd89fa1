#pragma once
/// @file latency_histogram.h
/// Constant-memory latency percentiles for long-running pipelines: a
/// log-spaced histogram, so a five-minute run keeps no per-frame samples.

#include <array>
#include <cstdint>
#include <mutex>

namespace inferlab {

/// Histogram of durations from 1 microsecond to about 100 s in bins 2% wide;
/// a percentile is exact to within one bin (2%). Durations outside the range
/// land in the first or last bin. Thread-safe (one mutex; add() is O(1)).
class LatencyHistogram {
 public:
  /// Records one duration in milliseconds (negative values count as 0).
  void add(double latency_ms);
  /// Percentile `q` in [0, 1] in milliseconds (bin centre); 0 when empty.
  double percentile_ms(double q) const;
  /// Number of recorded durations.
  std::int64_t count() const;
  /// Mean of the recorded durations in milliseconds (exact, not binned); 0 when empty.
  double mean_ms() const;
  /// Largest recorded duration in milliseconds (exact, not binned); 0 when empty.
  double max_ms() const;
  /// Forgets everything.
  void reset();

  static constexpr int kBins = 940;                             ///< ln(1e8) / ln(1.02) bins cover 1 us .. 100 s
  static constexpr double kBinWidthPct = 2.0;                   ///< each bin is 2% wider than the last
  static constexpr double kBinGrowth = 1 + kBinWidthPct / 100;  ///< so percentiles are within 2% of the truth

 private:
  mutable std::mutex mutex_;
  std::array<std::int64_t, kBins> bins_{};
  std::int64_t count_ = 0;
  double sum_ms_ = 0;
  double max_ms_ = 0;
};

}  // namespace inferlab
