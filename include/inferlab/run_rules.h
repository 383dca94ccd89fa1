#pragma once
/// @file run_rules.h
/// LoadGen-style run rules: warm-up, then measure until a minimum duration
/// and a minimum count both hold, with an optional early stop on a tight CI.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace inferlab {

/// Settings of one measured run. Field names carry their units.
struct RunSettings {
  std::int64_t warmup_count = 5;          ///< untimed iterations before measuring (at least this many)
  double warmup_min_duration_ms = 200;    ///< ... and at least this long
  double min_duration_ms = 1000;          ///< measure at least this long
  std::int64_t min_count = 50;            ///< ... and at least this many iterations
  double max_duration_ms = 600000;        ///< hard cap; the run stops here whatever else holds
  double target_ci = 0;                   ///< > 0: stop once relative CI half-width of the median <= this
  std::int64_t target_ci_min_count = 20;  ///< the early stop needs at least this many samples
};

/// Why a run stopped.
enum class StopReason { kMinimumsMet, kTargetCi, kMaxDuration };
std::string stop_reason_name(StopReason reason);

/// What a run measured: every iteration's latency, in order.
struct RunOutcome {
  std::vector<double> latencies_ms;
  double duration_ms = 0;  ///< wall time of the measured phase
  std::int64_t warmup_iterations = 0;
  StopReason stop_reason = StopReason::kMinimumsMet;
};

/// Called once per measured sample (index, latency) so samples can be
/// streamed to a file as they come; may be empty.
using SampleSink = std::function<void(std::int64_t index, double latency_ms)>;

/// Drives `iteration` (the timed call) under `settings`. Each call of
/// `iteration` is timed with a steady clock. Exceptions from `iteration`
/// propagate. Throws Error when settings are invalid (negative counts, etc.).
RunOutcome run_measured(const RunSettings& settings, const std::function<void()>& iteration,
                        const SampleSink& sink = {});

/// One iteration that times itself and returns its latency in ms: for
/// engines whose timed call happens in another process (python_worker.h),
/// where the clock must be read next to the call, not around a message.
using TimedIteration = std::function<double()>;

/// run_measured() with latencies taken from `iteration`'s own clock; the
/// warm-up, stop rules and durations (wall time of this process) are the same.
RunOutcome run_measured_timed(const RunSettings& settings, const TimedIteration& iteration,
                              const SampleSink& sink = {});

/// LoadGen's validity rule: empty when the run met its minimums (or stopped
/// on the CI target), else why not, naming the flags, e.g. "--max-duration-ms
/// 100 stopped it at 12 samples / 100 ms, before --min-count 50".
std::string run_validity_problem(const RunSettings& settings, const RunOutcome& outcome);

/// Validates settings; throws Error naming the field that is wrong.
void validate_run_settings(const RunSettings& settings);

}  // namespace inferlab
