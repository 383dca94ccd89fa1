#pragma once
// A bfloat16 depthwise convolution on nhwc tensors, written here as a Conv
// tactic candidate (depthwise_bf16.cpp): oneDNN 2.6's bf16 depthwise
// kernels (brdgmm_dw, jit_uni_dw) take as long as its float32 ones, so a
// bf16 efficientnet_b0 kept its 16 depthwise layers' float32 time. This one
// widens each bf16 input to float32 once per kernel row and accumulates
// with FMAs across a block of output pixels held in registers.
//
// Semantics as oneDNN's bf16 convolution: weights rounded to bf16 (nearest
// even) once, float32 accumulation starting from the float32 bias, the
// fused clamp in float32, the result rounded to bf16 (nearest even). The
// sums are added in a fixed order (kernel rows, then columns), so results
// do not depend on the thread count; they may differ from oneDNN's by one
// bf16 rounding where its order differs.

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

namespace inferlab::native {

/// The tactic's name in the cache and the profile (src>dst are nhwc).
inline constexpr const char* kDepthwiseBf16Tactic = "inferlab:dw_bf16 acdb>acdb";

/// One depthwise 2-D convolution: groups == in channels == out channels,
/// a square kernel, the same stride along both axes, no dilation.
struct DepthwiseBf16Params {
  std::int64_t batch = 1, channels = 0, in_height = 0, in_width = 0, out_height = 0, out_width = 0;
  std::int64_t kernel = 3;  ///< kernel height == width: 3 or 5
  std::int64_t stride = 1;  ///< 1 or 2
  std::int64_t pad_top = 0,
               pad_left = 0;  ///< padding before the first row and column (the end's follows from the sizes)
  float output_min = -std::numeric_limits<float>::infinity();  ///< fused Relu: 0; fused Clip: its lower bound
  float output_max = std::numeric_limits<float>::infinity();   ///< fused Clip: its upper bound
};

/// Why the kernel cannot run `params` on this CPU (it needs AVX-512 with
/// avx512_bf16, and oneDNN not capped below it), or "" when it can.
std::string depthwise_bf16_unfit(const DepthwiseBf16Params& params);

/// The convolution with its weights packed. Immutable after construction:
/// run() may be called from any thread, one call at a time per output.
class DepthwiseBf16Conv {
 public:
  /// `weights`: ONNX's [channels, 1, kernel, kernel] float32 (rounded to
  /// bf16 here); `bias`: [channels] float32 or null. Neither is kept.
  /// Throws inferlab::Error (kUnsupported) with depthwise_bf16_unfit()'s reason.
  DepthwiseBf16Conv(const DepthwiseBf16Params& params, const float* weights, const float* bias);

  /// Convolves `src` (bf16 nhwc, [batch, in_height, in_width, channels])
  /// into `dst` (bf16 nhwc, [batch, out_height, out_width, channels]),
  /// split across the calling thread's OpenMP team. Reads and writes only
  /// inside the two tensors.
  void run(const std::uint16_t* src, std::uint16_t* dst) const;

  const DepthwiseBf16Params& params() const { return p_; }

 private:
  DepthwiseBf16Params p_;
  std::vector<float> weights_;  // [kernel * kernel][channels rounded up to 32], bf16 values widened
  std::vector<float> bias_;     // [channels rounded up to 32]
};

}  // namespace inferlab::native
