// The per-layer profile's JSON trip, text table and Chrome trace.
#include <gtest/gtest.h>

#include "inferlab/error.h"
#include "inferlab/profile_report.h"
#include "inferlab/result.h"

namespace inferlab {
namespace {

SessionProfile two_layer_profile() {
  SessionProfile p;
  p.runs = 2;
  p.note = "test";
  p.layers = {{"Conv c1", "Conv", "onednn:jit:avx2", "Relu", 3.0, 2}, {"Gemm g", "Gemm", "reference", "", 1.0, 2}};
  p.events = {{0, 0, 0.0, 1500.0}, {1, 0, 1500.0, 500.0}, {0, 1, 2000.0, 1500.0}, {1, 1, 3500.0, 500.0}};
  return p;
}

TEST(Profile, PerRunTimeIsTheLayersSumOverRuns) {
  const SessionProfile p = two_layer_profile();
  EXPECT_DOUBLE_EQ(p.layers_ms_per_run(), 2.0);
  EXPECT_DOUBLE_EQ(p.layers[0].mean_ms(), 1.5);
  EXPECT_DOUBLE_EQ(SessionProfile{}.layers_ms_per_run(), 0.0) << "no runs: no division by zero";
}

TEST(Profile, JsonRoundTripKeepsLayersAndEvents) {
  const SessionProfile p = two_layer_profile();
  const SessionProfile back = session_profile_from_json(to_json(p));
  ASSERT_EQ(back.layers.size(), 2U);
  EXPECT_EQ(back.layers[0].implementation, "onednn:jit:avx2");
  EXPECT_EQ(back.layers[0].fused, "Relu");
  EXPECT_EQ(back.runs, 2);
  ASSERT_EQ(back.events.size(), 4U);
  EXPECT_DOUBLE_EQ(back.events[3].start_us, 3500.0);
  EXPECT_EQ(back.events[3].run, 1);
}

TEST(Profile, MalformedJsonAndDanglingEventsAreErrors) {
  EXPECT_THROW(session_profile_from_json(nlohmann::json{{"layers", 3}}), Error);
  nlohmann::json j = to_json(two_layer_profile());
  j["events"].push_back({7, 0, 0.0, 1.0});  // names a layer that does not exist
  EXPECT_THROW(session_profile_from_json(j), Error);
}

TEST(Profile, TextTableGivesSharesAndOpTotals) {
  const std::string text = render_profile_text(two_layer_profile());
  EXPECT_NE(text.find("Conv c1 +Relu"), std::string::npos) << text;
  EXPECT_NE(text.find("75.0%"), std::string::npos) << "1.5 of 2.0 ms per run\n" << text;
  EXPECT_NE(text.find("25.0%"), std::string::npos) << text;
  EXPECT_NE(text.find("by op type"), std::string::npos) << text;
  EXPECT_NE(text.find("2.0000 ms per run over 2 profiled runs"), std::string::npos) << text;
}

TEST(Profile, ChromeTraceHasOneCompleteEventPerLayerRun) {
  const nlohmann::json trace = chrome_trace(two_layer_profile(), "m native fp32 batch 1");
  const auto& events = trace.at("traceEvents");
  int complete = 0;
  for (const auto& e : events) {
    if (e.at("ph") != "X") continue;
    ++complete;
    EXPECT_GE(e.at("dur").get<double>(), 0.0);
    EXPECT_TRUE(e.contains("ts"));
    EXPECT_TRUE(e.at("args").contains("implementation"));
  }
  EXPECT_EQ(complete, 4);
  EXPECT_EQ(events.at(0).at("args").at("name"), "m native fp32 batch 1");
}

TEST(Profile, BenchResultJsonCarriesTheSummaryWithoutTheTimeline) {
  BenchResult r;
  r.profile = two_layer_profile();
  r.profile_trace_path = "out/trace.json";
  const nlohmann::json j = to_json(r);
  ASSERT_TRUE(j.contains("profile"));
  EXPECT_EQ(j["profile"]["trace"], "out/trace.json");
  EXPECT_EQ(j["profile"]["layers"].size(), 2U);
  EXPECT_DOUBLE_EQ(j["profile"]["layers"][0]["share"].get<double>(), 0.75);
  EXPECT_FALSE(j["profile"].contains("events"));

  BenchResult none;
  none.profile_unavailable = "torch has no per-layer profile in inferlab";
  EXPECT_EQ(to_json(none)["profile"]["unavailable"], none.profile_unavailable);
  EXPECT_FALSE(to_json(BenchResult{}).contains("profile")) << "no key unless --profile asked";
}

}  // namespace
}  // namespace inferlab
