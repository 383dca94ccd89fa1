// Swish in place (swish.h). One algorithm written three times (AVX-512,
// AVX2 + FMA, scalar) with the same operations in the same order:
//   t = clamp(-x, -87.3, 88), n = round_even(t * log2(e)),
//   r = t - n * ln2 (two-part constant, fused), p = Cephes' expf polynomial,
//   e^t = (p * r^2 + r + 1) * 2^n (2^n built in the exponent bits),
//   swish = x / (1 + e^t)  (IEEE division, not a reciprocal estimate).
// The clamp keeps 2^n a normal float (n in [-126, 127]): below x = -88 the
// result is x / e^88 (|x| x 6e-39) instead of the exact, smaller value.
// bfloat16 looks its result up in a table built with the scalar path.
#include "swish.h"

// GCC 12's AVX-512 headers build results from _mm512_undefined_*(), which
// -Wmaybe-uninitialized reports wherever they are inlined (a known false
// positive): silenced for this file only.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>
#include <vector>

#include "inferlab/error.h"
#include "inferlab/float16.h"

namespace inferlab::native {

namespace {

constexpr float kLowest = -87.3F, kHighest = 88.0F;
constexpr float kLog2e = 1.44269504088896341F;
constexpr float kLn2Hi = 0.693359375F, kLn2Lo = -2.12194440e-4F;
constexpr float kP0 = 1.9875691500e-4F, kP1 = 1.3981999507e-3F, kP2 = 8.3334519073e-3F, kP3 = 4.1665795894e-2F,
                kP4 = 1.6666665459e-1F, kP5 = 5.0000001201e-1F;

float swish_scalar(float x) {
  const float t = std::min(std::max(-x, kLowest), kHighest);
  const float n = std::nearbyint(t * kLog2e);
  float r = std::fma(-n, kLn2Hi, t);
  r = std::fma(-n, kLn2Lo, r);
  float p = std::fma(kP0, r, kP1);
  p = std::fma(p, r, kP2);
  p = std::fma(p, r, kP3);
  p = std::fma(p, r, kP4);
  p = std::fma(p, r, kP5);
  p = std::fma(p, r * r, r) + 1.0F;
  const std::uint32_t bits = static_cast<std::uint32_t>(static_cast<int>(n) + 127) << 23;
  float two_n;
  std::memcpy(&two_n, &bits, sizeof two_n);
  return x / (1.0F + p * two_n);
}

void scalar_f32(float* x, std::int64_t count) {
  for (std::int64_t i = 0; i < count; ++i) x[i] = swish_scalar(x[i]);
}

__attribute__((target("avx512f"))) __m512 swish512(__m512 x) {
  const __m512 t = _mm512_min_ps(_mm512_max_ps(_mm512_sub_ps(_mm512_setzero_ps(), x), _mm512_set1_ps(kLowest)),
                                 _mm512_set1_ps(kHighest));
  const __m512 n =
      _mm512_roundscale_ps(_mm512_mul_ps(t, _mm512_set1_ps(kLog2e)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(kLn2Hi), t);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(kLn2Lo), r);
  __m512 p = _mm512_fmadd_ps(_mm512_set1_ps(kP0), r, _mm512_set1_ps(kP1));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kP2));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kP3));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kP4));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kP5));
  p = _mm512_add_ps(_mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r), _mm512_set1_ps(1.0F));
  // p * 2^n in one instruction: exact like the other paths' product with
  // 2^n built in the exponent bits (each rounds once, to the same value).
  return _mm512_div_ps(x, _mm512_add_ps(_mm512_set1_ps(1.0F), _mm512_scalef_ps(p, n)));
}

__attribute__((target("avx512f"))) void avx512_f32(float* x, std::int64_t count) {
  std::int64_t i = 0;
  for (; i + 16 <= count; i += 16) _mm512_storeu_ps(x + i, swish512(_mm512_loadu_ps(x + i)));
  if (i < count) {
    const __mmask16 mask = static_cast<__mmask16>((1U << (count - i)) - 1U);
    _mm512_mask_storeu_ps(x + i, mask, swish512(_mm512_maskz_loadu_ps(mask, x + i)));
  }
}

__attribute__((target("avx2,fma"))) __m256 swish256(__m256 x) {
  const __m256 t = _mm256_min_ps(_mm256_max_ps(_mm256_sub_ps(_mm256_setzero_ps(), x), _mm256_set1_ps(kLowest)),
                                 _mm256_set1_ps(kHighest));
  const __m256 n =
      _mm256_round_ps(_mm256_mul_ps(t, _mm256_set1_ps(kLog2e)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(kLn2Hi), t);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(kLn2Lo), r);
  __m256 p = _mm256_fmadd_ps(_mm256_set1_ps(kP0), r, _mm256_set1_ps(kP1));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kP2));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kP3));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kP4));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kP5));
  p = _mm256_add_ps(_mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r), _mm256_set1_ps(1.0F));
  const __m256 two_n =
      _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23));
  return _mm256_div_ps(x, _mm256_add_ps(_mm256_set1_ps(1.0F), _mm256_mul_ps(p, two_n)));
}

__attribute__((target("avx2,fma"))) void avx2_f32(float* x, std::int64_t count) {
  std::int64_t i = 0;
  for (; i + 8 <= count; i += 8) _mm256_storeu_ps(x + i, swish256(_mm256_loadu_ps(x + i)));
  scalar_f32(x + i, count - i);
}

// bfloat16 has 65536 values, so its swish is a table: every input's
// float32 swish (scalar_f32's bits, which every path reproduces) rounded to
// nearest even. A lookup is the same on every path by construction and on
// a 2-core AVX-512 Xeon took about half the time of computing (gathers from
// a hot region: activations use few exponents). One entry of padding lets a
// 4-byte gather at the last index stay inside the table.
const std::uint16_t* bf16_table() {
  static const std::vector<std::uint16_t> table = [] {
    std::vector<float> widened(65536);
    for (std::uint32_t v = 0; v < 65536; ++v) widened[v] = bfloat16_bits_to_float(static_cast<std::uint16_t>(v));
    scalar_f32(widened.data(), static_cast<std::int64_t>(widened.size()));
    std::vector<std::uint16_t> rounded(65537, 0);
    for (std::uint32_t v = 0; v < 65536; ++v) rounded[v] = float_to_bfloat16_bits(widened[v]);
    return rounded;
  }();
  return table.data();
}

void scalar_bf16(std::uint16_t* x, std::int64_t count) {
  const std::uint16_t* table = bf16_table();
  for (std::int64_t i = 0; i < count; ++i) x[i] = table[x[i]];
}

// Gathers read 4 bytes at table + 2 * index; the low half is the entry.
// Independent gathers per step let their latencies overlap. The loop alone
// (1.2 M normal-distributed bf16 values, 2 threads, AMX Xeon): 0.149-0.160
// ms one gather per step, 0.138-0.145 four, 0.122-0.126 eight;
// bench/native_swish 0.163 one, 0.129-0.133 four, 0.125-0.133 eight.
__attribute__((target("avx512f"))) void avx512_bf16(std::uint16_t* x, std::int64_t count) {
  const auto* table = reinterpret_cast<const int*>(bf16_table());
  constexpr int kGathers = 8;
  std::int64_t i = 0;
  for (; i + 16 * kGathers <= count; i += 16 * kGathers) {
    auto* at = reinterpret_cast<__m256i*>(x + i);
    __m512i entries[kGathers];
#pragma GCC unroll 8
    for (int k = 0; k < kGathers; ++k)
      entries[k] = _mm512_i32gather_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256(at + k)), table, 2);
#pragma GCC unroll 8
    for (int k = 0; k < kGathers; ++k) _mm256_storeu_si256(at + k, _mm512_cvtepi32_epi16(entries[k]));
  }
  for (; i + 16 <= count; i += 16) {
    auto* at = reinterpret_cast<__m256i*>(x + i);
    const __m512i index = _mm512_cvtepu16_epi32(_mm256_loadu_si256(at));
    _mm256_storeu_si256(at, _mm512_cvtepi32_epi16(_mm512_i32gather_epi32(index, table, 2)));
  }
  scalar_bf16(x + i, count - i);
}

__attribute__((target("avx2"))) void avx2_bf16(std::uint16_t* x, std::int64_t count) {
  const auto* table = reinterpret_cast<const int*>(bf16_table());
  const __m256i low_half = _mm256_set1_epi32(0xFFFF);
  std::int64_t i = 0;
  for (; i + 8 <= count; i += 8) {
    auto* at = reinterpret_cast<__m128i*>(x + i);
    const __m256i index = _mm256_cvtepu16_epi32(_mm_loadu_si128(at));
    const __m256i entry = _mm256_and_si256(_mm256_i32gather_epi32(table, index, 2), low_half);
    // Each lane < 65536 after the mask, so unsigned saturation keeps it.
    _mm_storeu_si128(at, _mm_packus_epi32(_mm256_castsi256_si128(entry), _mm256_extracti128_si256(entry, 1)));
  }
  scalar_bf16(x + i, count - i);
}

// Quantizing: round to nearest even (the default MXCSR mode the vector
// conversions use, and std::nearbyint's), then saturate.
template <typename Out>
void scalar_quantize(const float* x, Out* y, std::int64_t count, float inverse_scale) {
  constexpr float lo = std::is_signed_v<Out> ? -128.0F : 0.0F, hi = std::is_signed_v<Out> ? 127.0F : 255.0F;
  for (std::int64_t i = 0; i < count; ++i)
    y[i] = static_cast<Out>(std::min(std::max(std::nearbyint(swish_scalar(x[i]) * inverse_scale), lo), hi));
}

__attribute__((target("avx512f"))) void avx512_quantize(const float* x, std::int8_t* y, std::int64_t count,
                                                        float inverse_scale, bool is_signed) {
  const __m512 scale = _mm512_set1_ps(inverse_scale);
  const __m512i lo = _mm512_set1_epi32(is_signed ? -128 : 0), hi = _mm512_set1_epi32(is_signed ? 127 : 255);
  std::int64_t i = 0;
  for (; i < count; i += 16) {
    const __mmask16 mask =
        count - i >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1U << (count - i)) - 1U);
    const __m512 v = _mm512_mul_ps(swish512(_mm512_maskz_loadu_ps(mask, x + i)), scale);
    const __m512i q = _mm512_min_epi32(_mm512_max_epi32(_mm512_cvtps_epi32(v), lo), hi);
    _mm512_mask_cvtepi32_storeu_epi8(y + i, mask, q);  // keeps each value's low byte: already in range
  }
}

__attribute__((target("avx2,fma"))) void avx2_quantize(const float* x, std::int8_t* y, std::int64_t count,
                                                       float inverse_scale, bool is_signed) {
  const __m256 scale = _mm256_set1_ps(inverse_scale);
  const __m256i lo = _mm256_set1_epi32(is_signed ? -128 : 0), hi = _mm256_set1_epi32(is_signed ? 127 : 255);
  // The low byte of each 32-bit lane, in each 128-bit half.
  const __m256i low_bytes = _mm256_setr_epi8(0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0, 4, 8, 12,
                                             -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
  std::int64_t i = 0;
  for (; i + 8 <= count; i += 8) {
    const __m256 v = _mm256_mul_ps(swish256(_mm256_loadu_ps(x + i)), scale);
    __m256i q = _mm256_min_epi32(_mm256_max_epi32(_mm256_cvtps_epi32(v), lo), hi);
    q = _mm256_shuffle_epi8(q, low_bytes);
    const __m128i packed = _mm_unpacklo_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(y + i), packed);
  }
  if (is_signed) {
    scalar_quantize(x + i, y + i, count - i, inverse_scale);
  } else {
    scalar_quantize(x + i, reinterpret_cast<std::uint8_t*>(y + i), count - i, inverse_scale);
  }
}

SimdPath resolve(SimdPath path) {
  if (path != SimdPath::kAuto) return path;
  if (simd_path_supported(SimdPath::kAvx512)) return SimdPath::kAvx512;
  if (simd_path_supported(SimdPath::kAvx2)) return SimdPath::kAvx2;
  return SimdPath::kScalar;
}

// One chunk with the chosen path.
void run_chunk(void* data, std::int64_t begin, std::int64_t count, bool bf16, SimdPath path) {
  if (bf16) {
    auto* x = static_cast<std::uint16_t*>(data) + begin;
    path == SimdPath::kAvx512 ? avx512_bf16(x, count)
    : path == SimdPath::kAvx2 ? avx2_bf16(x, count)
                              : scalar_bf16(x, count);
  } else {
    auto* x = static_cast<float*>(data) + begin;
    path == SimdPath::kAvx512 ? avx512_f32(x, count)
    : path == SimdPath::kAvx2 ? avx2_f32(x, count)
                              : scalar_f32(x, count);
  }
}

}  // namespace

void swish_prepare(DType dtype) {
  if (dtype == DType::kBFloat16) bf16_table();
}

bool simd_path_supported(SimdPath path) {
  switch (path) {
    case SimdPath::kAvx512:
      return __builtin_cpu_supports("avx512f");
    case SimdPath::kAvx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    default:
      return true;
  }
}

void swish_in_place(void* data, std::int64_t count, DType dtype, SimdPath path) {
  if (dtype != DType::kFloat32 && dtype != DType::kBFloat16)
    throw Error("native: swish takes float32 or bfloat16, not " + dtype_name(dtype));
  if (!simd_path_supported(path)) throw Error("native: this CPU cannot run the requested swish instruction set");
  const SimdPath chosen = resolve(path);
  const bool bf16 = dtype == DType::kBFloat16;
  // Chunks of 16K values: below two of them a thread team costs more than it saves.
  constexpr std::int64_t kChunk = 16384;
  const std::int64_t chunks = (count + kChunk - 1) / kChunk;
#pragma omp parallel for if (chunks > 1) schedule(static)
  for (std::int64_t c = 0; c < chunks; ++c) {
    const std::int64_t begin = c * kChunk;
    run_chunk(data, begin, std::min(kChunk, count - begin), bf16, chosen);
  }
}

void swish_quantize(const float* src, void* dst, std::int64_t count, float inverse_scale, DType dtype, SimdPath path) {
  if (dtype != DType::kUInt8 && dtype != DType::kInt8)
    throw Error("native: swish_quantize writes uint8 or int8, not " + dtype_name(dtype));
  if (!simd_path_supported(path)) throw Error("native: this CPU cannot run the requested swish instruction set");
  const SimdPath chosen = resolve(path);
  const bool is_signed = dtype == DType::kInt8;
  constexpr std::int64_t kChunk = 16384;
  const std::int64_t chunks = (count + kChunk - 1) / kChunk;
#pragma omp parallel for if (chunks > 1) schedule(static)
  for (std::int64_t c = 0; c < chunks; ++c) {
    const std::int64_t begin = c * kChunk, n = std::min(kChunk, count - begin);
    auto* out = static_cast<std::int8_t*>(dst) + begin;
    if (chosen == SimdPath::kAvx512) {
      avx512_quantize(src + begin, out, n, inverse_scale, is_signed);
    } else if (chosen == SimdPath::kAvx2) {
      avx2_quantize(src + begin, out, n, inverse_scale, is_signed);
    } else if (is_signed) {
      scalar_quantize(src + begin, out, n, inverse_scale);
    } else {
      scalar_quantize(src + begin, reinterpret_cast<std::uint8_t*>(out), n, inverse_scale);
    }
  }
}

}  // namespace inferlab::native
