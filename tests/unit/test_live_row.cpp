// A finished live run as a results-store row (live_row.h) and the live JSON
// read back the way `live --compare` reads its children's documents.
#include <gtest/gtest.h>

#include "inferlab/error.h"
#include "inferlab/live_json.h"
#include "inferlab/live_row.h"
#include "inferlab/registry.h"

namespace inferlab {
namespace {

LiveReport sample_report() {
  LiveReport r;
  r.backend = "opencv";
  r.method = "pos";
  r.source = "synthetic";
  r.paced = false;
  r.frames = 200;
  r.frames_captured = 205;
  r.dropped_frames = 5;
  r.duration_s = 2.5;
  r.fps_avg = 80;
  r.bpm_median = 71.5;
  r.bpm_mae = 0.75;
  r.bpm_rmse = 1.0;
  r.rss_mb_avg = 70;
  r.rss_mb_max = 75;
  r.peak_rss_mb = 77;
  StageLatency capture;
  capture.name = "capture";
  capture.p50_ms = 0.5;
  capture.p90_ms = 0.7;
  capture.p99_ms = 0.9;
  capture.mean_ms = 0.55;
  capture.max_ms = 1.75;
  capture.count = 205;
  StageLatency e2e = capture;
  e2e.name = "end_to_end";
  e2e.p50_ms = 9;
  e2e.max_ms = 20;
  e2e.count = 200;
  r.stages = {capture, e2e};
  return r;
}

TEST(LiveRow, AStoredRowKeepsTheRunsFiguresAndIdentity) {
  const BenchResult row = live_result_row(sample_report(), 3);
  EXPECT_EQ(row.model, "rppg-pos");  // no model runs: named like rppg-eval's rows
  EXPECT_EQ(row.backend, "opencv");
  EXPECT_EQ(row.backend_version, create_backend("opencv")->version());
  EXPECT_EQ(row.scenario, "live");
  EXPECT_EQ(row.threads, 3);
  EXPECT_EQ(row.count, 200);
  EXPECT_DOUBLE_EQ(row.throughput_per_s, 80);
  EXPECT_DOUBLE_EQ(row.duration_ms, 2500);
  EXPECT_FALSE(row.latency);  // no full latency statistics were measured: the stages are in `live`
  ASSERT_TRUE(row.live);
  EXPECT_EQ(row.live->dropped_frames, 5);
  EXPECT_EQ(row.live->bpm_mae, 0.75);
  EXPECT_DOUBLE_EQ(row.live->histogram_bin_width_pct, 2);
  ASSERT_EQ(row.live->stages.size(), 2u);
  EXPECT_EQ(row.live->stages[1].stage, "end_to_end");
  EXPECT_DOUBLE_EQ(row.live->stages[1].max_ms, 20);
  EXPECT_DOUBLE_EQ(row.live->stages[0].p90_ms, 0.7);
  // The JSON a store keeps and exports reads back the same.
  const BenchResult back = bench_result_from_json(to_json(row));
  ASSERT_TRUE(back.live);
  EXPECT_EQ(back.live->stages[0].count, 205);
  EXPECT_EQ(back.live->bpm_median, 71.5);
}

TEST(LiveRow, ASwitchedRunNamesEveryBackendThatServedIt) {
  LiveReport r = sample_report();
  r.backend = "opencv";  // the backend at the end
  r.switches = {
      {1.0, "opencv", "null", 50, ""}, {1.5, "null", "opencv", 40, "failed to load"}, {2.0, "null", "opencv", 30, ""}};
  const BenchResult row = live_result_row(r, 1);
  EXPECT_EQ(row.backend, "opencv>null>opencv");  // the failed switch served nothing
  const std::string v = create_backend("opencv")->version(), n = create_backend("null")->version();
  EXPECT_EQ(row.backend_version, v + ">" + n + ">" + v);
  EXPECT_EQ(row.live->switches.size(), 3u);
  EXPECT_EQ(row.live->switches[1].error, "failed to load");

  const BenchResult failed = failed_live_row("null", "neural", "rppg_net", 2, "no such model");
  EXPECT_EQ(failed.model, "rppg_net");
  EXPECT_EQ(failed.status, ResultStatus::kFailed);
  EXPECT_FALSE(failed.live);
}

TEST(LiveRow, TheLiveJsonReadsBackAsTheReport) {
  LiveReport r = sample_report();
  r.model = "rppg_net";
  r.switches = {{1.0, "opencv", "null", 50, ""}};
  const LiveReport back = live_report_from_json(live_report_json(r));
  EXPECT_EQ(back.backend, r.backend);
  EXPECT_EQ(back.frames, r.frames);
  EXPECT_EQ(back.bpm_rmse, r.bpm_rmse);
  EXPECT_DOUBLE_EQ(back.peak_rss_mb, r.peak_rss_mb);
  EXPECT_EQ(back.model, "rppg_net");
  ASSERT_EQ(back.stages.size(), 2u);
  EXPECT_EQ(back.stages[0].name, "capture");  // pipeline order, not the JSON object's key order
  EXPECT_DOUBLE_EQ(back.stages[0].p90_ms, 0.7);
  EXPECT_DOUBLE_EQ(back.stages[1].max_ms, 20);
  EXPECT_EQ(back.stages[1].count, 200);
  ASSERT_EQ(back.switches.size(), 1u);
  EXPECT_EQ(back.switches[0].to, "null");
  EXPECT_THROW(live_report_from_json(nlohmann::json{{"frames", 3}}), Error);
}

}  // namespace
}  // namespace inferlab
