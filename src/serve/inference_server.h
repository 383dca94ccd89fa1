#pragma once
// `inferlab serve`: a KServe v2 JSON inference server over the dynamic
// batcher, with Prometheus metrics. Internal to src/serve and the CLI.

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "inferlab/backend.h"
#include "inferlab/batcher.h"
#include "inferlab/metrics.h"
#include "serve/http_service.h"
#include "serve/serve_metrics.h"

namespace inferlab {

/// What to serve and how.
struct ServeOptions {
  std::string model_name;            ///< the {name} in /v2/models/{name}
  ModelSource source;                ///< the file the backend reads, with declared inputs/outputs
  std::vector<Shape> sample_shapes;  ///< each input's shape with leading dimension 1 (static)
  std::string backend;
  SessionOptions session;
  BatcherSettings batcher;
  std::string host = "127.0.0.1";
  int port = 0;                               ///< 0: any free port
  std::size_t max_request_bytes = 64u << 20;  ///< larger bodies get 400
  int http_threads = 32;                      ///< HTTP worker threads (each holds one connection)
  std::int64_t warmup_runs = 2;               ///< per prepared session, before serving
};

/// Binds its port, then loads the model (K instances x batch sizes) and
/// serves, all in start().
/// Routes: GET /v2/health/live, /v2/health/ready, /v2/models/{name},
/// /v2/models/{name}/ready, POST /v2/models/{name}/infer, GET /metrics.
/// Not copyable; start()/stop() from one thread.
class InferenceServer {
 public:
  /// Checks the settings and creates the backend. Throws Error on invalid
  /// settings or an unknown backend.
  explicit InferenceServer(ServeOptions options);
  ~InferenceServer();
  InferenceServer(const InferenceServer&) = delete;
  InferenceServer& operator=(const InferenceServer&) = delete;

  /// Binds (throws Error kBadInput naming the port when it is in use), then
  /// loads, prepares and warms every session while health/ready answers 503,
  /// then serves; returns the port. Throws Error when a session cannot load.
  int start();
  /// Stops listening (answers in progress finish), then the batcher. Idempotent.
  void stop();

  /// The metrics this server exports on /metrics.
  MetricsRegistry& metrics() { return registry_; }
  /// The batcher (after start()).
  const DynamicBatcher& batcher() const { return *batcher_; }

 private:
  void add_routes();
  void infer(const httplib::Request& req, httplib::Response& res);
  std::string metadata() const;

  ServeOptions options_;
  std::unique_ptr<Backend> backend_;
  std::string backend_version_;
  MetricsRegistry registry_;
  std::unique_ptr<ServeMetrics> metrics_;
  std::unique_ptr<DynamicBatcher> batcher_;
  std::vector<TensorSpec> sample_inputs_;
  std::atomic<bool> ready_{false};
  HttpService http_;
};

}  // namespace inferlab
