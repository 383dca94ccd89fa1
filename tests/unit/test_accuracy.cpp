// The batch loader (order, padding, skipped samples, limits, worker errors),
// top-k ranking, and the accuracy tables and JSON.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "inferlab/accuracy.h"
#include "inferlab/batch_loader.h"
#include "inferlab/error.h"
#include "inferlab/report.h"

namespace inferlab {
namespace {

// A dataset held in memory: sample i is a 2x2 gray image of value i, label
// i % 3; samples listed in `corrupt` decode empty, `throwing` throws.
class MemoryDataset final : public Dataset {
 public:
  MemoryDataset(std::size_t n, std::vector<std::size_t> corrupt = {}, std::size_t throwing = SIZE_MAX)
      : n_(n), corrupt_(std::move(corrupt)), throwing_(throwing) {}
  std::string name() const override { return "memory"; }
  std::size_t size() const override { return n_; }
  int class_count() const override { return 3; }
  std::vector<std::string> class_names() const override { return {}; }
  int label(std::size_t i) const override { return static_cast<int>(i % 3); }
  std::string sample_id(std::size_t i) const override {
    // Appended, not "s" + ... or insert(0, ...): GCC 12 warns falsely (-Wrestrict) on both.
    std::string id(1, 's');
    id.append(std::to_string(i));
    return id;
  }
  Image decode(std::size_t i) const override {
    if (i == throwing_) throw std::runtime_error("disk on fire");
    if (std::find(corrupt_.begin(), corrupt_.end(), i) != corrupt_.end()) return {};
    return Image{2, 2, 1, std::vector<std::uint8_t>(4, static_cast<std::uint8_t>(i))};
  }

 private:
  std::size_t n_;
  std::vector<std::size_t> corrupt_;
  std::size_t throwing_;
};

Preprocess identity_2x2() {
  Preprocess p;
  p.crop_height_px = p.crop_width_px = 2;
  p.channel_order = ChannelOrder::kGray;
  p.scale = 1.0;
  p.mean = {0.0F};
  p.std = {1.0F};
  return p;
}

TEST(BatchLoader, DeliversEveryBatchInOrderWithPadding) {
  MemoryDataset dataset(10);
  for (int threads : {1, 3}) {
    LoaderOptions options;
    options.batch = 4;
    options.threads = threads;
    options.queue_batches = 1;
    BatchLoader loader(dataset, identity_2x2(), options);
    EXPECT_EQ(loader.batch_count(), 3U);
    std::vector<std::size_t> seen;
    std::size_t sequence = 0;
    while (auto batch = loader.next()) {
      EXPECT_EQ(batch->sequence, sequence++);
      EXPECT_EQ(batch->input.shape(), (Shape{4, 1, 2, 2}));
      const float* data = batch->input.data_as<float>();
      for (std::size_t k = 0; k < batch->valid; ++k) {
        EXPECT_FLOAT_EQ(data[k * 4], static_cast<float>(batch->indices[k]));
        EXPECT_EQ(batch->labels[k], static_cast<int>(batch->indices[k] % 3));
      }
      for (std::size_t k = batch->valid; k < 4; ++k) EXPECT_FLOAT_EQ(data[k * 4], 0.0F) << "padding";
      seen.insert(seen.end(), batch->indices.begin(), batch->indices.end());
    }
    EXPECT_EQ(seen, (std::vector<std::size_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9})) << threads << " threads";
    const LoaderStats stats = loader.stats();
    EXPECT_EQ(stats.samples, 10U);
    EXPECT_EQ(stats.threads, threads);
    EXPECT_GT(stats.samples_per_s(), 0);
  }
}

TEST(BatchLoader, SkipsAndCountsCorruptSamples) {
  MemoryDataset dataset(6, {1, 4});
  LoaderOptions options;
  options.batch = 3;
  options.thumbnail_px = 8;
  BatchLoader loader(dataset, identity_2x2(), options);
  auto first = loader.next();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->valid, 2U);
  EXPECT_EQ(first->indices, (std::vector<std::size_t>{0, 2}));
  EXPECT_EQ(first->corrupt, (std::vector<std::string>{"s1"}));
  EXPECT_EQ(first->thumbnails.size(), 2U);
  EXPECT_FLOAT_EQ(first->input.data_as<float>()[4], 2.0F) << "valid samples are packed at the front";
  while (loader.next()) {
  }
  EXPECT_EQ(loader.stats().corrupt, 2U);
  EXPECT_EQ(loader.stats().corrupt_examples, (std::vector<std::string>{"s1", "s4"}));
}

TEST(BatchLoader, LimitAndWorkerErrors) {
  MemoryDataset dataset(100);
  LoaderOptions options;
  options.batch = 8;
  options.limit = 10;
  BatchLoader limited(dataset, identity_2x2(), options);
  EXPECT_EQ(limited.sample_count(), 10U);
  EXPECT_EQ(limited.batch_count(), 2U);

  MemoryDataset broken(20, {}, 9);
  options.limit = 0;
  options.threads = 2;
  BatchLoader loader(broken, identity_2x2(), options);
  // With two workers the failing batch may finish before batch 0 is taken,
  // so the error may come at any next(); it must come.
  try {
    while (loader.next()) {
    }
    FAIL() << "a worker's exception must reach the consumer";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("disk on fire"), std::string::npos);
  }
}

TEST(RankScores, TopOneTopFiveTiesAndNan) {
  const std::vector<float> scores{0.1F, 0.9F, 0.3F, 0.9F, 0.2F, 0.5F, 0.0F};
  TopK r = rank_scores(scores.data(), 7, 1);
  EXPECT_EQ(r.top1, 1);  // ties go to the lower index
  EXPECT_TRUE(r.in_top1);
  r = rank_scores(scores.data(), 7, 3);
  EXPECT_FALSE(r.in_top1);
  EXPECT_TRUE(r.in_top5);
  EXPECT_TRUE(rank_scores(scores.data(), 7, 4).in_top5);   // 5th: 0.9, 0.9, 0.5, 0.3, 0.2
  EXPECT_FALSE(rank_scores(scores.data(), 7, 0).in_top5);  // 6th
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> with_nan{nan, 0.2F, 0.1F};
  EXPECT_EQ(rank_scores(with_nan.data(), 3, 1).top1, 1);
  // Fewer than five classes: top-5 means all of them.
  EXPECT_TRUE(rank_scores(with_nan.data(), 3, 0).in_top5);
}

BenchResult accuracy_row(const std::string& backend, double top1, std::optional<double> agreement) {
  BenchResult r;
  r.model = "digits_cnn";
  r.backend = backend;
  r.precision = "fp32";
  r.batch = 16;
  AccuracyFields a;
  a.dataset = "digits:test";
  a.samples = 1000;
  a.top1 = top1;
  a.top5 = 1.0;
  a.agreement_top1 = agreement;
  a.agreement_reference = "opencv fp32";
  a.inference_samples_per_s = 3000;
  a.loader = {1, 300000, 3.1, 0.5};
  a.corrupt_skipped = 2;
  r.accuracy = a;
  return r;
}

TEST(AccuracyReport, TablesAndJson) {
  std::vector<BenchResult> rows{accuracy_row("opencv", 0.99, 1.0), accuracy_row("torch", 0.985, 0.995)};
  BenchResult unsupported;
  unsupported.model = "digits_cnn";
  unsupported.backend = "null";
  unsupported.precision = "fp32";
  unsupported.status = ResultStatus::kUnsupported;
  unsupported.reason = "computes nothing";
  rows.push_back(unsupported);
  const std::string text = render_text(build_accuracy_tables(rows));
  EXPECT_NE(text.find("Top-1 accuracy (%) on digits:test"), std::string::npos) << text;
  EXPECT_NE(text.find("98.50"), std::string::npos) << text;
  EXPECT_NE(text.find("99.50"), std::string::npos) << text;
  EXPECT_NE(text.find("Top-1 agreement with opencv fp32"), std::string::npos) << text;
  EXPECT_NE(text.find("3000 / 300000"), std::string::npos) << text;
  EXPECT_NE(text.find("n/a [1]"), std::string::npos) << text;
  EXPECT_NE(text.find("computes nothing"), std::string::npos) << text;
  EXPECT_NE(text.find("2 sample(s) could not be decoded"), std::string::npos) << text;
  // The Markdown report is an accuracy report, without the bench's seeded-weights caveat.
  const std::string md = render_markdown(build_accuracy_tables(rows), Environment{});
  EXPECT_EQ(md.rfind("# inferlab accuracy", 0), 0U) << md.substr(0, 80);
  EXPECT_EQ(md.find("seeded weights"), std::string::npos);
  EXPECT_NE(render_markdown(build_bench_tables(rows), Environment{}).find("seeded weights"), std::string::npos);

  const nlohmann::json j = to_json(rows[1]);
  EXPECT_EQ(j.at("dataset"), "digits:test");
  EXPECT_DOUBLE_EQ(j.at("top1").get<double>(), 0.985);
  EXPECT_DOUBLE_EQ(j.at("agreement_top1").get<double>(), 0.995);
  EXPECT_EQ(j.at("samples"), 1000);
  const BenchResult back = bench_result_from_json(j);
  ASSERT_TRUE(back.accuracy);
  EXPECT_DOUBLE_EQ(back.accuracy->top1, 0.985);
  EXPECT_EQ(back.accuracy->loader.threads, 1);
  EXPECT_FALSE(bench_result_from_json(to_json(unsupported)).accuracy);
}

}  // namespace
}  // namespace inferlab
