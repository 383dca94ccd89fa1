#pragma once
/// @file sweep.h
/// The batch sweep that finds maximum throughput: double the batch until
/// throughput improves by less than a threshold, memory would pass a limit,
/// or the backend fails (the reference study's Table 7 method).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace inferlab {

/// One measured point of a sweep.
struct SweepPoint {
  std::int64_t batch = 0;
  bool ok = false;              ///< false when the backend failed at this batch
  double throughput_per_s = 0;  ///< samples per second
  double peak_rss_mb = 0;       ///< peak RSS of the measuring process
};

/// Sweep settings.
struct SweepSettings {
  std::int64_t start_batch = 1;
  std::int64_t max_batch = 1024;
  double min_improvement = 0.03;  ///< stop when throughput improves by less than this fraction
  double max_memory_mb = 0;       ///< > 0: stop when the next batch's predicted peak RSS passes this
};

/// Decides the sweep's next batch from the points so far (in order); nullopt
/// when the sweep is over. `stop_reason` is set when it returns nullopt.
std::optional<std::int64_t> next_sweep_batch(const SweepSettings& settings, const std::vector<SweepPoint>& points,
                                             std::string* stop_reason);

/// The point with the highest throughput among ok points; nullopt when none is ok.
std::optional<SweepPoint> best_sweep_point(const std::vector<SweepPoint>& points);

}  // namespace inferlab
