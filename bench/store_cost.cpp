// store_cost: what recording a result row costs a bench run. Each row is one
// transaction (BEGIN IMMEDIATE, delete + insert, COMMIT) with a full set of
// statistics, the row's JSON and kMaxKeptLatencySamples float32 samples —
// the largest row a bench writes. Target: <= 1 ms per row (issue 14). Then
// the same for a live row (the results row plus live_results and 8
// live_stages rows in the transaction). Prints the figures and PASS/MISS;
// exits 0 either way (no speed gate).
//   store_cost [LOCATION] [--rows N] [--samples N]
// LOCATION: a postgresql:// URL (store_cost_pg.sh starts a throwaway server
// for it) or an SQLite path; default a fresh SQLite file in a temporary folder.
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

// A live row as `live` records it: run-level figures and eight stages.
inferlab::BenchResult typical_live_row() {
  inferlab::BenchResult r;
  r.model = "rppg-pos";
  r.backend = "opencv";
  r.backend_version = "4.6.0";
  r.precision = "fp32";
  r.scenario = "live";
  r.count = 3000;
  r.duration_ms = 100000;
  r.throughput_per_s = 30;
  inferlab::LiveFields l;
  l.method = "pos";
  l.source = "synthetic 640x480 @30 fps";
  l.frames = 3000;
  l.frames_captured = 3000;
  l.duration_s = 100;
  l.fps_avg = 30;
  l.bpm_median = 72;
  l.bpm_mae = 1.5;
  l.bpm_rmse = 2;
  l.rss_mb_avg = l.rss_mb_max = l.peak_rss_mb = 90;
  l.percentiles = "p50/p90/p99 from a log-spaced histogram (bins 2% wide); mean and max exact";
  l.histogram_bin_width_pct = 2;
  for (const char* stage :
       {"capture", "face_detect", "roi_signal", "inference", "postprocess", "bpm", "display", "end_to_end"}) {
    l.stages.push_back({stage, 3000, 1.5, 1.4, 2.0, 3.0, 7.5});
  }
  r.live = l;
  return r;
}

// Records `rows` copies of `row` as rows of one run; the per-row times in ms.
std::vector<double> time_rows(inferlab::ResultStore& store, const std::string& verb, long rows,
                              const inferlab::BenchResult& row) {
  inferlab::RunRecord run_record = inferlab::make_run_record(verb, "store_cost", inferlab::Environment{}, nullptr);
  store.begin_run(run_record);
  std::vector<double> per_row_ms;
  for (long i = 0; i < rows; ++i) {
    const auto t0 = Clock::now();
    store.put_row(run_record.id, static_cast<std::size_t>(i), row);
    per_row_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  return per_row_ms;
}

int run(const std::string& location, long rows, long samples) {
  namespace fs = std::filesystem;
  const bool server = location.rfind("postgresql://", 0) == 0 || location.rfind("postgres://", 0) == 0;
  const fs::path dir = fs::temp_directory_path() / ("inferlab-store-cost-" + std::to_string(::getpid()));
  if (location.empty()) fs::create_directories(dir);
  const std::string path = location.empty() ? (dir / "results.db").string() : location;
  const inferlab::BenchResult row = typical_row(static_cast<std::size_t>(samples));

  const auto open_start = Clock::now();
  auto store = inferlab::open_result_store(path, inferlab::StoreAccess::kWrite);
  const double open_ms = std::chrono::duration<double, std::milli>(Clock::now() - open_start).count();
  const auto stats = inferlab::compute_latency_stats(time_rows(*store, "bench", rows, row));
  const auto live = inferlab::compute_latency_stats(time_rows(*store, "live", rows, typical_live_row()));
  std::printf("store_cost: %ld rows of %ld float32 samples each into %s (%s)\n", rows, samples, path.c_str(),
              server ? "PostgreSQL, one transaction per row" : "SQLite, WAL, synchronous=NORMAL");
  std::printf("  open + migrate: %.3f ms\n", open_ms);
  std::printf("  per row: p50 %.3f ms, mean %.3f ms, p99 %.3f ms, max %.3f ms\n", stats.p50_ms, stats.mean_ms,
              stats.p99_ms, stats.max_ms);
  std::printf("  per live row (8 stages): p50 %.3f ms, mean %.3f ms, p99 %.3f ms, max %.3f ms\n", live.p50_ms,
              live.mean_ms, live.p99_ms, live.max_ms);
  if (!server) {
    std::printf(
        "  file size: %.1f KiB per row (both kinds)\n",
        static_cast<double>(fs::file_size(path) + (fs::exists(path + "-wal") ? fs::file_size(path + "-wal") : 0)) /
            1024.0 / static_cast<double>(2 * rows));
  }
  std::printf("%s: mean %.3f ms per configuration (target <= 1 ms)\n", stats.mean_ms <= 1.0 ? "PASS" : "MISS",
              stats.mean_ms);
  store.reset();
  if (location.empty()) fs::remove_all(dir);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, long> flags{{"rows", 300}, {"samples", static_cast<long>(inferlab::kMaxKeptLatencySamples)}};
  const bool located = argc > 1 && std::string(argv[1]).rfind("--", 0) != 0;
  if (!inferlab::bench::parse_long_flags(argc, argv, located ? 2 : 1, flags, "store_cost")) return 2;
  try {
    return run(located ? argv[1] : "", flags["rows"], flags["samples"]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "store_cost: %s\n", e.what());
    return 2;
  }
}
