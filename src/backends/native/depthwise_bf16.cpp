// The bf16 depthwise kernel of depthwise_bf16.h. One work item is one
// output row of one block of 32 channels (two AVX-512 vectors of 16 floats;
// the last block may be narrower and is masked). Along the row, blocks of
// up to 6 output pixels keep their sums in registers: each kernel row's
// inputs are widened from bf16 once and feed every kernel column's FMA, so
// an input pixel is read once per kernel row instead of once per tap.
#include "depthwise_bf16.h"

// GCC 12's AVX-512 headers build results from _mm512_undefined_*(), which
// -W(maybe-)uninitialized reports wherever they are inlined (a known false
// positive): silenced for this file only.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include <algorithm>

#include "inferlab/error.h"
#include "inferlab/float16.h"
#include "onednn_util.h"

namespace inferlab::native {

namespace {

constexpr std::int64_t kBlockChannels = 32;

#define INFERLAB_DW_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))

struct RowTask {
  const DepthwiseBf16Params* p;
  const std::uint16_t* x;
  const float* w;
  const float* bias;
  std::uint16_t* y;
  std::int64_t n, oh, c;
  __mmask16 masks[2];  // the block's two vectors of channels (the last block's may be partial or empty)
};

INFERLAB_DW_TARGET inline __m512 widen(const std::uint16_t* at, __mmask16 mask) {
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(mask, at)), 16));
}

// OWB output pixels from ow0, NV vectors of 16 channels.
template <int K, int S, int OWB, int NV>
INFERLAB_DW_TARGET inline void segment(const RowTask& t, std::int64_t ow0, __m512 lo, __m512 hi) {
  constexpr int kInputs = (OWB - 1) * S + K;
  const DepthwiseBf16Params& p = *t.p;
  __m512 acc[NV][OWB];
  for (int v = 0; v < NV; ++v) {
    const __m512 b = _mm512_loadu_ps(t.bias + t.c + 16 * v);
    for (int j = 0; j < OWB; ++j) acc[v][j] = b;
  }
  const std::int64_t iw0 = ow0 * S - p.pad_left;
  for (int kh = 0; kh < K; ++kh) {
    const std::int64_t ih = t.oh * S - p.pad_top + kh;
    if (ih < 0 || ih >= p.in_height) continue;  // padding adds nothing
    const std::uint16_t* row = t.x + ((t.n * p.in_height + ih) * p.in_width) * p.channels + t.c;
    for (int v = 0; v < NV; ++v) {
      __m512 in[kInputs];
      for (int i = 0; i < kInputs; ++i) {
        const std::int64_t iw = iw0 + i;
        in[i] = iw >= 0 && iw < p.in_width ? widen(row + iw * p.channels + 16 * v, t.masks[v]) : _mm512_setzero_ps();
      }
      for (int kw = 0; kw < K; ++kw) {
        const __m512 wv = _mm512_loadu_ps(t.w + (kh * K + kw) * ((p.channels + 31) / 32 * 32) + t.c + 16 * v);
        for (int j = 0; j < OWB; ++j) acc[v][j] = _mm512_fmadd_ps(in[j * S + kw], wv, acc[v][j]);
      }
    }
  }
  std::uint16_t* out = t.y + ((t.n * p.out_height + t.oh) * p.out_width + ow0) * p.channels + t.c;
  for (int j = 0; j < OWB; ++j) {
    for (int v = 0; v < NV; ++v) {
      const __m512 r = _mm512_min_ps(_mm512_max_ps(acc[v][j], lo), hi);
      const __m256i bits = reinterpret_cast<__m256i>(_mm512_cvtneps_pbh(r));
      _mm256_mask_storeu_epi16(out + j * p.channels + 16 * v, t.masks[v], bits);
    }
  }
}

template <int K, int S, int NV>
INFERLAB_DW_TARGET void row(const RowTask& t) {
  const __m512 lo = _mm512_set1_ps(t.p->output_min), hi = _mm512_set1_ps(t.p->output_max);
  const std::int64_t width = t.p->out_width;
  std::int64_t ow = 0;
  if constexpr (S == 1) {
    for (; ow + 6 <= width; ow += 6) segment<K, S, 6, NV>(t, ow, lo, hi);
  }
  for (; ow + 4 <= width; ow += 4) segment<K, S, 4, NV>(t, ow, lo, hi);
  for (; ow + 2 <= width; ow += 2) segment<K, S, 2, NV>(t, ow, lo, hi);
  for (; ow < width; ++ow) segment<K, S, 1, NV>(t, ow, lo, hi);
}

template <int K, int S>
void row_any_width(const RowTask& t) {
  if (t.masks[1] != 0)
    row<K, S, 2>(t);
  else
    row<K, S, 1>(t);
}

using RowFunction = void (*)(const RowTask&);

RowFunction row_function(std::int64_t kernel, std::int64_t stride) {
  if (kernel == 3) return stride == 1 ? row_any_width<3, 1> : row_any_width<3, 2>;
  return stride == 1 ? row_any_width<5, 1> : row_any_width<5, 2>;
}

}  // namespace

std::string depthwise_bf16_unfit(const DepthwiseBf16Params& p) {
  if (p.kernel != 3 && p.kernel != 5) return "its kernel is not 3x3 or 5x5";
  if (p.stride != 1 && p.stride != 2) return "its stride is not 1 or 2";
  if (std::min({p.batch, p.channels, p.in_height, p.in_width, p.out_height, p.out_width}) < 1)
    return "an empty or negative size";
  if (p.pad_top < 0 || p.pad_left < 0 || p.pad_top >= p.kernel || p.pad_left >= p.kernel)
    return "its padding is negative or not smaller than the kernel";
  if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bw") ||
      !__builtin_cpu_supports("avx512vl") || !__builtin_cpu_supports("avx512bf16"))
    return "this CPU lacks AVX-512 with avx512_bf16";
  if (!cpu_has_bf16()) return "oneDNN's instruction set is capped below avx512_core_bf16 (ONEDNN_MAX_CPU_ISA)";
  return "";
}

DepthwiseBf16Conv::DepthwiseBf16Conv(const DepthwiseBf16Params& params, const float* weights, const float* bias)
    : p_(params) {
  const std::string why = depthwise_bf16_unfit(p_);
  if (!why.empty())
    throw Error("native: the bf16 depthwise kernel cannot run this Conv: " + why, ErrorKind::kUnsupported);
  const std::int64_t padded = (p_.channels + kBlockChannels - 1) / kBlockChannels * kBlockChannels;
  const std::int64_t taps = p_.kernel * p_.kernel;
  weights_.assign(static_cast<std::size_t>(taps * padded), 0.0F);
  bias_.assign(static_cast<std::size_t>(padded), 0.0F);
  for (std::int64_t c = 0; c < p_.channels; ++c) {
    for (std::int64_t k = 0; k < taps; ++k)
      weights_[static_cast<std::size_t>(k * padded + c)] =
          bfloat16_bits_to_float(float_to_bfloat16_bits(weights[c * taps + k]));
    if (bias) bias_[static_cast<std::size_t>(c)] = bias[c];
  }
}

void DepthwiseBf16Conv::run(const std::uint16_t* src, std::uint16_t* dst) const {
  const RowFunction function = row_function(p_.kernel, p_.stride);
  const std::int64_t blocks = (p_.channels + kBlockChannels - 1) / kBlockChannels;
  const std::int64_t rows = p_.batch * p_.out_height;
  const std::int64_t items = rows * blocks;
#pragma omp parallel for if (items > 1) schedule(static)
  for (std::int64_t item = 0; item < items; ++item) {
    const std::int64_t r = item / blocks, block = item % blocks;
    RowTask t{
        &p_,   src, weights_.data(), bias_.data(), dst, r / p_.out_height, r % p_.out_height, block * kBlockChannels,
        {0, 0}};
    const std::int64_t width = std::min(kBlockChannels, p_.channels - t.c);
    auto mask = [](std::int64_t lanes) {
      return static_cast<__mmask16>(lanes >= 16 ? 0xFFFF : lanes <= 0 ? 0 : (1U << lanes) - 1U);
    };
    t.masks[0] = mask(width);
    t.masks[1] = mask(width - 16);
    function(t);
  }
}

}  // namespace inferlab::native
