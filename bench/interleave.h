#pragma once
// Two timed loops compared as a ratio in one process: short blocks of each,
// alternating which goes first, so clock drift and load from other processes
// land on both (these VMs drift by up to 1.6x between identical passes).
#include <algorithm>
#include <chrono>
#include <fstream>
#include <functional>
#include <vector>

#include "inferlab/stats.h"

namespace inferlab::bench {

/// What interleave() measured, in milliseconds per call.
struct InterleavedTimes {
  std::vector<double> a_ms, b_ms;
  std::vector<double> round_ratios;  ///< each round's block median of a / of b
  double a_median_ms() const { return median(a_ms); }
  double b_median_ms() const { return median(b_ms); }
  /// The paired estimate: the median of the per-round ratios a / b.
  double ratio() const { return median(round_ratios); }
  static double median(std::vector<double> values) {
    if (values.empty()) return 0;
    std::sort(values.begin(), values.end());
    return percentile_sorted(values, 0.5);
  }
};

/// Runs `rounds` rounds of `per_round` timed calls of `a` and of `b` each.
inline InterleavedTimes interleave(const std::function<void()>& a, const std::function<void()>& b, int rounds,
                                   int per_round) {
  using Clock = std::chrono::steady_clock;
  InterleavedTimes times;
  auto block = [&](const std::function<void()>& fn, std::vector<double>& into) {
    for (int i = 0; i < per_round; ++i) {
      const auto start = Clock::now();
      fn();
      into.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    }
  };
  for (int round = 0; round < rounds; ++round) {
    // Alternating which goes first cancels any systematic first-in-round effect.
    if (round % 2 == 0) {
      block(a, times.a_ms);
      block(b, times.b_ms);
    } else {
      block(b, times.b_ms);
      block(a, times.a_ms);
    }
    const auto last = [&](const std::vector<double>& all) {
      return InterleavedTimes::median(std::vector<double>(all.end() - per_round, all.end()));
    };
    times.round_ratios.push_back(last(times.a_ms) / last(times.b_ms));
  }
  return times;
}

/// The 1-minute load average, or a negative value where /proc is missing.
inline double load_average_1min() {
  std::ifstream file("/proc/loadavg");
  double load = -1;
  if (!(file >> load)) return -1;
  return load;
}

}  // namespace inferlab::bench
