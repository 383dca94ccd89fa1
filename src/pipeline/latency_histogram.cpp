#include "inferlab/latency_histogram.h"

#include <algorithm>
#include <cmath>

namespace inferlab {

namespace {

constexpr double kMinMs = 1e-3;
constexpr double kGrowth = LatencyHistogram::kBinGrowth;

int bin_of(double latency_ms) {
  if (!(latency_ms > kMinMs)) return 0;
  const int bin = static_cast<int>(std::log(latency_ms / kMinMs) / std::log(kGrowth));
  return std::clamp(bin, 0, LatencyHistogram::kBins - 1);
}

// Geometric centre, so the reported value is within one bin width of the truth.
double centre_of(int bin) { return kMinMs * std::pow(kGrowth, bin + 0.5); }

}  // namespace

void LatencyHistogram::add(double latency_ms) {
  const int bin = bin_of(latency_ms);
  std::lock_guard lock(mutex_);
  ++bins_[bin];
  ++count_;
  sum_ms_ += std::max(latency_ms, 0.0);
  max_ms_ = std::max(max_ms_, latency_ms);
}

double LatencyHistogram::percentile_ms(double q) const {
  std::lock_guard lock(mutex_);
  if (count_ == 0) return 0;
  // Nearest-rank: the smallest bin whose cumulative count reaches ceil(q * n).
  const auto rank = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(std::clamp(q, 0.0, 1.0) * count_)));
  std::int64_t seen = 0;
  for (int bin = 0; bin < kBins; ++bin) {
    seen += bins_[bin];
    if (seen >= rank) return centre_of(bin);
  }
  return centre_of(kBins - 1);
}

std::int64_t LatencyHistogram::count() const {
  std::lock_guard lock(mutex_);
  return count_;
}

double LatencyHistogram::mean_ms() const {
  std::lock_guard lock(mutex_);
  return count_ == 0 ? 0 : sum_ms_ / static_cast<double>(count_);
}

double LatencyHistogram::max_ms() const {
  std::lock_guard lock(mutex_);
  return max_ms_;
}

void LatencyHistogram::reset() {
  std::lock_guard lock(mutex_);
  bins_.fill(0);
  count_ = 0;
  sum_ms_ = 0;
  max_ms_ = 0;
}

}  // namespace inferlab
