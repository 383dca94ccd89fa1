// recommend(): the join of accuracy into bench rows, constraints, objectives,
// binding constraints and Pareto fronts, on hand-made rows.
#include <gtest/gtest.h>

#include <algorithm>

#include "inferlab/error.h"
#include "inferlab/recommend.h"

namespace inferlab {
namespace {

// Assigned from std::string objects: GCC 12's -Wrestrict fires falsely on
// assigning a short literal into a freshly built row.
const std::string kModel = "m", kFp32 = "fp32";

StoredRow bench_row(std::int64_t run, std::int64_t id, const std::string& backend, std::int64_t batch, double p50_ms,
                    double throughput, double rss_mb) {
  StoredRow row;
  row.run_id = run;
  row.id = id;
  BenchResult& r = row.result;
  r.model = kModel;
  r.backend = backend;
  r.precision = kFp32;
  r.scenario = "single-stream";
  r.batch = batch;
  r.threads = 2;
  LatencyStats s{};
  s.p50_ms = p50_ms;
  s.p99_ms = p50_ms * 2;
  r.latency = s;
  r.throughput_per_s = throughput;
  r.memory = MemoryResult{rss_mb, 0, 0};
  return row;
}

StoredRow accuracy_row(std::int64_t run, std::int64_t id, const std::string& backend, double top1) {
  StoredRow row;
  row.run_id = run;
  row.id = id;
  row.result.model = kModel;
  row.result.backend = backend;
  row.result.precision = kFp32;
  AccuracyFields a;
  a.top1 = top1;
  row.result.accuracy = a;
  return row;
}

std::vector<StoredRow> rows() {
  return {bench_row(1, 1, "fast", 1, 1.0, 1000, 300), bench_row(1, 2, "fast", 8, 4.0, 2000, 400),
          bench_row(1, 3, "small", 1, 3.0, 333, 100), bench_row(1, 4, "broken", 1, 0.1, 1e5, 50),
          accuracy_row(2, 5, "fast", 0.95),           accuracy_row(2, 6, "small", 0.97),
          accuracy_row(2, 7, "broken", 0.10),         bench_row(3, 8, "small", 1, 2.5, 400, 90)};
}

TEST(Recommend, NewestRowWinsAndAccuracyIsJoined) {
  const auto configs = collect_configurations(rows());
  ASSERT_EQ(configs.size(), 4u);
  const auto small = std::find_if(configs.begin(), configs.end(), [](auto& c) { return c.backend == "small"; });
  EXPECT_EQ(small->run_id, 3);
  EXPECT_DOUBLE_EQ(small->p50_ms, 2.5);
  ASSERT_TRUE(small->top1);
  EXPECT_DOUBLE_EQ(*small->top1, 0.97);
  EXPECT_EQ(small->accuracy_run_id, 2);
}

TEST(Recommend, ObjectivesAndConstraints) {
  Constraints k;
  k.latency_stat = "p50";
  auto r = recommend(collect_configurations(rows()), k, Objective::kLatency);
  ASSERT_TRUE(r.best);
  EXPECT_EQ(r.configurations[*r.best].backend, "broken");
  k.min_top1 = 0.9;
  r = recommend(collect_configurations(rows()), k, Objective::kLatency);
  EXPECT_EQ(r.configurations[*r.best].label(), "m fast fp32 batch 1 threads 2");
  r = recommend(collect_configurations(rows()), k, Objective::kThroughput);
  EXPECT_EQ(r.configurations[*r.best].label(), "m fast fp32 batch 8 threads 2");
  k.max_memory_mb = 200;
  r = recommend(collect_configurations(rows()), k, Objective::kThroughput);
  EXPECT_EQ(r.configurations[*r.best].backend, "small");
}

TEST(Recommend, SaysWhichConstraintBinds) {
  Constraints k;
  k.min_top1 = 0.9;
  k.max_latency_ms = 0.5;  // p99: nothing with Top-1 >= 0.9 is that fast
  const auto r = recommend(collect_configurations(rows()), k, Objective::kLatency);
  EXPECT_FALSE(r.best);
  ASSERT_EQ(r.constraints.size(), 2u);
  EXPECT_TRUE(r.constraints[0].binds) << r.verdict;  // latency: lifting it lets "fast" qualify
  EXPECT_TRUE(r.constraints[1].binds) << r.verdict;  // top1: lifting it lets "broken" qualify
  EXPECT_NE(r.verdict.find("nothing qualifies"), std::string::npos);
  EXPECT_NE(r.verdict.find("--max-latency-ms 0.5 binds"), std::string::npos) << r.verdict;
}

TEST(Recommend, EnergyWithoutSensorIsBadInput) {
  try {
    recommend(collect_configurations(rows()), Constraints{}, Objective::kEnergy);
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kBadInput);
    EXPECT_NE(std::string(e.what()).find("no sensor measured energy"), std::string::npos);
  }
}

TEST(Recommend, ParetoFront) {
  // (x to minimise, y to maximise): (1,1) (2,3) (3,2) (4,4) (2,3) duplicate, null skipped.
  const std::vector<std::optional<double>> x{1, 2, 3, 4, 2, std::nullopt}, y{1, 3, 2, 4, 3, 9};
  EXPECT_EQ(pareto_front(x, y), (std::vector<std::size_t>{0, 1, 3}));
}

TEST(Recommend, ParseObjective) {
  EXPECT_EQ(parse_objective("throughput"), Objective::kThroughput);
  EXPECT_THROW(parse_objective("speed"), Error);
}

}  // namespace
}  // namespace inferlab
