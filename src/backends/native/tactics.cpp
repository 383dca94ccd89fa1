// Timing candidates and the cache lookup of tactic selection (tactics.h).
#include "tactics.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <limits>

#include "inferlab/error.h"

namespace inferlab::native {

namespace {

using Clock = std::chrono::steady_clock;

// Rounds of timed runs per candidate. Candidates are compared by their
// fastest run, not the median: on a shared machine a run is only ever made
// slower (another process takes a core and an OpenMP thread waits), so the
// minimum is the least disturbed estimate of what the kernel costs, where a
// median of five is off as soon as three runs are disturbed.
constexpr int kRounds = 5;
// After this many rounds, a candidate slower than kHopeless x the best so
// far is dropped: it cannot win, and timing it costs prepare time.
constexpr int kRoundsBeforeDropping = 2;
constexpr double kHopeless = 1.5;
// Once a layer's timing has taken this long and every candidate has enough
// rounds to compare (large layers of vgg16/resnet152), the rest is skipped.
constexpr double kLayerBudgetMs = 300;
// Another tactic must beat oneDNN's own pick (index 0) by this margin to
// replace it: smaller gaps are within timing noise, and a layout change also
// costs the untimed layers after it (pooling, elementwise) that may then
// reorder.
constexpr double kMinGain = 0.05;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

double fastest(const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); }

}  // namespace

Tuner::Tuner(const std::string& cache_path)
    : cache_([&] {
        const auto start = Clock::now();
        TacticCache cache(cache_path, tactic_machine_key());
        stats_.tuning_ms += ms_since(start);
        return cache;
      }()),
      // Timings hold for one thread count: 1 and 16 threads may well prefer
      // different kernels, so the count is part of every signature.
      threads_(" threads=" + std::to_string(omp_get_max_threads())) {}

Tuner::Choice Tuner::choose(const std::string& signature, const std::vector<std::string>& names,
                            const CandidateFactory& build, const std::vector<double>& time_weights) {
  if (!time_weights.empty() && time_weights.size() != names.size())
    throw Error("tactics: " + std::to_string(time_weights.size()) + " time weights for " +
                std::to_string(names.size()) + " candidates");
  const auto weight = [&](std::size_t i) { return time_weights.empty() ? 1.0 : time_weights[i]; };
  const auto start = Clock::now();
  const std::string key = signature + threads_;
  if (const auto* hit = cache_.find(key)) {
    const auto it = std::find(names.begin(), names.end(), hit->tactic);
    if (it != names.end()) {
      ++stats_.cache_hits;
      stats_.tuning_ms += ms_since(start);
      return {static_cast<std::size_t>(it - names.begin()), true, hit->ms};
    }
    // The cached tactic is gone (another oneDNN build, fewer candidates):
    // time again and overwrite it.
  }
  std::vector<std::function<void()>> runners;
  for (std::size_t i = 0; i < names.size(); ++i) runners.push_back(build(i));
  // One untimed run each: the first run pays page faults and oneDNN's
  // lazily allocated scratchpads.
  for (auto& run : runners) run();
  std::vector<std::vector<double>> times(runners.size());
  std::vector<bool> alive(runners.size(), true);
  for (int round = 0; round < kRounds; ++round) {
    for (std::size_t i = 0; i < runners.size(); ++i) {
      if (!alive[i]) continue;
      const auto t0 = Clock::now();
      runners[i]();
      times[i].push_back(ms_since(t0));
    }
    if (round + 1 < kRoundsBeforeDropping) continue;
    double best = std::numeric_limits<double>::infinity();
    for (std::size_t i = 0; i < runners.size(); ++i) {
      if (alive[i]) best = std::min(best, fastest(times[i]));
    }
    for (std::size_t i = 0; i < runners.size(); ++i) {
      if (alive[i] && fastest(times[i]) > kHopeless * best) alive[i] = false;
    }
    if (ms_since(start) > kLayerBudgetMs) break;
  }
  std::size_t chosen = 0;
  double chosen_ms = fastest(times[0]), chosen_cost = chosen_ms * weight(0);
  for (std::size_t i = 1; i < runners.size(); ++i) {
    const double ms = fastest(times[i]), cost = ms * weight(i);
    if (cost < chosen_cost && cost < (1.0 - kMinGain) * fastest(times[0])) {
      chosen = i;
      chosen_ms = ms;
      chosen_cost = cost;
    }
  }
  cache_.put(key, {names[chosen], chosen_ms});
  ++stats_.layers_tuned;
  stats_.candidates_timed += static_cast<std::int64_t>(runners.size());
  stats_.tuning_ms += ms_since(start);
  return {chosen, false, chosen_ms};
}

std::string Tuner::cached_tactic(const std::string& signature) const {
  const auto* hit = cache_.find(signature + threads_);
  return hit ? hit->tactic : "";
}

void Tuner::finish() {
  const auto start = Clock::now();
  cache_.save();
  stats_.tuning_ms += ms_since(start);
}

}  // namespace inferlab::native
