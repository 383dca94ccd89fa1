// `inferlab serve`'s server on loopback with a real backend and a real
// HTTP client: the KServe v2 routes, bad requests answered 400 in JSON
// while the server keeps serving, and the Prometheus page.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "serve/inference_server.h"
#include "serve/kserve_json.h"
#include "serving_model.h"

using namespace inferlab;
using nlohmann::json;

namespace {

constexpr const char* kJsonType = "application/json";

std::string infer_body(int samples, float value) {
  json data = json::array();
  for (int i = 0; i < samples * 4; ++i) data.push_back(value);
  return json{{"id", "t"}, {"inputs", {{{"name", "x"}, {"shape", {samples, 4}}, {"datatype", "FP32"}, {"data", data}}}}}
      .dump();
}

// The value of the sample line starting with `prefix` on a Prometheus page; -1 when absent.
double metric_value(const std::string& page, const std::string& prefix) {
  std::size_t at = 0;
  while ((at = page.find(prefix, at)) != std::string::npos) {
    if (at == 0 || page[at - 1] == '\n') {
      const std::size_t space = page.find(' ', at + prefix.size());
      return std::stod(page.substr(space + 1, page.find('\n', space) - space - 1));
    }
    ++at;
  }
  return -1;
}

}  // namespace

TEST(InferenceServer, AnswersKServeV2AndKeepsServingAfterBadRequests) {
  const std::string backend = test_serving::onnx_backend();
  if (backend.empty()) GTEST_SKIP() << "no backend reading ONNX is compiled in";
  TempDir dir("inferlab-serve-test");
  ServeOptions options;
  options.model_name = "affine";
  options.source = test_serving::write_affine_model(dir.path());
  options.sample_shapes = {{1, 4}};
  options.backend = backend;
  options.batcher.max_batch = 4;
  options.batcher.max_queue_delay_us = 1000;
  options.max_request_bytes = 4096;
  options.http_threads = 4;
  InferenceServer server(options);
  const int port = server.start();
  httplib::Client client("127.0.0.1", port);

  auto ready = client.Get("/v2/health/ready");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200);
  auto meta = client.Get("/v2/models/affine");
  ASSERT_TRUE(meta);
  const json m = json::parse(meta->body);
  EXPECT_EQ(m.at("inputs").at(0).at("shape"), json({-1, 4}));
  EXPECT_EQ(m.at("parameters").at("max_batch"), 4);
  EXPECT_EQ(m.at("parameters").at("batch_shapes"), "exact");

  auto ok = client.Post("/v2/models/affine/infer", infer_body(2, 1.5F), kJsonType);
  ASSERT_TRUE(ok);
  ASSERT_EQ(ok->status, 200) << ok->body;
  const json reply = json::parse(ok->body);
  EXPECT_EQ(reply.at("id"), "t");
  EXPECT_EQ(reply.at("outputs").at(0).at("name"), "y");
  EXPECT_EQ(reply.at("outputs").at(0).at("shape"), json({2, 4}));
  for (const json& v : reply.at("outputs").at(0).at("data")) EXPECT_FLOAT_EQ(v.get<float>(), 4.0F);
  EXPECT_GE(reply.at("parameters").at("engine_ms").get<double>(), 0.0);

  // Bad requests: 400 with a JSON error naming the problem.
  const std::pair<std::string, std::string> bad[] = {
      {"{oops", "not valid JSON"},
      {infer_body(5, 1.0F), "outside 1..4"},
      {std::string(8192, ' '), "larger than the server's limit of 4096 bytes"},
  };
  for (const auto& [body, expected] : bad) {
    auto res = client.Post("/v2/models/affine/infer", body, kJsonType);
    ASSERT_TRUE(res) << expected;
    EXPECT_EQ(res->status, 400) << expected;
    const json error = json::parse(res->body, nullptr, false);
    ASSERT_FALSE(error.is_discarded()) << res->body;
    EXPECT_NE(error.value("error", "").find(expected), std::string::npos) << res->body;
  }
  auto unknown = client.Post("/v2/models/resnet/infer", infer_body(1, 1.0F), kJsonType);
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);
  EXPECT_TRUE(json::parse(unknown->body).contains("error"));

  // Still serving after all of that.
  auto again = client.Post("/v2/models/affine/infer", infer_body(1, 0.0F), kJsonType);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200);

  auto page = client.Get("/metrics");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  const std::string& text = page->body;
  EXPECT_EQ(metric_value(text, "inferlab_serve_requests_total{model=\"affine\",code=\"200\"}"), 2) << text;
  EXPECT_EQ(metric_value(text, "inferlab_serve_requests_total{model=\"affine\",code=\"400\"}"), 3) << text;
  EXPECT_EQ(metric_value(text, "inferlab_serve_request_duration_seconds_count{model=\"affine\",stage=\"engine\"}"), 2);
  EXPECT_EQ(metric_value(text, "inferlab_serve_batch_size_count{model=\"affine\"}"), 2);
  EXPECT_EQ(metric_value(text, "inferlab_serve_batch_size_bucket{model=\"affine\",le=\"1\"}"), 1);
  EXPECT_EQ(metric_value(text, "inferlab_serve_queue_depth{model=\"affine\"}"), 0);
  EXPECT_GT(metric_value(text, "process_resident_memory_bytes"), 0);
  EXPECT_GE(metric_value(text, "inferlab_process_cpu_utilisation"), 0);
  server.stop();
  server.stop();
}
