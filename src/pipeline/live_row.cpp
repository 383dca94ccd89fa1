// A live run as a stored row: the report's figures in LiveFields, the
// identity (model, backend, version, precision, threads) in BenchResult.
#include "inferlab/live_row.h"

#include <algorithm>

#include "inferlab/latency_histogram.h"
#include "inferlab/live_json.h"
#include "inferlab/registry.h"

namespace inferlab {

namespace {

constexpr const char* kTimedRegion =
    "each stage's own work per frame; end_to_end from the frame's capture until it was displayed";

std::string row_model(const std::string& model, const std::string& method) {
  return model.empty() ? "rppg-" + method : model;
}

// The backends in the order they served frames: the first, then each switch that succeeded.
std::vector<std::string> served_backends(const LiveReport& r) {
  std::vector<std::string> names{r.switches.empty() ? r.backend : r.switches.front().from};
  for (const auto& s : r.switches) {
    if (s.error.empty()) names.push_back(s.to);
  }
  return names;
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ">") + item;
  return out;
}

BenchResult base_row(const std::string& model, const std::string& method, int threads) {
  BenchResult row;
  row.model = row_model(model, method);
  row.precision = "fp32";
  row.scenario = "live";
  row.batch = 1;
  row.threads = threads;
  row.timing_boundary = "end-to-end";
  row.timed_region = kTimedRegion;
  row.model_format = model.empty() ? "none" : "onnx";
  return row;
}

}  // namespace

BenchResult live_result_row(const LiveReport& r, int threads) {
  BenchResult row = base_row(r.model, r.method, threads);
  const auto backends = served_backends(r);
  row.backend = joined(backends);
  std::vector<std::string> versions;
  for (const auto& name : backends) versions.push_back(create_backend(name)->version());
  // One version per backend named; "4.6.0" alone when the run kept one backend.
  row.backend_version = joined(versions);
  row.model_sha256 = r.model_sha256;
  row.count = r.frames;
  row.duration_ms = r.duration_s * 1000;
  row.throughput_per_s = r.fps_avg;
  row.power_w_avg = r.power_w_avg;
  row.power_note = r.power_w_avg ? "" : r.power_note;
  row.stop_reason = "duration or end of source";
  LiveFields l;
  l.method = r.method;
  l.source = r.source;
  l.paced = r.paced;
  l.frames = r.frames;
  l.frames_captured = r.frames_captured;
  l.dropped_frames = r.dropped_frames;
  l.duration_s = r.duration_s;
  l.fps_avg = r.fps_avg;
  l.bpm_median = r.bpm_median;
  l.bpm_mae = r.bpm_mae;
  l.bpm_rmse = r.bpm_rmse;
  l.rss_mb_avg = r.rss_mb_avg;
  l.rss_mb_max = r.rss_mb_max;
  l.peak_rss_mb = r.peak_rss_mb;
  l.percentiles = stage_percentiles_note();
  l.histogram_bin_width_pct = LatencyHistogram::kBinWidthPct;
  for (const auto& s : r.stages)
    l.stages.push_back({s.name, s.count, s.mean_ms, s.p50_ms, s.p90_ms, s.p99_ms, s.max_ms});
  for (const auto& s : r.switches) l.switches.push_back({s.at_s, s.from, s.to, s.switch_ms, s.error});
  row.live = std::move(l);
  return row;
}

BenchResult failed_live_row(const std::string& backend, const std::string& method, const std::string& model,
                            int threads, const std::string& reason) {
  BenchResult row = base_row(model, method, threads);
  row.backend = backend;
  row.backend_version = create_backend(backend)->version();
  row.status = ResultStatus::kFailed;
  row.reason = reason;
  return row;
}

}  // namespace inferlab
