#pragma once
// `live --metrics-port P` and `live --web P`: the HTTP side of a live run.
// /metrics serves the run's Prometheus series; the web Timing Monitor serves
// its page, uPlot, a server-sent event stream of samples and a backend switch
// that calls LivePipeline::request_switch(), the path SIGUSR1 and the TUI's
// 'b' key take.

#include <memory>
#include <string>

#include "inferlab/live.h"
#include "serve/http_service.h"
#include "serve/live_metrics.h"
#include "serve/live_telemetry.h"
#include "serve/stream_charts.h"

namespace inferlab {

/// Where to listen. A port of -1 leaves that server out; 0 picks a free
/// port. Equal ports (> 0) share one server that answers every route.
struct LiveHttpOptions {
  std::string host = "127.0.0.1";
  int metrics_port = -1;  ///< GET /metrics
  int web_port = -1;      ///< GET / (page), /events (SSE), POST /api/switch, GET /api/state, GET /metrics
  std::chrono::milliseconds sample_interval{500};  ///< telemetry period = the page's update period
};

/// Routes of the web Timing Monitor:
///   GET  /                 the page          GET /monitor.js, /monitor.css, /uPlot.iife.min.js, /uPlot.min.css
///   GET  /events           text/event-stream of `sample` events (the last 2 minutes first)
///   GET  /api/state        the newest sample (JSON)
///   POST /api/switch       Content-Type application/json; 202 {"requested": true, "from": B}; 409 once the run ended
///   GET  /metrics          Prometheus text format
/// Owns the telemetry sampler and the listeners. The pipeline and `metrics`
/// must outlive it (declare it after the pipeline). Thread-safe.
class LiveMonitoring {
 public:
  /// Loads uPlot when the web monitor is asked for (Error naming
  /// scripts/fetch-uplot.sh when missing) and registers the routes; binds nothing yet.
  LiveMonitoring(LivePipeline& pipeline, LiveMetrics& metrics, LiveHttpOptions options);
  ~LiveMonitoring();
  LiveMonitoring(const LiveMonitoring&) = delete;
  LiveMonitoring& operator=(const LiveMonitoring&) = delete;

  /// Binds the ports (Error, bad input, naming a port in use) and starts sampling.
  void start();
  /// Last sample, end of the event stream, listeners closed. Idempotent.
  void stop();

  /// Bound ports (0 for a server left out); valid after start().
  int metrics_port() const;
  int web_port() const;
  /// The sampler (its event stream, the newest sample).
  LiveTelemetry& telemetry() { return telemetry_; }

 private:
  void add_metrics_route(httplib::Server& server);
  void add_web_routes(httplib::Server& server);

  LivePipeline& pipeline_;
  LiveMetrics& metrics_;
  LiveHttpOptions options_;
  LiveTelemetry telemetry_;
  StreamChartLibrary charts_;
  std::unique_ptr<HttpService> metrics_http_, web_http_;  // null when left out or shared
  bool started_ = false, stopped_ = false;
};

}  // namespace inferlab
