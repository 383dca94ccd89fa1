// `inferlab recommend MODEL...`: which stored configuration meets the
// constraints, the best by the objective, and the Pareto fronts. Exit 0 with
// a recommendation, 1 when nothing qualifies (the check "some configuration
// meets the budget" failed), 2 on bad input (no rows, energy without a sensor).
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "commands.h"
#include "inferlab/error.h"
#include "inferlab/files.h"
#include "inferlab/recommend.h"
#include "recommend_measure.h"
#include "store_flags.h"

namespace inferlab::cli {

namespace {

struct RecommendFlags {
  StoreFlags store;
  std::vector<std::string> models;
  Constraints constraints;
  std::string machine, objective = "latency", json_path;
  MeasureFlags measure;
};

std::string optional_number(const std::optional<double>& value, const char* format) {
  if (!value) return "-";
  char text[32];
  std::snprintf(text, sizeof text, format, *value);
  return text;
}

void print_configurations(const std::string& title, const Recommendation& r, const std::vector<std::size_t>& which,
                          const std::string& stat, std::size_t limit) {
  std::cout << "\n" << title << "\n";
  std::printf("  %-18s %-12s %-5s %5s %3s %10s %12s %9s %7s %6s\n", "model", "backend", "prec", "batch", "thr",
              (stat + "_ms").c_str(), "samples/s", "rss_mb", "top1", "run");
  for (std::size_t n = 0; n < which.size() && n < limit; ++n) {
    const Configuration& c = r.configurations[which[n]];
    std::printf("  %-18s %-12s %-5s %5lld %3d %10.4g %12.4g %9s %7s %6lld\n", c.model.substr(0, 18).c_str(),
                c.backend.c_str(), c.precision.c_str(), static_cast<long long>(c.batch), c.threads, latency_of(c, stat),
                c.throughput_per_s, optional_number(c.peak_rss_mb, "%.1f").c_str(),
                optional_number(c.top1, "%.4f").c_str(), static_cast<long long>(c.run_id));
  }
  if (which.size() > limit) std::cout << "  ... " << which.size() - limit << " more (--json has them all)\n";
}

// Stored rows of `model` as given, or under its file stem (bench records a
// bare file by its stem).
std::vector<StoredRow> rows_of(ResultStore& store, const std::string& model, const std::string& machine) {
  RowFilter filter;
  filter.machine = machine;
  filter.model = model;
  auto rows = store.rows(filter);
  if (rows.empty()) {
    filter.model = std::filesystem::path(model).stem().string();
    if (filter.model != model) rows = store.rows(filter);
  }
  if (rows.empty()) {
    throw Error("recommend " + model + ": no stored rows of this model" +
                (machine.empty() ? "" : " on a machine matching '" + machine + "'") + " in " + store.location() +
                " (run inferlab bench " + model + " first)");
  }
  return rows;
}

int run_recommend(const RecommendFlags& f) {
  const Objective objective = parse_objective(f.objective);
  const Constraints& k = f.constraints;
  if (k.latency_stat != "p50" && k.latency_stat != "p99") {
    throw Error("--latency-stat " + k.latency_stat + ": expected p50 or p99");
  }
  if (k.min_top1 && (*k.min_top1 < 0 || *k.min_top1 > 1)) {
    throw Error("--min-top1 " + optional_number(k.min_top1, "%g") + ": a fraction in [0, 1] (0.9 is 90%)");
  }
  if (!f.json_path.empty()) ensure_writable_file_path(f.json_path, "--json");
  std::string machine = f.machine;
  if (f.measure.measure) {
    measure_missing(f.measure, f.models, f.store);
    // What was just measured is this machine's: recommend for it.
    if (machine.empty()) machine = machine_hostname();
    std::cout << "recommending from the rows of " << machine << "\n";
  }
  auto store = f.store.open_for_reading();
  std::vector<StoredRow> rows;
  for (const auto& model : f.models) {
    auto more = rows_of(*store, model, machine);
    rows.insert(rows.end(), more.begin(), more.end());
  }
  const Recommendation r = recommend(collect_configurations(rows), k, objective);
  if (!f.json_path.empty()) write_file_atomically(f.json_path, to_json(r, k, objective).dump(2) + "\n");

  std::cout << r.configurations.size() << " stored configurations of";
  for (const auto& m : f.models) std::cout << ' ' << m;
  std::cout << " in " << store->location() << "; latency is " << k.latency_stat << ", objective " << f.objective
            << "\n";
  for (const auto& c : r.constraints) {
    std::cout << "  " << c.name << ": " << c.failing << " fail" << (c.binds ? " (binds)" : "") << "; " << c.closest
              << "\n";
  }
  if (!r.qualifying.empty()) print_configurations("qualifying, best first:", r, r.qualifying, k.latency_stat, 10);
  print_configurations("Pareto front, Top-1 vs " + k.latency_stat + " latency:", r, r.front_accuracy_latency,
                       k.latency_stat, 20);
  print_configurations("Pareto front, peak RSS vs throughput:", r, r.front_memory_throughput, k.latency_stat, 20);
  std::cout << "\n" << r.verdict << "\n";
  if (!f.json_path.empty()) std::cout << "wrote " << f.json_path << "\n";
  return r.best ? 0 : 1;
}

}  // namespace

void add_recommend(CLI::App& app, int* exit_code) {
  auto f = std::make_shared<RecommendFlags>();
  auto* sub = app.add_subcommand(
      "recommend", "From stored rows: the configurations meeting every constraint, the best one, the Pareto fronts");
  sub->add_option("models", f->models, "Model names (as stored by bench and accuracy)")->required();
  sub->add_option("--max-latency-ms", f->constraints.max_latency_ms, "Latency budget in ms (see --latency-stat)");
  sub->add_option("--min-top1", f->constraints.min_top1, "Minimum Top-1, a fraction in [0, 1] (from accuracy rows)");
  sub->add_option("--max-memory-mb", f->constraints.max_memory_mb, "Peak RSS budget in MB");
  sub->add_option("--latency-stat", f->constraints.latency_stat, "Latency statistic: p50 or p99")
      ->capture_default_str();
  sub->add_option("--machine", f->machine, "Only runs whose host name or CPU model contains this");
  sub->add_option("--objective", f->objective, "latency, throughput or energy")->capture_default_str();
  sub->add_option("--json", f->json_path, "Write the recommendation as JSON (inferlab.recommend/1)");
  f->store.add_to(*sub, false);
  f->measure.add_to(*sub);
  sub->callback([=] { *exit_code = run_recommend(*f); });
}

}  // namespace inferlab::cli
