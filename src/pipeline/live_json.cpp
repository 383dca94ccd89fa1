#include "inferlab/live_json.h"

#include <cmath>
#include <cstdio>
#include <sstream>

#include "inferlab/error.h"
#include "inferlab/latency_histogram.h"

namespace inferlab {

namespace {

nlohmann::json optional_number(const std::optional<double>& value) {
  return value && std::isfinite(*value) ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

std::string fixed(double value, int decimals) {
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", decimals, value);
  return text;
}

const StageLatency* find_stage(const std::vector<StageLatency>& stages, const std::string& name) {
  for (const auto& s : stages) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

}  // namespace

nlohmann::json live_report_json(const LiveReport& r) {
  nlohmann::json series = nlohmann::json::array();
  for (const auto& e : r.bpm_series) series.push_back({e.t_s, optional_number(e.bpm), optional_number(e.snr_db)});
  nlohmann::json truth = nlohmann::json::array();
  for (const auto& e : r.bpm_series) truth.push_back({e.t_s, optional_number(e.truth_bpm)});
  nlohmann::json stages = nlohmann::json::object();
  for (const auto& s : r.stages) {
    stages[s.name] = {{"p50_ms", s.p50_ms},   {"p90_ms", s.p90_ms}, {"p99_ms", s.p99_ms},
                      {"mean_ms", s.mean_ms}, {"max_ms", s.max_ms}, {"count", s.count}};
  }
  nlohmann::json switches = nlohmann::json::array();
  for (const auto& s : r.switches) {
    nlohmann::json item = {{"at_s", s.at_s}, {"from", s.from}, {"to", s.to}, {"switch_ms", s.switch_ms}};
    if (!s.error.empty()) item["error"] = s.error;
    switches.push_back(item);
  }
  return {{"backend", r.backend},
          {"backend_role", r.backend_role},
          {"method", r.method},
          {"source", r.source},
          {"paced", r.paced},
          {"frames", r.frames},
          {"frames_captured", r.frames_captured},
          {"dropped_frames", r.dropped_frames},
          {"duration_s", r.duration_s},
          {"fps_avg", r.fps_avg},
          {"bpm_median", optional_number(r.bpm_median)},
          {"bpm_series", series},
          {"truth_series", truth},
          {"bpm_mae", optional_number(r.bpm_mae)},
          {"bpm_rmse", optional_number(r.bpm_rmse)},
          {"stages", stages},
          {"stage_percentiles", stage_percentiles_note()},
          {"rss_mb_avg", r.rss_mb_avg},
          {"rss_mb_max", r.rss_mb_max},
          {"rss_mb_start", r.rss_mb_start},
          {"peak_rss_mb", r.peak_rss_mb},
          {"model", r.model},
          {"model_sha256", r.model_sha256},
          {"power_w", optional_number(r.power_w_avg)},
          {"power_note", r.power_note},
          {"switches", switches}};
}

std::string stage_percentiles_note() {
  return "p50/p90/p99 from a log-spaced histogram (bins " + fixed(LatencyHistogram::kBinWidthPct, 0) +
         "% wide); mean and max exact";
}

LiveReport live_report_from_json(const nlohmann::json& j) {
  auto number = [&j](const char* key) -> std::optional<double> {
    auto it = j.find(key);
    return it != j.end() && it->is_number() ? std::optional<double>(it->get<double>()) : std::nullopt;
  };
  try {
    LiveReport r;
    r.backend = j.at("backend").get<std::string>();
    r.backend_role = j.value("backend_role", "");
    r.method = j.value("method", "");
    r.source = j.value("source", "");
    r.paced = j.value("paced", true);
    r.frames = j.value("frames", std::int64_t{0});
    r.frames_captured = j.value("frames_captured", std::int64_t{0});
    r.dropped_frames = j.value("dropped_frames", std::int64_t{0});
    r.duration_s = j.value("duration_s", 0.0);
    r.fps_avg = j.value("fps_avg", 0.0);
    r.bpm_median = number("bpm_median");
    r.bpm_mae = number("bpm_mae");
    r.bpm_rmse = number("bpm_rmse");
    if (auto it = j.find("stages"); it != j.end()) {
      // In pipeline order, whatever order the object's keys came in.
      for (const auto& name : live_stage_names()) {
        auto s = it->find(name);
        if (s == it->end()) continue;
        StageLatency st;
        st.name = name;
        st.p50_ms = s->value("p50_ms", 0.0);
        st.p90_ms = s->value("p90_ms", 0.0);
        st.p99_ms = s->value("p99_ms", 0.0);
        st.mean_ms = s->value("mean_ms", 0.0);
        st.max_ms = s->value("max_ms", 0.0);
        st.count = s->value("count", std::int64_t{0});
        r.stages.push_back(st);
      }
    }
    r.rss_mb_avg = j.value("rss_mb_avg", 0.0);
    r.rss_mb_max = j.value("rss_mb_max", 0.0);
    r.rss_mb_start = j.value("rss_mb_start", 0.0);
    r.peak_rss_mb = j.value("peak_rss_mb", 0.0);
    r.model = j.value("model", "");
    r.model_sha256 = j.value("model_sha256", "");
    r.power_w_avg = number("power_w");
    r.power_note = j.value("power_note", "");
    if (auto it = j.find("switches"); it != j.end()) {
      for (const auto& s : *it) {
        r.switches.push_back({s.value("at_s", 0.0), s.value("from", ""), s.value("to", ""), s.value("switch_ms", 0.0),
                              s.value("error", "")});
      }
    }
    return r;
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("malformed live run document: ") + e.what(), ErrorKind::kRuntime);
  }
}

std::string monitor_line(const LiveSnapshot& s, double fps_now) {
  std::ostringstream out;
  out << "t=" << fixed(s.elapsed_s, 1) << "s fps=" << fixed(fps_now, 1) << " backend=" << s.backend
      << (s.switching ? "(switching)" : "") << " method=" << s.method << " face=" << (s.face ? "yes" : "no") << " bpm=";
  if (s.bpm && s.bpm->bpm) {
    out << fixed(*s.bpm->bpm, 1) << " (snr " << fixed(s.bpm->snr_db.value_or(0), 1) << " dB)";
  } else {
    out << "n/a" << (s.bpm ? " (" + s.bpm->unavailable_reason + ")" : std::string(" (warming up)"));
  }
  out << " frames=" << s.frames_processed << " dropped=" << s.dropped_frames << " rss=" << fixed(s.rss_bytes / 1e6, 1)
      << "MB power=" << (s.power_w ? fixed(*s.power_w, 1) + "W" : std::string("n/a")) << " |";
  for (const auto& st : s.stages) {
    out << ' ' << st.name << ' ' << fixed(st.p50_ms, 2) << '/' << fixed(st.p99_ms, 2);
  }
  out << " ms (p50/p99)";
  return out.str();
}

std::string comparison_table(const std::vector<LiveReport>& runs) {
  const char* stage_names[] = {"capture", "face_detect", "roi_signal", "inference", "bpm", "end_to_end"};
  std::ostringstream out;
  char line[512];
  std::snprintf(line, sizeof line, "%-8s %9s %11s %12s", "backend", "avg FPS", "avg mem MB", "peak mem MB");
  out << line;
  for (const char* name : stage_names) {
    std::snprintf(line, sizeof line, " %12s", name);
    out << line;
  }
  out << "   BPM median\n";
  for (const auto& r : runs) {
    std::snprintf(line, sizeof line, "%-8s %9.2f %11.1f %12.1f", r.backend.c_str(), r.fps_avg, r.rss_mb_avg,
                  r.rss_mb_max);
    out << line;
    for (const char* name : stage_names) {
      const StageLatency* s = find_stage(r.stages, name);
      std::snprintf(line, sizeof line, " %12s", s ? (fixed(s->p50_ms, 3) + " ms").c_str() : "-");
      out << line;
    }
    out << "   " << (r.bpm_median ? fixed(*r.bpm_median, 1) : std::string("n/a")) << '\n';
  }
  return out.str();
}

}  // namespace inferlab
