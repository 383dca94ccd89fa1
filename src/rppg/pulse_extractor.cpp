#include <algorithm>
#include <cmath>
#include <numbers>

#include "inferlab/error.h"
#include "inferlab/rppg.h"

namespace inferlab {

namespace {

// Both papers use 1.6 s windows: long enough to hold one beat at 40 BPM,
// short enough that illumination is roughly constant within one.
constexpr double kProjectionWindowS = 1.6;

struct Stats {
  double mean = 0, stddev = 0;
};

Stats stats_of(const std::vector<double>& v) {
  Stats s;
  if (v.empty()) return s;
  for (double x : v) s.mean += x;
  s.mean /= static_cast<double>(v.size());
  for (double x : v) s.stddev += (x - s.mean) * (x - s.mean);
  s.stddev = std::sqrt(s.stddev / static_cast<double>(v.size()));
  return s;
}

}  // namespace

std::string pulse_method_name(PulseMethod method) {
  switch (method) {
    case PulseMethod::kGreen:
      return "green";
    case PulseMethod::kChrom:
      return "chrom";
    case PulseMethod::kPos:
      return "pos";
    case PulseMethod::kNeural:
      return "neural";
  }
  return "unknown";
}

PulseMethod pulse_method_from_name(const std::string& name, const std::string& flag) {
  for (auto m : {PulseMethod::kGreen, PulseMethod::kChrom, PulseMethod::kPos, PulseMethod::kNeural}) {
    if (pulse_method_name(m) == name) return m;
  }
  throw Error(flag + " " + name + ": unknown method (expected pos, chrom, green or neural)");
}

PulseExtractor::PulseExtractor(PulseMethod method, double fps, double keep_s)
    : method_(method),
      fps_(fps),
      keep_(static_cast<std::size_t>(std::ceil(keep_s * fps))),
      window_(std::max<std::size_t>(4, static_cast<std::size_t>(std::lround(kProjectionWindowS * fps)))) {
  if (!(fps > 0)) throw Error("pulse extraction needs a frame rate > 0 (got " + std::to_string(fps) + ")");
}

void PulseExtractor::add_colour(double t_s, const cv::Vec3d& rgb, bool valid) {
  const cv::Vec3d colour = valid ? rgb : last_rgb_;
  if (last_t_s_) {
    // Dropped frames leave a gap; filling it keeps the sampling uniform,
    // which the projections and the spectrum assume.
    const double gap = (t_s - *last_t_s_) * fps_;
    const auto missing = static_cast<long>(std::lround(gap)) - 1;
    for (long i = 1; i <= std::min<long>(missing, static_cast<long>(keep_)); ++i) {
      const double a = static_cast<double>(i) / static_cast<double>(missing + 1);
      push_one(last_rgb_ * (1 - a) + colour * a, 0, valid && !valid_.empty() && valid_.back());
    }
  }
  last_t_s_ = t_s;
  push_one(colour, 0, valid);
  if (valid) last_rgb_ = rgb;
}

void PulseExtractor::add_derivative(double t_s, double derivative, bool valid) {
  const double d = valid ? derivative : 0.0;
  if (last_t_s_) {
    const auto missing = static_cast<long>(std::lround((t_s - *last_t_s_) * fps_)) - 1;
    for (long i = 1; i <= std::min<long>(missing, static_cast<long>(keep_)); ++i) {
      push_one({}, 0.5 * (last_derivative_ + d), valid && !valid_.empty() && valid_.back());
    }
  }
  last_t_s_ = t_s;
  push_one({}, d, valid);
  last_derivative_ = d;
}

void PulseExtractor::push_one(const cv::Vec3d& rgb, double derivative, bool valid) {
  ++added_;
  valid_.push_back(valid);
  switch (method_) {
    case PulseMethod::kGreen:
      pulse_.push_back(rgb[1]);
      break;
    case PulseMethod::kNeural:
      integral_ += derivative;
      pulse_.push_back(integral_);
      break;
    case PulseMethod::kPos:
      colour_.push_back(rgb);
      pulse_.push_back(0);
      if (colour_.size() >= window_) project_pos();
      break;
    case PulseMethod::kChrom:
      colour_.push_back(rgb);
      pulse_.push_back(0);
      if (colour_.size() >= window_ && added_ % (window_ / 2) == 0) project_chrom();
      break;
  }
  trim();
}

// POS: project the temporally normalised colour onto the plane orthogonal to
// skin tone, combine the two projections with the ratio of their spreads, and
// overlap-add the result (Wang et al. 2017, algorithm 1).
void PulseExtractor::project_pos() {
  const std::size_t n = window_, first = colour_.size() - n;
  cv::Vec3d mean(0, 0, 0);
  for (std::size_t i = first; i < colour_.size(); ++i) mean += colour_[i];
  mean /= static_cast<double>(n);
  if (mean[0] <= 1e-6 || mean[1] <= 1e-6 || mean[2] <= 1e-6) return;
  std::vector<double> s1(n), s2(n);
  for (std::size_t i = 0; i < n; ++i) {
    const cv::Vec3d& c = colour_[first + i];
    const double r = c[0] / mean[0], g = c[1] / mean[1], b = c[2] / mean[2];
    s1[i] = g - b;
    s2[i] = g + b - 2 * r;
  }
  const Stats a = stats_of(s1), b = stats_of(s2);
  const double alpha = b.stddev > 1e-12 ? a.stddev / b.stddev : 0;
  std::vector<double> h(n);
  for (std::size_t i = 0; i < n; ++i) h[i] = s1[i] + alpha * s2[i];
  const double h_mean = stats_of(h).mean;
  const std::size_t base = pulse_.size() - n;
  for (std::size_t i = 0; i < n; ++i) pulse_[base + i] += h[i] - h_mean;
}

// CHROM: two chrominance signals that cancel specular reflection, combined by
// the ratio of their spreads, Hann-windowed and overlap-added at half-window
// steps (de Haan & Jeanne 2013).
void PulseExtractor::project_chrom() {
  const std::size_t n = window_, first = colour_.size() - n;
  cv::Vec3d mean(0, 0, 0);
  for (std::size_t i = first; i < colour_.size(); ++i) mean += colour_[i];
  mean /= static_cast<double>(n);
  if (mean[0] <= 1e-6 || mean[1] <= 1e-6 || mean[2] <= 1e-6) return;
  std::vector<double> x(n), y(n);
  for (std::size_t i = 0; i < n; ++i) {
    const cv::Vec3d& c = colour_[first + i];
    const double r = c[0] / mean[0], g = c[1] / mean[1], b = c[2] / mean[2];
    x[i] = 3 * r - 2 * g;
    y[i] = 1.5 * r + g - 1.5 * b;
  }
  // The paper band-passes X and Y first; within 1.6 s the out-of-band part is
  // mostly a linear trend, which is what is removed here.
  remove_linear_trend(x);
  remove_linear_trend(y);
  const Stats sx = stats_of(x), sy = stats_of(y);
  const double alpha = sy.stddev > 1e-12 ? sx.stddev / sy.stddev : 0;
  const std::size_t base = pulse_.size() - n;
  for (std::size_t i = 0; i < n; ++i) {
    const double hann = 0.5 - 0.5 * std::cos(2 * std::numbers::pi * (static_cast<double>(i) + 0.5) / n);
    pulse_[base + i] += (x[i] - alpha * y[i]) * hann;
  }
}

void PulseExtractor::trim() {
  while (pulse_.size() > keep_) pulse_.pop_front();
  while (valid_.size() > keep_) valid_.pop_front();
  while (colour_.size() > window_) colour_.pop_front();
}

std::vector<double> PulseExtractor::recent(std::size_t n) const {
  n = std::min(n, pulse_.size());
  return std::vector<double>(pulse_.end() - static_cast<long>(n), pulse_.end());
}

double PulseExtractor::valid_fraction(std::size_t n) const {
  n = std::min(n, valid_.size());
  if (n == 0) return 0;
  return static_cast<double>(std::count(valid_.end() - static_cast<long>(n), valid_.end(), true)) /
         static_cast<double>(n);
}

}  // namespace inferlab
