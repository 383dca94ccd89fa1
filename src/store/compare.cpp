// Matching rows and deciding verdicts. Significance and size are separate
// questions: a rank test on thousands of samples finds a 0.5% shift
// "significant", and on a VM that drifts between runs a large shift can be
// noise the test cannot see (samples within one run are not independent of
// the run's moment). So a regression needs both: p < alpha and |change| >
// threshold, and the threshold is the user's statement of how much drift to
// tolerate.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

#include "inferlab/compare.h"
#include "inferlab/stats.h"

namespace inferlab {

namespace {

std::string key_of(const BenchResult& r) {
  return r.model + " " + r.backend + " " + r.precision + " batch " + std::to_string(r.batch) + " " + r.scenario +
         " threads " + std::to_string(r.threads);
}

std::string number(double v, const char* format = "%.4g") {
  char text[64];
  std::snprintf(text, sizeof text, format, v);
  return text;
}

// The threshold is a ratio either way round: 100% means twice the latency
// or half the throughput, so "higher is better" figures can reach it too.
double ratio_change(const FigureChange& f) {
  if (!(f.base > 0 && f.next > 0)) return std::abs(f.change);
  return std::max(f.next / f.base, f.base / f.next) - 1.0;
}

Verdict decide(const FigureChange& f, double threshold) {
  if (f.test.empty()) return Verdict::kNotTested;
  if (!f.significant) return Verdict::kNoSignificantChange;
  if (ratio_change(f) <= threshold) return Verdict::kWithinThreshold;
  const bool worse = f.higher_is_better ? f.change < 0 : f.change > 0;
  return worse ? Verdict::kRegression : Verdict::kImprovement;
}

FigureChange figure(const std::string& name, double base, double next, bool higher_is_better) {
  FigureChange f;
  f.name = name;
  f.base = base;
  f.next = next;
  f.higher_is_better = higher_is_better;
  f.change = base > 0 ? (next - base) / base : 0.0;
  return f;
}

std::vector<double> sorted_doubles(const std::vector<float>& values) {
  std::vector<double> out(values.begin(), values.end());
  std::sort(out.begin(), out.end());
  return out;
}

void compare_latency(const BenchResult& b, const BenchResult& n, const CompareSettings& s, RowComparison& row) {
  const LatencyStats& lb = *b.latency;
  const LatencyStats& ln = *n.latency;
  // Runs keep at least a handful of samples; below that a rank test says nothing.
  const bool samples = b.latency_samples_ms.size() >= 8 && n.latency_samples_ms.size() >= 8;
  std::string location_test;
  bool location_significant = false;
  if (samples) {
    const MannWhitneyResult mw = mann_whitney_u(b.latency_samples_ms, n.latency_samples_ms);
    location_significant = mw.p_two_sided < s.alpha;
    location_test = "Mann-Whitney U on " + std::to_string(b.latency_samples_ms.size()) + "/" +
                    std::to_string(n.latency_samples_ms.size()) + " samples, p=" + number(mw.p_two_sided, "%.2g");
  } else {
    location_significant = ln.ci95_p50_lo_ms > lb.ci95_p50_hi_ms || ln.ci95_p50_hi_ms < lb.ci95_p50_lo_ms;
    location_test = std::string("95% CIs of the medians ") + (location_significant ? "do not overlap" : "overlap") +
                    " [" + number(lb.ci95_p50_lo_ms) + ", " + number(lb.ci95_p50_hi_ms) + "] vs [" +
                    number(ln.ci95_p50_lo_ms) + ", " + number(ln.ci95_p50_hi_ms) + "]";
  }
  FigureChange p50 = figure("p50_ms", lb.p50_ms, ln.p50_ms, false);
  p50.test = location_test;
  p50.significant = location_significant;
  row.figures.push_back(p50);

  FigureChange p99 = figure("p99_ms", lb.p99_ms, ln.p99_ms, false);
  if (samples) {
    const auto [blo, bhi] = quantile_ci95_sorted(sorted_doubles(b.latency_samples_ms), 0.99);
    const auto [nlo, nhi] = quantile_ci95_sorted(sorted_doubles(n.latency_samples_ms), 0.99);
    p99.significant = nlo > bhi || nhi < blo;
    p99.test = std::string("95% CIs of p99 ") + (p99.significant ? "do not overlap" : "overlap");
  }
  row.figures.push_back(p99);

  // Throughput is the same samples seen as a rate: the location test applies.
  FigureChange throughput = figure("throughput_per_s", b.throughput_per_s, n.throughput_per_s, true);
  throughput.test = location_test;
  throughput.significant = location_significant;
  row.figures.push_back(throughput);
}

RowComparison compare_row(const BenchResult& b, const BenchResult& n, const CompareSettings& s) {
  RowComparison row;
  static_cast<ConfigurationId&>(row) = configuration_of(b);
  if (!b.model_sha256.empty() && !n.model_sha256.empty() && b.model_sha256 != n.model_sha256)
    row.note = "model file changed (sha256 differs)";
  if (!b.valid || !n.valid) row.note += std::string(row.note.empty() ? "" : "; ") + "an invalid run is compared";
  if (b.status != n.status) {
    row.status_change = result_status_name(b.status) + std::string(" -> ") + result_status_name(n.status);
    row.regression = b.ok();
    return row;
  }
  if (!b.ok()) return row;
  if (b.latency && n.latency) compare_latency(b, n, s, row);
  if (b.memory && n.memory) {
    FigureChange rss = figure("peak_rss_mb", b.memory->peak_rss_mb, n.memory->peak_rss_mb, false);
    rss.test = "one reading per run: threshold only";
    rss.significant = true;
    row.figures.push_back(rss);
  }
  if (b.accuracy && n.accuracy) {
    FigureChange top1 = figure("top1", b.accuracy->top1, n.accuracy->top1, true);
    const double p = two_proportion_p_value(b.accuracy->top1, static_cast<double>(b.accuracy->samples),
                                            n.accuracy->top1, static_cast<double>(n.accuracy->samples));
    top1.significant = p < s.alpha;
    top1.test = "two-proportion z-test, p=" + number(p, "%.2g");
    row.figures.push_back(top1);
  }
  for (auto& f : row.figures) {
    f.verdict = decide(f, s.threshold);
    f.gating = s.gate_tail || (f.name != "p99_ms" && f.name != "throughput_per_s");
    if (f.verdict == Verdict::kRegression && f.gating) row.regression = true;
  }
  return row;
}

}  // namespace

CompareReport compare_results(const std::vector<BenchResult>& base, const std::vector<BenchResult>& next,
                              const CompareSettings& settings) {
  CompareReport report;
  report.settings = settings;
  std::map<std::string, const BenchResult*> base_by_key, next_by_key;
  std::vector<std::string> base_order, next_order;
  for (const auto& r : base) {
    if (!base_by_key.count(key_of(r))) base_order.push_back(key_of(r));
    base_by_key[key_of(r)] = &r;
  }
  for (const auto& r : next) {
    if (!next_by_key.count(key_of(r))) next_order.push_back(key_of(r));
    next_by_key[key_of(r)] = &r;
  }
  for (const auto& key : base_order) {
    auto it = next_by_key.find(key);
    if (it == next_by_key.end()) {
      report.only_in_base.push_back(key);
      continue;
    }
    report.rows.push_back(compare_row(*base_by_key[key], *it->second, settings));
    report.regression = report.regression || report.rows.back().regression;
  }
  for (const auto& key : next_order) {
    if (!base_by_key.count(key)) report.only_in_new.push_back(key);
  }
  return report;
}

nlohmann::json to_json(const CompareReport& report) {
  using nlohmann::json;
  json rows = json::array();
  for (const auto& r : report.rows) {
    json figures = json::array();
    for (const auto& f : r.figures) {
      figures.push_back({{"name", f.name},
                         {"base", f.base},
                         {"new", f.next},
                         {"change", f.change},
                         {"higher_is_better", f.higher_is_better},
                         {"test", f.test},
                         {"significant", f.significant},
                         {"verdict", verdict_name(f.verdict)},
                         {"gating", f.gating}});
    }
    rows.push_back({{"model", r.model},
                    {"backend", r.backend},
                    {"precision", r.precision},
                    {"batch", r.batch},
                    {"scenario", r.scenario},
                    {"threads", r.threads},
                    {"status_change", r.status_change},
                    {"regression", r.regression},
                    {"note", r.note},
                    {"figures", figures}});
  }
  return json{{"schema", "inferlab.compare/1"},
              {"threshold", report.settings.threshold},
              {"alpha", report.settings.alpha},
              {"regression", report.regression},
              {"rows", rows},
              {"only_in_base", report.only_in_base},
              {"only_in_new", report.only_in_new}};
}

std::string render_compare_text(const CompareReport& report) {
  std::ostringstream out;
  std::size_t regressions = 0;
  for (const auto& r : report.rows) {
    out << r.model << " x " << r.backend << " " << r.precision << " batch " << r.batch << " " << r.scenario
        << " threads " << r.threads << (r.regression ? "  REGRESSION" : "") << '\n';
    if (!r.note.empty()) out << "  note: " << r.note << '\n';
    if (!r.status_change.empty()) out << "  status: " << r.status_change << '\n';
    for (const auto& f : r.figures) {
      char line[200];
      const std::string verdict = verdict_name(f.verdict) + (f.gating ? "" : " (shown)");
      std::snprintf(line, sizeof line, "  %-17s %10.4g -> %-10.4g %+7.1f%%  %-30s", f.name.c_str(), f.base, f.next,
                    f.change * 100, verdict.c_str());
      out << line << (f.test.empty() ? "" : "(" + f.test + ")") << '\n';
    }
    regressions += r.regression ? 1 : 0;
  }
  for (const auto& k : report.only_in_base) out << "only in BASE: " << k << '\n';
  for (const auto& k : report.only_in_new) out << "only in NEW: " << k << '\n';
  out << (report.regression ? "REGRESSION" : "no significant regression") << ": " << regressions << " of "
      << report.rows.size() << " configurations regressed (threshold " << number(report.settings.threshold * 100)
      << "%, alpha " << number(report.settings.alpha) << ")\n";
  if (!report.settings.gate_tail) out << "p99 and throughput are shown, not gating (--gate-tail makes them gate)\n";
  return out.str();
}

}  // namespace inferlab
