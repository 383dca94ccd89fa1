#include "inferlab/stats.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>

#include "inferlab/error.h"
#include "measure/stats_detail.h"

namespace inferlab {
namespace {

// Above this n the exact binomial sum is replaced by the normal approximation;
// at n = 1000 both give the same ranks (see test_stats.cpp).
constexpr std::size_t kExactCiMaxN = 1000;
// Below this n no symmetric pair of order statistics reaches 95% coverage.
constexpr std::size_t kMinCiN = 6;
constexpr double kCiTailMass = 0.025;  // each side of a two-sided 95% interval
constexpr double kZ975 = 1.959963984540054;

// Largest 1-based j with P(B <= j - 1) <= 2.5% for B ~ Bin(n, 1/2), i.e.
// coverage P(j <= B <= n - j) >= 95%. The pmf is formed in log space because
// C(n, i) / 2^n over- and underflows long before n = 1000.
std::size_t exact_lower_rank(std::size_t n) {
  const double dn = static_cast<double>(n);
  const double log_norm = std::lgamma(dn + 1.0) - dn * std::log(2.0);
  double cdf = 0.0;
  std::size_t j = 0;
  // The tail below the median is at most 1/2, so j never passes n / 2.
  for (std::size_t i = 0; i <= n / 2; ++i) {
    const double di = static_cast<double>(i);
    cdf += std::exp(log_norm - std::lgamma(di + 1.0) - std::lgamma(dn - di + 1.0));
    if (cdf > kCiTailMass) break;
    j = i + 1;
  }
  return j;
}

// The same j from the continuity-corrected normal approximation of Bin(n, 1/2):
// P(B <= j - 1) ~ Phi((j - 1/2 - n/2) / (sqrt(n) / 2)) <= 2.5%.
std::size_t normal_lower_rank(std::size_t n) {
  const double dn = static_cast<double>(n);
  const double j = std::floor(dn / 2.0 - kZ975 * std::sqrt(dn) / 2.0 + 0.5);
  return static_cast<std::size_t>(std::max(1.0, j));
}

std::string format_number(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%g", value);
  return buffer;
}

}  // namespace

namespace detail {

std::pair<std::size_t, std::size_t> median_ci95_ranks(std::size_t n) {
  if (n == 0) throw Error("median CI: empty sample");
  if (n < kMinCiN) return {0, n - 1};
  const std::size_t j = n <= kExactCiMaxN ? exact_lower_rank(n) : normal_lower_rank(n);
  // Symmetric pair: 1-based (j, n + 1 - j) is 0-based (j - 1, n - j).
  return {j - 1, n - j};
}

}  // namespace detail

double percentile_sorted(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) throw Error("percentile of an empty sample");
  // Written as a negated range test so that NaN is rejected too.
  if (!(q >= 0.0 && q <= 1.0)) throw Error("percentile q must be in [0, 1], got " + format_number(q));
  const double h = static_cast<double>(sorted.size() - 1) * q;
  const auto lo = static_cast<std::size_t>(std::floor(h));
  if (lo + 1 >= sorted.size()) return sorted[lo];
  return sorted[lo] + (h - static_cast<double>(lo)) * (sorted[lo + 1] - sorted[lo]);
}

std::pair<double, double> median_ci95_sorted(const std::vector<double>& sorted) {
  if (sorted.empty()) throw Error("median CI of an empty sample");
  const auto [lo, hi] = detail::median_ci95_ranks(sorted.size());
  return {sorted[lo], sorted[hi]};
}

LatencyStats compute_latency_stats(std::vector<double> latencies_ms) {
  if (latencies_ms.empty()) throw Error("latency statistics of an empty sample");
  // A NaN would break the strict weak ordering std::sort relies on.
  for (double x : latencies_ms) {
    if (!std::isfinite(x)) throw Error("latency sample contains a non-finite value");
  }
  std::sort(latencies_ms.begin(), latencies_ms.end());
  const std::vector<double>& x = latencies_ms;
  const std::size_t n = x.size();

  LatencyStats s;
  s.count = n;
  s.min_ms = x.front();
  s.max_ms = x.back();
  if (s.min_ms == s.max_ms) {
    // sum / n of identical values can round away from the value; report it exactly.
    s.mean_ms = s.min_ms;
    s.stddev_ms = 0;
  } else {
    // Two passes: the mean first, then squared deviations from it, which avoids
    // the cancellation of the sum-of-squares formula.
    double sum = 0;
    for (double v : x) sum += v;
    s.mean_ms = sum / static_cast<double>(n);
    double ss = 0;
    for (double v : x) ss += (v - s.mean_ms) * (v - s.mean_ms);
    s.stddev_ms = n > 1 ? std::sqrt(ss / static_cast<double>(n - 1)) : 0.0;
  }
  s.p50_ms = percentile_sorted(x, 0.50);
  s.p90_ms = percentile_sorted(x, 0.90);
  s.p95_ms = percentile_sorted(x, 0.95);
  s.p99_ms = percentile_sorted(x, 0.99);
  s.p999_ms = percentile_sorted(x, 0.999);
  const auto [lo, hi] = median_ci95_sorted(x);
  s.ci95_p50_lo_ms = lo;
  s.ci95_p50_hi_ms = hi;
  return s;
}

std::vector<float> strided_samples(const std::vector<double>& latencies_ms, std::size_t max_count) {
  const std::size_t n = latencies_ms.size();
  const std::size_t kept = std::min(n, max_count);
  std::vector<float> out;
  out.reserve(kept);
  // Index i * n / kept spans the whole run evenly; integer arithmetic keeps it exact.
  for (std::size_t i = 0; i < kept; ++i) out.push_back(static_cast<float>(latencies_ms[i * n / kept]));
  return out;
}

std::pair<double, double> quantile_ci95_sorted(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) throw Error("quantile CI of an empty sample");
  if (!(q > 0 && q < 1)) throw Error("quantile CI: q must be in (0, 1)");
  const double n = static_cast<double>(sorted.size());
  const double half = 1.959964 * std::sqrt(n * q * (1 - q));
  // 1-based ranks floor(nq - half) and ceil(nq + half) + 1, as 0-based indices.
  const double lo_rank = std::floor(n * q - half), hi_rank = std::ceil(n * q + half) + 1;
  const auto clamp = [&](double rank) { return static_cast<std::size_t>(std::clamp(rank, 1.0, n)) - 1; };
  return {sorted[clamp(lo_rank)], sorted[clamp(hi_rank)]};
}

double relative_ci_half_width(const LatencyStats& stats) {
  if (stats.p50_ms == 0) return std::numeric_limits<double>::infinity();
  return (stats.ci95_p50_hi_ms - stats.ci95_p50_lo_ms) / 2.0 / std::abs(stats.p50_ms);
}

}  // namespace inferlab
