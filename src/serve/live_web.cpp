#include "serve/live_web.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "inferlab/error.h"
#include "inferlab/metrics.h"
#include "serve/monitor_assets.h"

namespace inferlab {

namespace {

void send_json(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_header("Cache-Control", "no-store");
  res.set_content(body.dump(), "application/json");
}

// A reader that reconnects says where it stopped (Last-Event-ID); anything
// unparsable starts from the history, as a new reader does.
std::uint64_t last_event_id(const httplib::Request& req) {
  if (!req.has_header("Last-Event-ID")) return 0;
  try {
    return std::stoull(req.get_header_value("Last-Event-ID"));
  } catch (const std::exception&) {
    return 0;
  }
}

}  // namespace

LiveMonitoring::LiveMonitoring(LivePipeline& pipeline, LiveMetrics& metrics, LiveHttpOptions options)
    : pipeline_(pipeline),
      metrics_(metrics),
      options_(std::move(options)),
      telemetry_(pipeline, metrics, options_.sample_interval) {
  const bool web = options_.web_port >= 0, prometheus = options_.metrics_port >= 0;
  const bool shared = web && prometheus && options_.metrics_port == options_.web_port && options_.web_port > 0;
  if (web) {
    charts_ = load_stream_chart_library();
    web_http_ = std::make_unique<HttpService>();
    add_web_routes(web_http_->server());
    add_metrics_route(web_http_->server());
  }
  if (prometheus && !shared) {
    metrics_http_ = std::make_unique<HttpService>();
    add_metrics_route(metrics_http_->server());
  }
}

LiveMonitoring::~LiveMonitoring() { stop(); }

void LiveMonitoring::add_metrics_route(httplib::Server& server) {
  server.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics_.render(), kPrometheusContentType);
  });
}

void LiveMonitoring::add_web_routes(httplib::Server& server) {
  auto serve_text = [&server](const std::string& path, const std::string* text, const char* type) {
    server.Get(path, [text, type](const httplib::Request&, httplib::Response& res) { res.set_content(*text, type); });
  };
  static const std::string html = kMonitorHtml, js = kMonitorJs, css = kMonitorCss;
  serve_text("/", &html, "text/html; charset=utf-8");
  serve_text("/monitor.js", &js, "text/javascript; charset=utf-8");
  serve_text("/monitor.css", &css, "text/css; charset=utf-8");
  serve_text("/uPlot.iife.min.js", &charts_.js, "text/javascript; charset=utf-8");
  serve_text("/uPlot.min.css", &charts_.css, "text/css; charset=utf-8");

  server.Get("/api/state", [this](const httplib::Request&, httplib::Response& res) {
    res.set_header("Cache-Control", "no-store");
    res.set_content(telemetry_.latest(), "application/json");
  });

  // The same request SIGUSR1 and the TUI's 'b' make. Only a JSON POST is
  // accepted: a cross-site form or a "simple" fetch from another page cannot
  // send one without a CORS preflight, which this server never grants.
  server.Post("/api/switch", [this](const httplib::Request& req, httplib::Response& res) {
    if (req.get_header_value("Content-Type").rfind("application/json", 0) != 0) {
      send_json(res, 415, {{"error", "POST /api/switch needs Content-Type: application/json"}});
      return;
    }
    if (pipeline_.finished()) {
      send_json(res, 409, {{"error", "the run has ended"}});
      return;
    }
    const std::string from = pipeline_.snapshot().backend;
    pipeline_.request_switch();
    send_json(res, 202, {{"requested", true}, {"from", from}});
  });

  server.Get("/events", [this](const httplib::Request& req, httplib::Response& res) {
    auto cursor = std::make_shared<std::uint64_t>(last_event_id(req));
    res.set_header("Cache-Control", "no-store");
    res.set_chunked_content_provider("text/event-stream", [this, cursor](std::size_t, httplib::DataSink& sink) {
      EventStream& stream = telemetry_.events();
      const auto events = stream.wait_after(*cursor, std::chrono::seconds(1));
      if (events.empty()) {
        if (stream.closed()) {
          sink.done();
          return true;
        }
        // A comment line keeps idle connections (and proxies) from timing out
        // and finds a reader that has gone.
        static const std::string ping = ": ping\n\n";
        return sink.write(ping.data(), ping.size());
      }
      std::string text = *cursor == 0 ? "retry: 1000\n\n" : "";
      for (const auto& e : events) text += EventStream::format(e);
      *cursor = events.back().id;
      return sink.write(text.data(), text.size());
    });
  });
}

void LiveMonitoring::start() {
  if (web_http_) web_http_->start(options_.host, options_.web_port, "--web");
  if (metrics_http_) metrics_http_->start(options_.host, options_.metrics_port, "--metrics-port");
  telemetry_.start();
  started_ = true;
}

void LiveMonitoring::stop() {
  if (stopped_) return;
  stopped_ = true;
  if (started_) telemetry_.finish();
  if (web_http_) web_http_->stop();
  if (metrics_http_) metrics_http_->stop();
}

int LiveMonitoring::metrics_port() const {
  if (metrics_http_) return metrics_http_->port();
  return options_.metrics_port >= 0 && web_http_ ? web_http_->port() : 0;
}

int LiveMonitoring::web_port() const { return web_http_ ? web_http_->port() : 0; }

}  // namespace inferlab
