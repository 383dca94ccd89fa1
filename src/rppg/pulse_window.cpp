#include <chrono>
#include <cmath>
#include <limits>

#include "inferlab/rppg.h"

namespace inferlab {

PulseWindowScheduler::PulseWindowScheduler(double window_s, double min_window_s, double every_s)
    : window_s_(window_s), min_window_s_(min_window_s), every_s_(every_s) {}

std::optional<PulseWindow> PulseWindowScheduler::after_frame(const PulseExtractor& extractor, double t_s,
                                                             std::optional<double> truth_bpm) {
  const auto window = static_cast<std::size_t>(std::lround(window_s_ * extractor.fps()));
  truth_.push_back(truth_bpm.value_or(std::numeric_limits<double>::quiet_NaN()));
  while (truth_.size() > window) truth_.pop_front();
  if (static_cast<double>(extractor.size()) < min_window_s_ * extractor.fps()) return std::nullopt;
  if (last_emit_s_ && t_s - *last_emit_s_ < every_s_ - 0.5 / extractor.fps()) return std::nullopt;
  last_emit_s_ = t_s;
  PulseWindow w;
  w.t_s = t_s;
  w.fps = extractor.fps();
  w.pulse = extractor.recent(window);
  w.valid_fraction = extractor.valid_fraction(window);
  double sum = 0;
  std::size_t count = 0;
  for (std::size_t i = truth_.size() - std::min(truth_.size(), w.pulse.size()); i < truth_.size(); ++i) {
    if (std::isnan(truth_[i])) continue;
    sum += truth_[i];
    ++count;
  }
  if (count > 0) w.truth_bpm = sum / static_cast<double>(count);
  return w;
}

BpmEstimate estimate_bpm(const PulseWindow& window, double* postprocess_ms, double* spectrum_ms) {
  BpmEstimate e;
  e.t_s = window.t_s;
  e.truth_bpm = window.truth_bpm;
  if (window.valid_fraction < kMinValidFraction) {
    e.unavailable_reason = "no face in " +
                           std::to_string(static_cast<int>(std::lround(100 * (1 - window.valid_fraction)))) +
                           "% of the window";
    return e;
  }
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  const std::vector<double> pulse = normalise_pulse(window.pulse);
  const auto t1 = Clock::now();
  auto reading = welch_bpm(pulse, window.fps);
  const auto t2 = Clock::now();
  if (postprocess_ms) *postprocess_ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
  if (spectrum_ms) *spectrum_ms = std::chrono::duration<double, std::milli>(t2 - t1).count();
  if (!reading) {
    e.unavailable_reason = "window shorter than 4 s";
    return e;
  }
  e.bpm = reading->bpm;
  e.snr_db = reading->snr_db;
  return e;
}

}  // namespace inferlab
