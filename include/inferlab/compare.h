#pragma once
/// @file compare.h
/// `inferlab compare`: two sets of result rows matched by configuration, the
/// change of each figure, and a statistical verdict per figure. A figure
/// regresses only when the change is both statistically significant and
/// larger than the threshold: the test rejects noise inside the runs, the
/// threshold rejects changes too small to matter (and the drift between runs
/// on a noisy machine, which no within-run test can see).

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "inferlab/result.h"

namespace inferlab {

/// The Mann-Whitney U test of two independent samples.
struct MannWhitneyResult {
  double u = 0;                     ///< U of the first sample
  double z = 0;                     ///< normal approximation with tie correction; > 0: the second sample is larger
  double p_two_sided = 1;           ///< two-sided p-value
  double prob_second_larger = 0.5;  ///< P(second > first) + P(tie)/2, the common-language effect size
};

/// Mann-Whitney U of `first` vs `second` (normal approximation with tie
/// correction; meant for the hundreds to thousands of latency samples a run
/// keeps). Throws Error when either sample is empty. O((n+m) log(n+m)).
MannWhitneyResult mann_whitney_u(const std::vector<float>& first, const std::vector<float>& second);

/// Two-sided p-value of the difference between two proportions (successes
/// out of trials each), pooled two-proportion z-test. 1 when undefined.
double two_proportion_p_value(double p1, double n1, double p2, double n2);

/// What compare concluded about one figure.
enum class Verdict {
  kRegression,       ///< worse, significant, beyond the threshold
  kImprovement,      ///< better, significant, beyond the threshold
  kWithinThreshold,  ///< significant but no larger than the threshold
  kNoSignificantChange,
  kNotTested,  ///< no test applies (e.g. p99 without raw samples): shown, never gating
};
/// "regression", "improvement", "within threshold", "no significant change", "not tested".
std::string verdict_name(Verdict verdict);

/// One figure of one matched row.
struct FigureChange {
  std::string name;  ///< "p50_ms", "p99_ms", "throughput_per_s", "peak_rss_mb", "top1"
  double base = 0, next = 0;
  double change = 0;  ///< relative: (next - base) / base
  bool higher_is_better = false;
  std::string test;  ///< how significance was decided, e.g. "Mann-Whitney U on 4096/4096 samples, p=3e-12"
  bool significant = false;
  Verdict verdict = Verdict::kNotTested;
  bool gating = true;  ///< whether a regression of this figure makes the comparison fail
};

/// One configuration present in both sets.
struct RowComparison : ConfigurationId {
  std::string status_change;  ///< non-empty when the status differs, e.g. "ok -> failed"
  std::vector<FigureChange> figures;
  bool regression = false;  ///< any gating figure is a regression, or the row stopped working
  std::string note;         ///< e.g. "model file changed (sha256 differs)"
};

/// Settings of a comparison.
struct CompareSettings {
  /// Change that matters, as a ratio either way: 0.05 = 5% slower (or 5%
  /// less throughput: base/new - 1); 1.0 = twice as slow or half the throughput.
  double threshold = 0.05;
  double alpha = 0.01;  ///< significance level of each test
  /// Whether p99 and throughput regressions fail the comparison. Off by
  /// default: both follow the mean and the tail, which a stall from another
  /// process moves by 2x between identical runs on a shared VM, while the
  /// median does not; matched rows have the same batch, so a real throughput
  /// loss shows in p50 too.
  bool gate_tail = false;
};

/// The whole comparison.
struct CompareReport {
  CompareSettings settings;
  std::vector<RowComparison> rows;
  std::vector<std::string> only_in_base, only_in_new;  ///< configurations as "model backend precision batch ..."
  bool regression = false;
};

/// Matches rows on (model, backend, precision, batch, scenario, threads) and
/// compares them. Rows that are not "ok" on both sides are reported by
/// status only (ok -> failed is a regression). Uses latency_samples_ms when
/// both rows carry them, else the non-overlap of the medians' 95% CIs. When
/// a key appears more than once in one set, the last row wins. Pure function.
CompareReport compare_results(const std::vector<BenchResult>& base, const std::vector<BenchResult>& next,
                              const CompareSettings& settings);

/// The report as JSON (schema "inferlab.compare/1").
nlohmann::json to_json(const CompareReport& report);
/// A fixed-width text table for a terminal.
std::string render_compare_text(const CompareReport& report);

}  // namespace inferlab
