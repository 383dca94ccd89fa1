// The Prometheus registry's text output, checked line by line against the
// exposition format's rules (cumulative buckets, +Inf, _sum/_count, escaping).
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "inferlab/error.h"
#include "inferlab/metrics.h"

using namespace inferlab;

namespace {
bool contains(const std::string& text, const std::string& line) { return text.find(line + "\n") != std::string::npos; }
}  // namespace

TEST(Metrics, CounterAndGaugeRender) {
  MetricsRegistry registry;
  registry.counter("inferlab_frames_total", "Frames processed").add(3);
  registry.counter("inferlab_frames_total", "Frames processed").add();
  registry.gauge("inferlab_queue_depth", "Queued requests", {{"queue", "batcher"}}).set(7);
  registry.counter("inferlab_frames_total", "x").add(-5);  // ignored: counters never fall
  std::string text = registry.render_prometheus();
  EXPECT_TRUE(contains(text, "# TYPE inferlab_frames_total counter"));
  EXPECT_TRUE(contains(text, "inferlab_frames_total 4"));
  EXPECT_TRUE(contains(text, "# TYPE inferlab_queue_depth gauge"));
  EXPECT_TRUE(contains(text, "inferlab_queue_depth{queue=\"batcher\"} 7"));
}

TEST(Metrics, HistogramBucketsAreCumulative) {
  MetricsRegistry registry;
  auto& h = registry.histogram("inferlab_stage_latency_seconds", "Stage latency", {0.001, 0.01, 0.1},
                               {{"stage", "inference"}});
  for (double v : {0.0005, 0.001, 0.005, 0.05, 0.5}) h.observe(v);
  std::string text = registry.render_prometheus();
  EXPECT_TRUE(contains(text, "inferlab_stage_latency_seconds_bucket{stage=\"inference\",le=\"0.001\"} 2"));
  EXPECT_TRUE(contains(text, "inferlab_stage_latency_seconds_bucket{stage=\"inference\",le=\"0.01\"} 3"));
  EXPECT_TRUE(
      contains(text, "inferlab_stage_latency_seconds_bucket{stage=\"inference\",le=\"0.10000000000000001\"} 4") ||
      contains(text, "inferlab_stage_latency_seconds_bucket{stage=\"inference\",le=\"0.1\"} 4"));
  EXPECT_TRUE(contains(text, "inferlab_stage_latency_seconds_bucket{stage=\"inference\",le=\"+Inf\"} 5"));
  EXPECT_TRUE(contains(text, "inferlab_stage_latency_seconds_count{stage=\"inference\"} 5"));
  EXPECT_NEAR(h.sum(), 0.5565, 1e-12);
}

TEST(Metrics, LabelValuesAreEscaped) {
  MetricsRegistry registry;
  registry.gauge("inferlab_backend_info", "Active backend", {{"backend", "a\"b\\c\nd"}}).set(1);
  EXPECT_TRUE(contains(registry.render_prometheus(), "inferlab_backend_info{backend=\"a\\\"b\\\\c\\nd\"} 1"));
}

TEST(Metrics, RejectsBadNamesAndTypeClashes) {
  MetricsRegistry registry;
  EXPECT_THROW(registry.counter("1bad", "x"), Error);
  EXPECT_THROW(registry.counter("bad-name", "x"), Error);
  registry.counter("inferlab_requests_total", "x");
  EXPECT_THROW(registry.gauge("inferlab_requests_total", "x"), Error);
  EXPECT_THROW(MetricHistogram({0.1, 0.1}), Error);
}

TEST(Metrics, ConcurrentObservationsAreAllCounted) {
  MetricsRegistry registry;
  auto& h = registry.histogram("inferlab_latency_seconds", "x", default_latency_buckets_s());
  auto& c = registry.counter("inferlab_requests_total", "x");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        h.observe(0.002);
        c.add();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(h.count(), 40000u);
  EXPECT_DOUBLE_EQ(c.value(), 40000.0);
  EXPECT_NEAR(h.sum(), 80.0, 1e-6);
}
