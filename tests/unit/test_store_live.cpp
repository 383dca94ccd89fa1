// Schema 2 of the results store: live rows (live_results, live_stages). A
// store written by schema 1 is read as it is and migrated when written, its
// rows kept; live rows round-trip field by field with their stages read from
// live_stages; a replaced live row leaves no stale stages.
#include <sqlite3.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>

#include <gtest/gtest.h>

#include "inferlab/recording.h"
#include "inferlab/store.h"
#include "store/schema.h"

namespace inferlab {
namespace {

namespace fs = std::filesystem;

struct StoreDir {
  fs::path dir;
  std::string path;
  StoreDir() {
    dir = fs::temp_directory_path() / ("inferlab-store-live-" + std::to_string(::getpid()) + "-" +
                                       std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
    fs::create_directories(dir);
    path = (dir / "results.db").string();
  }
  ~StoreDir() { fs::remove_all(dir); }
};

// Runs `sql` with text parameters bound in order; fails the test on error.
void exec(sqlite3* db, const std::string& sql, const std::vector<std::string>& texts = {}) {
  sqlite3_stmt* s = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr), SQLITE_OK) << sqlite3_errmsg(db) << ": " << sql;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    sqlite3_bind_text(s, static_cast<int>(i + 1), texts[i].c_str(), -1, SQLITE_TRANSIENT);
  }
  EXPECT_EQ(sqlite3_step(s), SQLITE_DONE) << sqlite3_errmsg(db);
  sqlite3_finalize(s);
}

std::int64_t scalar(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_stmt* s = nullptr;
  std::int64_t value = -1;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW) {
    value = sqlite3_column_int64(s, 0);
  }
  sqlite3_finalize(s);
  sqlite3_close(db);
  return value;
}

Environment sample_env() {
  Environment env;
  env.cpu_model = "Old CPU";
  env.cores = 2;
  env.os = "Debian";
  env.started_at = "2025-01-01T00:00:00Z";
  return env;
}

BenchResult old_bench_row() {
  BenchResult r;
  r.model = "m-old";
  r.backend = "opencv";
  r.backend_version = "4.6.0";
  r.precision = "fp32";
  r.scenario = "single-stream";
  LatencyStats s;
  s.p50_ms = 2.5;
  r.latency = s;
  r.count = 10;
  return r;
}

// A store exactly as schema 1 wrote it: migration 1's SQL, one bench run and row.
void write_schema1_store(const std::string& path) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  exec(db,
       "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT "
       "NULL)");
  std::string sql = store_detail::migrations().at(0).sql;
  for (std::size_t at = sql.find("@ID@"); at != std::string::npos; at = sql.find("@ID@", at)) {
    sql.replace(at, 4, "INTEGER PRIMARY KEY AUTOINCREMENT");
  }
  ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  exec(db, "INSERT INTO schema_migrations VALUES (1, 'runs, results, tags', '2025-01-01T00:00:00Z')");
  exec(db,
       "INSERT INTO runs (verb, command_line, started_at, hostname, cpu_model, isa, cores, memory_total_bytes, os, "
       "power_sensor, git_revision, env_json) VALUES ('bench', 'inferlab bench m-old', '2025-01-01T00:00:00Z', "
       "'old-host', 'Old CPU', '', 2, 0, 'Debian', 'n/a', 'cafe', ?)",
       {to_json(sample_env()).dump()});
  exec(db,
       "INSERT INTO results (run_id, row_index, model, model_sha256, backend, backend_version, precision, batch, "
       "scenario, threads, status, reason, valid, invalid_reason, stop_reason, count, p50_ms, row_json) VALUES (1, 0, "
       "'m-old', '', 'opencv', '4.6.0', 'fp32', 1, 'single-stream', 1, 'ok', '', 1, '', '', 10, 2.5, ?)",
       {to_json(old_bench_row()).dump()});
  sqlite3_close(db);
}

BenchResult live_row(const std::string& backend) {
  BenchResult r;
  r.model = "rppg-pos";
  r.backend = backend;
  r.backend_version = "4.6.0";
  r.precision = "fp32";
  r.scenario = "live";
  r.threads = 2;
  r.count = 300;
  r.duration_ms = 4000;
  r.throughput_per_s = 75;
  r.timing_boundary = "end-to-end";
  LiveFields l;
  l.method = "pos";
  l.source = "synthetic 640x480 @30 fps, 72 BPM";
  l.paced = false;
  l.frames = 300;
  l.frames_captured = 310;
  l.dropped_frames = 10;
  l.duration_s = 4;
  l.fps_avg = 75;
  l.bpm_median = 72.5;
  l.bpm_mae = 1.25;
  l.bpm_rmse = 1.5;
  l.rss_mb_avg = 80;
  l.rss_mb_max = 90;
  l.peak_rss_mb = 95.5;
  l.percentiles = "p50/p90/p99 from a log-spaced histogram (bins 2% wide); mean and max exact";
  l.histogram_bin_width_pct = 2;
  l.stages = {{"capture", 310, 0.5, 0.45, 0.9, 1.2, 3.25},
              {"face_detect", 300, 4.5, 4.25, 6.5, 9.75, 12.0},
              {"end_to_end", 300, 11.0, 10.5, 15.0, 21.0, 30.5}};
  l.switches = {{1.5, "opencv", "torch", 120.25, ""}};
  r.live = l;
  return r;
}

void expect_same_live(const LiveFields& a, const LiveFields& b) {
  EXPECT_EQ(a.method, b.method);
  EXPECT_EQ(a.source, b.source);
  EXPECT_EQ(a.paced, b.paced);
  EXPECT_EQ(a.frames, b.frames);
  EXPECT_EQ(a.frames_captured, b.frames_captured);
  EXPECT_EQ(a.dropped_frames, b.dropped_frames);
  EXPECT_DOUBLE_EQ(a.fps_avg, b.fps_avg);
  EXPECT_EQ(a.bpm_median, b.bpm_median);
  EXPECT_EQ(a.bpm_mae, b.bpm_mae);
  EXPECT_EQ(a.bpm_rmse, b.bpm_rmse);
  EXPECT_DOUBLE_EQ(a.peak_rss_mb, b.peak_rss_mb);
  EXPECT_EQ(a.percentiles, b.percentiles);
  EXPECT_DOUBLE_EQ(a.histogram_bin_width_pct, b.histogram_bin_width_pct);
  ASSERT_EQ(a.stages.size(), b.stages.size());
  for (std::size_t i = 0; i < a.stages.size(); ++i) {
    EXPECT_EQ(a.stages[i].stage, b.stages[i].stage);
    EXPECT_EQ(a.stages[i].count, b.stages[i].count);
    for (auto field : {&LiveStageFields::mean_ms, &LiveStageFields::p50_ms, &LiveStageFields::p90_ms,
                       &LiveStageFields::p99_ms, &LiveStageFields::max_ms}) {
      EXPECT_DOUBLE_EQ(a.stages[i].*field, b.stages[i].*field) << a.stages[i].stage;
    }
  }
  ASSERT_EQ(a.switches.size(), b.switches.size());
  EXPECT_EQ(a.switches[0].to, b.switches[0].to);
  EXPECT_DOUBLE_EQ(a.switches[0].switch_ms, b.switches[0].switch_ms);
}

RunRecord live_run() { return make_run_record("live", "inferlab live", sample_env(), {{"pace", "max"}}); }

TEST(StoreLive, ASchema1StoreIsReadAsItIsThenMigratedKeepingItsRows) {
  ASSERT_EQ(kStoreSchemaVersion, 2);
  StoreDir t;
  write_schema1_store(t.path);

  // Reading changes nothing: the old row is there, the schema stays at 1.
  auto reader = open_result_store(t.path, StoreAccess::kRead);
  auto rows = reader->rows({});
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].result.model, "m-old");
  EXPECT_FALSE(rows[0].result.live);
  reader.reset();
  EXPECT_EQ(scalar(t.path, "SELECT MAX(version) FROM schema_migrations"), 1);
  EXPECT_EQ(scalar(t.path, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'live_stages'"), 0);

  // Writing migrates to 2, keeps the old row, and takes a live row.
  auto store = open_result_store(t.path, StoreAccess::kWrite);
  EXPECT_EQ(scalar(t.path, "SELECT MAX(version) FROM schema_migrations"), 2);
  EXPECT_EQ(scalar(t.path, "SELECT COUNT(*) FROM sqlite_master WHERE name IN ('live_results', 'live_stages')"), 2);
  RunRecord run = live_run();
  store->begin_run(run);
  store->put_row(run.id, 0, live_row("opencv"));
  rows = store->rows({});
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].result.model, "m-old");
  EXPECT_DOUBLE_EQ(rows[0].result.latency->p50_ms, 2.5);
  ASSERT_TRUE(rows[1].result.live);
  expect_same_live(*rows[1].result.live, *live_row("opencv").live);
  EXPECT_EQ(store->list_runs({}).size(), 2u);
}

TEST(StoreLive, LiveRowsRoundTripWithStagesFromTheirTable) {
  StoreDir t;
  auto store = open_result_store(t.path, StoreAccess::kWrite);
  RunRecord run = live_run();
  store->begin_run(run);
  store->put_row(run.id, 0, live_row("opencv"));
  BenchResult failed;
  failed.model = "rppg-pos";
  failed.backend = "torch";
  failed.scenario = "live";
  failed.status = ResultStatus::kFailed;
  failed.reason = "the model did not load";
  store->put_row(run.id, 1, failed);
  // Recording row 0 again replaces it, its stages included.
  BenchResult again = live_row("opencv");
  again.live->stages.pop_back();
  again.live->bpm_mae.reset();  // a source without ground truth
  again.live->bpm_rmse.reset();
  store->put_row(run.id, 0, again);

  EXPECT_EQ(scalar(t.path, "SELECT COUNT(*) FROM live_stages"), 2);
  EXPECT_EQ(scalar(t.path, "SELECT COUNT(*) FROM live_results"), 1);
  EXPECT_EQ(scalar(t.path, "SELECT COUNT(*) FROM live_results WHERE bpm_mae IS NULL"), 1);
  // The stages are kept once, in live_stages, not in the row's JSON.
  EXPECT_EQ(scalar(t.path, "SELECT COUNT(*) FROM results WHERE instr(row_json, 'face_detect') > 0"), 0);
  EXPECT_EQ(scalar(t.path, "SELECT frames FROM live_results"), 300);

  auto reader = open_result_store(t.path, StoreAccess::kRead);
  RowFilter f;
  f.backend = "opencv";
  const auto rows = reader->rows(f);
  ASSERT_EQ(rows.size(), 1u);
  const BenchResult& r = rows[0].result;
  EXPECT_EQ(r.scenario, "live");
  EXPECT_EQ(r.threads, 2);
  EXPECT_EQ(r.count, 300);
  ASSERT_TRUE(r.live);
  expect_same_live(*r.live, *again.live);
  const auto all = reader->rows({});
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1].result.status, ResultStatus::kFailed);
  EXPECT_EQ(all[1].result.reason, "the model did not load");
  EXPECT_FALSE(all[1].result.live);
  EXPECT_EQ(reader->find_run(run.id)->run.run_rules.at("pace"), "max");
}

}  // namespace
}  // namespace inferlab
