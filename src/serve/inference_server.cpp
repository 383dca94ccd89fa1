// The KServe v2 JSON routes over the dynamic batcher.
#include "serve/inference_server.h"

#include <chrono>
#include <future>

#include "inferlab/error.h"
#include "inferlab/registry.h"
#include "serve/kserve_json.h"

namespace inferlab {

namespace {

using nlohmann::json;
constexpr const char* kJson = "application/json";

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

InferenceServer::InferenceServer(ServeOptions options) : options_(std::move(options)) {
  validate_batcher_settings(options_.batcher);
  backend_ = create_backend(options_.backend);
  backend_version_ = backend_->version();
  for (std::size_t i = 0; i < options_.sample_shapes.size(); ++i) {
    TensorSpec spec;
    spec.name = i < options_.source.inputs.size() ? options_.source.inputs[i].name : "input" + std::to_string(i);
    spec.shape = options_.sample_shapes[i];
    sample_inputs_.push_back(spec);
  }
  metrics_ = std::make_unique<ServeMetrics>(registry_, options_.model_name, options_.backend);
  add_routes();
}

InferenceServer::~InferenceServer() { stop(); }

int InferenceServer::start() {
  // The port first: one in use fails at once, not after the sessions load.
  // Until they have, every model route answers 503 and ready says false.
  const int port = http_.start(options_.host, options_.port, "serve --port");
  try {
    ServeMetrics* metrics = metrics_.get();
    batcher_ = std::make_unique<DynamicBatcher>(
        [this] { return backend_->load(options_.source, options_.session); }, options_.sample_shapes, options_.batcher,
        options_.warmup_runs, [metrics](std::int64_t samples, double) { metrics->batch_done(samples); });
  } catch (...) {
    http_.stop();
    throw;
  }
  ready_.store(true);
  return port;
}

void InferenceServer::stop() {
  http_.stop();
  if (batcher_) batcher_->stop();
}

std::string InferenceServer::metadata() const {
  const BatcherStats stats = batcher_->stats();
  return json{{"name", options_.model_name},
              {"versions", json::array({"1"})},
              {"platform", "inferlab-" + options_.backend},
              {"inputs", kserve_tensor_metadata(sample_inputs_)},
              {"outputs", kserve_tensor_metadata(batcher_->sample_output_specs())},
              {"parameters",
               {{"backend", options_.backend},
                {"backend_version", backend_version_},
                {"precision", precision_name(options_.session.precision)},
                {"threads", options_.session.intra_op_threads},
                {"max_batch", options_.batcher.max_batch},
                {"max_queue_delay_us", options_.batcher.max_queue_delay_us},
                {"instances", options_.batcher.instances},
                {"batch_shapes", batch_shapes_name(options_.batcher.batch_shapes)},
                {"batching", batcher_->describe()},
                {"timed_region", batcher_->timed_region()},
                {"timing_boundary", timing_boundary_name(batcher_->timing_boundary())},
                {"batch_size_counts", stats.batch_size_counts},
                {"max_queue_samples_seen", stats.max_queue_samples_seen}}}}
      .dump();
}

void InferenceServer::add_routes() {
  httplib::Server& s = http_.server();
  // Each connection holds one HTTP thread for its keep-alive life, so the
  // pool must be as large as the concurrency clients are expected to use.
  const int threads = options_.http_threads;
  s.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<std::size_t>(threads)); };
  s.set_keep_alive_max_count(100000);
  s.set_payload_max_length(options_.max_request_bytes);
  s.set_read_timeout(30, 0);
  s.set_write_timeout(30, 0);

  s.Get("/v2/health/live",
        [](const httplib::Request&, httplib::Response& res) { res.set_content(R"({"live":true})", kJson); });
  const auto readiness = [this](const httplib::Request&, httplib::Response& res) {
    res.status = ready_.load() ? 200 : 503;
    res.set_content(ready_.load() ? R"({"ready":true})" : R"({"ready":false,"error":"loading the model"})", kJson);
  };
  s.Get("/v2/health/ready", readiness);
  const std::string base = "/v2/models/" + options_.model_name;
  s.Get(base + "/ready", readiness);
  s.Get(base, [this, readiness](const httplib::Request& req, httplib::Response& res) {
    if (!ready_.load()) return readiness(req, res);
    res.set_content(metadata(), kJson);
  });
  s.Post(base + "/infer", [this](const httplib::Request& req, httplib::Response& res) {
    if (!ready_.load()) {
      res.status = 503;
      res.set_content(error_body("the model is still loading"), kJson);
      return;
    }
    infer(req, res);
  });
  s.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    metrics_->set_queue_depth(ready_.load() ? batcher_->queued_samples() : 0);
    metrics_->refresh_process();
    res.set_content(registry_.render_prometheus(), kPrometheusContentType);
  });
  // Every error answer is JSON. httplib answers a body over the payload limit
  // with 413 before any route runs; the contract says 400, so it becomes one.
  const std::size_t limit = options_.max_request_bytes;
  ServeMetrics* metrics = metrics_.get();
  s.set_error_handler(
      httplib::Server::HandlerWithResponse([limit, metrics](const httplib::Request& req, httplib::Response& res) {
        if (res.status == 413) {
          res.status = 400;
          res.set_content(error_body("the request body is larger than the server's limit of " + std::to_string(limit) +
                                     " bytes (--max-request-mb)"),
                          kJson);
          metrics->request_done(400, 0, 0, 0);
        } else if (res.body.empty()) {
          res.set_content(error_body("no route " + req.method + " " + req.path), kJson);
        }
        return httplib::Server::HandlerResponse::Handled;
      }));
  s.set_exception_handler([metrics](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "internal error";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    res.status = 500;
    res.set_content(error_body(what), kJson);
    metrics->request_done(500, 0, 0, 0);
  });
}

void InferenceServer::infer(const httplib::Request& req, httplib::Response& res) {
  const auto t0 = std::chrono::steady_clock::now();
  auto fail = [&](int status, const std::string& message) {
    res.status = status;
    res.set_content(error_body(message), kJson);
    metrics_->request_done(status, ms_since(t0), 0, 0);
  };
  InferRequestBody body;
  try {
    body = parse_infer_request(req.body, sample_inputs_, options_.batcher.max_batch);
  } catch (const Error& e) {
    fail(400, e.what());
    return;
  }
  // The parsed tensors travel with the request: the batcher releases them
  // after the reply, whether or not this handler is still waiting for it.
  auto owned = std::make_shared<InferRequestBody>(std::move(body));
  auto promise = std::make_shared<std::promise<BatchReply>>();
  std::future<BatchReply> reply_future = promise->get_future();
  BatchRequest request;
  for (const Tensor& t : owned->inputs) request.inputs.push_back(&t);
  request.samples = owned->samples;
  request.keep_alive = owned;
  request.done = [promise](BatchReply&& reply) { promise->set_value(std::move(reply)); };
  if (!batcher_->submit(std::move(request))) {
    fail(503, "the queue is full (--max-queue " + std::to_string(options_.batcher.max_queue_samples) +
                  " samples): the server is overloaded, retry later");
    return;
  }
  BatchReply reply = reply_future.get();
  if (!reply.error.empty()) {
    fail(reply.cancelled ? 503 : 500, reply.cancelled ? "the server is stopping" : reply.error);
    return;
  }
  res.set_content(make_infer_response(options_.model_name, owned->id, batcher_->sample_output_specs(), reply.outputs,
                                      reply.queue_ms, reply.engine_ms, reply.batch_samples),
                  kJson);
  metrics_->request_done(200, ms_since(t0), reply.queue_ms, reply.engine_ms);
}

}  // namespace inferlab
