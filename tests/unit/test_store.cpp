// The SQLite results store: schema, round trips, filters, tags, bad files,
// a newer schema refused, and two concurrent writer processes losing nothing.
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "inferlab/error.h"
#include "inferlab/recording.h"
#include "inferlab/store.h"

namespace inferlab {
namespace {

namespace fs = std::filesystem;

struct TempStore {
  fs::path dir;
  std::string path;
  TempStore() {
    dir = fs::temp_directory_path() / ("inferlab-store-test-" + std::to_string(::getpid()) + "-" +
                                       std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
    fs::create_directories(dir);
    path = (dir / "sub" / "results.db").string();
  }
  ~TempStore() { fs::remove_all(dir); }
};

BenchResult sample_row(const std::string& model, const std::string& backend, double p50_ms) {
  BenchResult r;
  r.model = model;
  r.backend = backend;
  r.backend_version = "1.0";
  r.precision = "fp32";
  r.scenario = "single-stream";
  r.batch = 1;
  r.threads = 2;
  r.model_sha256 = "abc123";
  LatencyStats s;
  s.count = 3;
  s.mean_ms = s.p50_ms = p50_ms;
  s.p99_ms = p50_ms * 1.5;
  s.ci95_p50_lo_ms = p50_ms * 0.9;
  s.ci95_p50_hi_ms = p50_ms * 1.1;
  r.latency = s;
  r.throughput_per_s = 1000 / p50_ms;
  r.memory = MemoryResult{120, 30, 1};
  r.latency_samples_ms = {static_cast<float>(p50_ms), static_cast<float>(p50_ms * 1.1), static_cast<float>(p50_ms)};
  return r;
}

RunRecord sample_run(const std::string& host = "test-host") {
  Environment env;
  env.cpu_model = "Test CPU 9000";
  env.isa = {"avx2"};
  env.cores = 2;
  env.memory_total_bytes = 1 << 30;
  env.os = "Debian";
  env.git_revision = "deadbeef";
  env.started_at = "2026-03-01T10:00:00Z";
  RunRecord run = make_run_record("bench", "inferlab bench x", env, nlohmann::json{{"min_count", 50}});
  run.hostname = host;
  return run;
}

TEST(Store, RecordsRunsAndRowsAndReadsThemBack) {
  TempStore t;
  auto store = open_result_store(t.path, StoreAccess::kWrite);
  RunRecorder recorder(std::move(store), sample_run(), (t.dir / "rows.jsonl").string());
  recorder.record(0, sample_row("m1", "opencv", 2.0));
  BenchResult invalid = sample_row("m1", "torch", 3.0);
  invalid.valid = false;
  invalid.invalid_reason = "--max-duration-ms 10 stopped it";
  recorder.record(1, invalid);
  recorder.record(1, invalid);  // a second record of the same row replaces it
  ASSERT_TRUE(recorder.run_id());

  auto reader = open_result_store(t.path, StoreAccess::kRead);
  const auto runs = reader->list_runs({});
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].rows, 2);
  EXPECT_EQ(runs[0].run.env.cpu_model, "Test CPU 9000");
  EXPECT_EQ(runs[0].run.run_rules.at("min_count"), 50);
  RowFilter filter;
  filter.run_id = *recorder.run_id();
  const auto rows = reader->rows(filter);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].result.model_sha256, "abc123");
  EXPECT_DOUBLE_EQ(rows[0].result.latency->p50_ms, 2.0);
  EXPECT_EQ(rows[0].result.latency_samples_ms.size(), 3u);
  EXPECT_FALSE(rows[1].result.valid);
  EXPECT_EQ(rows[1].result.invalid_reason, "--max-duration-ms 10 stopped it");

  // The JSONL stream: a header and one line per record() call.
  std::ifstream jsonl(t.dir / "rows.jsonl");
  std::string line;
  int lines = 0;
  while (std::getline(jsonl, line)) {
    auto doc = nlohmann::json::parse(line);
    if (lines == 0) {
      EXPECT_EQ(doc.at("schema"), "inferlab.bench-stream/1");
    }
    ++lines;
  }
  EXPECT_EQ(lines, 4);
}

TEST(Store, FiltersByModelBackendMachineAndDate) {
  TempStore t;
  auto store = open_result_store(t.path, StoreAccess::kWrite);
  RunRecord a = sample_run("lab-a"), b = sample_run("lab-b");
  b.env.started_at = "2026-04-01T00:00:00Z";
  store->begin_run(a);
  store->put_row(a.id, 0, sample_row("m1", "opencv", 1));
  store->begin_run(b);
  store->put_row(b.id, 0, sample_row("m2", "torch", 1));
  RowFilter f;
  f.model = "m2";
  EXPECT_EQ(store->rows(f).size(), 1u);
  EXPECT_EQ(store->list_runs(f).size(), 1u);
  f = {};
  f.backend = "opencv";
  EXPECT_EQ(store->rows(f).at(0).result.model, "m1");
  f = {};
  f.machine = "lab-b";
  EXPECT_EQ(store->list_runs(f).at(0).run.id, b.id);
  f = {};
  f.machine = "Test CPU";
  EXPECT_EQ(store->list_runs(f).size(), 2u);
  f = {};
  f.since = "2026-03-15";
  EXPECT_EQ(store->list_runs(f).size(), 1u);
}

TEST(Store, TagsPointAtRunsAndMove) {
  TempStore t;
  auto store = open_result_store(t.path, StoreAccess::kWrite);
  RunRecord a = sample_run(), b = sample_run();
  store->begin_run(a);
  store->begin_run(b);
  EXPECT_FALSE(store->set_tag("baseline", a.id));
  EXPECT_EQ(store->tagged_run("baseline"), a.id);
  EXPECT_EQ(store->set_tag("baseline", b.id), a.id);
  EXPECT_EQ(store->tagged_run("baseline"), b.id);
  EXPECT_FALSE(store->tagged_run("nope"));
  EXPECT_THROW(store->set_tag("x", 999), Error);
  EXPECT_EQ(store->find_run(b.id)->tags, std::vector<std::string>{"baseline"});
}

TEST(Store, RefusesCorruptFilesAndUnwritablePlaces) {
  TempStore t;
  const std::string corrupt = (t.dir / "corrupt.db").string();
  std::ofstream(corrupt) << std::string(4096, 'x');
  try {
    open_result_store(corrupt, StoreAccess::kWrite);
    FAIL() << "a corrupt file was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not a usable SQLite database"), std::string::npos) << e.what();
    EXPECT_EQ(e.kind(), ErrorKind::kBadInput);
  }
  const std::string under_file = (t.dir / "corrupt.db" / "results.db").string();
  EXPECT_THROW(open_result_store(under_file, StoreAccess::kWrite), Error);
  EXPECT_THROW(open_result_store((t.dir / "missing.db").string(), StoreAccess::kRead), Error);
  EXPECT_FALSE(fs::exists(t.dir / "missing.db"));
  EXPECT_THROW(open_result_store(t.dir.string(), StoreAccess::kWrite), Error);
}

TEST(Store, RefusesANewerSchemaNamingBothVersions) {
  TempStore t;
  open_result_store(t.path, StoreAccess::kWrite);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(t.path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "INSERT INTO schema_migrations VALUES (7, 'future', 'x')", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  for (auto access : {StoreAccess::kWrite, StoreAccess::kRead}) {
    try {
      open_result_store(t.path, access);
      FAIL() << "a newer schema was accepted";
    } catch (const Error& e) {
      const std::string m = e.what();
      EXPECT_NE(m.find("schema version 7"), std::string::npos) << m;
      EXPECT_NE(m.find("version " + std::to_string(kStoreSchemaVersion)), std::string::npos) << m;
    }
  }
}

// Two real processes write into one file at once: with BEGIN IMMEDIATE and a
// busy timeout they queue, and every row arrives.
TEST(Store, TwoConcurrentWriterProcessesLoseNothing) {
  TempStore t;
  open_result_store(t.path, StoreAccess::kWrite);
  constexpr int kRows = 150;
  std::vector<pid_t> children;
  for (int c = 0; c < 2; ++c) {
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      int code = 0;
      try {
        auto store = open_result_store(t.path, StoreAccess::kWrite);
        RunRecord run = sample_run("writer-" + std::to_string(c));
        store->begin_run(run);
        for (int i = 0; i < kRows; ++i) store->put_row(run.id, i, sample_row("m", "opencv", 1 + i));
      } catch (...) {
        code = 3;
      }
      _exit(code);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
  }
  auto store = open_result_store(t.path, StoreAccess::kRead);
  EXPECT_EQ(store->rows({}).size(), 2u * kRows);
  EXPECT_EQ(store->list_runs({}).size(), 2u);
}

// A writer killed at a random moment leaves whole rows only.
TEST(Store, AKilledWriterLeavesNoPartialRow) {
  TempStore t;
  open_result_store(t.path, StoreAccess::kWrite);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    try {
      auto store = open_result_store(t.path, StoreAccess::kWrite);
      RunRecord run = sample_run();
      store->begin_run(run);
      for (int i = 0;; ++i) store->put_row(run.id, i, sample_row("m", "opencv", 1));
    } catch (...) {
    }
    _exit(3);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  auto store = open_result_store(t.path, StoreAccess::kRead);
  const auto rows = store->rows({});
  EXPECT_GT(rows.size(), 0u);
  for (const auto& r : rows) {
    ASSERT_TRUE(r.result.latency);
    EXPECT_EQ(r.result.latency_samples_ms.size(), 3u);
  }
}

}  // namespace
}  // namespace inferlab
