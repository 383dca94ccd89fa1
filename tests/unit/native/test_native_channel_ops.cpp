// channel_mean_nhwc and channel_scale_nhwc (backends/native/channel_ops.h):
// against double-precision sums and exact products, the same bits on one
// thread as on two (the sums' order is fixed), and a squeeze-excitation's
// GlobalAveragePool and Mul after a Conv that writes nhwc running them.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "../onnx_builder.h"
#include "backends/native/channel_ops.h"
#include "backends/native/onednn_util.h"
#include "inferlab/float16.h"
#include "optimize/graph_edit.h"
#include "run_engine.h"

namespace inferlab::native {
namespace {

// Two images of 131 pixels (two full chunks and a ragged one) and 300
// channels (a full channel block and a ragged one).
const NhwcExtent kExtent{2, 131, 300};

std::vector<float> seeded_values(std::int64_t count, float offset) {
  std::vector<float> v(static_cast<std::size_t>(count));
  for (std::int64_t i = 0; i < count; ++i) v[i] = offset + std::sin(static_cast<float>(i) * 0.37F) * 3.0F;
  return v;
}

std::vector<float> mean_with_threads(const std::vector<float>& x, int threads) {
  std::vector<float> y(kExtent.images * kExtent.channels), scratch(channel_mean_scratch_floats(kExtent));
  const int before = omp_get_max_threads();
  omp_set_num_threads(threads);
  channel_mean_nhwc(x.data(), DType::kFloat32, kExtent, y.data(), DType::kFloat32, scratch.data());
  omp_set_num_threads(before);
  return y;
}

TEST(NativeChannelOps, MeanIsTheSumOverPixelsOnAnyThreadCount) {
  const auto x = seeded_values(kExtent.images * kExtent.pixels * kExtent.channels, 0.5F);
  const auto one = mean_with_threads(x, 1), two = mean_with_threads(x, 2);
  EXPECT_EQ(0, std::memcmp(one.data(), two.data(), one.size() * sizeof(float))) << "the sums depend on the threads";
  for (std::int64_t n = 0; n < kExtent.images; ++n) {
    for (std::int64_t c = 0; c < kExtent.channels; ++c) {
      double sum = 0;
      for (std::int64_t p = 0; p < kExtent.pixels; ++p) sum += x[(n * kExtent.pixels + p) * kExtent.channels + c];
      EXPECT_NEAR(one[n * kExtent.channels + c], sum / kExtent.pixels, 1e-5) << "image " << n << " channel " << c;
    }
  }
}

TEST(NativeChannelOps, Bfloat16MeanIsRoundedFromFloat32Sums) {
  const auto values = seeded_values(kExtent.images * kExtent.pixels * kExtent.channels, 0.5F);
  std::vector<std::uint16_t> x(values.size());
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = float_to_bfloat16_bits(values[i]);
  std::vector<std::uint16_t> y(kExtent.images * kExtent.channels);
  std::vector<float> scratch(channel_mean_scratch_floats(kExtent));
  channel_mean_nhwc(x.data(), DType::kBFloat16, kExtent, y.data(), DType::kBFloat16, scratch.data());
  for (std::int64_t n = 0; n < kExtent.images; ++n) {
    for (std::int64_t c = 0; c < kExtent.channels; ++c) {
      double sum = 0;
      for (std::int64_t p = 0; p < kExtent.pixels; ++p)
        sum += bfloat16_bits_to_float(x[(n * kExtent.pixels + p) * kExtent.channels + c]);
      const float expected = bfloat16_bits_to_float(float_to_bfloat16_bits(static_cast<float>(sum / kExtent.pixels)));
      const float got = bfloat16_bits_to_float(y[n * kExtent.channels + c]);
      EXPECT_NEAR(got, expected, std::abs(expected) / 128 + 1e-6) << "image " << n << " channel " << c;  // 1 ulp
    }
  }
}

TEST(NativeChannelOps, ScaleIsOneProductPerValue) {
  const std::int64_t count = kExtent.images * kExtent.pixels * kExtent.channels;
  const auto x = seeded_values(count, 0.0F);
  const auto scale = seeded_values(kExtent.images * kExtent.channels, 0.25F);
  for (bool per_image : {false, true}) {
    std::vector<float> y(x.size());
    channel_scale_nhwc(x.data(), DType::kFloat32, scale.data(), DType::kFloat32, per_image, kExtent, y.data(),
                       DType::kFloat32);
    std::vector<std::uint16_t> xb(x.size()), yb(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) xb[i] = float_to_bfloat16_bits(x[i]);
    channel_scale_nhwc(xb.data(), DType::kBFloat16, scale.data(), DType::kFloat32, per_image, kExtent, yb.data(),
                       DType::kBFloat16);
    int mismatches = 0;
    for (std::int64_t i = 0; i < count; ++i) {
      const std::int64_t n = i / (kExtent.pixels * kExtent.channels), c = i % kExtent.channels;
      const float s = scale[(per_image ? n * kExtent.channels : 0) + c];
      if (y[i] != x[i] * s || yb[i] != float_to_bfloat16_bits(bfloat16_bits_to_float(xb[i]) * s)) ++mismatches;
    }
    EXPECT_EQ(0, mismatches) << (per_image ? "one scale per image" : "one scale for all images");
  }
  std::vector<float> y(x.size());
  EXPECT_THROW(channel_scale_nhwc(x.data(), DType::kFloat32, scale.data(), DType::kInt8, false, kExtent, y.data(),
                                  DType::kFloat32),
               Error);
}

// x -> identity 1x1 Conv (c == x exactly, in the Conv's layout) ->
// GlobalAveragePool -> Sigmoid -> Mul(c, sigmoid): y = x * sigmoid(mean(x)).
onnx::ModelProto squeeze_excitation(std::int64_t channels) {
  auto m = test_onnx::new_model("se");
  auto& g = *m.mutable_graph();
  test_onnx::set_value_info(g.add_input(), "x", {1, channels, 20, 20});
  test_onnx::set_value_info(g.add_output(), "y", {1, channels, 20, 20});
  test_onnx::set_value_info(g.add_output(), "m", {1, channels, 1, 1});
  std::vector<float> identity(static_cast<std::size_t>(channels * channels), 0.0F);
  for (std::int64_t c = 0; c < channels; ++c) identity[c * channels + c] = 1.0F;
  graph_edit::add_float_initializer(g, "w", {channels, channels, 1, 1}, identity);
  test_onnx::add_node(g, "Conv", {"x", "w"}, {"c"});
  test_onnx::add_node(g, "GlobalAveragePool", {"c"}, {"m"});
  test_onnx::add_node(g, "Sigmoid", {"m"}, {"s"});
  test_onnx::add_node(g, "Mul", {"c", "s"}, {"y"});
  return m;
}

void expect_squeeze_excitation(bool bf16) {
  constexpr std::int64_t kChannels = 48, kPixels = 400;
  std::vector<float> x(kChannels * kPixels);
  for (std::size_t i = 0; i < x.size(); ++i) {
    x[i] = std::cos(static_cast<float>(i) * 0.013F) * 2.0F;
    if (bf16) x[i] = bfloat16_bits_to_float(float_to_bfloat16_bits(x[i]));  // what the bf16 Conv reads
  }
  const Tensor input = test::float_tensor({1, kChannels, 20, 20}, x);
  const auto ran = test::run_engine(squeeze_excitation(kChannels), {&input}, bf16, /*tactics=*/false);
  const auto y = ran.floats(0), m = ran.floats(1);
  const double ulp = bf16 ? 1.0 / 128 : 1e-6;
  for (std::int64_t c = 0; c < kChannels; ++c) {
    double sum = 0;
    for (std::int64_t p = 0; p < kPixels; ++p) sum += x[c * kPixels + p];
    const double mean = sum / kPixels, gate = 1 / (1 + std::exp(-mean));
    EXPECT_NEAR(m[c], mean, 1e-5 + ulp * std::abs(mean)) << "channel " << c;
    for (std::int64_t p = 0; p < kPixels; p += 37) {
      const double expected = x[c * kPixels + p] * gate;
      EXPECT_NEAR(y[c * kPixels + p], expected, 1e-5 + 3 * ulp * std::abs(expected)) << "channel " << c;
    }
  }
  // Without tactics the Conv writes nhwc (what oneDNN's int8 and bf16
  // convolutions read); a blocked layout (aBcd16b) is named in its step.
  bool conv_wrote_blocked = false;
  for (const auto& step : ran.steps) {
    if (step.op == "Conv") conv_wrote_blocked = step.implementation.find("aBcd") != std::string::npos;
  }
  if (conv_wrote_blocked) GTEST_SKIP() << "the Conv chose a blocked layout here: the nhwc paths did not run";
  for (const auto& step : ran.steps) {
    if (step.op == "GlobalAveragePool") {
      EXPECT_EQ(step.implementation, "channel_mean_nhwc");
    }
    if (step.op == "Mul") {
      EXPECT_EQ(step.implementation, "channel_scale_nhwc");
    }
  }
}

TEST(NativeChannelOps, SqueezeExcitationAfterANhwcConvFloat32) { expect_squeeze_excitation(false); }

TEST(NativeChannelOps, SqueezeExcitationAfterANhwcConvBfloat16) {
  if (!cpu_has_bf16()) GTEST_SKIP() << bf16_unsupported_reason();
  expect_squeeze_excitation(true);
}

}  // namespace
}  // namespace inferlab::native
