// The distillation report: terminal tables and the "inferlab.distill/1" JSON.
#include <sstream>

#include "inferlab/distill.h"
#include "report/table_grid.h"

namespace inferlab {

namespace {

using report_detail::fixed;
using report_detail::text_table;

const BenchResult* row_for(const std::vector<BenchResult>& rows, const std::string& model, const std::string& backend) {
  for (const auto& r : rows) {
    if ((model.empty() || r.model == model) && r.backend == backend) return &r;
  }
  return nullptr;
}

std::string top1_text(const DistilledModel& m, const std::string& backend) {
  const BenchResult* r = row_for(m.accuracy, "", backend);
  if (!r) return "-";
  if (!r->ok() || !r->accuracy) return result_status_name(r->status);
  return fixed(r->accuracy->top1 * 100.0, 2) + "%";
}

// Model names in latency rows are the ResolvedModel names run_distill gave.
std::string model_name(const DistillReport& r, const DistilledModel& m) {
  return m.role == "teacher" ? r.teacher : r.teacher + "." + m.role;
}

}  // namespace

std::string render_distill_report(const DistillReport& r) {
  std::ostringstream out;
  out << "distill " << r.teacher << " -> " << r.student << " on " << r.dataset << " (T " << fixed(r.temperature, 2)
      << ", alpha " << fixed(r.alpha, 2) << ", " << r.epochs << " epochs, seed " << r.seed << ")\n\n";
  std::vector<std::string> backends;
  if (!r.models.empty()) {
    for (const auto& row : r.models.front().accuracy) backends.push_back(row.backend);
  }
  std::vector<std::vector<std::string>> rows{{"model", "parameters", "file (bytes)", "FLOPs", "train (s)"}};
  for (const auto& b : backends) rows.front().push_back("top-1 " + b);
  for (const auto& m : r.models) {
    std::vector<std::string> row{m.role, std::to_string(m.parameters), std::to_string(m.size_bytes),
                                 std::to_string(m.flops_per_sample),
                                 m.role == "teacher" ? "-" : fixed(m.train_seconds, 1)};
    for (const auto& b : backends) row.push_back(top1_text(m, b));
    rows.push_back(row);
  }
  out << text_table(rows);
  if (!r.latency.empty()) {
    out << "\nlatency at batch 1 (p50 ms; speedup = teacher / student)\n";
    std::vector<std::vector<std::string>> lat{{"backend", "teacher", "distilled", "labels-only", "speedup"}};
    for (const auto& b : backends) {
      std::vector<std::string> row{b};
      double teacher_ms = 0, student_ms = 0;
      for (const auto& m : r.models) {
        const BenchResult* l = row_for(r.latency, model_name(r, m), b);
        if (!l || !l->ok() || !l->latency) {
          row.push_back(l ? result_status_name(l->status) : "-");
          continue;
        }
        row.push_back(fixed(l->latency->p50_ms, 4));
        if (m.role == "teacher") teacher_ms = l->latency->p50_ms;
        if (m.role == "distilled") student_ms = l->latency->p50_ms;
      }
      row.push_back(teacher_ms > 0 && student_ms > 0 ? fixed(teacher_ms / student_ms, 2) + "x" : "-");
      lat.push_back(row);
    }
    out << text_table(lat);
  }
  out << "\ntraining: " << fixed(r.training_seconds, 1) << " s (both students, 1 thread)\n";
  for (const auto& n : r.notes) out << "note: " << n << '\n';
  for (const auto& m : r.models) {
    if (m.role != "teacher") out << "wrote " << m.onnx_path << " and " << m.torchscript_path << '\n';
  }
  return out.str();
}

nlohmann::json to_json(const DistillReport& r) {
  nlohmann::json j;
  j["schema"] = "inferlab.distill/1";
  j["teacher"] = r.teacher;
  j["student"] = r.student;
  j["dataset"] = r.dataset;
  j["eval_dataset"] = r.eval_dataset;
  j["temperature"] = r.temperature;
  j["alpha"] = r.alpha;
  j["epochs"] = r.epochs;
  j["seed"] = r.seed;
  j["models"] = nlohmann::json::array();
  for (const auto& m : r.models) {
    nlohmann::json accuracy = nlohmann::json::array();
    for (const auto& a : m.accuracy) accuracy.push_back(to_json(a));
    j["models"].push_back({{"role", m.role},
                           {"onnx", m.onnx_path},
                           {"torchscript", m.torchscript_path},
                           {"parameters", m.parameters},
                           {"size_bytes", m.size_bytes},
                           {"flops_per_sample", m.flops_per_sample},
                           {"train_seconds", m.train_seconds},
                           {"accuracy", accuracy}});
  }
  j["latency"] = nlohmann::json::array();
  for (const auto& l : r.latency) j["latency"].push_back(to_json(l));
  j["training"] = r.training;
  j["training_seconds"] = r.training_seconds;
  j["notes"] = r.notes;
  return j;
}

}  // namespace inferlab
