#pragma once
// QuantizeLinear (per tensor, zero point 0) as plain passes where oneDNN
// 2.6's scaled reorder is slow: a planar three-channel image (nchw float32,
// an int8 model's first step) into nhwc, and float32 values into int8 of
// the same layout (the residual sums of an int8 MobileNet, which the graph
// keeps in float32). On a 2-core Xeon the reorder took 0.053 ms for a
// 224x224 image and 0.061 ms for mobilenet_v2's 11 residual sums.

#include <cstdint>

#include "swish.h"  // SimdPath

namespace inferlab::native {

/// Writes y[n, pixel, c] = saturate(round_to_nearest_even(x[n, c, pixel] *
/// `inverse_scale`)) for `images` images of 3 channels x `pixels` pixels,
/// into int8 (`is_signed`) or uint8 at `y`; the product is clamped to the
/// type's range before rounding, as oneDNN's reorder does, so the two give
/// the same bytes. Splits the work across the calling thread's OpenMP team.
/// Every path (SSE4.1 or scalar) gives the same result.
void quantize_planar3_to_nhwc(const float* x, std::int64_t images, std::int64_t pixels, float inverse_scale,
                              bool is_signed, std::int8_t* y);

/// y[i] = saturate(round_to_nearest_even(x[i] * `inverse_scale`)) for
/// `count` values, int8 (`is_signed`) or uint8, clamped before rounding as
/// quantize_planar3_to_nhwc(). Splits the work across the calling thread's
/// OpenMP team; every path (AVX-512, AVX2, scalar: `path`, kAuto the widest
/// this CPU has) gives the same bytes. Throws inferlab::Error for a `path`
/// this CPU lacks.
void quantize_contiguous(const float* x, std::int64_t count, float inverse_scale, bool is_signed, std::int8_t* y,
                         SimdPath path = SimdPath::kAuto);

}  // namespace inferlab::native
