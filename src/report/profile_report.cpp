// Per-layer profiles as `bench --profile` shows them: the text table and the
// Chrome trace (their JSON for the trip from the worker is src/backends/profile.cpp).
#include <algorithm>
#include <map>

#include "inferlab/profile_report.h"
#include "table_grid.h"

namespace inferlab {

namespace {

using nlohmann::json;

using report_detail::fixed;
using report_detail::text_table;

}  // namespace

std::string render_profile_text(const SessionProfile& p) {
  const double per_run_ms = p.layers_ms_per_run();
  auto share = [&](double ms) { return fixed(per_run_ms > 0 ? 100.0 * ms / per_run_ms : 0, 1) + "%"; };
  std::vector<std::vector<std::string>> rows{{"#", "layer", "ms/run", "share", "implementation"}};
  for (std::size_t i = 0; i < p.layers.size(); ++i) {
    const auto& l = p.layers[i];
    std::string name = l.name.size() > 48 ? l.name.substr(0, 45) + "..." : l.name;
    if (!l.fused.empty()) name += " +" + l.fused;
    rows.push_back({std::to_string(i), name, fixed(l.mean_ms(), 4), share(l.mean_ms()), l.implementation});
  }
  // Totals per op type, largest first, as benchmark_app's per-type counters.
  std::map<std::string, std::pair<double, int>> by_op;
  for (const auto& l : p.layers) {
    auto& [ms, count] = by_op[l.op];
    ms += l.mean_ms();
    ++count;
  }
  std::vector<std::pair<std::string, std::pair<double, int>>> ops(by_op.begin(), by_op.end());
  std::sort(ops.begin(), ops.end(), [](const auto& a, const auto& b) { return a.second.first > b.second.first; });
  std::vector<std::vector<std::string>> op_rows;
  for (const auto& [op, totals] : ops) {
    // Appended piece by piece: GCC 12 warns falsely (-Wrestrict) on "(" + to_string().
    std::string count = "(";
    count.append(std::to_string(totals.second)).append(totals.second == 1 ? " layer)" : " layers)");
    op_rows.push_back({"  " + op, fixed(totals.first, 4) + " ms", share(totals.first), count});
  }
  std::string out = text_table(rows, "llrrl") + "\nby op type:\n" + text_table(op_rows, "lrrl");
  out += "layers' sum " + fixed(per_run_ms, 4) + " ms per run over " + std::to_string(p.runs) + " profiled runs";
  if (!p.note.empty()) out += "; " + p.note;
  return out + '\n';
}

json chrome_trace(const SessionProfile& p, const std::string& title) {
  json events = json::array();
  events.push_back({{"name", "process_name"}, {"ph", "M"}, {"pid", 1}, {"tid", 1}, {"args", {{"name", title}}}});
  events.push_back({{"name", "thread_name"}, {"ph", "M"}, {"pid", 1}, {"tid", 1}, {"args", {{"name", "layers"}}}});
  for (const auto& e : p.events) {
    const LayerProfile& l = p.layers[static_cast<std::size_t>(e.layer)];
    events.push_back({{"name", l.name},
                      {"cat", l.op},
                      {"ph", "X"},
                      {"ts", e.start_us},
                      {"dur", e.duration_us},
                      {"pid", 1},
                      {"tid", 1},
                      {"args", {{"implementation", l.implementation}, {"fused", l.fused}, {"run", e.run}}}});
  }
  return json{{"traceEvents", events}, {"displayTimeUnit", "ms"}, {"otherData", {{"title", title}, {"note", p.note}}}};
}

}  // namespace inferlab
