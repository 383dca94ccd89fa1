#include "inferlab/run_rules.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>

#include "inferlab/error.h"
#include "measure/stats_detail.h"

namespace inferlab {
namespace {

using Clock = std::chrono::steady_clock;

// Upper bound on the up-front reservation (32 MiB of doubles): a very fast
// iteration under a long run may need more, and then the vector grows.
constexpr std::size_t kMaxReserve = std::size_t{1} << 22;
// Headroom on the sample-count estimate from the warm-up, which is noisy.
constexpr double kReserveHeadroom = 1.5;
// The early-stop check runs after every ~10% growth of the sample, so its
// selection work stays a small constant factor over the whole run.
constexpr std::size_t kCiCheckGrowthDivisor = 10;

double ms_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

std::string format_number(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%g", value);
  return buffer;
}

// Relative half-width of the median's 95% CI, equal to
// relative_ci_half_width(compute_latency_stats(sample)) but by selection
// (O(n)) in `scratch` rather than a full sort, since it runs inside the
// measured phase.
double relative_ci_half_width_unsorted(const std::vector<double>& sample, std::vector<double>& scratch) {
  scratch.assign(sample.begin(), sample.end());  // capacity is kept >= sample's: no allocation
  const std::size_t n = scratch.size();
  const auto [lo_rank, hi_rank] = detail::median_ci95_ranks(n);
  const std::size_t mid = (n - 1) / 2;
  const auto at = [&](std::size_t i) { return scratch.begin() + static_cast<std::ptrdiff_t>(i); };

  std::nth_element(scratch.begin(), at(mid), scratch.end());
  const double mid_value = scratch[mid];
  double median = mid_value;
  if (n % 2 == 0) {
    // Type-7 interpolation at q = 0.5 between the two middle order statistics.
    const double upper = *std::min_element(at(mid + 1), scratch.end());
    median = mid_value + 0.5 * (upper - mid_value);
  }
  if (lo_rank < mid) std::nth_element(scratch.begin(), at(lo_rank), at(mid));
  const double lo = scratch[lo_rank];
  if (hi_rank > mid) std::nth_element(at(mid + 1), at(hi_rank), scratch.end());
  const double hi = scratch[hi_rank];

  if (median == 0) return std::numeric_limits<double>::infinity();
  return (hi - lo) / 2.0 / std::abs(median);
}

// How many samples to reserve: enough for the expected run so the vector
// never reallocates in the common case, estimated from the warm-up's pace.
std::size_t initial_reserve(const RunSettings& s, std::int64_t warmup_iterations, double warmup_ms) {
  double expected = static_cast<double>(s.min_count);
  if (warmup_iterations > 0 && warmup_ms > 0) {
    const double per_iteration_ms = warmup_ms / static_cast<double>(warmup_iterations);
    const double by_duration = std::min(s.min_duration_ms, s.max_duration_ms) / per_iteration_ms;
    expected = std::max(expected, by_duration);
  }
  expected = expected * kReserveHeadroom + 64;
  return static_cast<std::size_t>(std::min(expected, static_cast<double>(kMaxReserve)));
}

}  // namespace

std::string stop_reason_name(StopReason reason) {
  switch (reason) {
    case StopReason::kMinimumsMet:
      return "minimums-met";
    case StopReason::kTargetCi:
      return "target-ci";
    case StopReason::kMaxDuration:
      return "max-duration";
  }
  return "minimums-met";
}

std::string run_validity_problem(const RunSettings& settings, const RunOutcome& outcome) {
  if (outcome.stop_reason != StopReason::kMaxDuration) return "";
  const auto count = static_cast<std::int64_t>(outcome.latencies_ms.size());
  std::string missed;
  if (count < settings.min_count) missed = "--min-count " + std::to_string(settings.min_count);
  if (outcome.duration_ms < settings.min_duration_ms)
    missed +=
        (missed.empty() ? "" : " and ") + std::string("--min-duration-ms ") + format_number(settings.min_duration_ms);
  if (missed.empty()) return "";  // the cap and the minimums fell on the same sample
  return "--max-duration-ms " + format_number(settings.max_duration_ms) + " stopped it at " + std::to_string(count) +
         " samples / " + format_number(outcome.duration_ms) + " ms, before " + missed;
}

void validate_run_settings(const RunSettings& s) {
  // Negated comparisons so that NaN fails them as well.
  if (s.warmup_count < 0) throw Error("--warmup must be >= 0, got " + std::to_string(s.warmup_count));
  if (!(std::isfinite(s.warmup_min_duration_ms) && s.warmup_min_duration_ms >= 0))
    throw Error("--warmup-ms must be a finite number >= 0, got " + format_number(s.warmup_min_duration_ms));
  if (!(std::isfinite(s.min_duration_ms) && s.min_duration_ms >= 0))
    throw Error("--min-duration-ms must be a finite number >= 0, got " + format_number(s.min_duration_ms));
  if (s.min_count < 1) throw Error("--min-count must be >= 1, got " + std::to_string(s.min_count));
  if (!(std::isfinite(s.max_duration_ms) && s.max_duration_ms > 0))
    throw Error("--max-duration-ms must be a finite number > 0, got " + format_number(s.max_duration_ms));
  if (!(std::isfinite(s.target_ci) && s.target_ci >= 0))
    throw Error("--target-ci must be a finite number >= 0 (0 disables it), got " + format_number(s.target_ci));
  if (s.target_ci_min_count < 1)
    throw Error("--target-ci-min-count must be >= 1, got " + std::to_string(s.target_ci_min_count));
}

RunOutcome run_measured(const RunSettings& settings, const std::function<void()>& iteration, const SampleSink& sink) {
  if (!iteration) throw Error("run_measured: no iteration to run", ErrorKind::kRuntime);
  return run_measured_timed(
      settings,
      [&iteration] {
        const Clock::time_point t0 = Clock::now();
        iteration();
        return ms_between(t0, Clock::now());
      },
      sink);
}

RunOutcome run_measured_timed(const RunSettings& settings, const TimedIteration& iteration, const SampleSink& sink) {
  validate_run_settings(settings);
  if (!iteration) throw Error("run_measured: no iteration to run", ErrorKind::kRuntime);
  RunOutcome outcome;

  // Warm-up: caches, lazy initialisation and frequency ramp-up settle here;
  // its iterations are not timed individually.
  const Clock::time_point warmup_start = Clock::now();
  double warmup_ms = 0;
  while (outcome.warmup_iterations < settings.warmup_count || warmup_ms < settings.warmup_min_duration_ms) {
    iteration();
    ++outcome.warmup_iterations;
    warmup_ms = ms_between(warmup_start, Clock::now());
  }

  std::vector<double>& latencies = outcome.latencies_ms;
  latencies.reserve(initial_reserve(settings, outcome.warmup_iterations, warmup_ms));
  std::vector<double> scratch;
  const bool use_target_ci = settings.target_ci > 0;
  if (use_target_ci) scratch.reserve(latencies.capacity());
  const auto min_count = static_cast<std::size_t>(settings.min_count);
  std::size_t next_ci_check = static_cast<std::size_t>(settings.target_ci_min_count);

  const Clock::time_point start = Clock::now();
  Clock::time_point end = start;
  for (;;) {
    // Growth happens between samples, outside any timed region.
    if (latencies.size() == latencies.capacity()) {
      latencies.reserve(latencies.capacity() * 2);
      if (use_target_ci) scratch.reserve(latencies.capacity());
    }
    const double latency_ms = iteration();
    const Clock::time_point t1 = Clock::now();
    latencies.push_back(latency_ms);
    if (sink) sink(static_cast<std::int64_t>(latencies.size() - 1), latency_ms);

    end = t1;
    const double elapsed_ms = ms_between(start, t1);
    const std::size_t count = latencies.size();
    if (count >= min_count && elapsed_ms >= settings.min_duration_ms) {
      outcome.stop_reason = StopReason::kMinimumsMet;
      break;
    }
    if (use_target_ci && count >= next_ci_check) {
      if (relative_ci_half_width_unsorted(latencies, scratch) <= settings.target_ci) {
        outcome.stop_reason = StopReason::kTargetCi;
        break;
      }
      next_ci_check = count + std::max<std::size_t>(1, count / kCiCheckGrowthDivisor);
    }
    if (elapsed_ms >= settings.max_duration_ms) {
      outcome.stop_reason = StopReason::kMaxDuration;
      break;
    }
  }
  outcome.duration_ms = ms_between(start, end);
  return outcome;
}

}  // namespace inferlab
