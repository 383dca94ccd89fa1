// Planar three-channel image to nhwc int8 (quantize_planar.h). Sixteen
// pixels at a time: each plane is quantized to 16 bytes, and three byte
// shuffles per 16 output bytes interleave them (SSSE3's pshufb, present on
// every CPU with SSE4.1).
#include "quantize_planar.h"

#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cmath>

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

}  // namespace

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
