// The tests behind compare's verdicts. Mann-Whitney U needs no assumption
// about the latency distribution (which is skewed and often multi-modal);
// the normal approximation is accurate for the sample sizes runs keep.
#include <algorithm>
#include <cmath>

#include "inferlab/compare.h"
#include "inferlab/error.h"

namespace inferlab {

MannWhitneyResult mann_whitney_u(const std::vector<float>& first, const std::vector<float>& second) {
  if (first.empty() || second.empty()) throw Error("Mann-Whitney U: both samples must be non-empty");
  const double n1 = static_cast<double>(first.size()), n2 = static_cast<double>(second.size());
  std::vector<std::pair<float, bool>> all;  // value, belongs to the first sample
  all.reserve(first.size() + second.size());
  for (float v : first) all.emplace_back(v, true);
  for (float v : second) all.emplace_back(v, false);
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  double rank_sum_first = 0, tie_term = 0;
  for (std::size_t i = 0; i < all.size();) {
    std::size_t j = i;
    while (j < all.size() && all[j].first == all[i].first) ++j;
    const double t = static_cast<double>(j - i);
    const double average_rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2.0;  // 1-based ranks
    for (std::size_t k = i; k < j; ++k) {
      if (all[k].second) rank_sum_first += average_rank;
    }
    tie_term += t * t * t - t;
    i = j;
  }
  MannWhitneyResult r;
  r.u = rank_sum_first - n1 * (n1 + 1) / 2.0;  // pairs where first > second, ties half
  r.prob_second_larger = 1.0 - r.u / (n1 * n2);
  const double n = n1 + n2;
  const double variance = n1 * n2 / 12.0 * ((n + 1) - tie_term / (n * (n - 1)));
  const double mean = n1 * n2 / 2.0;
  if (variance <= 0) return r;  // every value identical: no evidence of a difference
  // Continuity correction of 0.5 towards the mean.
  const double deviation = mean - r.u;
  const double corrected = std::max(0.0, std::abs(deviation) - 0.5);
  r.z = std::copysign(corrected / std::sqrt(variance), deviation);
  r.p_two_sided = std::erfc(std::abs(r.z) / std::sqrt(2.0));
  return r;
}

double two_proportion_p_value(double p1, double n1, double p2, double n2) {
  if (!(n1 > 0 && n2 > 0)) return 1.0;
  const double pooled = (p1 * n1 + p2 * n2) / (n1 + n2);
  const double se = std::sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2));
  if (!(se > 0)) return p1 == p2 ? 1.0 : 0.0;
  return std::erfc(std::abs(p2 - p1) / se / std::sqrt(2.0));
}

std::string verdict_name(Verdict verdict) {
  switch (verdict) {
    case Verdict::kRegression:
      return "regression";
    case Verdict::kImprovement:
      return "improvement";
    case Verdict::kWithinThreshold:
      return "within threshold";
    case Verdict::kNoSignificantChange:
      return "no significant change";
    case Verdict::kNotTested:
      return "not tested";
  }
  return "not tested";
}

}  // namespace inferlab
