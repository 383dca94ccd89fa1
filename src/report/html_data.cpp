// The data an HTML report plots. Everything derived (CDF points, Pareto
// fronts, the accuracy join) is computed here, in C++, so the page script only
// draws, and the figures are the ones `recommend` uses.
#include <algorithm>
#include <map>

#include "inferlab/html_report.h"
#include "inferlab/recommend.h"

namespace inferlab {

namespace {

constexpr std::size_t kCdfPointsPerRow = 200;
constexpr std::size_t kProfileLayersPerRow = 15;

nlohmann::json opt(const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(); }

std::string row_label(const BenchResult& r, std::int64_t run_id) {
  return r.model + " " + r.backend + " " + r.precision + " b" + std::to_string(r.batch) + " t" +
         std::to_string(r.threads) + " (run " + std::to_string(run_id) + ")";
}

// What a row measured: "accuracy", "heart-rate" (rppg-eval), "live" or
// "bench"; only bench rows go into the bench charts.
const char* row_kind(const BenchResult& r) {
  if (r.accuracy) return "accuracy";
  if (r.heart_rate) return "heart-rate";
  if (r.scenario == "live") return "live";
  return "bench";
}

nlohmann::json row_json(const StoredRow& row) {
  const BenchResult& r = row.result;
  nlohmann::json j = {{"run_id", row.run_id},
                      {"label", row_label(r, row.run_id)},
                      {"kind", row_kind(r)},
                      {"model", r.model},
                      {"backend", r.backend},
                      {"precision", r.precision},
                      {"batch", r.batch},
                      {"threads", r.threads},
                      {"scenario", r.scenario},
                      {"status", result_status_name(r.status)},
                      {"reason", r.reason},
                      {"valid", r.valid},
                      {"invalid_reason", r.invalid_reason},
                      {"throughput_per_s", r.throughput_per_s},
                      {"count", r.count},
                      {"energy_mj_per_inference", opt(r.energy_mj_per_inference)}};
  j["p50_ms"] = r.latency ? nlohmann::json(r.latency->p50_ms) : nlohmann::json();
  j["p99_ms"] = r.latency ? nlohmann::json(r.latency->p99_ms) : nlohmann::json();
  j["mean_ms"] = r.latency ? nlohmann::json(r.latency->mean_ms) : nlohmann::json();
  j["peak_rss_mb"] = r.memory ? nlohmann::json(r.memory->peak_rss_mb) : nlohmann::json();
  j["top1"] = r.accuracy ? nlohmann::json(r.accuracy->top1) : nlohmann::json();
  j["top5"] = r.accuracy ? nlohmann::json(r.accuracy->top5) : nlohmann::json();
  j["dataset"] = r.accuracy ? r.accuracy->dataset : "";
  return j;
}

// At most kCdfPointsPerRow points of the empirical CDF, evenly spaced in rank.
void add_cdf(const StoredRow& row, nlohmann::json& out) {
  std::vector<float> s = row.result.latency_samples_ms;
  if (s.empty()) return;
  std::sort(s.begin(), s.end());
  const std::size_t n = s.size(), points = std::min(n, kCdfPointsPerRow);
  const std::string label = row_label(row.result, row.run_id);
  for (std::size_t k = 0; k < points; ++k) {
    const std::size_t i = points == 1 ? n - 1 : k * (n - 1) / (points - 1);
    out.push_back({{"series", label},
                   {"backend", row.result.backend},
                   {"latency_ms", s[i]},
                   {"fraction", static_cast<double>(i + 1) / static_cast<double>(n)}});
  }
}

void add_profile(const StoredRow& row, nlohmann::json& out) {
  if (!row.result.profile || row.result.profile->layers.empty()) return;
  std::vector<LayerProfile> layers = row.result.profile->layers;
  std::stable_sort(layers.begin(), layers.end(),
                   [](const LayerProfile& a, const LayerProfile& b) { return a.mean_ms() > b.mean_ms(); });
  if (layers.size() > kProfileLayersPerRow) layers.resize(kProfileLayersPerRow);
  nlohmann::json bars = nlohmann::json::array();
  for (std::size_t i = 0; i < layers.size(); ++i) {
    bars.push_back({{"rank", i + 1},
                    {"layer", std::to_string(i + 1) + ". " + layers[i].name.substr(0, 48)},
                    {"op", layers[i].op},
                    {"implementation", layers[i].implementation},
                    {"mean_ms", layers[i].mean_ms()}});
  }
  out.push_back({{"label", row_label(row.result, row.run_id)}, {"layers", bars}});
}

// One point per stage of a successful live row: what the live chart plots.
void add_live_stages(const StoredRow& row, nlohmann::json& out) {
  const BenchResult& r = row.result;
  if (!r.live || !r.ok()) return;
  const std::string series = r.backend + " (run " + std::to_string(row.run_id) + ")";
  for (const auto& s : r.live->stages) {
    out.push_back({{"series", series},
                   {"run_id", row.run_id},
                   {"backend", r.backend},
                   {"model", r.model},
                   {"method", r.live->method},
                   {"stage", s.stage},
                   {"count", s.count},
                   {"mean_ms", s.mean_ms},
                   {"p50_ms", s.p50_ms},
                   {"p90_ms", s.p90_ms},
                   {"p99_ms", s.p99_ms},
                   {"max_ms", s.max_ms}});
  }
}

nlohmann::json chart(const std::string& id, const std::string& title, const std::string& why_missing) {
  return {{"id", id}, {"title", title}, {"why_missing", why_missing}};
}

}  // namespace

nlohmann::json report_data(const ReportInput& input) {
  nlohmann::json runs = nlohmann::json::array(), rows = nlohmann::json::array();
  nlohmann::json cdf = nlohmann::json::array(), profiles = nlohmann::json::array();
  nlohmann::json live_stages = nlohmann::json::array(), live_stage_order = nlohmann::json::array();
  for (const auto& r : input.runs) {
    runs.push_back({{"id", r.run.id},
                    {"verb", r.run.verb},
                    {"started_at", r.run.env.started_at},
                    {"hostname", r.run.hostname},
                    {"cpu_model", r.run.env.cpu_model},
                    {"cores", r.run.env.cores},
                    {"power_sensor", r.run.power_sensor},
                    {"git_revision", r.run.env.git_revision},
                    {"command_line", r.run.command_line},
                    {"tags", r.tags},
                    {"rows", r.rows}});
  }
  bool any_memory = false, any_bench = false;
  for (const auto& row : input.rows) {
    rows.push_back(row_json(row));
    if (row.result.ok()) add_cdf(row, cdf);
    add_profile(row, profiles);
    add_live_stages(row, live_stages);
    any_bench = any_bench || (std::string(row_kind(row.result)) == "bench" && row.result.ok());
    any_memory = any_memory || (row.result.memory && row.result.ok());
  }

  const Recommendation rec = recommend(collect_configurations(input.rows), Constraints{}, Objective::kLatency);
  nlohmann::json configs = nlohmann::json::array();
  for (std::size_t i = 0; i < rec.configurations.size(); ++i) {
    nlohmann::json c = to_json(rec.configurations[i]);
    c["label"] = rec.configurations[i].label();
    c["front_accuracy_latency"] =
        std::count(rec.front_accuracy_latency.begin(), rec.front_accuracy_latency.end(), i) > 0;
    c["front_memory_throughput"] =
        std::count(rec.front_memory_throughput.begin(), rec.front_memory_throughput.end(), i) > 0;
    configs.push_back(c);
  }
  const bool any_top1 = !rec.front_accuracy_latency.empty();

  nlohmann::json charts = nlohmann::json::array();
  charts.push_back(chart("latency-cdf", "Latency CDF per configuration",
                         cdf.empty() ? "no stored raw latency samples in these rows" : ""));
  charts.push_back(chart("throughput-batch", "Throughput vs batch", any_bench ? "" : "no successful bench rows"));
  charts.push_back(chart("memory", "Peak RSS per configuration", any_memory ? "" : "no rows with memory figures"));
  charts.push_back(chart("pareto-accuracy", "Pareto front: Top-1 vs p99 latency",
                         any_top1 ? ""
                                  : "no bench row has a matching accuracy row (same model, backend, precision): "
                                    "run inferlab accuracy"));
  charts.push_back(chart("pareto-memory", "Pareto front: peak RSS vs throughput",
                         rec.front_memory_throughput.empty() ? "no bench rows with memory figures" : ""));
  for (std::size_t i = 0; i < profiles.size(); ++i) {
    charts.push_back(
        chart("profile-" + std::to_string(i), "Slowest layers: " + profiles[i]["label"].get<std::string>(), ""));
  }
  if (profiles.empty()) {
    charts.push_back(chart("profile", "Per-layer profile", "no row has a per-layer profile (bench --profile)"));
  }
  // Stages in pipeline order, as the rows list them (every live row lists them in that order).
  for (const auto& point : live_stages) {
    if (std::find(live_stage_order.begin(), live_stage_order.end(), point["stage"]) == live_stage_order.end()) {
      live_stage_order.push_back(point["stage"]);
    }
  }
  charts.push_back(chart("live-stages", "Live stage timings per backend: p50 (dot) to p99 (tick)",
                         live_stages.empty() ? "no successful live run among these runs (inferlab live records "
                                               "one; pick it with --runs)"
                                             : ""));
  return {{"schema", "inferlab.report-data/1"},
          {"title", input.title},
          {"generated_at", iso8601_utc_now()},
          {"runs", runs},
          {"rows", rows},
          {"cdf", cdf},
          {"profiles", profiles},
          {"live_stages", live_stages},
          {"live_stage_order", live_stage_order},
          {"configurations", configs},
          {"charts", charts}};
}

}  // namespace inferlab
