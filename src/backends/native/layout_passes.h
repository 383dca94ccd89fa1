#pragma once
// Layout conversions written here where oneDNN 2.6's reorder is slow. A bf16
// model's first Conv reads its float32 nchw image as bf16 nhwc: oneDNN's
// reorder took 0.032 ms for 3 x 224 x 224 on a 2-core Xeon (its float32
// nhwc reorder 0.017).

#include <cstdint>
#include <string>

namespace inferlab::native {

/// Why planar3_to_nhwc_bf16() cannot run on this CPU (it needs AVX-512 with
/// avx512_bf16), or "" when it can.
std::string planar3_to_nhwc_bf16_unfit();

/// y[n, pixel, c] = bf16(x[n, c, pixel]) for `images` images of 3 channels
/// x `pixels` pixels, converted by the CPU's vcvtneps2bf16 (round to
/// nearest even, denormals to zero), the instruction oneDNN's reorder uses,
/// so the two give the same bits. Splits the work across the calling
/// thread's OpenMP team. Throws inferlab::Error where
/// planar3_to_nhwc_bf16_unfit() says why.
void planar3_to_nhwc_bf16(const float* x, std::int64_t images, std::int64_t pixels, std::uint16_t* y);

}  // namespace inferlab::native
