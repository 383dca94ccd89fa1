// BenchResult's one field table: the JSON document, the store and the CSV
// export give back every field, and keep the names and strings existing
// files use.
#include <sqlite3.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>

#include <gtest/gtest.h>

#include "inferlab/error.h"
#include "inferlab/report.h"
#include "inferlab/result.h"
#include "inferlab/store.h"
#include "inferlab/worker.h"
#include "result_rows.h"

namespace inferlab {
namespace {

namespace fs = std::filesystem;
using test::as_documented;
using test::every_field_set;

// Equality first (a field dropped from both sides fails it); the documents
// say which field differs when it does.
void expect_same_row(const BenchResult& actual, const BenchResult& expected) {
  EXPECT_TRUE(actual == expected) << "got      " << to_json(actual).dump() << "\nexpected " << to_json(expected).dump();
}

TEST(ResultStatus, NamesRoundTripAndUnknownNamesThrow) {
  for (ResultStatus s : {ResultStatus::kOk, ResultStatus::kFailed, ResultStatus::kUnsupported})
    EXPECT_EQ(result_status_from_name(result_status_name(s)), s);
  EXPECT_STREQ(result_status_name(ResultStatus::kOk), "ok");
  EXPECT_STREQ(result_status_name(ResultStatus::kFailed), "failed");
  EXPECT_STREQ(result_status_name(ResultStatus::kUnsupported), "unsupported");
  EXPECT_THROW(result_status_from_name("OK"), Error);
}

TEST(ResultJson, RoundTripKeepsEveryField) {
  const BenchResult r = every_field_set();
  const nlohmann::json j = to_json(r);
  EXPECT_EQ(j["status"], "unsupported");
  EXPECT_EQ(j["latency_ms"]["ci95_p50"][1], 1.45);
  expect_same_row(bench_result_from_json(j), as_documented(r));
  // Through text, as files and the store hold it.
  expect_same_row(bench_result_from_json(nlohmann::json::parse(j.dump())), as_documented(r));
}

TEST(ResultJson, ProfileUnavailableAndAbsentGroupsRoundTrip) {
  BenchResult r;
  r.model = "m";
  r.backend = "null";
  r.precision = "fp32";
  r.profile_unavailable = "null has no per-layer profile";
  const nlohmann::json j = to_json(r);
  EXPECT_TRUE(j["power_w"].is_null());
  EXPECT_TRUE(j["energy_mj_per_inference"].is_null());
  EXPECT_TRUE(j["latency_ms"].is_null());
  EXPECT_FALSE(j.contains("heart_rate") || j.contains("dataset") || j.contains("achieved_qps"));
  expect_same_row(bench_result_from_json(j), r);
}

// A document as older inferlab versions wrote it, and as scripts write them
// by hand: keys it lacks take the parser's fallbacks.
TEST(ResultJson, ReadsSparseDocuments) {
  const BenchResult b = bench_result_from_json(nlohmann::json::parse(R"({
    "model": "m", "backend": "opencv", "status": "failed",
    "validation": {"reference": "torch"}, "power_w": {"avg": 3.5}})"));
  EXPECT_EQ(b.status, ResultStatus::kFailed);
  EXPECT_EQ(b.precision, "fp32");
  EXPECT_EQ(b.batch, 1);
  EXPECT_TRUE(b.valid);
  ASSERT_TRUE(b.validation);
  EXPECT_TRUE(std::isnan(b.validation->max_abs_diff));
  EXPECT_FALSE(b.validation->within_tolerance);
  EXPECT_EQ(b.power_w_avg, 3.5);
  EXPECT_FALSE(b.latency || b.memory || b.accuracy);
}

TEST(ResultJson, MalformedDocumentsThrowError) {
  EXPECT_THROW(bench_result_from_json(nlohmann::json{{"model", "x"}}), Error);
  EXPECT_THROW(bench_result_from_json(nlohmann::json{{"model", "x"}, {"backend", "y"}, {"status", "great"}}), Error);
  nlohmann::json no_p50 = to_json(every_field_set());
  no_p50["latency_ms"].erase("p50");
  try {
    bench_result_from_json(no_p50);
    FAIL() << "a latency without p50 was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("latency_ms.p50"), std::string::npos) << e.what();
  }
}

// The worker's result file carries the row whole, so the parent needs to
// add nothing: the kept samples and the profile's timeline travel too.
TEST(WorkerResult, RoundTripKeepsTheWholeRow) {
  const BenchResult r = every_field_set();
  expect_same_row(worker_result_from_json(nlohmann::json::parse(worker_result_to_json(r).dump())), r);
  BenchResult bare;
  bare.model = "m";
  bare.backend = "null";
  expect_same_row(worker_result_from_json(worker_result_to_json(bare)), bare);
}

// The CSV export's header is a contract (scripts read it by name and place).
TEST(ResultCsv, KeepsItsColumnsAndBlanksFiguresOfRowsNotOk) {
  BenchResult ok = every_field_set();
  ok.status = ResultStatus::kOk;
  const std::string csv = render_csv({ok, every_field_set()});
  const std::string header =
      "model,backend,backend_version,precision,batch,threads,scenario,status,reason,"
      "mean_ms,stddev_ms,min_ms,p50_ms,p90_ms,p95_ms,p99_ms,p999_ms,max_ms,ci95_p50_lo_ms,ci95_p50_hi_ms,"
      "throughput_per_s,count,duration_ms,peak_rss_mb,load_delta_mb,run_delta_mb,power_w_avg,"
      "energy_mj_per_inference,validation_reference,max_abs_diff,cosine,within_tolerance,timing_boundary,"
      "model_format,sweep_best\n";
  const std::string ok_row =
      "mobilenet_v2,torch,1.13.1,fp16,4,2,server,ok,\"a reason, with a comma\","
      "1.5,0.1,1.2,1.4,1.8,1.9,2.2,2.4,2.5,1.38,1.45,2666.5,10,15,300.5,120.25,0.5,12.5,4.75,opencv,1e-05,0.99999,"
      "true,with-copies,torchscript,true\n";
  const std::string unsupported_row =
      "mobilenet_v2,torch,1.13.1,fp16,4,2,server,unsupported,\"a reason, with a comma\","
      "1.5,0.1,1.2,1.4,1.8,1.9,2.2,2.4,2.5,1.38,1.45,,10,,300.5,120.25,0.5,12.5,4.75,opencv,1e-05,0.99999,"
      "true,with-copies,torchscript,true\n";
  EXPECT_EQ(csv, header + ok_row + unsupported_row);
  BenchResult bare;
  bare.model = "m";
  EXPECT_EQ(render_csv({bare}), header + "m,,,,1,1,,ok,,,,,,,,,,,,,0,0,0,,,,,,,,,,,,false\n");
}

struct TempDir {
  fs::path dir =
      fs::temp_directory_path() / ("inferlab-fields-test-" + std::to_string(::getpid()) + "-" +
                                   std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
  TempDir() { fs::create_directories(dir); }
  ~TempDir() { fs::remove_all(dir); }
};

RunRecord sample_run() {
  Environment env;
  env.cpu_model = "Test CPU";
  env.started_at = "2026-03-01T10:00:00Z";
  RunRecord run;
  run.verb = "bench";
  run.command_line = "inferlab bench m";
  run.hostname = "host";
  run.env = env;
  return run;
}

// The store keeps the row's JSON and its raw samples: everything comes back.
TEST(ResultStore, SqliteRoundTripKeepsEveryField) {
  TempDir t;
  const std::string path = (t.dir / "results.db").string();
  const BenchResult r = every_field_set();
  std::int64_t run_id = 0;
  {
    auto store = open_result_store(path, StoreAccess::kWrite);
    RunRecord run = sample_run();
    run_id = store->begin_run(run);
    store->put_row(run_id, 0, r);
  }
  auto reader = open_result_store(path, StoreAccess::kRead);
  RowFilter filter;
  filter.run_id = run_id;
  const auto rows = reader->rows(filter);
  ASSERT_EQ(rows.size(), 1u);
  BenchResult expected = as_documented(r);
  expected.latency_samples_ms = r.latency_samples_ms;
  expect_same_row(rows[0].result, expected);

  // The query columns hold the table's store view under the schema's names.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db,
                               "SELECT status, valid, threads, mean_ms, ci95_p50_hi_ms, peak_rss_mb, power_w_avg, "
                               "dataset, samples, agreement_top1, model_sha256, invalid_reason FROM results",
                               -1, &s, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
  auto text = [&](int i) { return std::string(reinterpret_cast<const char*>(sqlite3_column_text(s, i))); };
  EXPECT_EQ(text(0), "unsupported");
  EXPECT_EQ(sqlite3_column_int64(s, 1), 0);
  EXPECT_EQ(sqlite3_column_int64(s, 2), 2);
  EXPECT_DOUBLE_EQ(sqlite3_column_double(s, 3), 1.5);
  EXPECT_DOUBLE_EQ(sqlite3_column_double(s, 4), 1.45);
  EXPECT_DOUBLE_EQ(sqlite3_column_double(s, 5), 300.5);
  EXPECT_DOUBLE_EQ(sqlite3_column_double(s, 6), 12.5);
  EXPECT_EQ(text(7), "digits:test");
  EXPECT_EQ(sqlite3_column_int64(s, 8), 1000);
  EXPECT_DOUBLE_EQ(sqlite3_column_double(s, 9), 0.995);
  EXPECT_EQ(text(10), "abc123");
  EXPECT_EQ(text(11), "--max-duration-ms 10 stopped it");
  sqlite3_finalize(s);
  sqlite3_close(db);
}

// Groups a row lacks are NULL columns, not zeros.
TEST(ResultStore, AbsentGroupsAreNullColumns) {
  BenchResult r;
  r.model = "m";
  r.status = ResultStatus::kFailed;
  std::size_t nulls = 0;
  for (const FlatCell& cell : store_columns(r)) {
    if (std::holds_alternative<std::monostate>(cell.value)) {
      ++nulls;
      const std::string name(cell.column);
      EXPECT_TRUE(name.ends_with("_ms") || name.ends_with("_mb") || name == "power_w_avg" ||
                  name == "energy_mj_per_inference" || name == "dataset" || name == "samples" || name == "top1" ||
                  name == "top5" || name == "agreement_top1")
          << name;
    }
  }
  // 11 latency, 3 memory, power, energy, 5 accuracy.
  EXPECT_EQ(nulls, 21u);
}

}  // namespace
}  // namespace inferlab
