#pragma once
// Swish (x * sigmoid(x), SiLU) over a buffer in place, vectorised for
// AVX-512 and AVX2 + FMA and chosen at run time (swish.cpp).
//
// Why not oneDNN's: its swish (post-op or eltwise primitive) costs about
// 0.7 ns per value per core on Zen 4: the 1x1 convolution it follows in
// efficientnet_b0 (16 -> 96 channels at 112x112, 2 threads) took 107 us in
// bf16 and 444 us with the swish post-op (f32: 215 and 710 us).

#include <cstdint>

#include "inferlab/tensor.h"

namespace inferlab::native {

/// Which instruction set swish_in_place() uses.
enum class SimdPath {
  kAuto,    ///< the widest this CPU has
  kAvx512,  ///< AVX-512F
  kAvx2,    ///< AVX2 with FMA
  kScalar,  ///< plain C++ (std::fma)
};

/// Whether this CPU can run `path` (kAuto and kScalar always can).
bool simd_path_supported(SimdPath path);

/// Replaces each of the `count` float32 or bfloat16 values at `data` by
/// x * sigmoid(x), split across the calling thread's OpenMP team. Every
/// path computes the same IEEE operations in the same order (exp by a
/// degree-6 polynomial after range reduction, then an exact division), so
/// the result is bit-identical on every CPU. A bfloat16 value's result is
/// its float32 result rounded to nearest even, looked up in a 128 KiB table
/// built once per process (swish_prepare()). Throws inferlab::Error for
/// other dtypes or an unsupported `path`.
void swish_in_place(void* data, std::int64_t count, DType dtype, SimdPath path = SimdPath::kAuto);

/// Builds what swish_in_place() needs for `dtype` once per process (the
/// bfloat16 table: 2.0 ms on the AMX Xeon, bench/native_swish), so that a timed pass does not pay for it.
/// Thread-safe; a no-op for float32.
void swish_prepare(DType dtype);

/// QuantizeLinear (zero point 0) of swish: writes round_to_nearest_even(
/// swish(src[i]) * `inverse_scale`) saturated to `dtype` (kUInt8 or kInt8)
/// into `dst`, for `count` float32 values; the int8 Conv's Swish and its
/// requantization in one pass. The swish is swish_in_place()'s, and the
/// result is bit-identical on every path. Throws inferlab::Error for another
/// dtype or an unsupported `path`.
void swish_quantize(const float* src, void* dst, std::int64_t count, float inverse_scale, DType dtype,
                    SimdPath path = SimdPath::kAuto);

}  // namespace inferlab::native
