// Per-layer profiles (profile.h): the per-run total, and the JSON that
// carries a profile from the worker process to the orchestrator.
#include "inferlab/profile.h"

#include "inferlab/error.h"

namespace inferlab {

namespace {

using nlohmann::json;

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

}  // namespace inferlab
