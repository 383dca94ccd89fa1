// Result tables. Cells always show what was measured; a cell that could not
// be measured says so and points at a footnote with the reason.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <sstream>
#include <type_traits>
#include <variant>

#include "inferlab/report.h"
#include "report/table_grid.h"

namespace inferlab {

namespace {

using namespace report_detail;

// Enough significant digits to compare backends, not more.
std::string ms_text(double ms) { return fixed(ms, ms < 1 ? 3 : ms < 100 ? 2 : 1); }

std::string validation_mark(const BenchResult& r, Footnotes& notes) {
  if (!r.validation || r.validation->within_tolerance) return "";
  std::ostringstream text;
  text << r.model << " x " << r.backend << " batch " << r.batch << ": outputs disagree with " << r.validation->reference
       << " (max |diff| " << r.validation->max_abs_diff << ", cosine " << r.validation->cosine << ")";
  return " !" + notes.mark(text.str());
}

// LoadGen's validity verdict: a run cut by --max-duration-ms before its
// minimums is shown, but marked, so nobody reads it as a full measurement.
std::string validity_mark(const BenchResult& r, Footnotes& notes) {
  if (r.valid) return "";
  return " *" + notes.mark(r.model + " x " + r.backend + " batch " + std::to_string(r.batch) +
                           ": invalid run: " + r.invalid_reason);
}

}  // namespace

BenchTables build_bench_tables(const std::vector<BenchResult>& results) {
  BenchTables out;
  out.preamble =
      "Reference models carry seeded weights, not trained ones: timings and memory are those of the "
      "architectures; their outputs are not meaningful predictions.";
  if (results.empty()) return out;
  Grid grid(results);
  Footnotes notes;

  // Latency: batch 1, single-stream preferred over an offline batch-1 point.
  auto latency_pick = [](const BenchResult& r, const BenchResult* current) {
    if (r.batch != 1) return false;
    return current == nullptr || (r.scenario == "single-stream" && current->scenario != "single-stream");
  };
  auto latency_cell = [](const BenchResult& r, Footnotes& n) {
    return ms_text(r.latency->p50_ms) + " [" + ms_text(r.latency->ci95_p50_lo_ms) + ", " +
           ms_text(r.latency->ci95_p50_hi_ms) + "]" + validation_mark(r, n) + validity_mark(r, n);
  };
  out.tables.push_back(grid_table("Inference time at batch 1: p50 ms [95% CI of the median]", results, grid, notes,
                                  latency_pick, latency_cell));

  auto p99_cell = [](const BenchResult& r, Footnotes&) {
    return ms_text(r.latency->p99_ms) + " / " + ms_text(r.latency->max_ms);
  };
  out.tables.push_back(
      grid_table("Tail latency at batch 1: p99 / max ms", results, grid, notes, latency_pick, p99_cell));

  // Maximum throughput: the sweep's best point, or the best measured batch.
  const bool swept = std::any_of(results.begin(), results.end(), [](const BenchResult& r) { return r.sweep_best; });
  auto throughput_pick = [swept](const BenchResult& r, const BenchResult* current) {
    if (swept) return r.sweep_best;
    return current == nullptr || r.throughput_per_s > current->throughput_per_s;
  };
  auto throughput_cell = [](const BenchResult& r, Footnotes& n) {
    return fixed(r.throughput_per_s, r.throughput_per_s < 100 ? 1 : 0) + " @ " + std::to_string(r.batch) +
           validity_mark(r, n);
  };
  out.tables.push_back(grid_table(swept ? "Maximum throughput by batch sweep: samples/s @ batch"
                                        : "Throughput, best measured batch: samples/s @ batch",
                                  results, grid, notes, throughput_pick, throughput_cell));

  auto memory_pick = [](const BenchResult& r, const BenchResult* current) {
    return r.memory && (current == nullptr || r.batch < current->batch);
  };
  auto memory_cell = [](const BenchResult& r, Footnotes&) {
    return fixed(r.memory->peak_rss_mb, 0) + " (load +" + fixed(r.memory->load_delta_mb, 0) + ", run +" +
           fixed(r.memory->run_delta_mb, 1) + ")";
  };
  out.tables.push_back(grid_table("Memory at the smallest batch: peak RSS MB (load delta, run delta)", results, grid,
                                  notes, memory_pick, memory_cell));

  out.footnotes = notes.lines();
  for (const auto& r : results) {
    if (!r.ok()) continue;
    out.footnotes.push_back(
        "power: " +
        (r.power_w_avg
             ? fixed(*r.power_w_avg, 1) + " W average (" +
                   (r.energy_source ? r.energy_source->method + ": " + r.energy_source->sensor : r.power_note) + ")"
             : r.power_note));
    break;
  }
  std::set<std::string> forms;
  for (const auto& r : results) {
    if (r.ok() && !r.model_form.empty())
      forms.insert(r.backend + " ran " + r.model_form + "; timed region: " + r.timed_region);
  }
  for (const auto& f : forms) out.footnotes.push_back(f);
  return out;
}

std::string render_text(const BenchTables& tables) {
  std::ostringstream out;
  for (const auto& table : tables.tables) {
    std::vector<std::size_t> widths(table.header.size(), 0);
    auto measure = [&](const std::vector<std::string>& row) {
      for (std::size_t i = 0; i < row.size() && i < widths.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
    };
    measure(table.header);
    for (const auto& row : table.rows) measure(row);
    auto line = [&](const std::vector<std::string>& row) {
      for (std::size_t i = 0; i < row.size(); ++i) {
        out << (i == 0 ? "" : "  ") << row[i] << std::string(widths[i] - row[i].size(), ' ');
      }
      out << '\n';
    };
    out << table.title << '\n';
    line(table.header);
    std::size_t total = 0;
    for (auto w : widths) total += w + 2;
    out << std::string(total > 2 ? total - 2 : 0, '-') << '\n';
    for (const auto& row : table.rows) line(row);
    out << '\n';
  }
  for (const auto& note : tables.footnotes) out << note << '\n';
  return out.str();
}

std::string render_markdown(const BenchTables& tables, const Environment& env) {
  std::ostringstream out;
  out << "# " << tables.title << "\n\n";
  if (!tables.preamble.empty()) out << tables.preamble << "\n\n";
  for (const auto& table : tables.tables) {
    out << "## " << table.title << "\n\n|";
    for (const auto& h : table.header) out << ' ' << h << " |";
    out << "\n|";
    for (std::size_t i = 0; i < table.header.size(); ++i) out << (i == 0 ? " --- |" : " ---: |");
    out << '\n';
    for (const auto& row : table.rows) {
      out << '|';
      for (const auto& cell : row) out << ' ' << cell << " |";
      out << '\n';
    }
    out << '\n';
  }
  if (!tables.footnotes.empty()) {
    out << "## Notes\n\n";
    for (const auto& note : tables.footnotes) out << "- " << note << '\n';
    out << '\n';
  }
  out << "## Environment\n\n";
  out << "- CPU: " << env.cpu_model << " (" << env.cores << " logical CPUs)\n";
  out << "- ISA:";
  for (const auto& f : env.isa) out << ' ' << f;
  out << "\n- governor: " << env.governor << "\n- OS: " << env.os << "\n- compiler: " << env.compiler << '\n';
  for (const auto& [lib, version] : env.libraries) out << "- " << lib << ": " << version << '\n';
  out << "- git revision: " << env.git_revision << "\n- started at: " << env.started_at << '\n';
  return out.str();
}

namespace {

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

// Non-finite figures stay empty cells.
std::string number_or_empty(double value) {
  if (!std::isfinite(value)) return "";
  std::ostringstream out;
  out.precision(9);
  out << value;
  return out.str();
}

std::string csv_cell(const FlatValue& value) {
  return std::visit(
      [](const auto& v) -> std::string {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          return "";
        } else if constexpr (std::is_same_v<T, bool>) {
          return v ? "true" : "false";
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
          return std::to_string(v);
        } else if constexpr (std::is_same_v<T, double>) {
          return number_or_empty(v);
        } else {
          return csv_field(v);
        }
      },
      value);
}

}  // namespace

// The field table's CSV view (result_fields.h): header and cells in its order.
std::string render_csv(const std::vector<BenchResult>& results) {
  std::ostringstream out;
  std::string header;
  for (const FlatCell& cell : csv_columns(BenchResult{}))
    header += (header.empty() ? "" : ",") + std::string(cell.column);
  out << header << '\n';
  for (const auto& r : results) {
    bool first = true;
    for (const FlatCell& cell : csv_columns(r)) {
      if (!first) out << ',';
      first = false;
      out << csv_cell(cell.value);
    }
    out << '\n';
  }
  return out.str();
}

}  // namespace inferlab
