#pragma once
// Bookkeeping shared by the live pipeline and its report: stage names,
// latency summaries, RSS sampling, heart-rate error statistics.

#include <array>
#include <chrono>
#include <cstdint>
#include <vector>

#include "inferlab/latency_histogram.h"
#include "inferlab/live.h"

namespace inferlab {

enum class LiveStage { kCapture, kFaceDetect, kRoiSignal, kInference, kPostprocess, kBpm, kDisplay, kEndToEnd };
constexpr int kLiveStageCount = 8;

/// "capture", "face_detect", ..., "end_to_end".
const char* live_stage_name(LiveStage stage);

/// Summaries of every stage that recorded something, in pipeline order.
std::vector<StageLatency> stage_latencies(const std::array<LatencyHistogram, kLiveStageCount>& histograms);

/// Samples the resident set size at most every 250 ms. Not thread-safe.
class RssTracker {
 public:
  void start(std::chrono::steady_clock::time_point now);
  void maybe_sample(std::chrono::steady_clock::time_point now);
  double average_bytes() const { return samples_ ? sum_bytes_ / static_cast<double>(samples_) : 0; }
  double max_bytes() const { return static_cast<double>(max_bytes_); }
  double start_bytes() const { return static_cast<double>(start_bytes_); }

 private:
  std::chrono::steady_clock::time_point last_;
  double sum_bytes_ = 0;
  std::int64_t samples_ = 0, max_bytes_ = 0, start_bytes_ = 0;
};

/// Sets bpm_median, bpm_mae and bpm_rmse from bpm_series (errors only over
/// readings that have both a value and ground truth).
void fill_bpm_statistics(LiveReport& report);

}  // namespace inferlab
