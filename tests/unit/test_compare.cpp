// compare's statistics and verdicts on synthetic rows with known answers.
#include <cmath>
#include <random>

#include <gtest/gtest.h>

#include "inferlab/compare.h"
#include "inferlab/error.h"
#include "inferlab/stats.h"

namespace inferlab {
namespace {

TEST(MannWhitney, MatchesTheTextbookValue) {
  // scipy.stats.mannwhitneyu([1..5], [6..10], method="asymptotic"): U=0, p=0.01219.
  const auto r = mann_whitney_u({1, 2, 3, 4, 5}, {6, 7, 8, 9, 10});
  EXPECT_DOUBLE_EQ(r.u, 0);
  EXPECT_NEAR(r.p_two_sided, 0.01219, 1e-4);
  EXPECT_GT(r.z, 0);  // the second sample is larger
  EXPECT_DOUBLE_EQ(r.prob_second_larger, 1.0);
}

TEST(MannWhitney, IdenticalSamplesShowNoDifference) {
  std::vector<float> a{3, 1, 2, 2, 5, 4};
  EXPECT_DOUBLE_EQ(mann_whitney_u(a, a).p_two_sided, 1.0);
  EXPECT_DOUBLE_EQ(mann_whitney_u({2, 2, 2}, {2, 2}).p_two_sided, 1.0);  // all tied
  EXPECT_THROW(mann_whitney_u({}, {1}), Error);
}

TEST(MannWhitney, HandlesTiesAcrossSamples) {
  // By hand: ranks 1, 3, 3, 6 for the first sample, U = 13 - 10 = 3; tie
  // term 2 x (27 - 3), variance 16/12 x (9 - 48/56), z = 4.5 / 3.295, p = 0.172.
  const auto r = mann_whitney_u({1, 2, 2, 3}, {2, 3, 3, 4});
  EXPECT_DOUBLE_EQ(r.u, 3);
  EXPECT_NEAR(r.p_two_sided, 0.1720, 1e-3);
}

TEST(TwoProportions, DetectsALargeDropOnly) {
  EXPECT_LT(two_proportion_p_value(0.98, 1000, 0.90, 1000), 1e-6);
  EXPECT_GT(two_proportion_p_value(0.98, 1000, 0.975, 1000), 0.3);
  EXPECT_DOUBLE_EQ(two_proportion_p_value(1.0, 100, 1.0, 100), 1.0);
}

TEST(QuantileCi, BracketsTheQuantile) {
  std::vector<double> x(1000);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<double>(i);
  const auto [lo, hi] = quantile_ci95_sorted(x, 0.99);
  EXPECT_LT(lo, 989.5);
  EXPECT_GT(hi, 989.5);
  EXPECT_LE(hi, 999);
}

TEST(StridedSamples, SpanTheWholeRun) {
  std::vector<double> x(10000);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<double>(i);
  const auto kept = strided_samples(x, 100);
  ASSERT_EQ(kept.size(), 100u);
  EXPECT_EQ(kept.front(), 0.0f);
  EXPECT_EQ(kept.back(), 9900.0f);
  EXPECT_EQ(strided_samples(x, 20000).size(), 10000u);
}

// A row whose latencies are `median` times lognormal noise (seeded).
BenchResult row(double median_ms, unsigned seed, std::size_t n = 2000) {
  std::mt19937 rng(seed);
  std::lognormal_distribution<double> noise(0.0, 0.05);
  std::vector<double> samples;
  for (std::size_t i = 0; i < n; ++i) samples.push_back(median_ms * noise(rng));
  BenchResult r;
  r.model = "m";
  r.backend = "opencv";
  r.precision = "fp32";
  r.scenario = "single-stream";
  r.latency_samples_ms = strided_samples(samples, kMaxKeptLatencySamples);
  r.latency = compute_latency_stats(samples);
  r.throughput_per_s = 1000.0 / r.latency->mean_ms;
  r.memory = MemoryResult{100, 10, 1};
  return r;
}

const FigureChange& figure(const RowComparison& r, const std::string& name) {
  for (const auto& f : r.figures) {
    if (f.name == name) return f;
  }
  throw Error("no figure " + name);
}

TEST(Compare, FlagsASignificantSlowdownBeyondTheThreshold) {
  const auto report = compare_results({row(10, 1)}, {row(13, 2)}, CompareSettings{});
  ASSERT_EQ(report.rows.size(), 1u);
  EXPECT_TRUE(report.regression);
  EXPECT_EQ(figure(report.rows[0], "p50_ms").verdict, Verdict::kRegression);
  EXPECT_EQ(figure(report.rows[0], "throughput_per_s").verdict, Verdict::kRegression);
  EXPECT_NE(figure(report.rows[0], "p50_ms").test.find("Mann-Whitney"), std::string::npos);
}

TEST(Compare, ASmallSignificantShiftStaysWithinTheThreshold) {
  const auto report = compare_results({row(10, 1)}, {row(10.3, 2)}, CompareSettings{});
  EXPECT_FALSE(report.regression);
  EXPECT_EQ(figure(report.rows[0], "p50_ms").verdict, Verdict::kWithinThreshold);
}

TEST(Compare, TheSameDistributionIsNotARegression) {
  const auto report = compare_results({row(10, 1)}, {row(10, 2)}, CompareSettings{});
  EXPECT_FALSE(report.regression);
  EXPECT_NE(figure(report.rows[0], "p50_ms").verdict, Verdict::kRegression);
}

TEST(Compare, ImprovementsAreNotRegressions) {
  const auto report = compare_results({row(10, 1)}, {row(7, 2)}, CompareSettings{});
  EXPECT_FALSE(report.regression);
  EXPECT_EQ(figure(report.rows[0], "p50_ms").verdict, Verdict::kImprovement);
}

TEST(Compare, FallsBackToTheMediansConfidenceIntervals) {
  BenchResult base = row(10, 1), slow = row(13, 2), same = row(10, 3);
  for (auto* r : {&base, &slow, &same}) r->latency_samples_ms.clear();
  auto report = compare_results({base}, {slow}, CompareSettings{});
  EXPECT_TRUE(report.regression);
  EXPECT_NE(figure(report.rows[0], "p50_ms").test.find("do not overlap"), std::string::npos);
  EXPECT_EQ(figure(report.rows[0], "p99_ms").verdict, Verdict::kNotTested);
  report = compare_results({base}, {same}, CompareSettings{});
  EXPECT_FALSE(report.regression);
}

TEST(Compare, MatchesOnTheWholeConfiguration) {
  BenchResult other_batch = row(10, 2);
  other_batch.batch = 8;
  const auto report = compare_results({row(10, 1)}, {other_batch}, CompareSettings{});
  EXPECT_TRUE(report.rows.empty());
  EXPECT_EQ(report.only_in_base.size(), 1u);
  EXPECT_EQ(report.only_in_new.size(), 1u);
}

TEST(Compare, AWorkingRowThatNowFailsIsARegression) {
  BenchResult failed = row(10, 2);
  failed.status = ResultStatus::kFailed;
  failed.latency.reset();
  const auto report = compare_results({row(10, 1)}, {failed}, CompareSettings{});
  EXPECT_TRUE(report.regression);
  EXPECT_EQ(report.rows[0].status_change, "ok -> failed");
}

TEST(Compare, Top1DropsAreTested) {
  BenchResult a = row(10, 1), b = row(10, 1);
  a.accuracy = AccuracyFields{};
  a.accuracy->top1 = 0.98;
  a.accuracy->samples = 1000;
  b.accuracy = a.accuracy;
  b.accuracy->top1 = 0.85;
  auto report = compare_results({a}, {b}, CompareSettings{});
  EXPECT_EQ(figure(report.rows[0], "top1").verdict, Verdict::kRegression);
  b.accuracy->top1 = 0.975;
  report = compare_results({a}, {b}, CompareSettings{});
  EXPECT_EQ(figure(report.rows[0], "top1").verdict, Verdict::kNoSignificantChange);
  const auto json = to_json(report);
  EXPECT_EQ(json.at("schema"), "inferlab.compare/1");
}

}  // namespace
}  // namespace inferlab
