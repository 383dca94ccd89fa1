// Per-channel mean and scale over nhwc tensors (channel_ops.h). Plain loops
// the compiler vectorises, built once per instruction set (target_clones):
// a lane is a channel, so vector width changes no result.
#include "channel_ops.h"

// GCC 12's AVX-512 headers build results from _mm512_undefined_*(), which
// -Wmaybe-uninitialized reports wherever they are inlined (a known false
// positive, as in swish.cpp): silenced for this file only.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>

#include "inferlab/error.h"
#include "inferlab/float16.h"

namespace inferlab::native {

namespace {

// The mean's work items: at most 8 chunks of pixels per image and channel
// blocks of at most 256, both sized from the shape alone, so that the sums
// do not depend on the thread count (and about equal, so that two threads
// get equal shares).
constexpr std::int64_t kMaxChunks = 8;
constexpr std::int64_t kMaxChannelsPerBlock = 256;
// The scale's items: any split gives the same products; 16 per image.
constexpr std::int64_t kScaleItemsPerImage = 16;

inline float load(const float* p, std::int64_t i) { return p[i]; }
inline float load(const std::uint16_t* p, std::int64_t i) { return bfloat16_bits_to_float(p[i]); }
inline void store(float* p, std::int64_t i, float v) { p[i] = v; }
inline void store(std::uint16_t* p, std::int64_t i, float v) { p[i] = float_to_bfloat16_bits(v); }

// Sums `count` pixels of `width` channels (row stride `stride`) into sums,
// 64 channels at a time held in registers across the pixels; each channel's
// sum adds its pixels in order either way.
template <typename In>
inline void sum_pixels(const In* x, std::int64_t count, std::int64_t width, std::int64_t stride, float* sums) {
  constexpr std::int64_t kHeld = 64;
  std::int64_t c0 = 0;
  for (; c0 + kHeld <= width; c0 += kHeld) {
    float held[kHeld] = {};
    for (std::int64_t p = 0; p < count; ++p) {
      const In* row = x + p * stride + c0;
      for (std::int64_t c = 0; c < kHeld; ++c) held[c] += load(row, c);
    }
    for (std::int64_t c = 0; c < kHeld; ++c) sums[c0 + c] = held[c];
  }
  for (std::int64_t c = c0; c < width; ++c) sums[c] = 0.0F;
  for (std::int64_t p = 0; p < count; ++p) {
    const In* row = x + p * stride;
    for (std::int64_t c = c0; c < width; ++c) sums[c] += load(row, c);
  }
}

__attribute__((target_clones("avx512f", "avx2", "default"))) void sum_pixels_f32(const float* x, std::int64_t count,
                                                                                 std::int64_t width,
                                                                                 std::int64_t stride, float* sums) {
  sum_pixels(x, count, width, stride, sums);
}

// (On AVX-512 the bf16 mean runs sum_pixels_bf16_avx512() instead.)
__attribute__((target_clones("avx2", "default"))) void sum_pixels_bf16(const std::uint16_t* x, std::int64_t count,
                                                                       std::int64_t width, std::int64_t stride,
                                                                       float* sums) {
  sum_pixels(x, count, width, stride, sums);
}

// 16 bfloat16 (or float32) values at p as float32.
__attribute__((target("avx512f"))) inline __m512 widen16(const std::uint16_t* p) {
  return _mm512_castsi512_ps(
      _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))), 16));
}

__attribute__((target("avx512f"))) inline __m512 widen16(const float* p) { return _mm512_loadu_ps(p); }

// bfloat16 sums on AVX-512 by hand: GCC's vectorisation of sum_pixels()
// for bf16 took 0.029 ms for 144 x 56 x 56 where oneDNN's pooling took
// 0.021. Each lane is one channel adding its pixels in order from 0, as
// sum_pixels() does, so the sums are the same bits.
__attribute__((target("avx512f"))) void sum_pixels_bf16_avx512(const std::uint16_t* x, std::int64_t count,
                                                               std::int64_t width, std::int64_t stride, float* sums) {
  std::int64_t c0 = 0;
  for (; c0 + 64 <= width; c0 += 64) {
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (std::int64_t p = 0; p < count; ++p) {
      const std::uint16_t* row = x + p * stride + c0;
      a0 = _mm512_add_ps(a0, widen16(row));
      a1 = _mm512_add_ps(a1, widen16(row + 16));
      a2 = _mm512_add_ps(a2, widen16(row + 32));
      a3 = _mm512_add_ps(a3, widen16(row + 48));
    }
    _mm512_storeu_ps(sums + c0, a0);
    _mm512_storeu_ps(sums + c0 + 16, a1);
    _mm512_storeu_ps(sums + c0 + 32, a2);
    _mm512_storeu_ps(sums + c0 + 48, a3);
  }
  for (; c0 + 16 <= width; c0 += 16) {
    __m512 a = _mm512_setzero_ps();
    for (std::int64_t p = 0; p < count; ++p) a = _mm512_add_ps(a, widen16(x + p * stride + c0));
    _mm512_storeu_ps(sums + c0, a);
  }
  sum_pixels(x + c0, count, width - c0, stride, sums + c0);  // the last < 16 channels
}

template <typename In, typename Scale, typename Out>
inline void scale_pixels(const In* x, const Scale* scale, std::int64_t count, std::int64_t channels, Out* y) {
  for (std::int64_t p = 0; p < count; ++p) {
    const In* row = x + p * channels;
    Out* out = y + p * channels;
    for (std::int64_t c = 0; c < channels; ++c) store(out, c, load(row, c) * load(scale, c));
  }
}

// bfloat16 by a scale on AVX-512: GCC vectorises the generic loop with
// 128-bit conversions, slower than float32's loop over twice the bytes.
// Same product and rounding as store(), so the same bits.
template <typename Scale>
__attribute__((target("avx512f"))) void scale_bf16_avx512(const std::uint16_t* x, const Scale* scale,
                                                          std::int64_t count, std::int64_t channels, std::uint16_t* y) {
  const __m512i one = _mm512_set1_epi32(1), half = _mm512_set1_epi32(0x7FFF);
  const std::int64_t vector_channels = channels / 16 * 16;
  for (std::int64_t p = 0; p < count; ++p) {
    const std::uint16_t* row = x + p * channels;
    std::uint16_t* out = y + p * channels;
    for (std::int64_t c = 0; c < vector_channels; c += 16) {
      __m512i bits = _mm512_castps_si512(_mm512_mul_ps(widen16(row + c), widen16(scale + c)));
      bits = _mm512_add_epi32(bits, _mm512_add_epi32(_mm512_and_si512(_mm512_srli_epi32(bits, 16), one), half));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + c), _mm512_cvtepi32_epi16(_mm512_srli_epi32(bits, 16)));
    }
    for (std::int64_t c = vector_channels; c < channels; ++c) store(out, c, load(row, c) * load(scale, c));
  }
}

#define INFERLAB_SCALE_CLONE(name, In, Scale, Out)                                          \
  __attribute__((target_clones("avx512f", "avx2", "default"))) void name(                   \
      const In* x, const Scale* scale, std::int64_t count, std::int64_t channels, Out* y) { \
    scale_pixels(x, scale, count, channels, y);                                             \
  }
INFERLAB_SCALE_CLONE(scale_f32_f32_f32, float, float, float)
INFERLAB_SCALE_CLONE(scale_bf16_bf16_bf16, std::uint16_t, std::uint16_t, std::uint16_t)
INFERLAB_SCALE_CLONE(scale_bf16_f32_bf16, std::uint16_t, float, std::uint16_t)
INFERLAB_SCALE_CLONE(scale_f32_bf16_f32, float, std::uint16_t, float)
#undef INFERLAB_SCALE_CLONE

void check_type(DType type, const char* what) {
  if (type != DType::kFloat32 && type != DType::kBFloat16)
    throw Error(std::string("native: per-channel ") + what + " takes float32 or bfloat16, not " + dtype_name(type));
}

std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }
std::int64_t pixels_per_chunk(const NhwcExtent& e) { return std::max<std::int64_t>(1, ceil_div(e.pixels, kMaxChunks)); }
std::int64_t chunks_of(const NhwcExtent& e) { return ceil_div(e.pixels, pixels_per_chunk(e)); }
std::int64_t channels_per_block(const NhwcExtent& e) {
  const std::int64_t blocks = ceil_div(e.channels, kMaxChannelsPerBlock);
  return ceil_div(ceil_div(e.channels, blocks), 16) * 16;
}

}  // namespace

std::int64_t channel_mean_scratch_floats(const NhwcExtent& extent) {
  return extent.images * chunks_of(extent) * extent.channels;
}

void channel_mean_nhwc(const void* x, DType x_type, const NhwcExtent& extent, void* y, DType y_type, float* scratch) {
  check_type(x_type, "mean");
  check_type(y_type, "mean");
  const std::int64_t chunks = chunks_of(extent), channels = extent.channels, chunk_pixels = pixels_per_chunk(extent);
  const std::int64_t block_width = channels_per_block(extent), blocks = ceil_div(channels, block_width);
  const std::int64_t items = extent.images * chunks * blocks;
  const bool bf16 = x_type == DType::kBFloat16;
  static const bool avx512 = __builtin_cpu_supports("avx512f");
#pragma omp parallel for if (items > 1) schedule(static)
  for (std::int64_t item = 0; item < items; ++item) {
    const std::int64_t block = item % blocks, chunk = (item / blocks) % chunks, image = item / (blocks * chunks);
    const std::int64_t c0 = block * block_width, width = std::min(block_width, channels - c0);
    const std::int64_t p0 = chunk * chunk_pixels, count = std::min(chunk_pixels, extent.pixels - p0);
    const std::int64_t offset = (image * extent.pixels + p0) * channels + c0;
    float* sums = scratch + (image * chunks + chunk) * channels + c0;
    if (bf16 && avx512) {
      sum_pixels_bf16_avx512(static_cast<const std::uint16_t*>(x) + offset, count, width, channels, sums);
    } else if (bf16) {
      sum_pixels_bf16(static_cast<const std::uint16_t*>(x) + offset, count, width, channels, sums);
    } else {
      sum_pixels_f32(static_cast<const float*>(x) + offset, count, width, channels, sums);
    }
  }
  const auto pixels = static_cast<float>(extent.pixels);
  for (std::int64_t image = 0; image < extent.images; ++image) {
    const float* first = scratch + image * chunks * channels;
    for (std::int64_t c = 0; c < channels; ++c) {
      float total = first[c];
      for (std::int64_t chunk = 1; chunk < chunks; ++chunk) total += first[chunk * channels + c];
      const std::int64_t at = image * channels + c;
      if (y_type == DType::kBFloat16) {
        store(static_cast<std::uint16_t*>(y), at, total / pixels);
      } else {
        store(static_cast<float*>(y), at, total / pixels);
      }
    }
  }
}

void channel_scale_nhwc(const void* x, DType x_type, const void* scale, DType scale_type, bool scale_per_image,
                        const NhwcExtent& extent, void* y, DType y_type) {
  check_type(x_type, "scale");
  check_type(scale_type, "scale");
  check_type(y_type, "scale");
  if (x_type != y_type) throw Error("native: per-channel scale writes its input's dtype");
  const std::int64_t channels = extent.channels;
  const std::int64_t chunk_pixels = std::max<std::int64_t>(1, ceil_div(extent.pixels, kScaleItemsPerImage));
  const std::int64_t chunks = ceil_div(extent.pixels, chunk_pixels), items = extent.images * chunks;
  const bool x_bf16 = x_type == DType::kBFloat16, s_bf16 = scale_type == DType::kBFloat16;
  static const bool avx512 = __builtin_cpu_supports("avx512f");
#pragma omp parallel for if (items > 1) schedule(static)
  for (std::int64_t item = 0; item < items; ++item) {
    const std::int64_t chunk = item % chunks, image = item / chunks;
    const std::int64_t p0 = chunk * chunk_pixels, count = std::min(chunk_pixels, extent.pixels - p0);
    const std::int64_t offset = (image * extent.pixels + p0) * channels;
    const std::int64_t s_offset = scale_per_image ? image * channels : 0;
    if (x_bf16 && avx512) {
      auto* in = static_cast<const std::uint16_t*>(x) + offset;
      auto* out = static_cast<std::uint16_t*>(y) + offset;
      if (s_bf16) {
        scale_bf16_avx512(in, static_cast<const std::uint16_t*>(scale) + s_offset, count, channels, out);
      } else {
        scale_bf16_avx512(in, static_cast<const float*>(scale) + s_offset, count, channels, out);
      }
    } else if (x_bf16 && s_bf16) {
      scale_bf16_bf16_bf16(static_cast<const std::uint16_t*>(x) + offset,
                           static_cast<const std::uint16_t*>(scale) + s_offset, count, channels,
                           static_cast<std::uint16_t*>(y) + offset);
    } else if (x_bf16) {
      scale_bf16_f32_bf16(static_cast<const std::uint16_t*>(x) + offset, static_cast<const float*>(scale) + s_offset,
                          count, channels, static_cast<std::uint16_t*>(y) + offset);
    } else if (s_bf16) {
      scale_f32_bf16_f32(static_cast<const float*>(x) + offset, static_cast<const std::uint16_t*>(scale) + s_offset,
                         count, channels, static_cast<float*>(y) + offset);
    } else {
      scale_f32_f32_f32(static_cast<const float*>(x) + offset, static_cast<const float*>(scale) + s_offset, count,
                        channels, static_cast<float*>(y) + offset);
    }
  }
}

}  // namespace inferlab::native
