#include "inferlab/run_rules.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "inferlab/error.h"
#include "inferlab/stats.h"

namespace inferlab {
namespace {

using std::chrono::microseconds;
using Clock = std::chrono::steady_clock;

// Busy-waits rather than sleeps so that a sample is never shorter than `d`;
// it may be longer on a loaded machine, so tests bound counts, not speeds.
void spin_for(microseconds d) {
  const auto end = Clock::now() + d;
  while (Clock::now() < end) {
  }
}

// Settings with warm-up off and no duration floor: each test turns on what it checks.
RunSettings bare_settings() {
  RunSettings s;
  s.warmup_count = 0;
  s.warmup_min_duration_ms = 0;
  s.min_duration_ms = 0;
  s.min_count = 1;
  s.max_duration_ms = 60000;
  s.target_ci = 0;
  return s;
}

double ms_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

double sum_without_last(const std::vector<double>& v) {
  return v.empty() ? 0.0 : std::accumulate(v.begin(), v.end() - 1, 0.0);
}

TEST(RunRules, StopReasonNames) {
  EXPECT_EQ(stop_reason_name(StopReason::kMinimumsMet), "minimums-met");
  EXPECT_EQ(stop_reason_name(StopReason::kTargetCi), "target-ci");
  EXPECT_EQ(stop_reason_name(StopReason::kMaxDuration), "max-duration");
}

TEST(RunRules, StopsExactlyAtMinCountWhenDurationIsMetFirst) {
  RunSettings s = bare_settings();
  s.min_duration_ms = 3;
  s.min_count = 25;
  std::int64_t calls = 0;
  const RunOutcome out = run_measured(s, [&] {
    ++calls;
    spin_for(microseconds(500));
  });
  EXPECT_EQ(out.latencies_ms.size(), 25u);
  EXPECT_EQ(calls, 25);
  EXPECT_EQ(out.warmup_iterations, 0);
  EXPECT_EQ(out.stop_reason, StopReason::kMinimumsMet);
  EXPECT_GE(out.duration_ms, 3.0);
  for (double latency : out.latencies_ms) EXPECT_GE(latency, 0.5);
}

TEST(RunRules, ContinuesPastMinCountUntilMinDuration) {
  RunSettings s = bare_settings();
  s.min_duration_ms = 40;
  s.min_count = 3;
  const RunOutcome out = run_measured(s, [] { spin_for(microseconds(1000)); });
  EXPECT_EQ(out.stop_reason, StopReason::kMinimumsMet);
  EXPECT_GT(out.latencies_ms.size(), 3u);
  EXPECT_GE(out.duration_ms, 40.0);
  // Samples are disjoint parts of the measured phase, so they fit inside it...
  EXPECT_LE(std::accumulate(out.latencies_ms.begin(), out.latencies_ms.end(), 0.0), out.duration_ms + 1e-9);
  // ... and the run stopped at the first sample that reached the duration:
  // the ones before it fit inside less than min_duration_ms.
  EXPECT_LT(sum_without_last(out.latencies_ms), 40.0);
  EXPECT_LE(out.latencies_ms.size(), 41u);  // every sample takes >= 1 ms
}

TEST(RunRules, WarmupCountIsRespectedAndNotMeasured) {
  RunSettings s = bare_settings();
  s.warmup_count = 7;
  s.min_count = 11;
  std::int64_t calls = 0;
  const RunOutcome out = run_measured(s, [&] { ++calls; });
  EXPECT_EQ(out.warmup_iterations, 7);
  EXPECT_EQ(out.latencies_ms.size(), 11u);
  EXPECT_EQ(calls, 18);
}

TEST(RunRules, NoWarmupWhenBothWarmupSettingsAreZero) {
  RunSettings s = bare_settings();
  s.min_count = 4;
  std::int64_t calls = 0;
  const RunOutcome out = run_measured(s, [&] { ++calls; });
  EXPECT_EQ(out.warmup_iterations, 0);
  EXPECT_EQ(calls, 4);
}

TEST(RunRules, WarmupLastsAtLeastItsMinimumDuration) {
  RunSettings s = bare_settings();
  s.warmup_count = 2;
  s.warmup_min_duration_ms = 20;
  s.min_count = 3;
  std::vector<Clock::time_point> call_starts;
  call_starts.reserve(1000);
  const RunOutcome out = run_measured(s, [&] {
    call_starts.push_back(Clock::now());
    spin_for(microseconds(1000));
  });
  ASSERT_GE(out.warmup_iterations, 2);
  ASSERT_EQ(call_starts.size(), static_cast<std::size_t>(out.warmup_iterations) + 3);
  const auto first_measured = call_starts[static_cast<std::size_t>(out.warmup_iterations)];
  EXPECT_GE(ms_between(call_starts.front(), first_measured), 20.0);
  // The iteration before the last warm-up one started less than 20 ms in,
  // otherwise the warm-up would have ended one iteration earlier.
  if (out.warmup_iterations > 2) {
    const auto second_to_last = call_starts[static_cast<std::size_t>(out.warmup_iterations) - 2];
    EXPECT_LT(ms_between(call_starts.front(), second_to_last), 20.0);
  }
}

TEST(RunRules, WarmupCountDominatesShortWarmupDuration) {
  RunSettings s = bare_settings();
  s.warmup_count = 10;
  s.warmup_min_duration_ms = 1;
  s.min_count = 1;
  const RunOutcome out = run_measured(s, [] { spin_for(microseconds(1000)); });
  EXPECT_EQ(out.warmup_iterations, 10);
  EXPECT_EQ(out.latencies_ms.size(), 1u);
}

TEST(RunRules, TargetCiStopsWellBeforeLargeMinCount) {
  RunSettings s = bare_settings();
  s.min_count = 1000000;
  s.min_duration_ms = 30000;
  s.max_duration_ms = 30000;
  s.target_ci = 0.05;
  s.target_ci_min_count = 20;
  const RunOutcome out = run_measured(s, [] { spin_for(microseconds(200)); });
  EXPECT_EQ(out.stop_reason, StopReason::kTargetCi);
  EXPECT_GE(out.latencies_ms.size(), 20u);
  EXPECT_LT(out.latencies_ms.size(), 100000u);
  // The in-loop check must agree with the statistics reported afterwards.
  EXPECT_LE(relative_ci_half_width(compute_latency_stats(out.latencies_ms)), 0.05);
}

TEST(RunRules, TargetCiWaitsForItsMinimumCount) {
  RunSettings s = bare_settings();
  s.min_count = 1000000;
  s.min_duration_ms = 30000;
  s.target_ci = 1e9;  // any interval satisfies it
  s.target_ci_min_count = 37;
  const RunOutcome out = run_measured(s, [] {});
  EXPECT_EQ(out.stop_reason, StopReason::kTargetCi);
  EXPECT_EQ(out.latencies_ms.size(), 37u);
}

TEST(RunRules, TargetCiDoesNotStopANoisyRunEarly) {
  // Alternating 0.2 ms / 2 ms samples: the median's CI spans both values,
  // a half-width far above 1%, so only the minimums can end the run.
  RunSettings s = bare_settings();
  s.min_count = 60;
  s.target_ci = 0.01;
  s.target_ci_min_count = 10;
  int call = 0;
  const RunOutcome out = run_measured(s, [&] { spin_for(microseconds(call++ % 2 == 0 ? 200 : 2000)); });
  EXPECT_EQ(out.stop_reason, StopReason::kMinimumsMet);
  EXPECT_EQ(out.latencies_ms.size(), 60u);
}

TEST(RunRules, MaxDurationCapsTheRun) {
  RunSettings s = bare_settings();
  s.min_count = std::int64_t{1} << 40;
  s.max_duration_ms = 50;
  const RunOutcome out = run_measured(s, [] { spin_for(microseconds(1000)); });
  EXPECT_EQ(out.stop_reason, StopReason::kMaxDuration);
  EXPECT_GE(out.duration_ms, 50.0);
  EXPECT_LT(sum_without_last(out.latencies_ms), 50.0);
  EXPECT_GE(out.latencies_ms.size(), 1u);
  EXPECT_LE(out.latencies_ms.size(), 51u);
}

TEST(RunRules, MaxDurationCapsEvenBelowMinDuration) {
  RunSettings s = bare_settings();
  s.min_duration_ms = 10000;
  s.max_duration_ms = 20;
  const RunOutcome out = run_measured(s, [] { spin_for(microseconds(1000)); });
  EXPECT_EQ(out.stop_reason, StopReason::kMaxDuration);
  EXPECT_LT(sum_without_last(out.latencies_ms), 20.0);
}

TEST(RunRules, SinkReceivesEverySampleInOrder) {
  RunSettings s = bare_settings();
  s.warmup_count = 3;
  s.min_count = 200;
  std::vector<std::int64_t> indices;
  std::vector<double> values;
  const RunOutcome out = run_measured(
      s, [] { spin_for(microseconds(20)); },
      [&](std::int64_t index, double latency_ms) {
        indices.push_back(index);
        values.push_back(latency_ms);
      });
  ASSERT_EQ(indices.size(), out.latencies_ms.size());
  for (std::size_t i = 0; i < indices.size(); ++i) EXPECT_EQ(indices[i], static_cast<std::int64_t>(i));
  EXPECT_EQ(values, out.latencies_ms);
}

TEST(RunRules, GrowsPastTheInitialReservation) {
  // More samples than the up-front reservation cap (4 Mi) forces growth mid-run.
  RunSettings s = bare_settings();
  s.min_count = (std::int64_t{1} << 22) + 1000;
  const RunOutcome out = run_measured(s, [] {});
  EXPECT_EQ(out.latencies_ms.size(), static_cast<std::size_t>(s.min_count));
  EXPECT_EQ(out.stop_reason, StopReason::kMinimumsMet);
}

TEST(RunRules, IterationExceptionsPropagate) {
  RunSettings s = bare_settings();
  s.warmup_count = 2;
  s.min_count = 100;
  int calls = 0;
  EXPECT_THROW(run_measured(s,
                            [&] {
                              if (++calls == 5) throw std::runtime_error("engine failed");
                            }),
               std::runtime_error);
  EXPECT_EQ(calls, 5);
}

void expect_invalid(const RunSettings& s, const std::string& flag) {
  try {
    validate_run_settings(s);
    ADD_FAILURE() << "no error for " << flag;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(flag), std::string::npos) << e.what();
    EXPECT_EQ(e.kind(), ErrorKind::kBadInput);
  }
  int calls = 0;
  EXPECT_THROW(run_measured(s, [&] { ++calls; }), Error);
  EXPECT_EQ(calls, 0) << "the iteration ran despite invalid " << flag;
}

TEST(RunRules, InvalidSettingsThrowNamingTheFlag) {
  EXPECT_NO_THROW(validate_run_settings(RunSettings{}));
  RunSettings s;
  s.warmup_count = -1;
  expect_invalid(s, "--warmup");
  s = RunSettings{};
  s.warmup_min_duration_ms = -5;
  expect_invalid(s, "--warmup-ms");
  s = RunSettings{};
  s.min_duration_ms = -1;
  expect_invalid(s, "--min-duration-ms");
  s = RunSettings{};
  s.min_duration_ms = std::numeric_limits<double>::quiet_NaN();
  expect_invalid(s, "--min-duration-ms");
  s = RunSettings{};
  s.min_count = 0;
  expect_invalid(s, "--min-count");
  s = RunSettings{};
  s.max_duration_ms = 0;
  expect_invalid(s, "--max-duration-ms");
  s = RunSettings{};
  s.target_ci = -0.01;
  expect_invalid(s, "--target-ci");
  s = RunSettings{};
  s.target_ci_min_count = 0;
  expect_invalid(s, "--target-ci-min-count");
}

}  // namespace
}  // namespace inferlab
