#include "live_stats.h"

#include <algorithm>
#include <cmath>

#include "inferlab/memory.h"

namespace inferlab {

const char* live_stage_name(LiveStage stage) {
  switch (stage) {
    case LiveStage::kCapture:
      return "capture";
    case LiveStage::kFaceDetect:
      return "face_detect";
    case LiveStage::kRoiSignal:
      return "roi_signal";
    case LiveStage::kInference:
      return "inference";
    case LiveStage::kPostprocess:
      return "postprocess";
    case LiveStage::kBpm:
      return "bpm";
    case LiveStage::kDisplay:
      return "display";
    case LiveStage::kEndToEnd:
      return "end_to_end";
  }
  return "unknown";
}

std::vector<std::string> live_stage_names() {
  std::vector<std::string> names;
  for (int i = 0; i < kLiveStageCount; ++i) names.push_back(live_stage_name(static_cast<LiveStage>(i)));
  return names;
}

std::vector<StageLatency> stage_latencies(const std::array<LatencyHistogram, kLiveStageCount>& histograms) {
  std::vector<StageLatency> out;
  for (int i = 0; i < kLiveStageCount; ++i) {
    const LatencyHistogram& h = histograms[i];
    if (h.count() == 0) continue;
    StageLatency s;
    s.name = live_stage_name(static_cast<LiveStage>(i));
    s.p50_ms = h.percentile_ms(0.5);
    s.p90_ms = h.percentile_ms(0.90);
    s.p99_ms = h.percentile_ms(0.99);
    s.max_ms = h.max_ms();
    s.mean_ms = h.mean_ms();
    s.count = h.count();
    out.push_back(s);
  }
  return out;
}

void RssTracker::start(std::chrono::steady_clock::time_point now) {
  last_ = now;
  start_bytes_ = current_rss_bytes();
  sum_bytes_ = static_cast<double>(start_bytes_);
  max_bytes_ = start_bytes_;
  samples_ = 1;
}

void RssTracker::maybe_sample(std::chrono::steady_clock::time_point now) {
  if (now - last_ < std::chrono::milliseconds(250)) return;
  last_ = now;
  const std::int64_t rss = current_rss_bytes();
  sum_bytes_ += static_cast<double>(rss);
  max_bytes_ = std::max(max_bytes_, rss);
  ++samples_;
}

void fill_bpm_statistics(LiveReport& report) {
  std::vector<double> values;
  double abs_sum = 0, sq_sum = 0;
  int compared = 0;
  for (const auto& e : report.bpm_series) {
    if (!e.bpm) continue;
    values.push_back(*e.bpm);
    if (!e.truth_bpm) continue;
    const double err = *e.bpm - *e.truth_bpm;
    abs_sum += std::abs(err);
    sq_sum += err * err;
    ++compared;
  }
  if (!values.empty()) {
    std::sort(values.begin(), values.end());
    const std::size_t n = values.size();
    report.bpm_median = n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
  }
  if (compared > 0) {
    report.bpm_mae = abs_sum / compared;
    report.bpm_rmse = std::sqrt(sq_sum / compared);
  }
}

}  // namespace inferlab
