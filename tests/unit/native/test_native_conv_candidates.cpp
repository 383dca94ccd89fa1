// conv_candidates (backends/native/conv_candidates.h): no implementation a
// Conv may run, oneDNN's own pick or a tactic, writes past its output. Each
// candidate runs on buffers followed by guard bytes that must come back
// untouched. oneDNN 2.6.3's AMX 1x1 kernels wrote up to 15 output pixels past
// plain outputs whose pixel count is not a multiple of 16 (squeezenet1_0's 6x6
// layers); the candidates of every precision this CPU runs are checked here.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "backends/native/conv_candidates.h"
#include "backends/native/onednn_context.h"
#include "backends/native/onednn_util.h"

namespace inferlab::native {
namespace {

using dnnl::memory;
using dt = memory::data_type;
using tag = memory::format_tag;

constexpr std::size_t kGuardBytes = 1 << 16;
constexpr std::uint8_t kGuard = 0xAB;

// A buffer for `md` followed by guard bytes.
struct GuardedBuffer {
  explicit GuardedBuffer(const memory::desc& md) : size(md.get_size()), bytes(size + kGuardBytes, 0) {
    std::fill(bytes.begin() + static_cast<std::ptrdiff_t>(size), bytes.end(), kGuard);
  }
  memory bind(const memory::desc& md) { return memory(md, cpu_engine(), bytes.data()); }
  // Bytes written past the end of the tensor (0 when the guard is whole).
  std::size_t overrun() const {
    for (std::size_t k = bytes.size(); k > size; --k) {
      if (bytes[k - 1] != kGuard) return k - size;
    }
    return 0;
  }
  std::size_t size;
  std::vector<std::uint8_t> bytes;
};

struct Layer {
  int channels_in, channels_out, kernel, stride, pixels_per_side;
};

struct Types {
  const char* name;
  dt src, weights, dst;
};

// Fails for each candidate of `layer` in `types` that writes past its
// output, naming it.
void expect_no_candidate_writes_past_its_output(const Layer& layer, const Types& types) {
  const memory::dim out_side = layer.pixels_per_side;
  const memory::dim in_side = (out_side - 1) * layer.stride + layer.kernel;
  const memory::dims x{1, layer.channels_in, in_side, in_side};
  const memory::dims w{layer.channels_out, layer.channels_in, layer.kernel, layer.kernel};
  const memory::dims y{1, layer.channels_out, out_side, out_side};
  const bool int8 = types.src == dt::u8;
  const memory::desc bias({layer.channels_out}, dt::f32, tag::x);
  auto desc_for = [&](tag layout, dnnl::algorithm algorithm) {
    return dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference, algorithm,
                                           memory::desc(x, types.src, layout), memory::desc(w, types.weights, tag::any),
                                           bias, memory::desc(y, types.dst, layout), {layer.stride, layer.stride},
                                           {0, 0}, {0, 0});
  };
  dnnl::primitive_attr attr;
  if (int8) attr.set_output_scales(0, {0.01F});
  // Without VNNI oneDNN halves the weights of kernels reading s8; this
  // source is u8, so both factors are looked at.
  std::vector<ConvCandidate> candidates = conv_candidates(desc_for, attr, /*all=*/true, int8, "", 1.0F);
  if (int8 && candidates.empty()) candidates = conv_candidates(desc_for, attr, true, int8, "", 0.5F);
  EXPECT_FALSE(candidates.empty()) << types.name;
  for (const auto& candidate : candidates) {
    if (candidate.name.find("wino") != std::string::npos)
      std::printf("checked %s (%s)\n", candidate.name.c_str(), types.name);
    GuardedBuffer src(candidate.pd.src_desc()), weights(candidate.pd.weights_desc()), b(bias),
        dst(candidate.pd.dst_desc());
    dnnl::convolution_forward(candidate.pd)
        .execute(cpu_stream(), {{DNNL_ARG_SRC, src.bind(candidate.pd.src_desc())},
                                {DNNL_ARG_WEIGHTS, weights.bind(candidate.pd.weights_desc())},
                                {DNNL_ARG_BIAS, b.bind(bias)},
                                {DNNL_ARG_DST, dst.bind(candidate.pd.dst_desc())}});
    cpu_stream().wait();
    if (dst.overrun() > 0) {
      ADD_FAILURE() << types.name << " " << candidate.name << " (" << layer.channels_in << "->" << layer.channels_out
                    << ", " << layer.kernel << "x" << layer.kernel << " stride " << layer.stride << ", " << out_side
                    << "x" << out_side << " outputs) wrote " << dst.overrun() << " bytes past its " << dst.size
                    << "-byte output";
    }
  }
}

std::vector<Types> precisions_this_cpu_runs() {
  std::vector<Types> types{
      {"f32", dt::f32, dt::f32, dt::f32}, {"int8>s8", dt::u8, dt::s8, dt::s8}, {"int8>f32", dt::u8, dt::s8, dt::f32}};
  if (cpu_has_bf16()) {
    types.push_back({"bf16>bf16", dt::bf16, dt::bf16, dt::bf16});
    types.push_back({"bf16>f32", dt::bf16, dt::bf16, dt::f32});
  }
  return types;
}

TEST(NativeConvCandidates, NoneWritesPastItsOutput) {
  // Pixel counts that are and are not multiples of 16 (36, 49, 196, 64),
  // 1x1 (the AMX kernels that overran) and 3x3, stride 1 and 2.
  const std::vector<Layer> layers{
      {64, 64, 1, 1, 6}, {512, 1000, 1, 1, 6}, {32, 48, 1, 1, 7}, {64, 64, 1, 2, 7}, {32, 32, 1, 1, 14},
      {32, 32, 1, 1, 8}, {32, 32, 3, 1, 6},    {64, 64, 3, 1, 14}};  // the last: Winograd candidates (f32, AVX-512)
  if (!cpu_has_bf16()) std::printf("bf16 candidates not checked: %s\n", bf16_unsupported_reason().c_str());
  for (const auto& types : precisions_this_cpu_runs()) {
    for (const auto& layer : layers) expect_no_candidate_writes_past_its_output(layer, types);
  }
}

// Every float32 candidate of a 3x3 layer (Winograd ones among them on
// AVX-512) computes what oneDNN's own pick computes, within the bench's
// tolerance (max |diff| <= 1e-3 x max |reference|; Winograd's transforms
// round more than the direct sums do).
TEST(NativeConvCandidates, EveryFloat32CandidateAgreesWithTheFirst) {
  const memory::dims x{1, 64, 16, 16}, w{64, 64, 3, 3}, y{1, 64, 14, 14};
  const memory::desc bias_md({64}, dt::f32, tag::x);
  auto desc_for = [&](tag layout, dnnl::algorithm algorithm) {
    return dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference, algorithm,
                                           memory::desc(x, dt::f32, layout), memory::desc(w, dt::f32, tag::any),
                                           bias_md, memory::desc(y, dt::f32, layout), {1, 1}, {0, 0}, {0, 0});
  };
  const std::vector<ConvCandidate> candidates = conv_candidates(desc_for, dnnl::primitive_attr(), true, false, "");
  ASSERT_FALSE(candidates.empty());
  std::vector<float> src(16 * 16 * 64), weights(64 * 64 * 9), bias(64);
  for (std::size_t i = 0; i < src.size(); ++i) src[i] = static_cast<float>((i * 37) % 101) / 50.0F - 1.0F;
  for (std::size_t i = 0; i < weights.size(); ++i) weights[i] = static_cast<float>((i * 53) % 97) / 97.0F - 0.5F;
  for (std::size_t i = 0; i < bias.size(); ++i) bias[i] = static_cast<float>(i) / 64.0F;
  memory plain_src({x, dt::f32, tag::nchw}, cpu_engine(), src.data());
  memory plain_w({w, dt::f32, tag::oihw}, cpu_engine(), weights.data());
  memory b(bias_md, cpu_engine(), bias.data());
  std::vector<float> first;
  int winograd = 0;
  for (const auto& candidate : candidates) {
    memory s(candidate.pd.src_desc(), cpu_engine()), wt(candidate.pd.weights_desc(), cpu_engine()),
        d(candidate.pd.dst_desc(), cpu_engine());
    dnnl::reorder(plain_src, s).execute(cpu_stream(), plain_src, s);
    dnnl::reorder(plain_w, wt).execute(cpu_stream(), plain_w, wt);
    dnnl::convolution_forward(candidate.pd)
        .execute(cpu_stream(), {{DNNL_ARG_SRC, s}, {DNNL_ARG_WEIGHTS, wt}, {DNNL_ARG_BIAS, b}, {DNNL_ARG_DST, d}});
    std::vector<float> out(14 * 14 * 64);
    memory plain_dst({y, dt::f32, tag::nchw}, cpu_engine(), out.data());
    dnnl::reorder(d, plain_dst).execute(cpu_stream(), d, plain_dst);
    cpu_stream().wait();
    if (first.empty()) {
      first = out;
      continue;
    }
    winograd += candidate.name.find("wino") != std::string::npos;
    float max_ref = 0, max_diff = 0;
    for (std::size_t i = 0; i < out.size(); ++i) {
      max_ref = std::max(max_ref, std::abs(first[i]));
      max_diff = std::max(max_diff, std::abs(out[i] - first[i]));
    }
    EXPECT_LE(max_diff, 1e-3F * max_ref) << candidate.name;
    std::printf("%s: max diff %.2e of max %.2e\n", candidate.name.c_str(), max_diff, max_ref);
  }
  std::printf("%zu candidates, %d Winograd\n", candidates.size(), winograd);
}

}  // namespace
}  // namespace inferlab::native
