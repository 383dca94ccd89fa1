#include "ort_profile.h"

#include <algorithm>
#include <map>
#include <vector>

#include "inferlab/error.h"

namespace inferlab::ort {

namespace {

constexpr const char* kKernelSuffix = "_kernel_time";

struct Interval {
  double start_us = 0;
  double end_us = 0;
};

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

SessionProfile profile_from_ort_json(const nlohmann::json& events, int skip_runs) {
  if (!events.is_array()) throw Error("onnxruntime profile: expected a JSON array of trace events");
  std::vector<Interval> runs;
  for (const auto& event : events) {
    if (event.value("cat", "") == "Session" && event.value("name", "") == "model_run") {
      const double ts = event.value("ts", 0.0);
      runs.push_back({ts, ts + event.value("dur", 0.0)});
    }
  }
  std::sort(runs.begin(), runs.end(), [](const Interval& a, const Interval& b) { return a.start_us < b.start_us; });
  if (static_cast<int>(runs.size()) <= skip_runs) {
    throw Error("onnxruntime profile: " + std::to_string(runs.size()) + " model_run event(s), expected more than " +
                std::to_string(skip_runs));
  }
  runs.erase(runs.begin(), runs.begin() + skip_runs);
  const double origin_us = runs.front().start_us;

  SessionProfile profile;
  profile.runs = static_cast<std::int64_t>(runs.size());
  profile.note =
      "ONNX Runtime's own profiler (SessionOptions::EnableProfiling): each node's kernel time as ORT records it, "
      "after ORT's graph optimizations (fused nodes carry ORT's names); the first profiled run is a warm-up and left "
      "out";
  std::map<std::string, std::int32_t> index_of;
  for (const auto& event : events) {
    if (event.value("cat", "") != "Node") continue;
    const std::string name = event.value("name", "");
    if (!ends_with(name, kKernelSuffix)) continue;
    const double ts = event.value("ts", 0.0);
    const auto run =
        std::find_if(runs.begin(), runs.end(), [&](const Interval& r) { return ts >= r.start_us && ts <= r.end_us; });
    if (run == runs.end()) continue;  // a warm-up run's node
    const std::string node = name.substr(0, name.size() - std::string(kKernelSuffix).size());
    auto [it, inserted] = index_of.emplace(node, static_cast<std::int32_t>(profile.layers.size()));
    if (inserted) {
      LayerProfile layer;
      layer.name = node;
      const nlohmann::json args = event.value("args", nlohmann::json::object());
      layer.op = args.value("op_name", "");
      layer.implementation = args.value("provider", "");
      profile.layers.push_back(std::move(layer));
    }
    const double duration_us = event.value("dur", 0.0);
    LayerProfile& layer = profile.layers[static_cast<std::size_t>(it->second)];
    layer.total_ms += duration_us / 1000.0;
    layer.runs += 1;
    profile.events.push_back({it->second, static_cast<std::int32_t>(run - runs.begin()), ts - origin_us, duration_us});
  }
  return profile;
}

}  // namespace inferlab::ort
