// The HTTP client side of the server scenario: a client-side queue served by
// keep-alive connections, each on its own sender thread, so the issuing
// thread never waits for the server.
#include "serve/http_load.h"

#include <httplib.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <regex>
#include <thread>

#include "inferlab/error.h"
#include "inferlab/loadgen.h"
#include "inferlab/worker.h"
#include "serve/kserve_json.h"

namespace inferlab {

namespace {

using nlohmann::json;

double ms_between(ServingClock::time_point from, ServingClock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

class HttpTarget final : public QueryTarget {
 public:
  HttpTarget(const LoopbackUrl& url, std::string path, std::string body, int connections, std::int64_t max_queue)
      : url_(url), path_(std::move(path)), body_(std::move(body)), max_queue_(max_queue) {
    for (int i = 0; i < connections; ++i) senders_.emplace_back([this] { send_loop(); });
  }
  ~HttpTarget() override {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (auto& t : senders_) t.join();
    cancel_pending();
  }

  bool issue(SampleDone done) override {
    {
      std::lock_guard lock(mutex_);
      if (static_cast<std::int64_t>(queue_.size()) >= max_queue_) return false;
      queue_.push_back(std::move(done));
      max_depth_ = std::max(max_depth_, static_cast<std::int64_t>(queue_.size()));
    }
    wake_.notify_one();
    return true;
  }

  std::int64_t cancel_pending() override {
    std::deque<SampleDone> taken;
    {
      std::lock_guard lock(mutex_);
      taken.swap(queue_);
    }
    SampleTiming t;
    t.cancelled = true;
    for (auto& done : taken) done(t);
    return static_cast<std::int64_t>(taken.size());
  }

  // The server's own count of engine runs by batch size (model metadata).
  std::vector<std::int64_t> batch_size_counts() override {
    httplib::Client client(url_.host, url_.port);
    auto res = client.Get(metadata_path());
    if (!res || res->status != 200) return {};
    const json doc = json::parse(res->body, nullptr, false);
    if (doc.is_discarded()) return {};
    return doc.value("parameters", json::object()).value("batch_size_counts", std::vector<std::int64_t>{});
  }

  std::int64_t take_max_queue_depth() override {
    std::lock_guard lock(mutex_);
    const std::int64_t seen = max_depth_;
    max_depth_ = static_cast<std::int64_t>(queue_.size());
    return seen;
  }

  std::string metadata_path() const { return path_.substr(0, path_.size() - std::string("/infer").size()); }

 private:
  void send_loop() {
    httplib::Client client(url_.host, url_.port);
    client.set_keep_alive(true);
    client.set_tcp_nodelay(true);  // the request's headers and body are separate writes (see HttpService)
    client.set_read_timeout(60, 0);
    client.set_write_timeout(60, 0);
    for (;;) {
      SampleDone done;
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;
        done = std::move(queue_.front());
        queue_.pop_front();
      }
      SampleTiming t;
      const auto sent = ServingClock::now();
      auto res = client.Post(path_, body_, "application/json");
      if (res && res->status == 200) {
        const json doc = json::parse(res->body, nullptr, false);
        if (!doc.is_discarded() && doc.contains("parameters")) {
          const json& p = doc.at("parameters");
          t.ok = true;
          t.queue_ms = p.value("queue_ms", 0.0);
          t.engine_ms = p.value("engine_ms", 0.0);
        }
      }
      t.round_trip_ms = ms_between(sent, ServingClock::now());
      done(t);
    }
  }

  LoopbackUrl url_;
  std::string path_, body_;
  std::int64_t max_queue_;
  std::vector<std::thread> senders_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<SampleDone> queue_;
  std::int64_t max_depth_ = 0;
  bool stopping_ = false;
};

}  // namespace

LoopbackUrl parse_loopback_url(const std::string& url) {
  static const std::regex pattern(R"(^http://(\[::1\]|[A-Za-z0-9.\-]+):([0-9]{1,5})/?$)");
  std::smatch m;
  if (!std::regex_match(url, m, pattern)) {
    throw Error("--url " + url + ": expected http://127.0.0.1:PORT (http, a loopback host and a port, no path)");
  }
  LoopbackUrl out;
  out.host = m[1].str() == "[::1]" ? "::1" : m[1].str();
  out.port = std::stoi(m[2].str());
  if (out.host != "127.0.0.1" && out.host != "localhost" && out.host != "::1") {
    throw Error("--url " + url + ": only loopback hosts (127.0.0.1, localhost, [::1]) may be driven, not " + out.host);
  }
  if (out.port < 1 || out.port > 65535) throw Error("--url " + url + ": port out of range 1..65535");
  return out;
}

BenchResult run_http_server_bench(const std::string& model_name, const ServingSettings& settings,
                                  const RunSettings& run) {
  const LoopbackUrl url = parse_loopback_url(settings.url);
  validate_serving_settings(settings, "server");
  httplib::Client client(url.host, url.port);
  client.set_read_timeout(60, 0);
  auto ready = client.Get("/v2/health/ready");
  if (!ready || ready->status != 200) {
    throw Error("--url " + settings.url +
                ": no inference server answers /v2/health/ready there (start one with "
                "`inferlab serve MODEL --port " +
                std::to_string(url.port) + "`)");
  }
  const std::string base = "/v2/models/" + model_name;
  auto meta = client.Get(base);
  if (!meta || meta->status != 200) {
    throw Error("--url " + settings.url + ": the server does not serve model '" + model_name + "'");
  }
  const json doc = json::parse(meta->body, nullptr, false);
  if (doc.is_discarded() || !doc.contains("inputs")) {
    throw Error("--url " + settings.url + ": the model metadata of '" + model_name + "' is not KServe v2 JSON");
  }
  const json params = doc.value("parameters", json::object());

  // One seeded sample, serialised once: the client's own JSON cost is then
  // outside the measured latency, the server's parsing inside it.
  std::vector<TensorSpec> specs;
  std::vector<Tensor> sample;
  std::vector<const Tensor*> pointers;
  for (std::size_t i = 0; i < doc.at("inputs").size(); ++i) {
    const json& in = doc.at("inputs")[i];
    TensorSpec spec;
    spec.name = in.at("name").get<std::string>();
    spec.shape = in.at("shape").get<Shape>();
    if (!spec.shape.empty()) spec.shape[0] = 1;
    specs.push_back(spec);
    sample.emplace_back(DType::kFloat32, spec.shape);
    fill_seeded_uniform(sample.back(), 20261124 + i);
  }
  for (const Tensor& t : sample) pointers.push_back(&t);
  const std::string body = make_infer_request(specs, pointers, "bench");

  // Warm-up: sequential requests, untimed; their engine time seeds the search.
  double engine_ms = 0;
  const std::int64_t warmups = std::max<std::int64_t>(1, run.warmup_count);
  for (std::int64_t i = 0; i < warmups; ++i) {
    auto res = client.Post(base + "/infer", body, "application/json");
    if (!res || res->status != 200) {
      throw Error("--url " + settings.url + ": the warm-up request failed: " +
                  (res ? std::to_string(res->status) + " " + res->body : std::string("no response")));
    }
    engine_ms = json::parse(res->body).at("parameters").value("engine_ms", 0.0);
  }

  WorkerSpec spec;
  spec.model.name = model_name;
  spec.backend = params.value("backend", "unknown");
  spec.precision = params.value("precision", "fp32");
  spec.threads = params.value("threads", 1);
  spec.batch = params.value("max_batch", std::int64_t{1});
  spec.scenario = "server";
  spec.run = run;
  BenchResult result = result_for(spec);
  result.model_format = "served";
  result.model_form = "served by " + settings.url;
  result.backend_version = params.value("backend_version", "");
  result.timing_boundary = timing_boundary_name(TimingBoundary::kEndToEnd);
  result.timed_region =
      "from each query's scheduled arrival to its parsed HTTP response over loopback: client-side queueing, the "
      "request's transfer and JSON parsing, the server's batcher queue and engine (" +
      params.value("timed_region", std::string("?")) + "), the response's JSON and transfer";
  result.power_note = "n/a: the engine runs in the server process";

  HttpTarget target(url, base + "/infer", body, settings.connections, settings.batcher.max_queue_samples);
  const int instances = params.value("instances", 1);
  const double capacity = engine_ms > 0 ? 1000.0 * instances / engine_ms : 0;
  ServingResult serving;
  LoadRun load = run_server_scenario(target, settings, run, 0.8 * capacity, serving);
  serving.url = settings.url;
  serving.max_batch = spec.batch;
  serving.max_queue_delay_us = params.value("max_queue_delay_us", 0.0);
  serving.instances = instances;
  serving.batch_shapes = params.value("batch_shapes", "");
  serving.batching = params.value("batching", "");
  if (load.latencies_ms.empty()) {
    result.status = ResultStatus::kFailed;
    result.reason = "no query completed (" + std::to_string(serving.dropped) + " dropped, " +
                    std::to_string(serving.cancelled) + " cancelled)";
    result.serving = std::move(serving);
    return result;
  }
  RunOutcome outcome;
  outcome.latencies_ms = load.latencies_ms;
  outcome.duration_ms = load.duration_ms;
  outcome.warmup_iterations = warmups;
  outcome.stop_reason = load.stop_reason;
  fill_run_statistics(spec, std::move(outcome), result);
  result.throughput_per_s = serving.achieved_qps;
  result.serving = std::move(serving);
  result.status = ResultStatus::kOk;
  return result;
}

}  // namespace inferlab
