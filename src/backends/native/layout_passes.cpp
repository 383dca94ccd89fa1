// The conversions of layout_passes.h. Sixteen pixels at a time: each plane's
// 16 floats become 16 bf16 words, and two word permutes (vpermt2w) lay the
// three planes' words out pixel by pixel (48 words, 96 bytes). The last,
// shorter group runs the same instructions under masks, so every value goes
// through the same conversion.
#include "layout_passes.h"

// GCC 12's AVX-512 headers build results from _mm512_undefined_*(), which
// -W(maybe-)uninitialized reports wherever they are inlined (a known false
// positive): silenced for this file only.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include <algorithm>
#include <array>

#include "inferlab/error.h"

namespace inferlab::native {

namespace {

constexpr std::int64_t kPixelsPerItem = 1024;

// Word j of the interleaved output is pixel j / 3's channel j % 3: channel 0
// from `ab`'s low half (words 0-15), 1 from its high half (16-31), 2 from
// `c` (the second source, words 32-47).
constexpr std::array<std::uint16_t, 48> interleave_indices() {
  std::array<std::uint16_t, 48> index{};
  for (int j = 0; j < 48; ++j) index[j] = static_cast<std::uint16_t>(j % 3 * 16 + j / 3);
  return index;
}

__attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16"))) void convert_pixels(const float* x, std::int64_t pixels,
                                                                                    std::int64_t begin,
                                                                                    std::int64_t end,
                                                                                    std::uint16_t* y) {
  static constexpr std::array<std::uint16_t, 48> kIndex = interleave_indices();
  const __m512i first = _mm512_loadu_si512(kIndex.data());
  const __m512i second =
      _mm512_castsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(kIndex.data() + 32)));
  for (std::int64_t p = begin; p < end; p += 16) {
    const std::int64_t n = std::min<std::int64_t>(16, end - p);
    const __mmask16 mask = static_cast<__mmask16>(n == 16 ? 0xFFFF : (1U << n) - 1U);
    const __m256i a = reinterpret_cast<__m256i>(_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(mask, x + p)));
    const __m256i b = reinterpret_cast<__m256i>(_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(mask, x + pixels + p)));
    const __m256i c = reinterpret_cast<__m256i>(_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(mask, x + 2 * pixels + p)));
    const __m512i ab = _mm512_inserti64x4(_mm512_castsi256_si512(a), b, 1);
    const __m512i cz = _mm512_castsi256_si512(c);
    const __m512i low = _mm512_permutex2var_epi16(ab, first, cz);    // words 0-31
    const __m512i high = _mm512_permutex2var_epi16(ab, second, cz);  // words 32-47
    std::uint16_t* out = y + 3 * p;
    const std::int64_t words = 3 * n;
    const __mmask32 low_mask = words >= 32 ? 0xFFFFFFFFU : static_cast<__mmask32>((1ULL << words) - 1U);
    const __mmask16 high_mask = words <= 32 ? 0 : static_cast<__mmask16>((1U << (words - 32)) - 1U);
    _mm512_mask_storeu_epi16(out, low_mask, low);
    _mm256_mask_storeu_epi16(out + 32, high_mask, _mm512_castsi512_si256(high));
  }
}

}  // namespace

std::string planar3_to_nhwc_bf16_unfit() {
  if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bw") ||
      !__builtin_cpu_supports("avx512vl") || !__builtin_cpu_supports("avx512bf16"))
    return "this CPU lacks AVX-512 with avx512_bf16";
  return "";
}

void planar3_to_nhwc_bf16(const float* x, std::int64_t images, std::int64_t pixels, std::uint16_t* y) {
  static const std::string why = planar3_to_nhwc_bf16_unfit();
  if (!why.empty()) throw Error("native: the planar bf16 conversion cannot run here: " + why, ErrorKind::kUnsupported);
  const std::int64_t per_image = (pixels + kPixelsPerItem - 1) / kPixelsPerItem, items = images * per_image;
#pragma omp parallel for if (items > 1) schedule(static)
  for (std::int64_t item = 0; item < items; ++item) {
    const std::int64_t image = item / per_image, begin = (item % per_image) * kPixelsPerItem;
    convert_pixels(x + image * 3 * pixels, pixels, begin, std::min(begin + kPixelsPerItem, pixels),
                   y + image * 3 * pixels);
  }
}

}  // namespace inferlab::native
