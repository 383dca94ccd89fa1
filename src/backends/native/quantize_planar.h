#pragma once
// QuantizeLinear (zero point 0) of a planar three-channel image (nchw,
// float32) into nhwc int8 or uint8: an int8 model's first step, which reads
// the caller's input. oneDNN 2.6's scaled reorder took 0.053 ms for a
// 224x224 image on a 2-core Xeon (mobilenet_v2 int8 runs in ~1.4 ms).

#include <cstdint>

namespace inferlab::native {

/// Writes y[n, pixel, c] = saturate(round_to_nearest_even(x[n, c, pixel] *
/// `inverse_scale`)) for `images` images of 3 channels x `pixels` pixels,
/// into int8 (`is_signed`) or uint8 at `y`; the product is clamped to the
/// type's range before rounding, as oneDNN's reorder does, so the two give
/// the same bytes. Splits the work across the calling thread's OpenMP team.
/// Every path (SSE4.1 or scalar) gives the same result.
void quantize_planar3_to_nhwc(const float* x, std::int64_t images, std::int64_t pixels, float inverse_scale,
                              bool is_signed, std::int8_t* y);

}  // namespace inferlab::native
