#pragma once
/// @file stats.h
/// Latency statistics: moments, percentiles and a distribution-free 95%
/// confidence interval of the median.

#include <cstddef>
#include <utility>
#include <vector>

namespace inferlab {

/// Summary of a latency sample, all in milliseconds.
struct LatencyStats {
  std::size_t count = 0;
  double mean_ms = 0, stddev_ms = 0, min_ms = 0, max_ms = 0;
  double p50_ms = 0, p90_ms = 0, p95_ms = 0, p99_ms = 0, p999_ms = 0;
  double ci95_p50_lo_ms = 0, ci95_p50_hi_ms = 0;  ///< 95% CI of the median
  bool operator==(const LatencyStats&) const = default;
};

/// Percentile `q` in [0, 1] of an ascending-sorted sample, by linear
/// interpolation between closest ranks (Hyndman & Fan type 7, as numpy's
/// default). Throws Error on an empty sample or q outside [0, 1].
double percentile_sorted(const std::vector<double>& sorted, double q);

/// The 95% confidence interval of the median of an ascending-sorted sample, as
/// the pair of order statistics (x_(j), x_(k)) whose binomial(n, 1/2) coverage
/// is at least 95% (exact for n <= 1000, normal approximation above). For
/// n < 6 no such pair exists and the interval is (min, max).
std::pair<double, double> median_ci95_sorted(const std::vector<double>& sorted);

/// Computes every field of LatencyStats. stddev is the sample (n-1) standard
/// deviation (0 for n = 1). Throws Error on an empty sample.
LatencyStats compute_latency_stats(std::vector<double> latencies_ms);

/// How many raw latencies a result keeps for later statistical comparison
/// (about 16 KiB as float32): enough for a rank test to see a few-percent shift.
constexpr std::size_t kMaxKeptLatencySamples = 4096;

/// At most `max_count` of `latencies_ms`, evenly strided over the whole run
/// (so slow drift during the run stays represented), as float32.
std::vector<float> strided_samples(const std::vector<double>& latencies_ms, std::size_t max_count);

/// The distribution-free 95% CI of quantile `q` in (0, 1) of an ascending-sorted
/// sample: order statistics around n*q at +-1.96 binomial standard deviations
/// (normal approximation), clamped to the sample. Throws Error on an empty sample.
std::pair<double, double> quantile_ci95_sorted(const std::vector<double>& sorted, double q);

/// Relative half-width of the median's CI: (hi - lo) / 2 / p50. Infinity when
/// the median is 0.
double relative_ci_half_width(const LatencyStats& stats);

}  // namespace inferlab
