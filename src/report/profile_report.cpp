// Per-layer profiles: JSON for the trip from the worker, the text table
// `bench --profile` prints, and the Chrome trace.
#include <algorithm>
#include <cstdio>
#include <map>
#include <sstream>

#include "inferlab/error.h"
#include "inferlab/profile.h"

namespace inferlab {

namespace {

using nlohmann::json;

std::string format(const char* pattern, double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, pattern, value);
  return buffer;
}

std::string pad_right(std::string text, std::size_t width) {
  if (text.size() < width) text.append(width - text.size(), ' ');
  return text;
}

std::string pad_left(const std::string& text, std::size_t width) {
  return text.size() < width ? std::string(width - text.size(), ' ') + text : text;
}

}  // namespace

double SessionProfile::layers_ms_per_run() const {
  if (runs <= 0) return 0;
  double total = 0;
  for (const auto& l : layers) total += l.total_ms;
  return total / static_cast<double>(runs);
}

json to_json(const SessionProfile& p) {
  json layers = json::array(), events = json::array();
  for (const auto& l : p.layers) {
    layers.push_back({{"name", l.name},
                      {"op", l.op},
                      {"implementation", l.implementation},
                      {"fused", l.fused},
                      {"total_ms", l.total_ms},
                      {"runs", l.runs}});
  }
  // Events as compact rows: [layer, run, start_us, duration_us].
  for (const auto& e : p.events) events.push_back({e.layer, e.run, e.start_us, e.duration_us});
  return json{{"runs", p.runs}, {"note", p.note}, {"layers", layers}, {"events", events}};
}

SessionProfile session_profile_from_json(const json& j) {
  try {
    SessionProfile p;
    p.runs = j.at("runs");
    p.note = j.value("note", "");
    for (const auto& l : j.at("layers")) {
      p.layers.push_back(
          {l.at("name"), l.at("op"), l.at("implementation"), l.value("fused", ""), l.at("total_ms"), l.at("runs")});
    }
    for (const auto& e : j.at("events")) {
      LayerEvent event{e.at(0), e.at(1), e.at(2), e.at(3)};
      if (event.layer < 0 || static_cast<std::size_t>(event.layer) >= p.layers.size())
        throw Error("profile event names layer " + std::to_string(event.layer) + " of " +
                    std::to_string(p.layers.size()));
      p.events.push_back(event);
    }
    return p;
  } catch (const json::exception& e) {
    throw Error(std::string("malformed profile: ") + e.what(), ErrorKind::kRuntime);
  }
}

std::string render_profile_text(const SessionProfile& p) {
  std::ostringstream out;
  const double per_run_ms = p.layers_ms_per_run();
  std::size_t name_width = 5, impl_width = 14;
  for (const auto& l : p.layers) {
    name_width = std::max(name_width, std::min<std::size_t>(l.name.size(), 48));
    impl_width = std::max(impl_width, std::min<std::size_t>(l.implementation.size(), 40));
  }
  out << pad_right("#", 5) << pad_right("layer", name_width + 2) << pad_left("ms/run", 9) << pad_left("share", 8)
      << "  "
      << "implementation\n";
  for (std::size_t i = 0; i < p.layers.size(); ++i) {
    const auto& l = p.layers[i];
    std::string name = l.name.size() > 48 ? l.name.substr(0, 45) + "..." : l.name;
    if (!l.fused.empty()) name += " +" + l.fused;
    const double share = per_run_ms > 0 ? 100.0 * l.mean_ms() / per_run_ms : 0;
    out << pad_right(std::to_string(i), 5) << pad_right(name, name_width + 2)
        << pad_left(format("%.4f", l.mean_ms()), 9) << pad_left(format("%.1f%%", share), 8) << "  " << l.implementation
        << '\n';
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
  out << "\nby op type:\n";
  for (const auto& [op, totals] : ops) {
    const double share = per_run_ms > 0 ? 100.0 * totals.first / per_run_ms : 0;
    out << "  " << pad_right(op, 22) << pad_left(format("%.4f", totals.first), 9) << " ms"
        << pad_left(format("%.1f%%", share), 8) << "  (" << totals.second
        << (totals.second == 1 ? " layer)\n" : " layers)\n");
  }
  out << "layers' sum " << format("%.4f", per_run_ms) << " ms per run over " << p.runs << " profiled runs";
  if (!p.note.empty()) out << "; " << p.note;
  out << '\n';
  return out.str();
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
