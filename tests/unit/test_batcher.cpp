// The dynamic batcher and the load generator on real sessions of a tiny
// model (y = 2x + 1), so every reply can be traced to its own request.
#include <gtest/gtest.h>

#include <algorithm>
#include <future>
#include <memory>

#include "inferlab/batcher.h"
#include "inferlab/error.h"
#include "inferlab/loadgen.h"
#include "inferlab/stats.h"
#include "serving_model.h"

using namespace inferlab;

namespace {

struct Fixture {
  TempDir dir{"inferlab-batcher-test"};
  std::string backend_name = test_serving::onnx_backend();
  ModelSource source;
  std::unique_ptr<Backend> backend;
  Fixture() {
    if (backend_name.empty()) return;
    source = test_serving::write_affine_model(dir.path());
    backend = create_backend(backend_name);
  }
  SessionFactory factory() {
    return [this] { return backend->load(source, SessionOptions{}); };
  }
};

// Request i carries samples rows all equal to i + row / 10.
std::shared_ptr<Tensor> input_for(int i, std::int64_t samples) {
  auto t = std::make_shared<Tensor>(DType::kFloat32, Shape{samples, 4});
  for (std::int64_t k = 0; k < samples * 4; ++k) t->data_as<float>()[k] = static_cast<float>(i) + (k / 4) / 10.0F;
  return t;
}

}  // namespace

TEST(DynamicBatcher, FullBatchesFormAndEveryReplyHoldsItsOwnRows) {
  Fixture f;
  if (f.backend_name.empty()) GTEST_SKIP() << "no backend reading ONNX is compiled in";
  BatcherSettings settings;
  settings.max_batch = 4;
  settings.max_queue_delay_us = 10e6;  // only a full batch starts within the test
  DynamicBatcher batcher(f.factory(), {{1, 4}}, settings);
  constexpr int kRequests = 8;
  std::vector<std::promise<BatchReply>> replies(kRequests);
  for (int i = 0; i < kRequests; ++i) {
    auto input = input_for(i, 1);
    BatchRequest r;
    r.inputs = {input.get()};
    r.keep_alive = input;
    r.done = [&replies, i](BatchReply&& reply) { replies[i].set_value(std::move(reply)); };
    ASSERT_TRUE(batcher.submit(std::move(r)));
  }
  for (int i = 0; i < kRequests; ++i) {
    BatchReply reply = replies[i].get_future().get();
    ASSERT_TRUE(reply.error.empty()) << reply.error;
    EXPECT_EQ(reply.batch_samples, 4);
    ASSERT_EQ(reply.outputs.size(), 1u);
    ASSERT_EQ(reply.outputs[0].shape(), (Shape{1, 4}));
    for (int k = 0; k < 4; ++k) EXPECT_FLOAT_EQ(reply.outputs[0].data_as<float>()[k], 2.0F * i + 1.0F);
    EXPECT_GE(reply.queue_ms, 0);
    EXPECT_GT(reply.engine_ms, 0);
  }
  const BatcherStats stats = batcher.stats();
  EXPECT_EQ(stats.batches, 2);
  EXPECT_EQ(stats.samples, kRequests);
  EXPECT_EQ(stats.batch_size_counts.at(4), 2);
}

TEST(DynamicBatcher, PaddedSessionsServeMultiSampleRequests) {
  Fixture f;
  if (f.backend_name.empty()) GTEST_SKIP() << "no backend reading ONNX is compiled in";
  BatcherSettings settings;
  settings.max_batch = 4;
  settings.batch_shapes = BatchShapes::kPadded;
  settings.instances = 2;
  DynamicBatcher batcher(f.factory(), {{1, 4}}, settings);
  EXPECT_NE(batcher.describe().find("padded"), std::string::npos) << batcher.describe();
  std::vector<std::promise<BatchReply>> replies(3);
  const std::int64_t samples[] = {3, 1, 2};
  for (int i = 0; i < 3; ++i) {
    auto input = input_for(i, samples[i]);
    BatchRequest r;
    r.inputs = {input.get()};
    r.samples = samples[i];
    r.keep_alive = input;
    r.done = [&replies, i](BatchReply&& reply) { replies[i].set_value(std::move(reply)); };
    ASSERT_TRUE(batcher.submit(std::move(r)));
  }
  std::int64_t total = 0;
  for (int i = 0; i < 3; ++i) {
    BatchReply reply = replies[i].get_future().get();
    ASSERT_TRUE(reply.error.empty()) << reply.error;
    ASSERT_EQ(reply.outputs.at(0).shape(), (Shape{samples[i], 4}));
    for (std::int64_t k = 0; k < samples[i] * 4; ++k) {
      EXPECT_FLOAT_EQ(reply.outputs[0].data_as<float>()[k], 2.0F * (i + (k / 4) / 10.0F) + 1.0F);
    }
    total += samples[i];
  }
  batcher.stop();
  EXPECT_EQ(batcher.stats().samples, total);
}

TEST(DynamicBatcher, AFullQueueRefusesAndCancelCompletesWhatWaits) {
  Fixture f;
  if (f.backend_name.empty()) GTEST_SKIP() << "no backend reading ONNX is compiled in";
  BatcherSettings settings;
  settings.max_batch = 4;
  settings.max_queue_samples = 4;
  settings.max_queue_delay_us = 10e6;
  DynamicBatcher batcher(f.factory(), {{1, 4}}, settings);
  std::atomic<int> cancelled{0};
  auto input = input_for(0, 1);
  for (int i = 0; i < 3; ++i) {
    BatchRequest r;
    r.inputs = {input.get()};
    r.done = [&cancelled](BatchReply&& reply) { cancelled += reply.cancelled ? 1 : 0; };
    ASSERT_TRUE(batcher.submit(std::move(r)));
  }
  EXPECT_EQ(batcher.queued_samples(), 3);
  auto two = input_for(1, 2);
  BatchRequest over;
  over.inputs = {two.get()};
  over.samples = 2;
  over.done = [](BatchReply&&) { ADD_FAILURE() << "a refused request must never complete"; };
  EXPECT_FALSE(batcher.submit(std::move(over)));
  EXPECT_EQ(batcher.cancel_pending(), 3);
  EXPECT_EQ(cancelled.load(), 3);
  EXPECT_EQ(batcher.stats().max_queue_samples_seen, 3);
  EXPECT_EQ(batcher.stats().batches, 0);
}

TEST(DynamicBatcher, MalformedRequestsAndSettingsAreErrors) {
  Fixture f;
  if (f.backend_name.empty()) GTEST_SKIP() << "no backend reading ONNX is compiled in";
  BatcherSettings settings;
  settings.max_batch = 2;
  DynamicBatcher batcher(f.factory(), {{1, 4}}, settings);
  auto three = input_for(0, 3);
  BatchRequest too_many;
  too_many.inputs = {three.get()};
  too_many.samples = 3;
  EXPECT_THROW(batcher.submit(std::move(too_many)), Error);
  Tensor wrong(DType::kFloat32, {1, 5});
  BatchRequest bad_shape;
  bad_shape.inputs = {&wrong};
  EXPECT_THROW(batcher.submit(std::move(bad_shape)), Error);
  BatcherSettings zero;
  zero.max_batch = 0;
  EXPECT_THROW(validate_batcher_settings(zero), Error);
  zero.max_batch = 1;
  zero.instances = 0;
  EXPECT_THROW(validate_batcher_settings(zero), Error);
}

// The server scenario's search on real sessions: its trace is consistent
// with its own figures, whatever this machine's speed.
TEST(LoadGen, FindMaxQpsTraceIsConsistent) {
  Fixture f;
  if (f.backend_name.empty()) GTEST_SKIP() << "no backend reading ONNX is compiled in";
  BatcherSettings b;
  b.max_batch = 4;
  b.max_queue_delay_us = 500;
  DynamicBatcher batcher(f.factory(), {{1, 4}}, b);
  std::vector<Tensor> sample;
  sample.push_back(std::move(*input_for(0, 1)));
  BatcherTarget target(batcher, sample);
  ServingSettings s;
  s.find_max_qps = true;
  s.target_qps = 200;
  s.latency_bound_ms = 20;
  s.max_probes = 5;
  s.batcher = b;
  RunSettings run;
  run.min_count = 20;
  run.min_duration_ms = 50;
  run.max_duration_ms = 1000;
  ServingResult serving;
  LoadRun reported = run_server_scenario(target, s, run, 0, serving);
  ASSERT_FALSE(serving.search.empty());
  EXPECT_LE(serving.search.size(), 5u);
  EXPECT_FALSE(serving.search_stop.empty());
  double best_met = 0;
  for (const QpsProbe& p : serving.search) {
    EXPECT_EQ(p.met, !p.early_stopped && p.completed == p.issued && p.dropped == 0 && p.cancelled == 0 &&
                         p.p99_ms <= s.latency_bound_ms)
        << p.target_qps;
    if (p.met) best_met = std::max(best_met, p.target_qps);
  }
  for (const QpsProbe& p : serving.search) {
    if (!p.met) {
      EXPECT_GT(p.target_qps, best_met) << "a failed probe below the reported maximum";
    }
  }
  EXPECT_EQ(serving.bound_met, best_met > 0);
  if (best_met > 0) {
    EXPECT_EQ(serving.target_qps, best_met);
    std::vector<double> sorted = reported.latencies_ms;
    std::sort(sorted.begin(), sorted.end());
    EXPECT_LE(percentile_sorted(sorted, 0.99), s.latency_bound_ms);
    EXPECT_EQ(static_cast<std::int64_t>(reported.latencies_ms.size()), serving.completed);
  }
  std::int64_t samples = 0;
  for (std::size_t n = 0; n < serving.batch_size_counts.size(); ++n)
    samples += static_cast<std::int64_t>(n) * serving.batch_size_counts[n];
  EXPECT_EQ(samples, serving.completed) << "every completed query ran in exactly one batch";
}

TEST(LoadGen, MultiStreamQueriesOfFourRideInBatchesOfFour) {
  Fixture f;
  if (f.backend_name.empty()) GTEST_SKIP() << "no backend reading ONNX is compiled in";
  BatcherSettings b;
  b.max_batch = 4;
  b.max_queue_delay_us = 10e6;  // a batch starts only when a query's four samples are all queued
  DynamicBatcher batcher(f.factory(), {{1, 4}}, b);
  std::vector<Tensor> sample;
  sample.push_back(std::move(*input_for(0, 1)));
  BatcherTarget target(batcher, sample);
  ServingSettings s;
  s.samples_per_query = 4;
  s.interval_ms = 5;
  s.batcher = b;
  RunSettings run;
  run.min_count = 10;
  run.min_duration_ms = 0;
  ServingResult serving;
  LoadRun r = run_multi_stream_scenario(target, s, run, serving);
  EXPECT_EQ(serving.issued, 10);
  EXPECT_EQ(serving.completed, 10);
  EXPECT_EQ(r.latencies_ms.size(), 10u);
  ASSERT_EQ(serving.batch_size_counts.size(), 5u);
  EXPECT_EQ(serving.batch_size_counts[4], 10);
  EXPECT_EQ(serving.latency_bound_ms, 5);
  EXPECT_DOUBLE_EQ(serving.mean_batch, 4.0);
}
