// Schema version 1: runs (one per CLI invocation), results (one per row,
// with the statistics as columns for queries and the row's full JSON for
// everything else), tags (names for runs, used as compare baselines).
#include "store/schema.h"

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
))"}};
  return all;
}

const std::vector<std::string>& result_columns() {
  static const std::vector<std::string> columns{"model",
                                                "model_sha256",
                                                "backend",
                                                "backend_version",
                                                "precision",
                                                "batch",
                                                "scenario",
                                                "threads",
                                                "status",
                                                "reason",
                                                "valid",
                                                "invalid_reason",
                                                "stop_reason",
                                                "count",
                                                "duration_ms",
                                                "mean_ms",
                                                "stddev_ms",
                                                "min_ms",
                                                "p50_ms",
                                                "p90_ms",
                                                "p95_ms",
                                                "p99_ms",
                                                "p999_ms",
                                                "max_ms",
                                                "ci95_p50_lo_ms",
                                                "ci95_p50_hi_ms",
                                                "throughput_per_s",
                                                "peak_rss_mb",
                                                "load_delta_mb",
                                                "run_delta_mb",
                                                "power_w_avg",
                                                "energy_mj_per_inference",
                                                "dataset",
                                                "samples",
                                                "top1",
                                                "top5",
                                                "agreement_top1"};
  return columns;
}

}  // namespace inferlab::store_detail
