// The bf16 depthwise kernel (backends/native/depthwise_bf16.h): every output
// within one bf16 rounding of the convolution computed in double from the
// same bf16 inputs and weights, over kernels 3 and 5, strides 1 and 2,
// asymmetric padding, channel counts that fill no, one or two vectors of a
// block, a clamp, two images; nothing written past the output; the same bits
// on 1 and 2 threads; and agreement with oneDNN's bf16 convolution.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "backends/native/depthwise_bf16.h"
#include "backends/native/onednn_context.h"
#include "inferlab/float16.h"

namespace inferlab::native {
namespace {

struct Case {
  std::int64_t batch, channels, height, width, kernel, stride, pad_top, pad_left, pad_bottom, pad_right;
  float lo, hi;
};

DepthwiseBf16Params params_of(const Case& c) {
  DepthwiseBf16Params p;
  p.batch = c.batch;
  p.channels = c.channels;
  p.in_height = c.height;
  p.in_width = c.width;
  p.kernel = c.kernel;
  p.stride = c.stride;
  p.pad_top = c.pad_top;
  p.pad_left = c.pad_left;
  p.out_height = (c.height + c.pad_top + c.pad_bottom - c.kernel) / c.stride + 1;
  p.out_width = (c.width + c.pad_left + c.pad_right - c.kernel) / c.stride + 1;
  p.output_min = c.lo;
  p.output_max = c.hi;
  return p;
}

struct Data {
  std::vector<std::uint16_t> x;
  std::vector<float> w, bias;
};

Data data_for(const DepthwiseBf16Params& p) {
  Data d;
  d.x.resize(static_cast<std::size_t>(p.batch * p.in_height * p.in_width * p.channels));
  for (std::size_t i = 0; i < d.x.size(); ++i)
    d.x[i] = float_to_bfloat16_bits(std::sin(static_cast<float>(i) * 0.37F) * 3.0F);
  d.w.resize(static_cast<std::size_t>(p.channels * p.kernel * p.kernel));
  for (std::size_t i = 0; i < d.w.size(); ++i) d.w[i] = std::cos(static_cast<float>(i) * 0.71F) * 0.5F;
  d.bias.resize(static_cast<std::size_t>(p.channels));
  for (std::size_t i = 0; i < d.bias.size(); ++i) d.bias[i] = static_cast<float>(i % 7) * 0.1F - 0.3F;
  return d;
}

// The output in double from the bf16 values, clamped, nhwc.
std::vector<double> reference(const DepthwiseBf16Params& p, const Data& d, std::vector<double>* magnitude) {
  std::vector<double> y(static_cast<std::size_t>(p.batch * p.out_height * p.out_width * p.channels));
  magnitude->assign(y.size(), 0.0);
  for (std::int64_t n = 0; n < p.batch; ++n)
    for (std::int64_t oh = 0; oh < p.out_height; ++oh)
      for (std::int64_t ow = 0; ow < p.out_width; ++ow)
        for (std::int64_t c = 0; c < p.channels; ++c) {
          double sum = d.bias[static_cast<std::size_t>(c)], size = std::abs(sum);
          for (std::int64_t kh = 0; kh < p.kernel; ++kh)
            for (std::int64_t kw = 0; kw < p.kernel; ++kw) {
              const std::int64_t ih = oh * p.stride - p.pad_top + kh, iw = ow * p.stride - p.pad_left + kw;
              if (ih < 0 || ih >= p.in_height || iw < 0 || iw >= p.in_width) continue;
              const double x = bfloat16_bits_to_float(
                  d.x[static_cast<std::size_t>(((n * p.in_height + ih) * p.in_width + iw) * p.channels + c)]);
              const double w = bfloat16_bits_to_float(
                  float_to_bfloat16_bits(d.w[static_cast<std::size_t>((c * p.kernel + kh) * p.kernel + kw)]));
              sum += x * w;
              size += std::abs(x * w);
            }
          const std::size_t at =
              static_cast<std::size_t>(((n * p.out_height + oh) * p.out_width + ow) * p.channels + c);
          y[at] = std::min<double>(std::max<double>(sum, p.output_min), p.output_max);
          (*magnitude)[at] = size;
        }
  return y;
}

bool skip_reason(std::string* why) {
  *why = depthwise_bf16_unfit(params_of({1, 16, 8, 8, 3, 1, 1, 1, 1, 1, -1e30F, 1e30F}));
  return !why->empty();
}

constexpr std::uint16_t kGuard = 0xABCD;
constexpr std::size_t kGuardValues = 4096;

TEST(NativeDepthwiseBf16, WithinOneRoundingOfTheExactConvolution) {
  std::string why;
  if (skip_reason(&why)) GTEST_SKIP() << why;
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<Case> cases{
      {1, 32, 13, 13, 3, 1, 1, 1, 1, 1, -inf, inf},   // one full block, widths 6 + 4 + 2 + 1
      {2, 40, 9, 11, 3, 2, 1, 1, 1, 1, 0.0F, 6.0F},   // a block and a narrow one, clamped
      {1, 24, 8, 7, 5, 1, 2, 2, 2, 2, -inf, inf},     // the second vector partial
      {1, 8, 10, 10, 5, 2, 1, 2, 2, 1, 0.0F, inf},    // one partial vector, asymmetric padding
      {1, 144, 14, 14, 3, 2, 0, 0, 1, 1, -inf, inf},  // torch's "same" stride 2 as oneDNN pads it
      {1, 96, 5, 5, 5, 1, 2, 2, 2, 2, -1.0F, 1.0F},
  };
  for (const Case& c : cases) {
    const DepthwiseBf16Params p = params_of(c);
    const Data d = data_for(p);
    DepthwiseBf16Conv conv(p, d.w.data(), d.bias.data());
    const std::size_t count = static_cast<std::size_t>(p.batch * p.out_height * p.out_width * p.channels);
    std::vector<std::uint16_t> y(count + kGuardValues, kGuard);
    conv.run(d.x.data(), y.data());
    std::vector<double> magnitude;
    const std::vector<double> ref = reference(p, d, &magnitude);
    std::size_t off = 0;
    double worst = 0;
    for (std::size_t i = 0; i < count; ++i) {
      // One bf16 rounding (half an ulp of 8 significant bits, so 2^-8 of the
      // value) plus float32 accumulation's error bound.
      const double got = bfloat16_bits_to_float(y[i]);
      const double bound = std::abs(ref[i]) * std::ldexp(1.0, -8) + magnitude[i] * 4e-6 + 1e-30;
      worst = std::max(worst, std::abs(got - ref[i]) / bound);
      off += std::abs(got - ref[i]) > bound;
    }
    EXPECT_EQ(off, 0U) << "C=" << c.channels << " k=" << c.kernel << " s=" << c.stride << " (worst " << worst
                       << " of the bound)";
    EXPECT_TRUE(std::all_of(y.begin() + static_cast<std::ptrdiff_t>(count), y.end(),
                            [](std::uint16_t v) { return v == kGuard; }))
        << "wrote past its output: C=" << c.channels << " k=" << c.kernel << " s=" << c.stride;
  }
}

TEST(NativeDepthwiseBf16, SameBitsOnOneAndTwoThreads) {
  std::string why;
  if (skip_reason(&why)) GTEST_SKIP() << why;
  const DepthwiseBf16Params p =
      params_of({1, 72, 17, 17, 5, 1, 2, 2, 2, 2, -std::numeric_limits<float>::infinity(), 6.0F});
  const Data d = data_for(p);
  DepthwiseBf16Conv conv(p, d.w.data(), d.bias.data());
  const std::size_t count = static_cast<std::size_t>(p.out_height * p.out_width * p.channels);
  std::vector<std::uint16_t> one(count), two(count);
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  conv.run(d.x.data(), one.data());
  omp_set_num_threads(2);
  conv.run(d.x.data(), two.data());
  omp_set_num_threads(threads);
  EXPECT_EQ(one, two);
}

// efficientnet_b0's 240-channel 5x5 layer against oneDNN's bf16
// convolution: at most one bf16 rounding apart.
TEST(NativeDepthwiseBf16, AgreesWithOneDnn) {
  std::string why;
  if (skip_reason(&why)) GTEST_SKIP() << why;
  const float inf = std::numeric_limits<float>::infinity();
  const DepthwiseBf16Params p = params_of({1, 240, 28, 28, 5, 1, 2, 2, 2, 2, -inf, inf});
  const Data d = data_for(p);
  DepthwiseBf16Conv conv(p, d.w.data(), d.bias.data());
  const std::size_t count = static_cast<std::size_t>(p.out_height * p.out_width * p.channels);
  std::vector<std::uint16_t> mine(count), theirs(count);
  conv.run(d.x.data(), mine.data());

  using dnnl::memory;
  using dt = memory::data_type;
  using tag = memory::format_tag;
  const memory::dims x{1, p.channels, p.in_height, p.in_width}, w{p.channels, 1, 1, p.kernel, p.kernel},
      y{1, p.channels, p.out_height, p.out_width};
  const memory::desc src_md(x, dt::bf16, tag::nhwc), dst_md(y, dt::bf16, tag::nhwc),
      bias_md({p.channels}, dt::f32, tag::x);
  const dnnl::convolution_forward::primitive_desc pd(
      dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src_md,
                                      memory::desc(w, dt::bf16, tag::any), bias_md, dst_md, {1, 1}, {2, 2}, {2, 2}),
      cpu_engine());
  memory user_w({w, dt::f32, tag::goihw}, cpu_engine(), const_cast<float*>(d.w.data()));
  memory weights(pd.weights_desc(), cpu_engine());
  dnnl::reorder(user_w, weights).execute(cpu_stream(), user_w, weights);
  memory src(src_md, cpu_engine(), const_cast<std::uint16_t*>(d.x.data())), dst(dst_md, cpu_engine(), theirs.data()),
      bias(bias_md, cpu_engine(), const_cast<float*>(d.bias.data()));
  dnnl::convolution_forward(pd).execute(
      cpu_stream(), {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_BIAS, bias}, {DNNL_ARG_DST, dst}});
  cpu_stream().wait();
  std::size_t differ = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const float a = bfloat16_bits_to_float(mine[i]), b = bfloat16_bits_to_float(theirs[i]);
    EXPECT_LE(std::abs(a - b), std::max(std::abs(a), std::abs(b)) * std::ldexp(1.0F, -7) + 1e-6F) << "at " << i;
    differ += mine[i] != theirs[i];
    if (::testing::Test::HasFailure()) break;
  }
  std::printf("%zu of %zu outputs differ from oneDNN's %s by one bf16 rounding\n", differ, count, pd.impl_info_str());
}

}  // namespace
}  // namespace inferlab::native
