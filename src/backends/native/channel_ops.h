#pragma once
// Squeeze-excitation's two per-channel steps on nhwc tensors, float32 or
// bfloat16 (channel_ops.cpp): the mean over each channel's pixels
// (GlobalAveragePool) and the product by one value per channel (the Mul by
// the excitation). In place of oneDNN 2.6's pooling and binary they took
// efficientnet_b0 from 5.95-6.11 ms to 5.49-5.60 in float32 and from
// 3.43-3.52 to 3.25-3.40 in bf16 on a 2-core Xeon (AMX; three interleaved
// runs of each build); regnet_y_400mf moved within run-to-run spread. On
// their own, on data in cache (bench/native_channel_ops), they are not
// faster than oneDNN's kernels everywhere: 0.57x its time for the scale of
// 32 x 112 x 112 float32 values, 1.6x for the bf16 mean of 672 x 14 x 14.
// Why the model gains more than the steps' own timings suggest was not
// investigated.
//
// Results do not depend on the instruction set or the thread count: every
// sum adds the same values in the same order (fixed chunks of pixels, then
// the chunks in order), and every product is one IEEE multiplication.

#include <cstdint>

#include "inferlab/tensor.h"

namespace inferlab::native {

/// An nhwc tensor's geometry: `images` x `pixels` x `channels` values,
/// channels fastest.
struct NhwcExtent {
  std::int64_t images = 1;
  std::int64_t pixels = 1;  ///< height x width
  std::int64_t channels = 1;
};

/// Floats of scratch channel_mean_nhwc() needs for `extent`.
std::int64_t channel_mean_scratch_floats(const NhwcExtent& extent);

/// y[n, c] = (sum over the pixels of x[n, pixel, c]) / pixels, summed in
/// float32. `x` and `y` are float32 or bfloat16 (`x_type`, `y_type`; a
/// bfloat16 result is rounded to nearest even); `y` holds images x channels
/// values. `scratch` holds channel_mean_scratch_floats(extent) floats. Splits
/// the work across the calling thread's OpenMP team. Throws inferlab::Error
/// for another dtype.
void channel_mean_nhwc(const void* x, DType x_type, const NhwcExtent& extent, void* y, DType y_type, float* scratch);

/// y[n, pixel, c] = x[n, pixel, c] * scale[n', c] in float32, where n' is n
/// when `scale_per_image`, else 0 (one scale vector for every image). Types
/// as channel_mean_nhwc(); `y` may be `x`. Splits the work across the calling
/// thread's OpenMP team. Throws inferlab::Error for another dtype.
void channel_scale_nhwc(const void* x, DType x_type, const void* scale, DType scale_type, bool scale_per_image,
                        const NhwcExtent& extent, void* y, DType y_type);

}  // namespace inferlab::native
