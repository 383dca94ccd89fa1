// Tables, CSV and atomic files: what lands in front of the user and on disk.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "inferlab/error.h"
#include "inferlab/files.h"
#include "inferlab/report.h"

namespace inferlab {
namespace {

BenchResult ok_row(const std::string& model, const std::string& backend, std::int64_t batch, double p50_ms,
                   double throughput) {
  BenchResult r;
  r.model = model;
  r.backend = backend;
  r.batch = batch;
  r.scenario = batch == 1 ? "single-stream" : "offline";
  r.latency = LatencyStats{20,           p50_ms,       0.1,          p50_ms * 0.9, p50_ms * 2,    p50_ms,
                           p50_ms * 1.2, p50_ms * 1.3, p50_ms * 1.5, p50_ms * 1.9, p50_ms * 0.98, p50_ms * 1.02};
  r.throughput_per_s = throughput;
  r.memory = MemoryResult{256, 100, 0.5};
  r.power_note = "n/a: no sensor";
  return r;
}

TEST(BenchTables, RowsAreModelsColumnsAreBackendsAndFailuresHaveFootnotes) {
  std::vector<BenchResult> results{ok_row("resnet", "opencv", 1, 10.0, 100), ok_row("resnet", "torch", 1, 5.0, 200)};
  BenchResult failed;
  failed.model = "swin_t";
  failed.backend = "opencv";
  failed.status = ResultStatus::kFailed;
  failed.reason = "Mod is not supported";
  results.push_back(failed);
  results.push_back(ok_row("swin_t", "torch", 1, 100.0, 10));
  BenchTables tables = build_bench_tables(results);
  ASSERT_GE(tables.tables.size(), 3u);
  const Table& latency = tables.tables[0];
  EXPECT_EQ(latency.header, (std::vector<std::string>{"model", "opencv", "torch"}));
  ASSERT_EQ(latency.rows.size(), 2u);
  EXPECT_EQ(latency.rows[0][0], "resnet");
  EXPECT_EQ(latency.rows[0][1].rfind("10.00 [", 0), 0u) << latency.rows[0][1];
  EXPECT_EQ(latency.rows[1][1], "failed [1]");
  ASSERT_FALSE(tables.footnotes.empty());
  EXPECT_NE(tables.footnotes[0].find("Mod is not supported"), std::string::npos);
  std::string text = render_text(tables);
  EXPECT_NE(text.find("Inference time at batch 1"), std::string::npos);
}

TEST(BenchTables, ThroughputTablePicksTheSweepBestPoint) {
  auto a = ok_row("m", "torch", 1, 5, 200);
  auto b = ok_row("m", "torch", 2, 8, 250);
  b.sweep_best = true;
  auto c = ok_row("m", "torch", 4, 16, 251);  // higher, but the sweep chose b (c improved < 3%)
  BenchTables tables = build_bench_tables({a, b, c});
  const Table& throughput = tables.tables[2];
  EXPECT_NE(throughput.title.find("sweep"), std::string::npos);
  EXPECT_EQ(throughput.rows[0][1], "250 @ 2");
}

TEST(BenchTables, DisagreementIsMarked) {
  auto r = ok_row("m", "torch", 1, 5, 200);
  r.validation = ValidationResult{"opencv", 0.5, 0.9, false, 1e-3};
  BenchTables tables = build_bench_tables({ok_row("m", "opencv", 1, 6, 150), r});
  EXPECT_NE(tables.tables[0].rows[0][2].find(" !["), std::string::npos) << tables.tables[0].rows[0][2];
}

TEST(Csv, OneLinePerResultWithQuotedReasons) {
  BenchResult failed;
  failed.model = "m";
  failed.backend = "opencv";
  failed.status = ResultStatus::kFailed;
  failed.reason = "bad, very \"bad\"";
  std::string csv = render_csv({ok_row("m", "torch", 1, 5, 200), failed});
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 3);
  EXPECT_NE(csv.find("\"bad, very \"\"bad\"\"\""), std::string::npos);
}

TEST(Files, AtomicWriteReplacesWholeFile) {
  TempDir dir("inferlab-test");
  const std::string path = dir.path() + "/r.json";
  write_file_atomically(path, "first");
  write_file_atomically(path, "second");
  EXPECT_EQ(read_file(path), "second");
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) ++entries;
  EXPECT_EQ(entries, 1u);  // no temporary left behind
}

TEST(Files, UnwritableLocationsAreBadInputNamingTheFlag) {
  try {
    ensure_writable_directory("/proc/inferlab-denied", "--out");
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("--out /proc/inferlab-denied", 0), 0u) << e.what();
  }
  EXPECT_THROW(ensure_writable_file_path("/no/such/dir/r.json", "--json"), Error);
  EXPECT_THROW(write_file_atomically("/no/such/dir/r.json", "x"), Error);
}

TEST(Files, TempDirIsRemoved) {
  std::string path;
  {
    TempDir dir("inferlab-test");
    path = dir.path();
    std::ofstream(path + "/f") << "x";
    EXPECT_TRUE(std::filesystem::exists(path));
  }
  EXPECT_FALSE(std::filesystem::exists(path));
}

}  // namespace
}  // namespace inferlab
