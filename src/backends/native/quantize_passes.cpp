// Quantizing passes (quantize_passes.h). The planar image: sixteen pixels
// at a time, each plane quantized to 16 bytes, and three byte shuffles per
// 16 output bytes interleave them (SSSE3's pshufb, on every CPU with
// SSE4.1). Every path clamps in float32, then rounds with the default
// MXCSR mode (nearest even), as std::nearbyint does in the scalar path.
#include "quantize_passes.h"

// GCC 12's AVX-512 headers: a known -Wmaybe-uninitialized false positive
// (as in swish.cpp), silenced for this file only.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cmath>

#include "inferlab/error.h"

namespace inferlab::native {

namespace {

constexpr std::int64_t kPixelsPerItem = 2048;

std::int8_t quantize_one(float x, float inverse_scale, float lo, float hi) {
  const float v = std::min(std::max(x * inverse_scale, lo), hi);
  return static_cast<std::int8_t>(static_cast<int>(std::nearbyint(v)));
}

void scalar_pixels(const float* x, std::int64_t pixels, std::int64_t begin, std::int64_t end, float inverse_scale,
                   float lo, float hi, std::int8_t* y) {
  for (std::int64_t p = begin; p < end; ++p) {
    for (std::int64_t c = 0; c < 3; ++c) y[p * 3 + c] = quantize_one(x[c * pixels + p], inverse_scale, lo, hi);
  }
}

// Byte i of output block k is pixel (16k + i) / 3's channel (16k + i) % 3:
// a pshufb mask per (block, channel), -1 (zero) where another channel goes.
constexpr std::array<std::array<std::array<std::int8_t, 16>, 3>, 3> interleave_masks() {
  std::array<std::array<std::array<std::int8_t, 16>, 3>, 3> m{};
  for (int k = 0; k < 3; ++k) {
    for (int c = 0; c < 3; ++c) {
      for (int i = 0; i < 16; ++i) {
        const int j = 16 * k + i;
        m[k][c][i] = static_cast<std::int8_t>(j % 3 == c ? j / 3 : -1);
      }
    }
  }
  return m;
}
constexpr auto kMasks = interleave_masks();

__attribute__((target("sse4.1"))) __m128i quantize16(const float* x, __m128 inverse_scale, __m128 lo, __m128 hi,
                                                     bool is_signed) {
  __m128i a[4];
  for (int k = 0; k < 4; ++k) {
    const __m128 v = _mm_min_ps(_mm_max_ps(_mm_mul_ps(_mm_loadu_ps(x + 4 * k), inverse_scale), lo), hi);
    a[k] = _mm_cvtps_epi32(v);  // MXCSR's default: round to nearest even
  }
  const __m128i low = _mm_packs_epi32(a[0], a[1]), high = _mm_packs_epi32(a[2], a[3]);
  return is_signed ? _mm_packs_epi16(low, high) : _mm_packus_epi16(low, high);
}

__attribute__((target("sse4.1,ssse3"))) void sse_pixels(const float* x, std::int64_t pixels, std::int64_t begin,
                                                        std::int64_t end, float inverse_scale, float lo, float hi,
                                                        bool is_signed, std::int8_t* y) {
  const __m128 scale = _mm_set1_ps(inverse_scale), low = _mm_set1_ps(lo), high = _mm_set1_ps(hi);
  __m128i masks[3][3];
  for (int k = 0; k < 3; ++k) {
    for (int c = 0; c < 3; ++c) masks[k][c] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(kMasks[k][c].data()));
  }
  std::int64_t p = begin;
  for (; p + 16 <= end; p += 16) {
    __m128i plane[3];
    for (int c = 0; c < 3; ++c) plane[c] = quantize16(x + c * pixels + p, scale, low, high, is_signed);
    for (int k = 0; k < 3; ++k) {
      const __m128i out =
          _mm_or_si128(_mm_or_si128(_mm_shuffle_epi8(plane[0], masks[k][0]), _mm_shuffle_epi8(plane[1], masks[k][1])),
                       _mm_shuffle_epi8(plane[2], masks[k][2]));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(y + p * 3 + 16 * k), out);
    }
  }
  scalar_pixels(x, pixels, p, end, inverse_scale, lo, hi, y);
}

void scalar_contiguous(const float* x, std::int64_t count, float inverse_scale, float lo, float hi, std::int8_t* y) {
  for (std::int64_t i = 0; i < count; ++i) y[i] = quantize_one(x[i], inverse_scale, lo, hi);
}

__attribute__((target("avx512f"))) void avx512_contiguous(const float* x, std::int64_t count, float inverse_scale,
                                                          float lo, float hi, std::int8_t* y) {
  const __m512 scale = _mm512_set1_ps(inverse_scale), low = _mm512_set1_ps(lo), high = _mm512_set1_ps(hi);
  for (std::int64_t i = 0; i < count; i += 16) {
    const __mmask16 mask =
        count - i >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1U << (count - i)) - 1U);
    const __m512 v = _mm512_min_ps(_mm512_max_ps(_mm512_mul_ps(_mm512_maskz_loadu_ps(mask, x + i), scale), low), high);
    _mm512_mask_cvtepi32_storeu_epi8(y + i, mask, _mm512_cvtps_epi32(v));  // in range: the low byte is the value
  }
}

__attribute__((target("avx2"))) void avx2_contiguous(const float* x, std::int64_t count, float inverse_scale, float lo,
                                                     float hi, bool is_signed, std::int8_t* y) {
  const __m256 scale = _mm256_set1_ps(inverse_scale), low = _mm256_set1_ps(lo), high = _mm256_set1_ps(hi);
  std::int64_t i = 0;
  for (; i + 16 <= count; i += 16) {
    const __m256 a = _mm256_min_ps(_mm256_max_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), scale), low), high);
    const __m256 b = _mm256_min_ps(_mm256_max_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i + 8), scale), low), high);
    // packs work per 128-bit lane: a0 b0 | a1 b1 in 16 bits, then bytes.
    const __m256i words = _mm256_packs_epi32(_mm256_cvtps_epi32(a), _mm256_cvtps_epi32(b));
    const __m128i low_lane = _mm256_castsi256_si128(words), high_lane = _mm256_extracti128_si256(words, 1);
    const __m128i bytes =
        is_signed ? _mm_packs_epi16(low_lane, high_lane) : _mm_packus_epi16(low_lane, high_lane);  // a0 b0 a1 b1
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y + i), _mm_shuffle_epi32(bytes, _MM_SHUFFLE(3, 1, 2, 0)));
  }
  scalar_contiguous(x + i, count - i, inverse_scale, lo, hi, y + i);
}

}  // namespace

void quantize_contiguous(const float* x, std::int64_t count, float inverse_scale, bool is_signed, std::int8_t* y,
                         SimdPath path) {
  if (!simd_path_supported(path)) throw Error("native: this CPU cannot run the requested quantize instruction set");
  const float lo = is_signed ? -128.0F : 0.0F, hi = is_signed ? 127.0F : 255.0F;
  const bool avx512 = path == SimdPath::kAvx512 || (path == SimdPath::kAuto && simd_path_supported(SimdPath::kAvx512));
  const bool avx2 =
      !avx512 && (path == SimdPath::kAvx2 || (path == SimdPath::kAuto && simd_path_supported(SimdPath::kAvx2)));
  constexpr std::int64_t kChunk = 16384;
  const std::int64_t chunks = (count + kChunk - 1) / kChunk;
#pragma omp parallel for if (chunks > 1) schedule(static)
  for (std::int64_t c = 0; c < chunks; ++c) {
    const std::int64_t begin = c * kChunk, n = std::min(kChunk, count - begin);
    if (avx512) {
      avx512_contiguous(x + begin, n, inverse_scale, lo, hi, y + begin);
    } else if (avx2) {
      avx2_contiguous(x + begin, n, inverse_scale, lo, hi, is_signed, y + begin);
    } else {
      scalar_contiguous(x + begin, n, inverse_scale, lo, hi, y + begin);
    }
  }
}

void quantize_planar3_to_nhwc(const float* x, std::int64_t images, std::int64_t pixels, float inverse_scale,
                              bool is_signed, std::int8_t* y) {
  const float lo = is_signed ? -128.0F : 0.0F, hi = is_signed ? 127.0F : 255.0F;
  static const bool sse = __builtin_cpu_supports("sse4.1") && __builtin_cpu_supports("ssse3");
  const std::int64_t per_image = (pixels + kPixelsPerItem - 1) / kPixelsPerItem, items = images * per_image;
#pragma omp parallel for if (items > 1) schedule(static)
  for (std::int64_t item = 0; item < items; ++item) {
    const std::int64_t image = item / per_image, begin = (item % per_image) * kPixelsPerItem;
    const std::int64_t end = std::min(begin + kPixelsPerItem, pixels);
    const float* xi = x + image * 3 * pixels;
    std::int8_t* yi = y + image * 3 * pixels;
    if (sse) {
      sse_pixels(xi, pixels, begin, end, inverse_scale, lo, hi, is_signed, yi);
    } else {
      scalar_pixels(xi, pixels, begin, end, inverse_scale, lo, hi, yi);
    }
  }
}

}  // namespace inferlab::native
