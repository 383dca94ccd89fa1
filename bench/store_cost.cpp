// store_cost: what recording a result row costs a bench run. Each row is one
// transaction (BEGIN IMMEDIATE, delete + insert, COMMIT) with a full set of
// statistics, the row's JSON and kMaxKeptLatencySamples float32 samples —
// the largest row a bench writes. Target: <= 1 ms per row (issue 14).
// Prints the figures and PASS/MISS; exits 0 either way (no speed gate).
//   store_cost [--rows N] [--samples N]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

#include "inferlab/recording.h"
#include "inferlab/stats.h"
#include "inferlab/store.h"
#include "long_flags.h"

namespace {

using Clock = std::chrono::steady_clock;

inferlab::BenchResult typical_row(std::size_t samples) {
  std::mt19937 rng(7);
  std::lognormal_distribution<double> noise(1.5, 0.1);
  std::vector<double> latencies(samples);
  for (auto& v : latencies) v = noise(rng);
  inferlab::BenchResult r;
  r.model = "mobilenet_v2";
  r.backend = "opencv";
  r.backend_version = "4.6.0";
  r.precision = "fp32";
  r.scenario = "single-stream";
  r.threads = 2;
  r.model_sha256 = std::string(64, 'a');
  r.latency = inferlab::compute_latency_stats(latencies);
  r.latency_samples_ms = inferlab::strided_samples(latencies, samples);
  r.throughput_per_s = 200;
  r.count = static_cast<std::int64_t>(samples);
  r.memory = inferlab::MemoryResult{150, 40, 1};
  r.timed_region = "copy in, forward, copy out";
  r.power_note = "n/a: no powercap/hwmon sensor";
  return r;
}

int run(long rows, long samples) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("inferlab-store-cost-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string path = (dir / "results.db").string();
  const inferlab::BenchResult row = typical_row(static_cast<std::size_t>(samples));

  const auto open_start = Clock::now();
  auto store = inferlab::open_result_store(path, inferlab::StoreAccess::kWrite);
  const double open_ms = std::chrono::duration<double, std::milli>(Clock::now() - open_start).count();
  inferlab::RunRecord run_record = inferlab::make_run_record("bench", "store_cost", inferlab::Environment{}, nullptr);
  store->begin_run(run_record);

  std::vector<double> per_row_ms;
  for (long i = 0; i < rows; ++i) {
    const auto t0 = Clock::now();
    store->put_row(run_record.id, static_cast<std::size_t>(i), row);
    per_row_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  const auto stats = inferlab::compute_latency_stats(per_row_ms);
  std::printf("store_cost: %ld rows of %ld float32 samples each into %s (SQLite, WAL, synchronous=NORMAL)\n", rows,
              samples, path.c_str());
  std::printf("  open + migrate: %.3f ms\n", open_ms);
  std::printf("  per row: p50 %.3f ms, mean %.3f ms, p99 %.3f ms, max %.3f ms\n", stats.p50_ms, stats.mean_ms,
              stats.p99_ms, stats.max_ms);
  std::printf(
      "  file size: %.1f KiB per row\n",
      static_cast<double>(fs::file_size(path) + (fs::exists(path + "-wal") ? fs::file_size(path + "-wal") : 0)) /
          1024.0 / static_cast<double>(rows));
  std::printf("%s: mean %.3f ms per configuration (target <= 1 ms)\n", stats.mean_ms <= 1.0 ? "PASS" : "MISS",
              stats.mean_ms);
  store.reset();
  fs::remove_all(dir);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, long> flags{{"rows", 300}, {"samples", static_cast<long>(inferlab::kMaxKeptLatencySamples)}};
  if (!inferlab::bench::parse_long_flags(argc, argv, 1, flags, "store_cost")) return 2;
  try {
    return run(flags["rows"], flags["samples"]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "store_cost: %s\n", e.what());
    return 2;
  }
}
