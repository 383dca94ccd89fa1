#pragma once
/// @file float16.h
/// IEEE 754 binary16 <-> binary32 conversion in software (round to nearest,
/// ties to even; NaN and infinity kept), for hosts and compilers without a
/// native half type. Bit-exact with numpy's float32.astype(float16). Also
/// bfloat16 <-> binary32, as the native engine rounds it.

#include <bit>
#include <cstdint>

namespace inferlab {

/// The float16 bit pattern nearest to `value` (ties to even; overflow to infinity).
inline std::uint16_t float_to_float16_bits(float value) {
  std::uint32_t x = std::bit_cast<std::uint32_t>(value);
  const auto sign = static_cast<std::uint16_t>((x >> 16) & 0x8000U);
  x &= 0x7fffffffU;
  if (x >= 0x7f800000U) return sign | (x > 0x7f800000U ? 0x7e00U : 0x7c00U);  // NaN stays NaN
  if (x >= 0x477ff000U) return sign | 0x7c00U;                                // >= 65520 rounds to infinity
  if (x < 0x38800000U) {
    // Below float16's smallest normal: adding 0.5f aligns the binary point
    // so the FPU's own round-to-nearest-even produces the subnormal mantissa.
    const float shifted = std::bit_cast<float>(x) + 0.5F;
    return sign | static_cast<std::uint16_t>(std::bit_cast<std::uint32_t>(shifted) - 0x3f000000U);
  }
  const std::uint32_t odd = (x >> 13) & 1U;
  x += 0xc8000fffU + odd;  // rebias the exponent (127 -> 15) and round the 13 dropped bits to even
  return sign | static_cast<std::uint16_t>(x >> 13);
}

/// The float32 value of float16 bits `h` (exact: every float16 is a float32).
inline float float16_bits_to_float(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000U) << 16;
  const std::uint32_t em = h & 0x7fffU;
  if (em >= 0x7c00U) return std::bit_cast<float>(sign | 0x7f800000U | ((em & 0x3ffU) << 13));
  if (em >= 0x0400U) return std::bit_cast<float>(sign | ((em << 13) + 0x38000000U));
  const float magnitude = static_cast<float>(em) * 5.9604644775390625e-08F;  // subnormal: em * 2^-24
  return std::bit_cast<float>(sign | std::bit_cast<std::uint32_t>(magnitude));
}

/// `value` rounded to the nearest float16, as a float32.
inline float round_to_float16(float value) { return float16_bits_to_float(float_to_float16_bits(value)); }

/// The bfloat16 bit pattern nearest to `value` (ties to even), by the
/// integer rounding the native engine's vector paths also use, so that every
/// path gives the same bits. No NaN case: a NaN whose low 16 bits are all
/// set rounds into the next bit pattern (the arithmetic here only meets
/// NaNs with low bits clear).
inline std::uint16_t float_to_bfloat16_bits(float value) {
  std::uint32_t x = std::bit_cast<std::uint32_t>(value);
  x += 0x7fffU + ((x >> 16) & 1U);
  return static_cast<std::uint16_t>(x >> 16);
}

/// The float32 value of bfloat16 bits `b` (exact).
inline float bfloat16_bits_to_float(std::uint16_t b) {
  return std::bit_cast<float>(static_cast<std::uint32_t>(b) << 16);
}

}  // namespace inferlab
