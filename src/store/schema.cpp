// Schema version 1: runs (one per CLI invocation), results (one per row,
// with the statistics as columns for queries and the row's full JSON for
// everything else), tags (names for runs, used as compare baselines).
// Version 2: live runs. A live row is a results row (scenario "live") plus
// one live_results row (its run-level figures as columns) and one
// live_stages row per timed stage. The stages are kept only there (not in
// row_json), so the table is what `results` and `report` read them from.
#include "store/schema.h"

#include "inferlab/result.h"
#include "inferlab/store.h"

namespace inferlab::store_detail {

const std::vector<Migration>& migrations() {
  static const std::vector<Migration> all{{1, "runs, results, tags",
                                           R"(CREATE TABLE runs (
  id @ID@,
  verb TEXT NOT NULL,
  command_line TEXT NOT NULL,
  started_at TEXT NOT NULL,
  hostname TEXT NOT NULL,
  cpu_model TEXT NOT NULL,
  isa TEXT NOT NULL,
  cores INTEGER NOT NULL,
  memory_total_bytes BIGINT NOT NULL,
  os TEXT NOT NULL,
  power_sensor TEXT NOT NULL,
  git_revision TEXT NOT NULL,
  run_rules_json TEXT,
  env_json TEXT NOT NULL
);
CREATE TABLE results (
  id @ID@,
  run_id BIGINT NOT NULL REFERENCES runs(id),
  row_index INTEGER NOT NULL,
  model TEXT NOT NULL,
  model_sha256 TEXT NOT NULL,
  backend TEXT NOT NULL,
  backend_version TEXT NOT NULL,
  precision TEXT NOT NULL,
  batch BIGINT NOT NULL,
  scenario TEXT NOT NULL,
  threads INTEGER NOT NULL,
  status TEXT NOT NULL,
  reason TEXT NOT NULL,
  valid INTEGER NOT NULL,
  invalid_reason TEXT NOT NULL,
  stop_reason TEXT NOT NULL,
  count BIGINT NOT NULL,
  duration_ms DOUBLE PRECISION,
  mean_ms DOUBLE PRECISION, stddev_ms DOUBLE PRECISION, min_ms DOUBLE PRECISION,
  p50_ms DOUBLE PRECISION, p90_ms DOUBLE PRECISION, p95_ms DOUBLE PRECISION,
  p99_ms DOUBLE PRECISION, p999_ms DOUBLE PRECISION, max_ms DOUBLE PRECISION,
  ci95_p50_lo_ms DOUBLE PRECISION, ci95_p50_hi_ms DOUBLE PRECISION,
  throughput_per_s DOUBLE PRECISION,
  peak_rss_mb DOUBLE PRECISION, load_delta_mb DOUBLE PRECISION, run_delta_mb DOUBLE PRECISION,
  power_w_avg DOUBLE PRECISION, energy_mj_per_inference DOUBLE PRECISION,
  dataset TEXT, samples BIGINT, top1 DOUBLE PRECISION, top5 DOUBLE PRECISION, agreement_top1 DOUBLE PRECISION,
  run_rules_json TEXT,
  latency_samples_f32 BYTEA,
  row_json TEXT NOT NULL,
  UNIQUE (run_id, row_index)
);
CREATE INDEX results_by_model ON results (model, backend);
CREATE TABLE tags (
  name TEXT PRIMARY KEY,
  run_id BIGINT NOT NULL REFERENCES runs(id),
  tagged_at TEXT NOT NULL
))"},
                                          {2, "live runs: live_results, live_stages", R"(CREATE TABLE live_results (
  result_id BIGINT PRIMARY KEY REFERENCES results(id) ON DELETE CASCADE,
  method TEXT NOT NULL,
  source TEXT NOT NULL,
  paced INTEGER NOT NULL,
  frames BIGINT NOT NULL,
  frames_captured BIGINT NOT NULL,
  dropped_frames BIGINT NOT NULL,
  duration_s DOUBLE PRECISION NOT NULL,
  fps_avg DOUBLE PRECISION NOT NULL,
  bpm_median DOUBLE PRECISION,
  bpm_mae DOUBLE PRECISION,
  bpm_rmse DOUBLE PRECISION,
  rss_mb_avg DOUBLE PRECISION NOT NULL,
  rss_mb_max DOUBLE PRECISION NOT NULL,
  peak_rss_mb DOUBLE PRECISION NOT NULL,
  switches INTEGER NOT NULL,
  percentiles TEXT NOT NULL,
  histogram_bin_width_pct DOUBLE PRECISION NOT NULL
);
CREATE TABLE live_stages (
  result_id BIGINT NOT NULL REFERENCES results(id) ON DELETE CASCADE,
  stage_index INTEGER NOT NULL,
  stage TEXT NOT NULL,
  count BIGINT NOT NULL,
  mean_ms DOUBLE PRECISION NOT NULL,
  p50_ms DOUBLE PRECISION NOT NULL,
  p90_ms DOUBLE PRECISION NOT NULL,
  p99_ms DOUBLE PRECISION NOT NULL,
  max_ms DOUBLE PRECISION NOT NULL,
  PRIMARY KEY (result_id, stage_index)
))"}};
  return all;
}

const std::vector<std::string>& live_result_columns() {
  static const std::vector<std::string> columns{"method",
                                                "source",
                                                "paced",
                                                "frames",
                                                "frames_captured",
                                                "dropped_frames",
                                                "duration_s",
                                                "fps_avg",
                                                "bpm_median",
                                                "bpm_mae",
                                                "bpm_rmse",
                                                "rss_mb_avg",
                                                "rss_mb_max",
                                                "peak_rss_mb",
                                                "switches",
                                                "percentiles",
                                                "histogram_bin_width_pct"};
  return columns;
}

const std::vector<std::string>& live_stage_columns() {
  static const std::vector<std::string> columns{"stage", "count", "mean_ms", "p50_ms", "p90_ms", "p99_ms", "max_ms"};
  return columns;
}

nlohmann::json row_json_without_stages(const BenchResult& row) {
  nlohmann::json doc = to_json(row);
  if (doc.contains("live")) doc["live"].erase("stages");
  return doc;
}

const std::vector<std::string>& result_columns() {
  // The field table's store view (result_fields.h); its names never depend
  // on the row, so an empty one lists them.
  static const std::vector<std::string> columns = [] {
    std::vector<std::string> names;
    for (const FlatCell& cell : store_columns(BenchResult{})) names.emplace_back(cell.column);
    return names;
  }();
  return columns;
}

}  // namespace inferlab::store_detail
