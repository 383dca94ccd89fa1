#include "inferlab/stats.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

#include "inferlab/error.h"

namespace inferlab {
namespace {

std::vector<double> one_to(int n) {
  std::vector<double> v(static_cast<std::size_t>(n));
  std::iota(v.begin(), v.end(), 1.0);
  return v;
}

// P(j <= B <= n - j) for B ~ Bin(n, 1/2), summed in long double from the pmf
// recurrence, independently of the library's log-space computation.
long double binomial_coverage(int n, int j) {
  long double pmf = std::pow(0.5L, n);  // P(B = 0)
  long double coverage = 0;
  for (int i = 0; i <= n; ++i) {
    if (i >= j && i <= n - j) coverage += pmf;
    pmf = pmf * static_cast<long double>(n - i) / static_cast<long double>(i + 1);
  }
  return coverage;
}

// The defining property of the exact interval: rank j reaches 95% and j + 1
// does not. Values are 1..n, so the returned bounds are the ranks.
void expect_exact_ranks(int n, int expected_j) {
  SCOPED_TRACE("n = " + std::to_string(n));
  const auto [lo, hi] = median_ci95_sorted(one_to(n));
  EXPECT_EQ(lo, expected_j);
  EXPECT_EQ(hi, n + 1 - expected_j);
  EXPECT_GE(binomial_coverage(n, expected_j), 0.95L);
  EXPECT_LT(binomial_coverage(n, expected_j + 1), 0.95L);
}

TEST(Percentile, HandComputedType7) {
  const std::vector<double> x = {1, 2, 3, 4};
  EXPECT_DOUBLE_EQ(percentile_sorted(x, 0.0), 1.0);
  EXPECT_DOUBLE_EQ(percentile_sorted(x, 1.0), 4.0);
  EXPECT_DOUBLE_EQ(percentile_sorted(x, 0.5), 2.5);    // h = 1.5
  EXPECT_DOUBLE_EQ(percentile_sorted(x, 0.25), 1.75);  // h = 0.75
  EXPECT_DOUBLE_EQ(percentile_sorted(x, 0.9), 3.7);    // h = 2.7
  const std::vector<double> y = {10, 20, 40};
  EXPECT_DOUBLE_EQ(percentile_sorted(y, 0.75), 30.0);  // h = 1.5
}

TEST(Percentile, MatchesNumpyOnOneToHundred) {
  const auto x = one_to(100);
  // numpy.percentile(np.arange(1, 101), [50, 90, 99, 99.9, 0, 100])
  EXPECT_NEAR(percentile_sorted(x, 0.50), 50.5, 1e-12);
  EXPECT_NEAR(percentile_sorted(x, 0.90), 90.1, 1e-12);
  EXPECT_NEAR(percentile_sorted(x, 0.99), 99.01, 1e-12);
  EXPECT_NEAR(percentile_sorted(x, 0.999), 99.901, 1e-12);
  EXPECT_DOUBLE_EQ(percentile_sorted(x, 0.0), 1.0);
  EXPECT_DOUBLE_EQ(percentile_sorted(x, 1.0), 100.0);
}

TEST(Percentile, RejectsEmptySampleAndBadQ) {
  EXPECT_THROW(percentile_sorted({}, 0.5), Error);
  const std::vector<double> x = {1, 2, 3};
  EXPECT_THROW(percentile_sorted(x, -0.01), Error);
  EXPECT_THROW(percentile_sorted(x, 1.01), Error);
  EXPECT_THROW(percentile_sorted(x, std::numeric_limits<double>::quiet_NaN()), Error);
}

TEST(Percentile, SingleValue) {
  const std::vector<double> x = {7.5};
  EXPECT_DOUBLE_EQ(percentile_sorted(x, 0.0), 7.5);
  EXPECT_DOUBLE_EQ(percentile_sorted(x, 0.37), 7.5);
  EXPECT_DOUBLE_EQ(percentile_sorted(x, 1.0), 7.5);
}

TEST(MedianCi, FewerThanSixIsMinMax) {
  for (int n = 1; n < 6; ++n) {
    const auto [lo, hi] = median_ci95_sorted(one_to(n));
    EXPECT_EQ(lo, 1);
    EXPECT_EQ(hi, n);
  }
  // n = 5 is below the threshold because no pair reaches 95% there.
  EXPECT_LT(binomial_coverage(5, 1), 0.95L);
}

TEST(MedianCi, ExactRanksMatchBinomialDefinition) {
  expect_exact_ranks(6, 1);
  expect_exact_ranks(10, 2);
  expect_exact_ranks(50, 18);
  expect_exact_ranks(100, 40);
  expect_exact_ranks(1000, 469);
}

TEST(MedianCi, ExactRanksForEveryNUpToThreeHundred) {
  for (int n = 6; n <= 300; ++n) {
    const auto [lo, hi] = median_ci95_sorted(one_to(n));
    const int j = static_cast<int>(lo);
    ASSERT_EQ(hi, n + 1 - j) << "n = " << n;
    ASSERT_GE(binomial_coverage(n, j), 0.95L) << "n = " << n;
    ASSERT_LT(binomial_coverage(n, j + 1), 0.95L) << "n = " << n;
  }
}

TEST(MedianCi, NormalApproximationIsContinuousAndCovers) {
  // Just above the exact range the approximation may be one rank more
  // conservative than exact, never less.
  for (int n : {1001, 1002, 1500, 2000}) {
    const auto [lo, hi] = median_ci95_sorted(one_to(n));
    const int j = static_cast<int>(lo);
    EXPECT_EQ(hi, n + 1 - j) << "n = " << n;
    EXPECT_GE(binomial_coverage(n, j), 0.95L) << "n = " << n;
    EXPECT_LT(binomial_coverage(n, j + 2), 0.95L) << "n = " << n;
  }
  const auto [lo, hi] = median_ci95_sorted(one_to(100000));
  // n/2 -+ 1.96 * sqrt(n) / 2 = 50000 -+ 309.9
  EXPECT_NEAR(lo, 49690, 2);
  EXPECT_NEAR(hi, 50311, 2);
}

TEST(MedianCi, CoverageBySimulation) {
  std::mt19937_64 rng(20240611);
  std::exponential_distribution<double> dist(1.0);
  const double true_median = std::log(2.0);
  constexpr int kTrials = 4000;
  int covered = 0;
  std::vector<double> sample(50);
  for (int t = 0; t < kTrials; ++t) {
    for (double& x : sample) x = dist(rng);
    std::sort(sample.begin(), sample.end());
    const auto [lo, hi] = median_ci95_sorted(sample);
    if (lo <= true_median && true_median <= hi) ++covered;
  }
  // Exact coverage for n = 50 is 1 - 2 P(B <= 17) = 0.967.
  const double fraction = static_cast<double>(covered) / kTrials;
  EXPECT_GE(fraction, 0.94);
  EXPECT_LE(fraction, 0.98);
}

TEST(MedianCi, EmptyThrows) { EXPECT_THROW(median_ci95_sorted({}), Error); }

TEST(LatencyStats, EmptyThrows) { EXPECT_THROW(compute_latency_stats({}), Error); }

TEST(LatencyStats, NonFiniteThrows) {
  EXPECT_THROW(compute_latency_stats({1.0, std::numeric_limits<double>::quiet_NaN()}), Error);
  EXPECT_THROW(compute_latency_stats({1.0, std::numeric_limits<double>::infinity()}), Error);
}

TEST(LatencyStats, SingleSample) {
  const LatencyStats s = compute_latency_stats({3.25});
  EXPECT_EQ(s.count, 1u);
  EXPECT_DOUBLE_EQ(s.mean_ms, 3.25);
  EXPECT_DOUBLE_EQ(s.stddev_ms, 0.0);
  EXPECT_DOUBLE_EQ(s.min_ms, 3.25);
  EXPECT_DOUBLE_EQ(s.max_ms, 3.25);
  EXPECT_DOUBLE_EQ(s.p50_ms, 3.25);
  EXPECT_DOUBLE_EQ(s.p999_ms, 3.25);
  EXPECT_DOUBLE_EQ(s.ci95_p50_lo_ms, 3.25);
  EXPECT_DOUBLE_EQ(s.ci95_p50_hi_ms, 3.25);
  EXPECT_DOUBLE_EQ(relative_ci_half_width(s), 0.0);
}

TEST(LatencyStats, TwoSamplesUnsorted) {
  const LatencyStats s = compute_latency_stats({4.0, 2.0});
  EXPECT_EQ(s.count, 2u);
  EXPECT_DOUBLE_EQ(s.mean_ms, 3.0);
  EXPECT_DOUBLE_EQ(s.stddev_ms, std::sqrt(2.0));
  EXPECT_DOUBLE_EQ(s.min_ms, 2.0);
  EXPECT_DOUBLE_EQ(s.max_ms, 4.0);
  EXPECT_DOUBLE_EQ(s.p50_ms, 3.0);
  EXPECT_DOUBLE_EQ(s.p90_ms, 3.8);
  EXPECT_DOUBLE_EQ(s.ci95_p50_lo_ms, 2.0);
  EXPECT_DOUBLE_EQ(s.ci95_p50_hi_ms, 4.0);
  EXPECT_DOUBLE_EQ(relative_ci_half_width(s), 1.0 / 3.0);
}

TEST(LatencyStats, AllEqualValuesHaveZeroSpread) {
  const LatencyStats s = compute_latency_stats(std::vector<double>(1000, 0.1));
  EXPECT_EQ(s.mean_ms, 0.1);
  EXPECT_EQ(s.stddev_ms, 0.0);
  EXPECT_EQ(s.p50_ms, 0.1);
  EXPECT_EQ(s.p999_ms, 0.1);
  EXPECT_EQ(s.ci95_p50_lo_ms, 0.1);
  EXPECT_EQ(s.ci95_p50_hi_ms, 0.1);
  EXPECT_EQ(relative_ci_half_width(s), 0.0);
}

TEST(LatencyStats, HandComputedSmallSample) {
  // Shuffled 1..10: mean 5.5, sample variance 55/6.
  const LatencyStats s = compute_latency_stats({7, 3, 10, 1, 5, 9, 2, 8, 4, 6});
  EXPECT_DOUBLE_EQ(s.mean_ms, 5.5);
  EXPECT_NEAR(s.stddev_ms, std::sqrt(55.0 / 6.0), 1e-12);
  EXPECT_DOUBLE_EQ(s.p50_ms, 5.5);
  EXPECT_NEAR(s.p90_ms, 9.1, 1e-12);
  EXPECT_NEAR(s.p95_ms, 9.55, 1e-12);
  EXPECT_NEAR(s.p99_ms, 9.91, 1e-12);
  EXPECT_NEAR(s.p999_ms, 9.991, 1e-12);
  EXPECT_DOUBLE_EQ(s.ci95_p50_lo_ms, 2.0);
  EXPECT_DOUBLE_EQ(s.ci95_p50_hi_ms, 9.0);
  EXPECT_NEAR(relative_ci_half_width(s), 3.5 / 5.5, 1e-12);
}

TEST(LatencyStats, StddevIsStableForLargeOffsets) {
  // The naive sum-of-squares formula loses every digit here.
  std::vector<double> x;
  for (int i = 0; i < 1000; ++i) x.push_back(1e9 + (i % 2 == 0 ? 1.0 : -1.0));
  const LatencyStats s = compute_latency_stats(x);
  EXPECT_NEAR(s.stddev_ms, std::sqrt(1000.0 / 999.0), 1e-6);
}

TEST(LatencyStats, SeededNormalSample) {
  std::mt19937_64 rng(42);
  std::normal_distribution<double> dist(10.0, 2.0);
  std::vector<double> x(400000);
  for (double& v : x) v = dist(rng);
  const LatencyStats s = compute_latency_stats(x);
  EXPECT_EQ(s.count, x.size());
  EXPECT_NEAR(s.mean_ms, 10.0, 0.05);
  EXPECT_NEAR(s.stddev_ms, 2.0, 0.05);
  EXPECT_NEAR(s.p50_ms, 10.0, 0.05);
  std::sort(x.begin(), x.end());
  EXPECT_NEAR(percentile_sorted(x, 0.975), 10.0 + 1.959964 * 2.0, 0.1);
  EXPECT_NEAR(s.p90_ms, 10.0 + 1.281552 * 2.0, 0.1);
  EXPECT_NEAR(s.p99_ms, 10.0 + 2.326348 * 2.0, 0.1);
  EXPECT_LT(s.ci95_p50_lo_ms, s.p50_ms);
  EXPECT_GT(s.ci95_p50_hi_ms, s.p50_ms);
  // Half-width ~ 1.96 * sqrt(pi / 2) * sigma / sqrt(n) = 0.0078.
  EXPECT_LT(s.ci95_p50_hi_ms - s.ci95_p50_lo_ms, 0.05);
  EXPECT_LE(s.min_ms, s.p50_ms);
  EXPECT_LE(s.p50_ms, s.p90_ms);
  EXPECT_LE(s.p90_ms, s.p95_ms);
  EXPECT_LE(s.p95_ms, s.p99_ms);
  EXPECT_LE(s.p99_ms, s.p999_ms);
  EXPECT_LE(s.p999_ms, s.max_ms);
}

TEST(LatencyStats, ExponentialQuantiles) {
  constexpr double kRate = 4.0;  // mean 0.25 ms
  std::mt19937_64 rng(7);
  std::exponential_distribution<double> dist(kRate);
  std::vector<double> x(400000);
  for (double& v : x) v = dist(rng);
  const LatencyStats s = compute_latency_stats(x);
  EXPECT_NEAR(s.mean_ms, 1.0 / kRate, 0.005);
  EXPECT_NEAR(s.stddev_ms, 1.0 / kRate, 0.005);
  EXPECT_NEAR(s.p50_ms, std::log(2.0) / kRate, 0.005);
  EXPECT_NEAR(s.p90_ms, std::log(10.0) / kRate, 0.01);
  EXPECT_NEAR(s.p99_ms, std::log(100.0) / kRate, 0.03);
  EXPECT_NEAR(s.p999_ms, std::log(1000.0) / kRate, 0.1);
}

TEST(LatencyStats, RelativeHalfWidthInfiniteAtZeroMedian) {
  const LatencyStats s = compute_latency_stats({0, 0, 0, 1, 2});
  EXPECT_TRUE(std::isinf(relative_ci_half_width(s)));
}

}  // namespace
}  // namespace inferlab
