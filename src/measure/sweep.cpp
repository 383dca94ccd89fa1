#include "inferlab/sweep.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <utility>

#include "inferlab/error.h"

namespace inferlab {
namespace {

std::string format_number(const char* format, double value) {
  char buffer[48];
  std::snprintf(buffer, sizeof buffer, format, value);
  return buffer;
}

void validate(const SweepSettings& s) {
  if (s.start_batch < 1) throw Error("sweep start batch must be >= 1, got " + std::to_string(s.start_batch));
  if (s.max_batch < s.start_batch)
    throw Error("--max-batch must be >= the sweep's start batch " + std::to_string(s.start_batch) + ", got " +
                std::to_string(s.max_batch));
  if (!(std::isfinite(s.min_improvement) && s.min_improvement >= 0))
    throw Error("sweep minimum improvement must be a finite fraction >= 0, got " +
                format_number("%g", s.min_improvement));
  if (!(std::isfinite(s.max_memory_mb) && s.max_memory_mb >= 0))
    throw Error("--max-memory-mb must be a finite number >= 0 (0: no limit), got " +
                format_number("%g", s.max_memory_mb));
}

// Peak RSS the next (doubled) batch is expected to need. Memory is modelled as
// a fixed part plus a part proportional to the batch, so two points fix the
// line; with one point the whole reading is assumed proportional, which
// over-predicts and so stops early rather than late.
double predicted_next_peak_mb(const SweepPoint* previous, const SweepPoint& last, std::int64_t next_batch) {
  if (previous == nullptr || previous->batch == last.batch) {
    return last.peak_rss_mb * static_cast<double>(next_batch) / static_cast<double>(last.batch);
  }
  const double slope_mb_per_sample =
      (last.peak_rss_mb - previous->peak_rss_mb) / static_cast<double>(last.batch - previous->batch);
  const double predicted = last.peak_rss_mb + slope_mb_per_sample * static_cast<double>(next_batch - last.batch);
  // Peak RSS never falls (it is a high-water mark), so noise that makes the
  // slope negative must not predict less than was already used.
  return std::max(predicted, last.peak_rss_mb);
}

std::optional<std::int64_t> stop(std::string* reason_out, std::string reason) {
  if (reason_out != nullptr) *reason_out = std::move(reason);
  return std::nullopt;
}

}  // namespace

std::optional<std::int64_t> next_sweep_batch(const SweepSettings& settings, const std::vector<SweepPoint>& points,
                                             std::string* stop_reason) {
  validate(settings);
  if (points.empty()) return settings.start_batch;

  const SweepPoint& last = points.back();
  const std::string at_batch = " at batch " + std::to_string(last.batch);
  if (!last.ok) return stop(stop_reason, "backend failed" + at_batch);
  if (last.batch < 1) throw Error("sweep point has batch " + std::to_string(last.batch) + ", expected >= 1");

  // The earlier ok points: the best throughput so far and the nearest one,
  // which anchors the memory extrapolation.
  const SweepPoint* previous = nullptr;
  double best_before = -std::numeric_limits<double>::infinity();
  for (std::size_t i = 0; i + 1 < points.size(); ++i) {
    if (!points[i].ok) continue;
    previous = &points[i];
    best_before = std::max(best_before, points[i].throughput_per_s);
  }

  if (previous != nullptr) {
    const double improvement =
        best_before > 0 ? last.throughput_per_s / best_before - 1.0 : std::numeric_limits<double>::infinity();
    if (improvement < settings.min_improvement) {
      return stop(stop_reason, "throughput improved by " + format_number("%.1f", improvement * 100) + "% < " +
                                   format_number("%g", settings.min_improvement * 100) + "%" + at_batch);
    }
  }

  const bool batch_overflows = last.batch > std::numeric_limits<std::int64_t>::max() / 2;
  const std::int64_t next_batch = batch_overflows ? last.batch : last.batch * 2;

  if (settings.max_memory_mb > 0) {
    const std::string limit = " > --max-memory-mb " + format_number("%g", settings.max_memory_mb);
    if (last.peak_rss_mb > settings.max_memory_mb) {
      return stop(stop_reason, "peak RSS " + format_number("%.0f", last.peak_rss_mb) + " MB" + at_batch + limit);
    }
    const double predicted = predicted_next_peak_mb(previous, last, next_batch);
    if (!batch_overflows && predicted > settings.max_memory_mb) {
      return stop(stop_reason, "next batch would need ~" + format_number("%.0f", predicted) + " MB" + limit);
    }
  }

  if (batch_overflows || next_batch > settings.max_batch) {
    return stop(stop_reason, "reached --max-batch " + std::to_string(settings.max_batch));
  }
  return next_batch;
}

std::optional<SweepPoint> best_sweep_point(const std::vector<SweepPoint>& points) {
  std::optional<SweepPoint> best;
  for (const SweepPoint& p : points) {
    // Strictly greater: on a tie the smaller (earlier) batch wins, as it
    // reaches the same throughput at lower latency and memory.
    if (p.ok && (!best || p.throughput_per_s > best->throughput_per_s)) best = p;
  }
  return best;
}

}  // namespace inferlab
