// Recommendation from stored rows: join, filter, rank, explain. Kept free of
// I/O so the CLI, the HTML report and the unit tests share one answer.
#include "inferlab/recommend.h"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
#include <tuple>

#include "inferlab/error.h"

namespace inferlab {

namespace {

std::string number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.4g", value);
  return text;
}

using AccuracyKey = std::tuple<std::string, std::string, std::string>;

bool newer(const StoredRow& a, std::int64_t run_id, std::int64_t row_id) {
  return std::tie(a.run_id, a.id) > std::tie(run_id, row_id);
}

}  // namespace

std::string Configuration::label() const {
  return model + " " + backend + " " + precision + " batch " + std::to_string(batch) + " threads " +
         std::to_string(threads);
}

std::vector<Configuration> collect_configurations(const std::vector<StoredRow>& rows) {
  std::map<ConfigurationId, Configuration> configs;
  struct Acc {
    double top1 = 0;
    std::int64_t run_id = 0, row_id = 0;
  };
  std::map<AccuracyKey, Acc> accuracy;
  for (const StoredRow& row : rows) {
    const BenchResult& r = row.result;
    if (!r.ok()) continue;
    if (r.accuracy) {
      // Accuracy is a property of model x backend x precision, not of batch or threads.
      const AccuracyKey key{r.model, r.backend, r.precision};
      auto it = accuracy.find(key);
      if (it == accuracy.end() || newer(row, it->second.run_id, it->second.row_id)) {
        accuracy[key] = Acc{r.accuracy->top1, row.run_id, row.id};
      }
      continue;
    }
    if (!r.latency) continue;
    const ConfigurationId key = configuration_of(r);
    auto it = configs.find(key);
    if (it != configs.end() && !newer(row, it->second.run_id, it->second.row_id)) continue;
    Configuration c;
    static_cast<ConfigurationId&>(c) = key;
    c.run_id = row.run_id;
    c.row_id = row.id;
    c.p50_ms = r.latency->p50_ms;
    c.p99_ms = r.latency->p99_ms;
    c.throughput_per_s = r.throughput_per_s;
    if (r.memory) c.peak_rss_mb = r.memory->peak_rss_mb;
    c.energy_mj_per_inference = r.energy_mj_per_inference;
    configs[key] = c;
  }
  std::vector<Configuration> out;
  for (auto& [key, c] : configs) {
    if (auto it = accuracy.find({c.model, c.backend, c.precision}); it != accuracy.end()) {
      c.top1 = it->second.top1;
      c.accuracy_run_id = it->second.run_id;
    }
    out.push_back(c);
  }
  return out;
}

Objective parse_objective(const std::string& text) {
  if (text == "latency") return Objective::kLatency;
  if (text == "throughput") return Objective::kThroughput;
  if (text == "energy") return Objective::kEnergy;
  throw Error("--objective " + text + ": expected latency, throughput or energy");
}

double latency_of(const Configuration& c, const std::string& stat) { return stat == "p50" ? c.p50_ms : c.p99_ms; }

std::vector<std::size_t> pareto_front(const std::vector<std::optional<double>>& x_min,
                                      const std::vector<std::optional<double>>& y_max) {
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < x_min.size() && i < y_max.size(); ++i) {
    if (x_min[i] && y_max[i]) order.push_back(i);
  }
  // Sweep by ascending x (ties: higher y first); a point is on the front when
  // its y beats every point with a smaller or equal x.
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (*x_min[a] != *x_min[b]) return *x_min[a] < *x_min[b];
    if (*y_max[a] != *y_max[b]) return *y_max[a] > *y_max[b];
    return a < b;
  });
  std::vector<std::size_t> front;
  for (std::size_t i : order) {
    if (front.empty() || *y_max[i] > *y_max[front.back()]) front.push_back(i);
  }
  return front;
}

namespace {

struct Check {
  std::string name;
  std::function<bool(const Configuration&)> passes;
  std::function<std::string(const std::vector<Configuration>&)> closest;
};

std::vector<Check> checks_for(const Constraints& k) {
  std::vector<Check> checks;
  const std::string stat = k.latency_stat;
  if (k.max_latency_ms) {
    const double limit = *k.max_latency_ms;
    checks.push_back({"--max-latency-ms " + number(limit),
                      [=](const Configuration& c) { return latency_of(c, stat) <= limit; },
                      [=](const std::vector<Configuration>& all) {
                        double best = latency_of(all.front(), stat);
                        for (const auto& c : all) best = std::min(best, latency_of(c, stat));
                        return "the lowest " + stat + " latency is " + number(best) + " ms";
                      }});
  }
  if (k.min_top1) {
    const double limit = *k.min_top1;
    checks.push_back({"--min-top1 " + number(limit), [=](const Configuration& c) { return c.top1 && *c.top1 >= limit; },
                      [](const std::vector<Configuration>& all) -> std::string {
                        std::optional<double> best;
                        for (const auto& c : all) {
                          if (c.top1) best = std::max(best.value_or(0.0), *c.top1);
                        }
                        if (!best) return "no configuration has a stored accuracy row (run inferlab accuracy)";
                        return "the highest Top-1 is " + number(*best);
                      }});
  }
  if (k.max_memory_mb) {
    const double limit = *k.max_memory_mb;
    checks.push_back({"--max-memory-mb " + number(limit),
                      [=](const Configuration& c) { return c.peak_rss_mb && *c.peak_rss_mb <= limit; },
                      [](const std::vector<Configuration>& all) -> std::string {
                        std::optional<double> best;
                        for (const auto& c : all) {
                          if (c.peak_rss_mb) best = std::min(best.value_or(*c.peak_rss_mb), *c.peak_rss_mb);
                        }
                        if (!best) return "no configuration has memory figures";
                        return "the lowest peak RSS is " + number(*best) + " MB";
                      }});
  }
  return checks;
}

// Sort key of `c` under `objective`: lower is better.
double cost(const Configuration& c, Objective objective, const std::string& stat) {
  switch (objective) {
    case Objective::kLatency:
      return latency_of(c, stat);
    case Objective::kThroughput:
      return -c.throughput_per_s;
    case Objective::kEnergy:
      return c.energy_mj_per_inference.value_or(1e300);
  }
  return 0;
}

}  // namespace

Recommendation recommend(std::vector<Configuration> configurations, const Constraints& constraints,
                         Objective objective) {
  Recommendation out;
  out.configurations = std::move(configurations);
  const auto& all = out.configurations;
  const std::vector<Check> checks = checks_for(constraints);
  std::vector<std::vector<bool>> pass(all.size(), std::vector<bool>(checks.size()));
  for (std::size_t i = 0; i < all.size(); ++i) {
    bool ok = true;
    for (std::size_t k = 0; k < checks.size(); ++k) ok = (pass[i][k] = checks[k].passes(all[i])) && ok;
    if (ok) out.qualifying.push_back(i);
  }
  for (std::size_t k = 0; k < checks.size(); ++k) {
    ConstraintReport report;
    report.name = checks[k].name;
    for (std::size_t i = 0; i < all.size(); ++i) {
      if (pass[i][k]) continue;
      ++report.failing;
      bool others = true;
      for (std::size_t j = 0; j < checks.size(); ++j) others = others && (j == k || pass[i][j]);
      report.binds = report.binds || others;
    }
    if (!all.empty()) report.closest = checks[k].closest(all);
    out.constraints.push_back(report);
  }

  const std::string& stat = constraints.latency_stat;
  if (objective == Objective::kEnergy && !out.qualifying.empty()) {
    const bool any = std::any_of(out.qualifying.begin(), out.qualifying.end(),
                                 [&](std::size_t i) { return all[i].energy_mj_per_inference.has_value(); });
    if (!any) {
      throw Error(
          "--objective energy: no sensor measured energy for any qualifying configuration (these rows have no "
          "power reading: use --objective latency or throughput, or measure on a machine with RAPL/NVML)");
    }
  }
  std::stable_sort(out.qualifying.begin(), out.qualifying.end(), [&](std::size_t a, std::size_t b) {
    return cost(all[a], objective, stat) < cost(all[b], objective, stat);
  });
  if (!out.qualifying.empty()) out.best = out.qualifying.front();

  std::vector<std::optional<double>> latency, top1, rss, throughput;
  for (const auto& c : all) {
    latency.push_back(latency_of(c, stat));
    top1.push_back(c.top1);
    rss.push_back(c.peak_rss_mb);
    throughput.push_back(c.throughput_per_s);
  }
  out.front_accuracy_latency = pareto_front(latency, top1);
  out.front_memory_throughput = pareto_front(rss, throughput);

  if (all.empty()) {
    out.verdict = "nothing qualifies: the store has no successful bench rows for these models";
  } else if (out.best) {
    out.verdict = "best: " + all[*out.best].label() + " (" + std::to_string(out.qualifying.size()) + " of " +
                  std::to_string(all.size()) + " configurations qualify)";
  } else {
    std::string binding;
    for (const auto& c : out.constraints) {
      if (c.binds) binding += (binding.empty() ? "" : "; ") + c.name + " binds (" + c.closest + ")";
    }
    if (binding.empty()) {
      binding = "no single constraint binds: lifting any one alone still leaves nothing;";
      for (const auto& c : out.constraints) {
        binding += " " + c.name + " fails " + std::to_string(c.failing) + " (" + c.closest + ");";
      }
      binding.pop_back();
    }
    out.verdict = "nothing qualifies among " + std::to_string(all.size()) + " configurations: " + binding;
  }
  return out;
}

nlohmann::json to_json(const Configuration& c) {
  auto opt = [](const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(); };
  return {{"model", c.model},
          {"backend", c.backend},
          {"precision", c.precision},
          {"batch", c.batch},
          {"threads", c.threads},
          {"scenario", c.scenario},
          {"run_id", c.run_id},
          {"row_id", c.row_id},
          {"p50_ms", c.p50_ms},
          {"p99_ms", c.p99_ms},
          {"throughput_per_s", c.throughput_per_s},
          {"peak_rss_mb", opt(c.peak_rss_mb)},
          {"energy_mj_per_inference", opt(c.energy_mj_per_inference)},
          {"top1", opt(c.top1)},
          {"accuracy_run_id", c.accuracy_run_id ? nlohmann::json(c.accuracy_run_id) : nlohmann::json()}};
}

nlohmann::json to_json(const Recommendation& r, const Constraints& k, Objective objective) {
  auto opt = [](const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(); };
  auto pick = [&](const std::vector<std::size_t>& indices) {
    nlohmann::json list = nlohmann::json::array();
    for (std::size_t i : indices) list.push_back(to_json(r.configurations[i]));
    return list;
  };
  nlohmann::json constraints = nlohmann::json::array();
  for (const auto& c : r.constraints) {
    constraints.push_back({{"name", c.name}, {"failing", c.failing}, {"binds", c.binds}, {"closest", c.closest}});
  }
  const char* objectives[] = {"latency", "throughput", "energy"};
  return {{"schema", "inferlab.recommend/1"},
          {"objective", objectives[static_cast<int>(objective)]},
          {"latency_stat", k.latency_stat},
          {"limits",
           {{"max_latency_ms", opt(k.max_latency_ms)},
            {"min_top1", opt(k.min_top1)},
            {"max_memory_mb", opt(k.max_memory_mb)}}},
          {"best", r.best ? to_json(r.configurations[*r.best]) : nlohmann::json()},
          {"qualifying", pick(r.qualifying)},
          {"considered", r.configurations.size()},
          {"constraints", constraints},
          {"pareto_accuracy_latency", pick(r.front_accuracy_latency)},
          {"pareto_memory_throughput", pick(r.front_memory_throughput)},
          {"verdict", r.verdict}};
}

}  // namespace inferlab
