// conv_candidates (backends/native/conv_candidates.h): no implementation a
// Conv may run, oneDNN's own pick or a tactic, writes past its output. Each
// candidate runs on buffers followed by guard bytes that must come back
// untouched. oneDNN 2.6.3's AMX 1x1 kernels wrote up to 15 output pixels past
// plain outputs whose pixel count is not a multiple of 16 (squeezenet1_0's 6x6
// layers); the candidates of every precision this CPU runs are checked here.
#include <gtest/gtest.h>

#include <cstdint>
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
  auto desc_for = [&](tag layout) {
    return dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
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
  const std::vector<Layer> layers{{64, 64, 1, 1, 6},  {512, 1000, 1, 1, 6}, {32, 48, 1, 1, 7}, {64, 64, 1, 2, 7},
                                  {32, 32, 1, 1, 14}, {32, 32, 1, 1, 8},    {32, 32, 3, 1, 6}};
  if (!cpu_has_bf16()) std::printf("bf16 candidates not checked: %s\n", bf16_unsupported_reason().c_str());
  for (const auto& types : precisions_this_cpu_runs()) {
    for (const auto& layer : layers) expect_no_candidate_writes_past_its_output(layer, types);
  }
}

}  // namespace
}  // namespace inferlab::native
