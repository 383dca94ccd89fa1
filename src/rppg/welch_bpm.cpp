#include <algorithm>
#include <cmath>
#include <numbers>

#include "inferlab/rppg.h"

namespace inferlab {

namespace {

constexpr double kLowHz = 0.7, kHighHz = 4.0;
constexpr double kMinWindowS = 4.0;
constexpr std::size_t kMinFft = 2048;

}  // namespace

void remove_linear_trend(std::vector<double>& v) {
  const double n = static_cast<double>(v.size());
  if (v.size() < 2) return;
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (std::size_t i = 0; i < v.size(); ++i) {
    const double x = static_cast<double>(i);
    sx += x;
    sy += v[i];
    sxx += x * x;
    sxy += x * v[i];
  }
  const double slope = (n * sxy - sx * sy) / (n * sxx - sx * sx);
  const double intercept = (sy - slope * sx) / n;
  for (std::size_t i = 0; i < v.size(); ++i) v[i] -= intercept + slope * static_cast<double>(i);
}

std::vector<double> normalise_pulse(const std::vector<double>& pulse) {
  std::vector<double> v = pulse;
  if (v.size() < 2) return v;
  remove_linear_trend(v);
  double energy = 0;
  for (double x : v) energy += x * x;
  const double stddev = std::sqrt(energy / static_cast<double>(v.size()));
  if (stddev > 0) {
    for (double& x : v) x /= stddev;
  }
  return v;
}

std::optional<BpmReading> welch_bpm(const std::vector<double>& pulse, double fps) {
  const std::size_t n = pulse.size();
  if (!(fps > 0) || static_cast<double>(n) < kMinWindowS * fps) return std::nullopt;
  const std::size_t segment = static_cast<std::size_t>(0.85 * static_cast<double>(n));
  const std::size_t step = n - segment;
  std::size_t nfft = kMinFft;
  while (nfft < segment) nfft *= 2;
  // Only the band's bins are needed, so a direct DFT over them is cheaper
  // than a full FFT and needs no FFT library.
  const auto first_bin = static_cast<std::size_t>(std::floor(kLowHz * nfft / fps));
  const auto last_bin = static_cast<std::size_t>(std::ceil(kHighHz * nfft / fps));
  std::vector<double> power(last_bin - first_bin + 1, 0.0);
  std::vector<double> windowed(segment);
  for (std::size_t start : {std::size_t{0}, step}) {
    double mean = 0;
    for (std::size_t i = 0; i < segment; ++i) mean += pulse[start + i];
    mean /= static_cast<double>(segment);
    for (std::size_t i = 0; i < segment; ++i) {
      const double hann = 0.5 - 0.5 * std::cos(2 * std::numbers::pi * static_cast<double>(i) / (segment - 1));
      windowed[i] = (pulse[start + i] - mean) * hann;
    }
    for (std::size_t k = first_bin; k <= last_bin; ++k) {
      const double w = -2 * std::numbers::pi * static_cast<double>(k) / static_cast<double>(nfft);
      // Rotating phasor instead of cos/sin per sample; re-normalised each step.
      const double cw = std::cos(w), sw = std::sin(w);
      double re = 0, im = 0, pr = 1, pi = 0;
      for (std::size_t i = 0; i < segment; ++i) {
        re += windowed[i] * pr;
        im += windowed[i] * pi;
        const double nr = pr * cw - pi * sw;
        pi = pr * sw + pi * cw;
        pr = nr;
      }
      power[k - first_bin] += re * re + im * im;
    }
  }
  const double hz_per_bin = fps / static_cast<double>(nfft);
  std::size_t peak = 0;
  for (std::size_t i = 0; i < power.size(); ++i) {
    const double hz = static_cast<double>(first_bin + i) * hz_per_bin;
    if (hz < kLowHz || hz > kHighHz) continue;
    if (power[i] > power[peak] || (first_bin + peak) * hz_per_bin < kLowHz) peak = i;
  }
  double offset = 0;
  if (peak > 0 && peak + 1 < power.size()) {
    const double a = power[peak - 1], b = power[peak], c = power[peak + 1];
    const double denom = a - 2 * b + c;
    if (denom < 0) offset = std::clamp(0.5 * (a - c) / denom, -0.5, 0.5);
  }
  const double peak_hz = (static_cast<double>(first_bin + peak) + offset) * hz_per_bin;
  double signal = 0, noise = 0;
  for (std::size_t i = 0; i < power.size(); ++i) {
    const double hz = static_cast<double>(first_bin + i) * hz_per_bin;
    if (hz < kLowHz || hz > kHighHz) continue;
    const bool near = std::abs(hz - peak_hz) <= 0.1 || std::abs(hz - 2 * peak_hz) <= 0.2;
    (near ? signal : noise) += power[i];
  }
  BpmReading reading;
  reading.bpm = peak_hz * 60.0;
  reading.snr_db = 10 * std::log10((signal + 1e-30) / (noise + 1e-30));
  return reading;
}

}  // namespace inferlab
