// The optimize report: terminal tables and the "inferlab.optimize/1" JSON.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

#include "inferlab/optimizer.h"
#include "report/table_grid.h"

namespace inferlab {

namespace {

using report_detail::fixed;
using report_detail::text_table;

std::string percent(const std::optional<double>& fraction) {
  return fraction ? fixed(*fraction * 100.0, 2) + "%" : "-";
}

// Engines' load errors run to hundreds of characters; the table keeps the
// start and the end (where the engine says why), the JSON the whole reason.
std::string brief(const std::string& text) {
  return text.size() <= 90 ? text : text.substr(0, 30) + "..." + text.substr(text.size() - 57);
}

std::string db(double value) { return std::isfinite(value) ? fixed(value, 1) : (value > 0 ? "inf" : "-inf"); }

nlohmann::json optional_json(const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(); }

nlohmann::json finite_or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); }

}  // namespace

std::string render_optimize_report(const OptimizeReport& r) {
  std::ostringstream out;
  out << "optimize " << r.model << ": ";
  for (std::size_t i = 0; i < r.steps.size(); ++i) out << (i ? " -> " : "") << r.steps[i];
  out << "\n\n";
  for (const auto& p : r.passes) {
    out << "  " << p.pass << ": " << p.changed << " change(s)\n";
    const std::size_t shown = std::min<std::size_t>(p.details.size(), 8);
    for (std::size_t i = 0; i < shown; ++i) out << "    " << p.details[i] << '\n';
    if (p.details.size() > shown) out << "    ... " << p.details.size() - shown << " more (see --json)\n";
  }
  out << '\n';
  const auto ratio = [](double a, double b) { return b > 0 ? fixed(a / b, 3) + "x" : std::string("-"); };
  out << text_table({{"", "before", "after", "after/before"},
                     {"file size (bytes)", std::to_string(r.size_bytes_before), std::to_string(r.size_bytes_after),
                      ratio(static_cast<double>(r.size_bytes_after), static_cast<double>(r.size_bytes_before))},
                     {"FLOPs per sample", std::to_string(r.flops_before), std::to_string(r.flops_after),
                      ratio(static_cast<double>(r.flops_after), static_cast<double>(r.flops_before))},
                     {"parameters", std::to_string(r.parameters_before), std::to_string(r.parameters_after),
                      ratio(static_cast<double>(r.parameters_after), static_cast<double>(r.parameters_before))},
                     {"weight sparsity", "", fixed(r.weight_sparsity_after * 100.0, 1) + "%", ""}});
  if (!r.calibration.empty()) out << "\ncalibration: " << r.calibration << '\n';
  if (r.training.is_array()) {
    // The worker's own held-out figure (torch): before each step's
    // fine-tuning and after its last epoch; the accuracy table below is the
    // engines' measurement of the final file.
    out << "\nfine-tuning (" << fixed(r.training_seconds, 1) << " s, 1 thread):\n";
    for (const auto& step : r.training) {
      const auto& f = step["finetune"];
      const auto& epochs = f["epochs"];
      out << "  step " << step["step"].get<int>() << "/" << step["steps"].get<int>() << ": held-out top-1 (torch) "
          << fixed(f.value("heldout_top1_before", 0.0) * 100.0, 2) << "% pruned -> "
          << (epochs.empty() ? std::string("-") : fixed(epochs.back().value("heldout_top1", 0.0) * 100.0, 2) + "%")
          << " after " << epochs.size() << " epoch(s), " << fixed(f.value("wall_seconds", 0.0), 1) << " s\n";
    }
  }
  if (!r.accuracy.empty()) {
    out << '\n';
    std::vector<std::vector<std::string>> rows{
        {"accuracy", "top-1 before", "top-1 after", "drop (pts)", "top-5 before", "top-5 after", "status"}};
    for (const auto& a : r.accuracy) {
      rows.push_back(
          {a.backend, percent(a.top1_before), percent(a.top1_after), a.top1_drop_pts ? fixed(*a.top1_drop_pts, 2) : "-",
           percent(a.top5_before), percent(a.top5_after),
           a.status == ResultStatus::kOk ? a.execution : brief(result_status_name(a.status) + (": " + a.reason))});
    }
    out << text_table(rows);
  }
  if (!r.latency.empty()) {
    out << '\n';
    std::vector<std::vector<std::string>> rows{{"latency batch 1", "model", "p50 ms", "status"}};
    for (const auto& l : r.latency) {
      rows.push_back({l.backend, l.model, l.ok() && l.latency ? fixed(l.latency->p50_ms, 3) : "-",
                      l.ok() ? l.model_format : brief(result_status_name(l.status) + (": " + l.reason))});
    }
    out << text_table(rows);
  }
  if (!r.sensitivity.empty()) {
    out << '\n';
    std::vector<std::vector<std::string>> rows{
        {"int8 layer (most sensitive first)", "op", "weight SQNR dB", "output SQNR dB", "precision"}};
    for (const auto& s : r.sensitivity) {
      rows.push_back({s.node, s.op, db(s.weight_sqnr_db), db(s.output_sqnr_db), s.kept_fp32 ? "fp32 (gate)" : "int8"});
    }
    out << text_table(rows);
  }
  if (!r.calibration_choices.empty()) {
    std::map<std::string, int> chosen;
    for (const auto& c : r.calibration_choices) ++chosen[calibrator_name(c.chosen)];
    out << "auto calibration, chosen per activation by output SQNR:";
    for (const auto& [name, count] : chosen) out << ' ' << name << " x" << count;
    out << '\n';
  }
  for (const auto& l : r.left_in_fp32) out << "fp32: " << l << '\n';
  if (r.budget_held) {
    out << "\naccuracy budget " << fixed(*r.max_top1_drop_pts, 2)
        << " pts top-1: " << (*r.budget_held ? "held" : "BROKEN") << '\n';
  }
  for (const auto& n : r.notes) out << "note: " << n << '\n';
  out << "wrote " << r.output_path << '\n';
  if (!r.torchscript_path.empty()) out << "wrote " << r.torchscript_path << '\n';
  return out.str();
}

nlohmann::json to_json(const OptimizeReport& r) {
  nlohmann::json j;
  j["schema"] = "inferlab.optimize/1";
  j["model"] = r.model;
  j["input"] = r.input_path;
  j["output"] = r.output_path;
  j["steps"] = r.steps;
  j["passes"] = nlohmann::json::array();
  for (const auto& p : r.passes)
    j["passes"].push_back({{"pass", p.pass}, {"changed", p.changed}, {"details", p.details}});
  j["size_bytes"] = {{"before", r.size_bytes_before}, {"after", r.size_bytes_after}};
  j["flops_per_sample"] = {{"before", r.flops_before}, {"after", r.flops_after}};
  j["parameters"] = {{"before", r.parameters_before}, {"after", r.parameters_after}};
  j["weight_sparsity"] = r.weight_sparsity_after;
  j["calibration"] = r.calibration.empty() ? nlohmann::json() : nlohmann::json(r.calibration);
  j["preprocess_source"] = r.preprocess_source;
  j["accuracy"] = nlohmann::json::array();
  for (const auto& a : r.accuracy) {
    j["accuracy"].push_back({{"backend", a.backend},
                             {"status", result_status_name(a.status)},
                             {"reason", a.reason},
                             {"execution", a.execution},
                             {"top1_before", optional_json(a.top1_before)},
                             {"top1_after", optional_json(a.top1_after)},
                             {"top5_before", optional_json(a.top5_before)},
                             {"top5_after", optional_json(a.top5_after)},
                             {"top1_drop_pts", optional_json(a.top1_drop_pts)}});
  }
  j["latency"] = nlohmann::json::array();
  for (const auto& l : r.latency) j["latency"].push_back(to_json(l));
  j["layers"] = nlohmann::json::array();
  for (const auto& s : r.sensitivity) {
    j["layers"].push_back({{"node", s.node},
                           {"op", s.op},
                           {"weight_sqnr_db", finite_or_null(s.weight_sqnr_db)},
                           {"output_sqnr_db", finite_or_null(s.output_sqnr_db)},
                           {"precision", s.kept_fp32 ? "fp32" : "int8"}});
  }
  j["calibration_choices"] = nlohmann::json::array();
  for (const auto& c : r.calibration_choices) {
    nlohmann::json sqnr;
    for (const auto& [name, db_value] : c.output_sqnr_db) sqnr[name] = finite_or_null(db_value);
    j["calibration_choices"].push_back({{"activation", c.activation},
                                        {"calibrator", calibrator_name(c.chosen)},
                                        {"threshold", c.threshold},
                                        {"output_sqnr_db", sqnr}});
  }
  j["left_in_fp32"] = r.left_in_fp32;
  j["max_top1_drop_pts"] = optional_json(r.max_top1_drop_pts);
  j["budget_held"] = r.budget_held ? nlohmann::json(*r.budget_held) : nlohmann::json();
  j["notes"] = r.notes;
  j["training"] = r.training;
  j["training_seconds"] = r.training.is_null() ? nlohmann::json() : nlohmann::json(r.training_seconds);
  j["torchscript"] = r.torchscript_path.empty() ? nlohmann::json() : nlohmann::json(r.torchscript_path);
  return j;
}

}  // namespace inferlab
