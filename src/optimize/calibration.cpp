// Calibration statistics and thresholds. The entropy calibrator follows the
// method TensorRT describes (Migacz, "8-bit Inference with TensorRT", 2017):
// for each candidate threshold, fold the histogram's tail into the last bin,
// quantize it to the number of INT8 levels, expand it back, and keep the
// threshold whose KL divergence from the original is smallest.
#include <algorithm>
#include <cmath>
#include <limits>

#include "inferlab/error.h"
#include "inferlab/quantize.h"

namespace inferlab {

void ActivationHistogram::observe_range(const float* values, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) {
    const float v = values[i];
    if (!std::isfinite(v)) continue;
    if (!seen_) {
      min_ = max_ = v;
      seen_ = true;
    }
    min_ = std::min(min_, v);
    max_ = std::max(max_, v);
  }
}

float ActivationHistogram::abs_max() const { return std::max(std::fabs(min_), std::fabs(max_)); }

void ActivationHistogram::observe_histogram(const float* values, std::size_t count) {
  if (bins_.empty()) bins_.assign(kBins, 0.0);
  const double top = abs_max();
  if (top <= 0) return;
  const double per_unit = kBins / top;
  for (std::size_t i = 0; i < count; ++i) {
    // Exact zeros (most of a ReLU output) are represented exactly by a
    // symmetric quantizer whatever the threshold; left in, their spike in
    // bin 0 drags the entropy calibrator to thresholds that clip the real
    // signal (measured on digits_cnn: the last Gemm's output SQNR 7.7 dB).
    if (values[i] == 0.0F || !std::isfinite(values[i])) continue;
    // Values beyond pass 1's range (none, when both passes see the same
    // samples) land in the last bin.
    const auto bin = static_cast<int>(std::fabs(values[i]) * per_unit);
    bins_[static_cast<std::size_t>(std::min(bin, kBins - 1))] += 1.0;
  }
}

std::string calibrator_name(Calibrator calibrator) {
  switch (calibrator) {
    case Calibrator::kMinMax:
      return "minmax";
    case Calibrator::kPercentile:
      return "percentile";
    case Calibrator::kEntropy:
      return "entropy";
    case Calibrator::kAuto:
      return "auto";
  }
  return "?";
}

Calibrator calibrator_from_name(const std::string& name) {
  if (name == "minmax") return Calibrator::kMinMax;
  if (name == "percentile") return Calibrator::kPercentile;
  if (name == "entropy") return Calibrator::kEntropy;
  if (name == "auto") return Calibrator::kAuto;
  throw Error("--calibrator " + name + ": expected auto, minmax, percentile or entropy", ErrorKind::kBadInput);
}

namespace {

double percentile_threshold(const ActivationHistogram& stats, double percentile) {
  const auto& bins = stats.bins();
  if (stats.abs_max() <= 0) return 0;
  double total = 0;
  for (double b : bins) total += b;
  const double wanted = total * percentile / 100.0;
  double seen = 0;
  for (std::size_t i = 0; i < bins.size(); ++i) {
    seen += bins[i];
    if (seen >= wanted) return static_cast<double>(i + 1) * stats.bin_width();
  }
  return stats.abs_max();
}

double kl_divergence_at(const std::vector<double>& bins, int edge, int levels) {
  // Reference distribution: the first `edge` bins, the tail folded into the last.
  std::vector<double> p(bins.begin(), bins.begin() + edge);
  for (std::size_t i = static_cast<std::size_t>(edge); i < bins.size(); ++i) p.back() += bins[i];
  // Candidate: the first `edge` bins merged into `levels` groups, each
  // group's mass spread evenly over its non-empty bins.
  std::vector<double> q(static_cast<std::size_t>(edge), 0.0);
  const double per_level = static_cast<double>(edge) / levels;
  for (int j = 0; j < levels; ++j) {
    const auto begin = static_cast<int>(std::floor(j * per_level));
    const auto end = std::max(begin + 1, static_cast<int>(std::floor((j + 1) * per_level)));
    double mass = 0;
    int non_empty = 0;
    for (int k = begin; k < std::min(end, edge); ++k) {
      mass += bins[static_cast<std::size_t>(k)];
      if (bins[static_cast<std::size_t>(k)] > 0) ++non_empty;
    }
    if (non_empty == 0) continue;
    for (int k = begin; k < std::min(end, edge); ++k) {
      if (bins[static_cast<std::size_t>(k)] > 0) q[static_cast<std::size_t>(k)] = mass / non_empty;
    }
  }
  double p_sum = 0, q_sum = 0;
  for (int k = 0; k < edge; ++k) {
    p_sum += p[static_cast<std::size_t>(k)];
    q_sum += q[static_cast<std::size_t>(k)];
  }
  if (p_sum <= 0 || q_sum <= 0) return std::numeric_limits<double>::infinity();
  double kl = 0;
  for (int k = 0; k < edge; ++k) {
    const double pk = p[static_cast<std::size_t>(k)] / p_sum;
    if (pk <= 0) continue;
    // The folded tail can sit in a bin the candidate left empty; a small
    // floor keeps such thresholds finite but strongly penalised.
    const double qk = std::max(q[static_cast<std::size_t>(k)] / q_sum, 1e-12);
    kl += pk * std::log(pk / qk);
  }
  return kl;
}

double entropy_threshold(const ActivationHistogram& stats, bool non_negative) {
  const auto& bins = stats.bins();
  const int levels = non_negative ? 255 : 127;
  double best_kl = std::numeric_limits<double>::infinity();
  int best_edge = ActivationHistogram::kBins;
  for (int edge = levels; edge <= ActivationHistogram::kBins; ++edge) {
    const double kl = kl_divergence_at(bins, edge, levels);
    if (kl < best_kl) {
      best_kl = kl;
      best_edge = edge;
    }
  }
  return (best_edge + 0.5) * stats.bin_width();
}

}  // namespace

double calibration_threshold(const ActivationHistogram& stats, Calibrator calibrator, double percentile,
                             bool non_negative) {
  if (calibrator == Calibrator::kAuto)
    throw Error("calibrator auto is chosen per activation by measurement, not from a histogram alone",
                ErrorKind::kRuntime);
  double threshold = stats.abs_max();
  if (calibrator != Calibrator::kMinMax) {
    if (!stats.has_histogram())
      throw Error("calibrator " + calibrator_name(calibrator) + " needs the histogram pass", ErrorKind::kRuntime);
    if (calibrator == Calibrator::kPercentile) {
      if (!(percentile > 0 && percentile <= 100))
        throw Error("--percentile " + std::to_string(percentile) + ": must be in (0, 100]", ErrorKind::kBadInput);
      threshold = percentile_threshold(stats, percentile);
    } else {
      threshold = entropy_threshold(stats, non_negative);
    }
    threshold = std::min<double>(threshold, stats.abs_max());
  }
  // An all-zero tensor still needs a valid (non-zero) scale.
  return threshold > 0 ? threshold : 1.0;
}

}  // namespace inferlab
