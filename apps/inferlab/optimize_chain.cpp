#include "optimize_chain.h"

#include <filesystem>
#include <iomanip>
#include <sstream>

namespace inferlab::cli {

namespace {

// The first backend with both figures for `model`, so Top-1 and p50 in one
// summary row come from the same engine.
void fill_figures(ChainStepSummary& s, const std::string& model, const std::vector<BenchResult>& accuracy,
                  const std::vector<BenchResult>& latency) {
  auto p50_of = [&](const std::string& backend) -> std::optional<double> {
    for (const auto& row : latency) {
      if (row.model == model && row.backend == backend && row.ok() && row.latency) return row.latency->p50_ms;
    }
    return std::nullopt;
  };
  for (const auto& row : accuracy) {
    if (!row.ok() || !row.accuracy) continue;
    s.backend = row.backend;
    s.top1_after = row.accuracy->top1;
    s.p50_ms_after = p50_of(row.backend);
    return;
  }
  for (const auto& row : latency) {
    if (row.model == model && row.ok() && row.latency) {
      s.backend = row.backend;
      s.p50_ms_after = row.latency->p50_ms;
      return;
    }
  }
}

std::string fixed(double value, int digits) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(digits) << value;
  return out.str();
}

}  // namespace

ChainStepSummary summarize_step(const OptimizeReport& report, const std::string& label) {
  ChainStepSummary s;
  s.label = label;
  s.input_path = report.input_path;
  s.output_path = report.output_path;
  s.parameters_after = report.parameters_after;
  s.size_bytes_after = report.size_bytes_after;
  // The optimizer's accuracy rows carry before and after per backend.
  for (const auto& change : report.accuracy) {
    if (change.status == ResultStatus::kOk && change.top1_after) {
      s.backend = change.backend;
      s.top1_after = change.top1_after;
      break;
    }
  }
  for (const auto& row : report.latency) {
    bool optimized_row = row.model != report.model;
    if (optimized_row && row.ok() && row.latency && (s.backend.empty() || row.backend == s.backend)) {
      if (s.backend.empty()) s.backend = row.backend;
      s.p50_ms_after = row.latency->p50_ms;
      break;
    }
  }
  return s;
}

ChainStepSummary summarize_step(const DistillReport& report, const std::string& label, const std::string& input_path,
                                const std::string& output_path) {
  ChainStepSummary s;
  s.label = label;
  s.input_path = input_path;
  s.output_path = output_path;
  for (const auto& m : report.models) {
    if (m.role != "distilled") continue;
    s.parameters_after = m.parameters;
    s.size_bytes_after = m.size_bytes;
    fill_figures(s, report.teacher + ".distilled", m.accuracy, report.latency);
  }
  return s;
}

std::string chain_step_output(const std::string& final_output, std::size_t index, std::size_t count) {
  if (index + 1 >= count) return final_output;
  std::filesystem::path out(final_output);
  std::filesystem::path stem = out.parent_path() / out.stem();
  return stem.string() + ".step" + std::to_string(index + 1) + ".onnx";
}

std::string render_chain_summary(const std::vector<ChainStepSummary>& steps) {
  std::ostringstream out;
  out << "\nrecipe: " << steps.size() << " step(s)\n";
  out << std::left << std::setw(6) << "step" << std::setw(44) << "flags" << std::setw(12) << "parameters"
      << std::setw(12) << "size KiB" << std::setw(10) << "top-1" << std::setw(12) << "p50 ms"
      << "output\n";
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const auto& s = steps[i];
    std::string top1 = s.top1_after ? fixed(*s.top1_after * 100, 2) + "%" : "-";
    std::string p50 = s.p50_ms_after ? fixed(*s.p50_ms_after, 3) : "-";
    std::string label = s.label.size() > 42 ? s.label.substr(0, 39) + "..." : s.label;
    out << std::left << std::setw(6) << (i + 1) << std::setw(44) << label << std::setw(12) << s.parameters_after
        << std::setw(12) << fixed(s.size_bytes_after / 1024.0, 1) << std::setw(10) << top1 << std::setw(12) << p50
        << s.output_path << '\n';
  }
  if (!steps.empty() && !steps.back().backend.empty()) {
    out << "top-1 and p50 (batch 1) of each step's output on " << steps.back().backend << "\n";
  }
  return out.str();
}

nlohmann::json chain_json(const std::vector<ChainStepSummary>& steps, const std::vector<nlohmann::json>& reports) {
  nlohmann::json doc{{"schema", "inferlab.optimize-chain/1"}, {"steps", nlohmann::json::array()}};
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const auto& s = steps[i];
    nlohmann::json step{{"step", i + 1},
                        {"flags", s.label},
                        {"input", s.input_path},
                        {"output", s.output_path},
                        {"parameters_after", s.parameters_after},
                        {"size_bytes_after", s.size_bytes_after},
                        {"summary_backend", s.backend},
                        {"top1_after", s.top1_after ? nlohmann::json(*s.top1_after) : nlohmann::json(nullptr)},
                        {"p50_ms_after", s.p50_ms_after ? nlohmann::json(*s.p50_ms_after) : nlohmann::json(nullptr)}};
    if (i < reports.size()) step["report"] = reports[i];
    doc["steps"].push_back(step);
  }
  return doc;
}

}  // namespace inferlab::cli
