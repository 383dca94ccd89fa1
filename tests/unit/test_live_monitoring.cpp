// `live --metrics-port` / `live --web`: the SSE fan-out, and the Prometheus
// series and HTTP routes over a real live pipeline on the synthetic source
// (paced like a camera, a few seconds), read back by a real HTTP client.
#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <regex>
#include <string>
#include <thread>

#include "inferlab/error.h"
#include "inferlab/live.h"
#include "serve/event_stream.h"
#include "serve/live_metrics.h"
#include "serve/live_web.h"
#include "serve/stream_charts.h"

namespace inferlab {
namespace {

TEST(EventStream, ReadersGetWhatIsNewHistoryIsBoundedCloseWakesThem) {
  EventStream stream(3);
  EXPECT_TRUE(stream.wait_after(0, std::chrono::milliseconds(1)).empty());
  for (int i = 1; i <= 5; ++i) stream.publish("sample", "{\"n\":" + std::to_string(i) + "}");
  auto all = stream.wait_after(0, std::chrono::milliseconds(1));
  ASSERT_EQ(all.size(), 3u);  // the history keeps the last three
  EXPECT_EQ(all.front().id, 3u);
  EXPECT_EQ(all.back().data, "{\"n\":5}");
  EXPECT_EQ(stream.wait_after(4, std::chrono::milliseconds(1)).size(), 1u);
  EXPECT_EQ(EventStream::format(all.back()), "event: sample\nid: 5\ndata: {\"n\":5}\n\n");
  EXPECT_EQ(EventStream::format({7, "x", "a\nb"}), "event: x\nid: 7\ndata: a b\n\n");  // one data line

  std::thread reader([&] { EXPECT_TRUE(stream.wait_after(5, std::chrono::seconds(30)).empty()); });
  stream.close();
  reader.join();
  EXPECT_TRUE(stream.closed());
  stream.publish("sample", "{}");
  EXPECT_EQ(stream.last_id(), 5u);
}

LiveOptions paced_synthetic(LiveMetrics& metrics, double duration_s) {
  LiveOptions o;
  o.source = "synthetic:bpm=72,noise=2";
  o.backend = "opencv";
  o.cycle = {"opencv", "torch"};
  o.duration_s = duration_s;
  o.window_s = 5;
  o.stage_observer = [&metrics](std::string_view stage, double ms) { metrics.observe_stage(stage, ms); };
  return o;
}

// The value of the one sample line `name{labels} value` in a scrape; -1 when absent.
double sample_value(const std::string& text, const std::string& series) {
  const auto at = text.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + series.size() + 2));
}

TEST(LiveMetrics, StageHistogramsCountWhatThePipelineTimed) {
  LiveMetrics metrics;
  LivePipeline pipeline(paced_synthetic(metrics, 3));
  pipeline.start();
  const LiveReport report = pipeline.wait();
  metrics.update(pipeline.snapshot(), {1.5, 0.25});
  const std::string text = metrics.render();

  ASSERT_FALSE(report.stages.empty());
  for (const auto& stage : report.stages) {
    const std::string labels = "{stage=\"" + stage.name + "\"}";
    EXPECT_EQ(sample_value(text, "inferlab_live_stage_latency_seconds_count" + labels), stage.count) << stage.name;
    // The mean in seconds is the pipeline's mean in milliseconds / 1000.
    const double sum_s = sample_value(text, "inferlab_live_stage_latency_seconds_sum" + labels);
    EXPECT_NEAR(sum_s / stage.count, stage.mean_ms / 1000, 1e-9 + stage.mean_ms * 1e-9) << stage.name;
    EXPECT_EQ(
        sample_value(text, "inferlab_live_stage_latency_seconds_bucket{stage=\"" + stage.name + "\",le=\"+Inf\"}"),
        stage.count);
  }
  EXPECT_EQ(sample_value(text, "inferlab_live_frames_processed_total"), report.frames);
  EXPECT_EQ(sample_value(text, "inferlab_live_frames_dropped_total"), report.dropped_frames);
  EXPECT_EQ(sample_value(text, "inferlab_live_frames_captured_total"), report.frames_captured);
  EXPECT_EQ(sample_value(text, "process_cpu_seconds_total"), 1.5);
  EXPECT_EQ(sample_value(text, "inferlab_process_cpu_utilisation_ratio"), 0.25);
  EXPECT_GT(sample_value(text, "process_resident_memory_bytes"), 0);
  EXPECT_EQ(sample_value(text, "inferlab_live_backend_info{backend=\"opencv\",method=\"pos\"}"), 1);
  EXPECT_EQ(sample_value(text, "inferlab_live_queue_capacity_frames{queue=\"inference\"}"), 4);
  EXPECT_EQ(sample_value(text, "inferlab_live_backend_switches_total{result=\"ok\"}"), 0);
  if (report.power_w_avg) {
    EXPECT_GE(sample_value(text, "inferlab_power_watts"), 0);
  } else {  // no sensor: the power series is left out and the reason is exposed
    EXPECT_EQ(text.find("inferlab_power_watts"), std::string::npos);
    EXPECT_NE(text.find("inferlab_power_unavailable_info{reason=\"" + report.power_note + "\"} 1"), std::string::npos)
        << text;
  }
  // Counters never go back: an older snapshot leaves them where they are.
  LiveSnapshot older = pipeline.snapshot();
  older.frames_processed = 1;
  metrics.update(older, {0.5, std::nullopt});
  EXPECT_EQ(sample_value(metrics.render(), "inferlab_live_frames_processed_total"), report.frames);
}

TEST(LiveMetrics, HeartRateIsAbsentUntilTheFirstReadingThenNaNWhileThereIsNone) {
  LiveMetrics metrics;
  LiveSnapshot s;
  s.backend = "opencv";
  s.method = "pos";
  s.power_note = "n/a: test";
  metrics.update(s, {});
  EXPECT_EQ(metrics.render().find("inferlab_live_bpm"), std::string::npos);
  s.bpm = BpmEstimate{12.0, 71.5, 6.25, std::nullopt, ""};
  metrics.update(s, {});
  EXPECT_EQ(sample_value(metrics.render(), "inferlab_live_bpm"), 71.5);
  EXPECT_EQ(sample_value(metrics.render(), "inferlab_live_bpm_snr_db"), 6.25);
  s.bpm = BpmEstimate{13.0, std::nullopt, std::nullopt, std::nullopt, "no face in 40% of the window"};
  metrics.update(s, {});
  EXPECT_NE(metrics.render().find("\ninferlab_live_bpm NaN\n"), std::string::npos) << metrics.render();
  // A switch to torch: the old backend's info series drops to 0, the new one is 1.
  s.backend = "torch";
  s.switches.push_back({1.0, "opencv", "torch", 42.0, ""});
  metrics.update(s, {});
  const std::string text = metrics.render();
  EXPECT_EQ(sample_value(text, "inferlab_live_backend_info{backend=\"opencv\",method=\"pos\"}"), 0);
  EXPECT_EQ(sample_value(text, "inferlab_live_backend_info{backend=\"torch\",method=\"pos\"}"), 1);
  EXPECT_EQ(sample_value(text, "inferlab_live_backend_switches_total{result=\"ok\"}"), 1);
  EXPECT_EQ(sample_value(text, "inferlab_live_backend_switch_seconds_sum"), 0.042);
}

TEST(LiveMonitoring, ServesMetricsPageEventsAndSwitchesTheBackend) {
  LiveMetrics metrics;
  LivePipeline pipeline(paced_synthetic(metrics, 4));
  LiveHttpOptions options;
  options.web_port = 0;
  options.metrics_port = 0;
  options.sample_interval = std::chrono::milliseconds(200);
  LiveMonitoring http(pipeline, metrics, options);
  http.start();
  pipeline.start();
  ASSERT_GT(http.web_port(), 0);
  ASSERT_GT(http.metrics_port(), 0);
  EXPECT_NE(http.web_port(), http.metrics_port());

  httplib::Client web("127.0.0.1", http.web_port());
  auto page = web.Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_NE(page->body.find("Timing Monitor"), std::string::npos);
  auto uplot = web.Get("/uPlot.iife.min.js");
  ASSERT_TRUE(uplot);
  EXPECT_EQ(uplot->body, load_stream_chart_library().js);

  // Three `sample` events off the stream, in order.
  std::string received;
  int events = 0;
  auto stream = web.Get("/events", [&](const char* data, std::size_t n) {
    received.append(data, n);
    events = 0;
    for (auto at = received.find("event: sample"); at != std::string::npos; at = received.find("event: sample", at + 1))
      ++events;
    return events < 3;
  });
  EXPECT_GE(events, 3) << received;
  const std::regex t_s("\"t_s\":([0-9.e+-]+)");
  std::vector<double> times;
  for (auto it = std::sregex_iterator(received.begin(), received.end(), t_s); it != std::sregex_iterator(); ++it) {
    times.push_back(std::stod((*it)[1]));
  }
  ASSERT_GE(times.size(), 3u);
  EXPECT_LT(times[0], times[1]);
  EXPECT_LT(times[1], times[2]);

  // Only a JSON POST switches; it goes through request_switch().
  auto refused = web.Post("/api/switch", "x=1", "application/x-www-form-urlencoded");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 415);
  auto accepted = web.Post("/api/switch", "{}", "application/json");
  ASSERT_TRUE(accepted);
  EXPECT_EQ(accepted->status, 202);
  EXPECT_NE(accepted->body.find("\"from\":\"opencv\""), std::string::npos) << accepted->body;

  httplib::Client prometheus("127.0.0.1", http.metrics_port());
  auto scrape = prometheus.Get("/metrics");
  ASSERT_TRUE(scrape);
  EXPECT_EQ(scrape->status, 200);
  EXPECT_EQ(scrape->get_header_value("Content-Type"), kPrometheusContentType);
  EXPECT_NE(scrape->body.find("inferlab_live_stage_latency_seconds_bucket{stage=\"end_to_end\",le=\"+Inf\"}"),
            std::string::npos);

  // A second listener on a port in use: bad input naming the port.
  LiveHttpOptions clash;
  clash.metrics_port = http.metrics_port();
  LiveMonitoring second(pipeline, metrics, clash);
  try {
    second.start();
    FAIL() << "binding a port in use must fail";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kBadInput);
    EXPECT_NE(std::string(e.what()).find("--metrics-port: port " + std::to_string(clash.metrics_port)),
              std::string::npos)
        << e.what();
  }

  const LiveReport report = pipeline.wait();
  http.stop();
  ASSERT_EQ(report.switches.size(), 1u);
  EXPECT_EQ(report.switches[0].from, "opencv");
  EXPECT_EQ(report.switches[0].to, "torch");
  EXPECT_EQ(report.backend, "torch");
  // The last sample says the run finished and names the new backend.
  const std::string last = http.telemetry().latest();
  EXPECT_NE(last.find("\"finished\":true"), std::string::npos) << last;
  EXPECT_NE(last.find("\"backend\":\"torch\""), std::string::npos) << last;
}

TEST(StreamChartLibrary, MissingFilesNameTheFetchScript) {
  const char* saved = std::getenv("INFERLAB_UPLOT_DIR");
  const std::string restore = saved ? saved : "";
  ::setenv("INFERLAB_UPLOT_DIR", "/nonexistent/inferlab-uplot", 1);
  try {
    load_stream_chart_library();
    ADD_FAILURE() << "no chart library, yet it loaded";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kBadInput);
    EXPECT_NE(std::string(e.what()).find("scripts/fetch-uplot.sh"), std::string::npos) << e.what();
  }
  if (saved) {
    ::setenv("INFERLAB_UPLOT_DIR", restore.c_str(), 1);
  } else {
    ::unsetenv("INFERLAB_UPLOT_DIR");
  }
}

}  // namespace
}  // namespace inferlab
