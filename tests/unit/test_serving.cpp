// Serving settings, results and the pure parts of the scenarios: the QPS
// bisection, seeded Poisson arrivals, KServe v2 bodies, loopback URLs.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "inferlab/error.h"
#include "inferlab/result.h"
#include "inferlab/serving.h"
#include "serve/http_load.h"
#include "serve/kserve_json.h"

using namespace inferlab;

TEST(QpsSearch, BracketsThenBisectsAndEveryProbeLiesInsideTheBracket) {
  // A system whose true capacity is 137 QPS: probes at or below it meet the bound.
  QpsSearch search(10, 0.05, 40);
  std::vector<double> probes;
  double met_max = 0, failed_min = 1e18;
  while (auto qps = search.next()) {
    EXPECT_GT(*qps, met_max);
    EXPECT_LT(*qps, failed_min);
    probes.push_back(*qps);
    const bool met = *qps <= 137;
    if (met) met_max = std::max(met_max, *qps);
    if (!met) failed_min = std::min(failed_min, *qps);
    search.record(*qps, met);
  }
  EXPECT_EQ(probes.front(), 10);
  EXPECT_EQ(probes[1], 20);  // doubling while met
  EXPECT_LE(search.best_met_qps(), 137);
  EXPECT_LE(search.lowest_failed_qps(), search.best_met_qps() * 1.05);
  EXPECT_NE(search.stop_reason().find("converged"), std::string::npos) << search.stop_reason();
}

TEST(QpsSearch, StopsAtMaxProbesAndWhenNothingMeetsTheBound) {
  QpsSearch capped(100, 0.01, 3);
  for (int i = 0; i < 3; ++i) capped.record(*capped.next(), true);
  EXPECT_FALSE(capped.next());
  EXPECT_NE(capped.stop_reason().find("--max-probes 3"), std::string::npos);
  EXPECT_EQ(capped.best_met_qps(), 400);

  QpsSearch hopeless(4, 0.05, 50);
  while (auto qps = hopeless.next()) hopeless.record(*qps, false);
  EXPECT_EQ(hopeless.best_met_qps(), 0);
  EXPECT_NE(hopeless.stop_reason().find("no QPS met the bound"), std::string::npos) << hopeless.stop_reason();
  EXPECT_THROW(QpsSearch(0, 0.05, 3), Error);
}

TEST(PoissonArrivals, SeededReproducibleAndAtTheRequestedRate) {
  const auto a = poisson_arrivals_ms(200, 20000, 7);
  EXPECT_EQ(a, poisson_arrivals_ms(200, 20000, 7));
  EXPECT_NE(a, poisson_arrivals_ms(200, 20000, 8));
  EXPECT_EQ(a.front(), 0);
  EXPECT_TRUE(std::is_sorted(a.begin(), a.end()));
  // Mean gap 5 ms; the gaps' coefficient of variation is 1 for exponential gaps.
  std::vector<double> gaps;
  for (std::size_t i = 1; i < a.size(); ++i) gaps.push_back(a[i] - a[i - 1]);
  const double mean = std::accumulate(gaps.begin(), gaps.end(), 0.0) / static_cast<double>(gaps.size());
  double var = 0;
  for (double g : gaps) var += (g - mean) * (g - mean);
  const double cv = std::sqrt(var / static_cast<double>(gaps.size() - 1)) / mean;
  EXPECT_NEAR(mean, 5.0, 0.15);
  EXPECT_NEAR(cv, 1.0, 0.05);
}

TEST(ServingSettings, BadValuesNameTheirFlag) {
  ServingSettings s;
  auto message = [&](const std::string& scenario) {
    try {
      validate_serving_settings(s, scenario);
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kBadInput);
      return std::string(e.what());
    }
    return std::string();
  };
  s.target_qps = 0;
  EXPECT_NE(message("server").find("--target-qps 0: must be > 0"), std::string::npos);
  s.target_qps = -5;
  EXPECT_NE(message("server").find("--target-qps -5"), std::string::npos);
  s.target_qps = 10;
  EXPECT_EQ(message("server"), "");
  s.latency_bound_ms = 0;
  EXPECT_NE(message("server").find("--latency-bound-ms"), std::string::npos);
  s.latency_bound_ms = 10;
  s.samples_per_query = 0;
  EXPECT_NE(message("multi-stream").find("--samples-per-query"), std::string::npos);
  s.samples_per_query = 2;
  s.batcher.instances = 0;
  EXPECT_NE(message("multi-stream").find("--instances"), std::string::npos);
  EXPECT_THROW(batch_shapes_from_name("pow2"), Error);
}

TEST(ServingResult, RoundTripsThroughTheBenchRowJson) {
  BenchResult row;
  row.model = "m";
  row.backend = "onnxruntime";
  row.scenario = "server";
  ServingResult s;
  s.target_qps = 50;
  s.achieved_qps = 49.5;
  s.latency_bound_ms = 100;
  s.bound_met = true;
  s.find_max_qps = true;
  s.issued = s.completed = 100;
  s.search = {QpsProbe{50, 49.5, 20, true, 100, 100, 0, 0, false}, QpsProbe{100, 60, 300, false, 40, 30, 0, 10, true}};
  s.search_stop = "converged";
  s.max_batch = 8;
  s.batch_shapes = "exact";
  s.batch_size_counts = {0, 5, 10};
  s.split_ms["queue"] = LatencySummary{1, 2, 1.5};
  row.serving = s;
  const nlohmann::json j = to_json(row);
  EXPECT_EQ(j.at("achieved_qps"), 49.5);
  EXPECT_EQ(j.at("bound_met"), true);
  EXPECT_EQ(j.at("search").size(), 2u);
  EXPECT_EQ(j.at("batcher").at("batch_shapes"), "exact");
  const BenchResult back = bench_result_from_json(j);
  ASSERT_TRUE(back.serving);
  EXPECT_EQ(to_json(*back.serving), to_json(s));
  EXPECT_FALSE(bench_result_from_json(to_json(BenchResult{})).serving);
}

TEST(KServeJson, ParsesAValidRequestFlatOrNested) {
  const std::vector<TensorSpec> inputs{{"x", DType::kFloat32, {1, 2, 2}, ""}};
  const auto flat = parse_infer_request(
      R"({"id":"a","inputs":[{"name":"x","shape":[2,2,2],"datatype":"FP32","data":[1,2,3,4,5,6,7,8]}]})", inputs, 4);
  EXPECT_EQ(flat.id, "a");
  EXPECT_EQ(flat.samples, 2);
  ASSERT_EQ(flat.inputs.at(0).shape(), (Shape{2, 2, 2}));
  EXPECT_EQ(flat.inputs[0].data_as<float>()[7], 8.0F);
  const auto nested = parse_infer_request(
      R"({"inputs":[{"name":"x","shape":[1,2,2],"datatype":"FP32","data":[[[1,2],[3,4]]]}]})", inputs, 4);
  EXPECT_EQ(nested.inputs[0].data_as<float>()[3], 4.0F);
}

TEST(KServeJson, MalformedRequestsAreOneLineErrors) {
  const std::vector<TensorSpec> inputs{{"x", DType::kFloat32, {1, 2}, ""}};
  auto error_of = [&](const std::string& body) {
    try {
      parse_infer_request(body, inputs, 2);
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(error_of("{not json").find("not valid JSON"), std::string::npos);
  EXPECT_NE(error_of(R"({"inputs":5})").find("\"inputs\" must be an array"), std::string::npos);
  EXPECT_NE(error_of(R"({"inputs":[{"name":"z","shape":[1,2],"datatype":"FP32","data":[1,2]}]})").find("no input 'z'"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"inputs":[{"name":"x","shape":[1,2],"datatype":"INT64","data":[1,2]}]})").find("FP32"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[1,2,3]}]})")
                .find("does not match [n, 2]"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"inputs":[{"name":"x","shape":[1,2],"datatype":"FP32","data":[1]}]})").find("exactly 2"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"inputs":[{"name":"x","shape":[3,2],"datatype":"FP32","data":[1,2,3,4,5,6]}]})")
                .find("outside 1..2"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"inputs":[{"name":"x","shape":[1,2],"datatype":"FP32","data":[1,"a"]}]})").find("exactly 2"),
            std::string::npos);
}

TEST(LoopbackUrl, AcceptsLoopbackAndRefusesEverythingElse) {
  EXPECT_EQ(parse_loopback_url("http://127.0.0.1:8000").port, 8000);
  EXPECT_EQ(parse_loopback_url("http://localhost:80/").host, "localhost");
  EXPECT_EQ(parse_loopback_url("http://[::1]:9").host, "::1");
  for (const char* bad : {"http://10.0.0.1:8000", "https://127.0.0.1:8000", "http://127.0.0.1", "127.0.0.1:8000",
                          "http://example.com:80", "http://127.0.0.1:8000/v2"}) {
    EXPECT_THROW(parse_loopback_url(bad), Error) << bad;
  }
  try {
    parse_loopback_url("http://192.168.1.5:8000");
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("only loopback hosts"), std::string::npos) << e.what();
  }
}
