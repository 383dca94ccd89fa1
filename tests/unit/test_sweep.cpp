#include "inferlab/sweep.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "inferlab/error.h"

namespace inferlab {
namespace {

SweepPoint ok(std::int64_t batch, double throughput, double peak_rss_mb = 100) {
  return SweepPoint{batch, true, throughput, peak_rss_mb};
}

SweepPoint failed(std::int64_t batch) { return SweepPoint{batch, false, 0, 0}; }

// next_sweep_batch with `reason` cleared first, so a stale reason cannot pass a test.
std::optional<std::int64_t> next(const SweepSettings& s, const std::vector<SweepPoint>& points, std::string* reason) {
  reason->clear();
  auto batch = next_sweep_batch(s, points, reason);
  // A reason exactly when the sweep stops.
  EXPECT_EQ(batch.has_value(), reason->empty()) << *reason;
  return batch;
}

TEST(Sweep, StartsAtStartBatch) {
  std::string why;
  EXPECT_EQ(next(SweepSettings{}, {}, &why), 1);
  SweepSettings s;
  s.start_batch = 4;
  EXPECT_EQ(next(s, {}, &why), 4);
}

TEST(Sweep, DoublesWhileThroughputImproves) {
  std::string why;
  const SweepSettings s;
  EXPECT_EQ(next(s, {ok(1, 100)}, &why), 2);
  EXPECT_EQ(next(s, {ok(1, 100), ok(2, 150)}, &why), 4);
  EXPECT_EQ(next(s, {ok(1, 100), ok(2, 150), ok(4, 160)}, &why), 8);  // +6.7%
}

TEST(Sweep, StopsWhenImprovementIsBelowThreshold) {
  std::string why;
  const SweepSettings s;
  EXPECT_EQ(next(s, {ok(1, 100), ok(2, 150), ok(4, 153)}, &why), std::nullopt);
  EXPECT_EQ(why, "throughput improved by 2.0% < 3% at batch 4");
  EXPECT_EQ(next(s, {ok(1, 100), ok(2, 80)}, &why), std::nullopt);
  EXPECT_EQ(why, "throughput improved by -20.0% < 3% at batch 2");
}

TEST(Sweep, ImprovementIsAgainstTheBestSoFar) {
  std::string why;
  const SweepSettings s;
  // 4 -> 8 improves on batch 4 by 20% but on the best (batch 2) by only 2.5%.
  EXPECT_EQ(next(s, {ok(1, 100), ok(2, 200), ok(4, 170), ok(8, 205)}, &why), std::nullopt);
  EXPECT_NE(why.find("2.5% < 3%"), std::string::npos) << why;
}

TEST(Sweep, ThresholdIsConfigurable) {
  std::string why;
  SweepSettings s;
  s.min_improvement = 0.10;
  EXPECT_EQ(next(s, {ok(1, 100), ok(2, 108)}, &why), std::nullopt);
  EXPECT_EQ(why, "throughput improved by 8.0% < 10% at batch 2");
  s.min_improvement = 0.05;
  EXPECT_EQ(next(s, {ok(1, 100), ok(2, 108)}, &why), 4);
}

TEST(Sweep, ZeroPreviousThroughputDoesNotStop) {
  std::string why;
  EXPECT_EQ(next(SweepSettings{}, {ok(1, 0), ok(2, 10)}, &why), 4);
}

TEST(Sweep, StopsWhenTheBackendFails) {
  std::string why;
  const SweepSettings s;
  EXPECT_EQ(next(s, {ok(1, 100), ok(2, 190), failed(4)}, &why), std::nullopt);
  EXPECT_EQ(why, "backend failed at batch 4");
  EXPECT_EQ(next(s, {failed(1)}, &why), std::nullopt);
  EXPECT_EQ(why, "backend failed at batch 1");
}

TEST(Sweep, MemoryPredictionFromOnePointAssumesProportional) {
  std::string why;
  SweepSettings s;
  s.max_memory_mb = 300;
  EXPECT_EQ(next(s, {ok(1, 100, 140)}, &why), 2);  // ~280 MB predicted
  EXPECT_EQ(next(s, {ok(1, 100, 160)}, &why), std::nullopt);
  EXPECT_EQ(why, "next batch would need ~320 MB > --max-memory-mb 300");
}

TEST(Sweep, MemoryPredictionFromTwoPointsIsLinearInBatch) {
  // 100 MB at batch 1 and 110 MB at batch 2: 10 MB per sample over a fixed
  // part, so batch 4 needs 130 MB.
  std::string why;
  SweepSettings s;
  s.max_memory_mb = 135;
  EXPECT_EQ(next(s, {ok(1, 100, 100), ok(2, 190, 110)}, &why), 4);
  s.max_memory_mb = 125;
  EXPECT_EQ(next(s, {ok(1, 100, 100), ok(2, 190, 110)}, &why), std::nullopt);
  EXPECT_EQ(why, "next batch would need ~130 MB > --max-memory-mb 125");
}

TEST(Sweep, MemoryPredictionNeverBelowWhatWasUsed) {
  std::string why;
  SweepSettings s;
  s.max_memory_mb = 200;
  // A falling reading (noise) must not predict less than the last peak.
  EXPECT_EQ(next(s, {ok(1, 100, 150), ok(2, 190, 140)}, &why), 4);
  s.max_memory_mb = 139;
  EXPECT_EQ(next(s, {ok(1, 100, 150), ok(2, 190, 140)}, &why), std::nullopt);
}

TEST(Sweep, StopsWhenMeasuredPeakAlreadyExceedsLimit) {
  std::string why;
  SweepSettings s;
  s.max_memory_mb = 300;
  EXPECT_EQ(next(s, {ok(1, 100, 120), ok(2, 190, 400)}, &why), std::nullopt);
  EXPECT_EQ(why, "peak RSS 400 MB at batch 2 > --max-memory-mb 300");
}

TEST(Sweep, NoMemoryLimitByDefault) {
  std::string why;
  EXPECT_EQ(next(SweepSettings{}, {ok(1, 100, 1e6), ok(2, 190, 5e6)}, &why), 4);
}

TEST(Sweep, StopsAtMaxBatch) {
  std::string why;
  SweepSettings s;
  s.max_batch = 8;
  EXPECT_EQ(next(s, {ok(1, 100), ok(2, 190), ok(4, 300)}, &why), 8);
  EXPECT_EQ(next(s, {ok(1, 100), ok(2, 190), ok(4, 300), ok(8, 400)}, &why), std::nullopt);
  EXPECT_EQ(why, "reached --max-batch 8");
  s.max_batch = 12;  // the next doubling (16) would pass it
  EXPECT_EQ(next(s, {ok(1, 100), ok(2, 190), ok(4, 300), ok(8, 400)}, &why), std::nullopt);
  EXPECT_EQ(why, "reached --max-batch 12");
}

TEST(Sweep, FullSweepReachesAPlateau) {
  // A throughput curve that saturates: simulate the loop a caller runs.
  const auto throughput = [](std::int64_t batch) { return 1000.0 * static_cast<double>(batch) / (batch + 6.0); };
  SweepSettings s;
  std::vector<SweepPoint> points;
  std::string why;
  while (auto batch = next_sweep_batch(s, points, &why)) points.push_back(ok(*batch, throughput(*batch)));
  ASSERT_FALSE(points.empty());
  EXPECT_EQ(points.back().batch, 256);  // 128 -> 256 improves by 2.3%
  EXPECT_NE(why.find("< 3% at batch 256"), std::string::npos) << why;
  ASSERT_TRUE(best_sweep_point(points));
  EXPECT_EQ(best_sweep_point(points)->batch, 256);
}

TEST(Sweep, NullReasonPointerIsAllowed) {
  EXPECT_EQ(next_sweep_batch(SweepSettings{}, {failed(1)}, nullptr), std::nullopt);
}

TEST(Sweep, InvalidSettingsThrow) {
  SweepSettings s;
  s.start_batch = 0;
  EXPECT_THROW(next_sweep_batch(s, {}, nullptr), Error);
  s = SweepSettings{};
  s.max_batch = 0;
  EXPECT_THROW(next_sweep_batch(s, {}, nullptr), Error);
  s = SweepSettings{};
  s.min_improvement = -0.1;
  EXPECT_THROW(next_sweep_batch(s, {}, nullptr), Error);
  s = SweepSettings{};
  s.max_memory_mb = -1;
  EXPECT_THROW(next_sweep_batch(s, {}, nullptr), Error);
}

TEST(BestSweepPoint, HighestOkThroughput) {
  const std::vector<SweepPoint> points = {ok(1, 100), ok(2, 190), ok(4, 180), SweepPoint{8, false, 999, 0}};
  const auto best = best_sweep_point(points);
  ASSERT_TRUE(best);
  EXPECT_EQ(best->batch, 2);
  EXPECT_DOUBLE_EQ(best->throughput_per_s, 190);
}

TEST(BestSweepPoint, TieGoesToTheSmallerBatch) {
  const auto best = best_sweep_point({ok(1, 100), ok(2, 200), ok(4, 200)});
  ASSERT_TRUE(best);
  EXPECT_EQ(best->batch, 2);
}

TEST(BestSweepPoint, NoneWhenNothingIsOk) {
  EXPECT_FALSE(best_sweep_point({}));
  EXPECT_FALSE(best_sweep_point({failed(1), failed(2)}));
}

}  // namespace
}  // namespace inferlab
