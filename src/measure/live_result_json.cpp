// JSON of a live row's figures: the "live" object of a stored result (CLI.md
// `results export`). Field names are the public contract.
#include <cmath>

#include "inferlab/error.h"
#include "inferlab/result.h"

namespace inferlab {

namespace {

using nlohmann::json;

json optional_number(const std::optional<double>& value) {
  return value && std::isfinite(*value) ? json(*value) : json(nullptr);
}

std::optional<double> read_optional(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_number() ? std::optional<double>(it->get<double>()) : std::nullopt;
}

}  // namespace

json to_json(const LiveFields& l) {
  json stages = json::array();
  for (const auto& s : l.stages) {
    stages.push_back({{"stage", s.stage},
                      {"count", s.count},
                      {"mean_ms", s.mean_ms},
                      {"p50_ms", s.p50_ms},
                      {"p90_ms", s.p90_ms},
                      {"p99_ms", s.p99_ms},
                      {"max_ms", s.max_ms}});
  }
  json switches = json::array();
  for (const auto& s : l.switches) {
    switches.push_back(
        {{"at_s", s.at_s}, {"from", s.from}, {"to", s.to}, {"switch_ms", s.switch_ms}, {"error", s.error}});
  }
  return {{"method", l.method},
          {"source", l.source},
          {"paced", l.paced},
          {"frames", l.frames},
          {"frames_captured", l.frames_captured},
          {"dropped_frames", l.dropped_frames},
          {"duration_s", l.duration_s},
          {"fps_avg", l.fps_avg},
          {"bpm_median", optional_number(l.bpm_median)},
          {"bpm_mae", optional_number(l.bpm_mae)},
          {"bpm_rmse", optional_number(l.bpm_rmse)},
          {"rss_mb_avg", l.rss_mb_avg},
          {"rss_mb_max", l.rss_mb_max},
          {"peak_rss_mb", l.peak_rss_mb},
          {"percentiles", l.percentiles},
          {"histogram_bin_width_pct", l.histogram_bin_width_pct},
          {"stages", stages},
          {"switches", switches}};
}

LiveFields live_fields_from_json(const json& j) {
  try {
    LiveFields l;
    l.method = j.at("method").get<std::string>();
    l.source = j.at("source").get<std::string>();
    l.paced = j.value("paced", true);
    l.frames = j.value("frames", std::int64_t{0});
    l.frames_captured = j.value("frames_captured", std::int64_t{0});
    l.dropped_frames = j.value("dropped_frames", std::int64_t{0});
    l.duration_s = j.value("duration_s", 0.0);
    l.fps_avg = j.value("fps_avg", 0.0);
    l.bpm_median = read_optional(j, "bpm_median");
    l.bpm_mae = read_optional(j, "bpm_mae");
    l.bpm_rmse = read_optional(j, "bpm_rmse");
    l.rss_mb_avg = j.value("rss_mb_avg", 0.0);
    l.rss_mb_max = j.value("rss_mb_max", 0.0);
    l.peak_rss_mb = j.value("peak_rss_mb", 0.0);
    l.percentiles = j.value("percentiles", "");
    l.histogram_bin_width_pct = j.value("histogram_bin_width_pct", 0.0);
    for (const auto& s : j.value("stages", json::array())) {
      l.stages.push_back({s.at("stage").get<std::string>(), s.value("count", std::int64_t{0}), s.value("mean_ms", 0.0),
                          s.value("p50_ms", 0.0), s.value("p90_ms", 0.0), s.value("p99_ms", 0.0),
                          s.value("max_ms", 0.0)});
    }
    for (const auto& s : j.value("switches", json::array())) {
      l.switches.push_back({s.value("at_s", 0.0), s.value("from", ""), s.value("to", ""), s.value("switch_ms", 0.0),
                            s.value("error", "")});
    }
    return l;
  } catch (const json::exception& e) {
    throw Error(std::string("malformed live row: ") + e.what(), ErrorKind::kRuntime);
  }
}

}  // namespace inferlab
