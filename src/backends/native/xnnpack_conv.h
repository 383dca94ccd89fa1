#pragma once
// XNNPACK's float32 NHWC convolution as a Conv tactic candidate (tactics.h).
// Built from xnnpack_conv.cpp when CMake finds XNNPACK, else from
// xnnpack_conv_absent.cpp, whose xnnpack_built() says no and whose factory
// throws: the Conv kernel then never lists the candidate, without an #ifdef.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

namespace inferlab::native {

/// The tactic's name in the cache and the profile: src and dst are nhwc
/// ("acdb" in oneDNN's letters), like the oneDNN tactics' "src>dst".
inline constexpr const char* kXnnpackConvTactic = "xnnpack:f32 acdb>acdb";

/// Whether this build has the XNNPACK candidate (INFERLAB_WITH_XNNPACK).
bool xnnpack_built();
/// One line for `inferlab info`: what the candidate covers, or why it is left out.
std::string xnnpack_status();

/// One 2-D convolution, ONNX's attributes with explicit padding.
struct XnnpackConvParams {
  std::int64_t batch = 1, in_channels = 0, in_height = 0, in_width = 0;
  std::int64_t out_channels = 0, out_height = 0, out_width = 0, groups = 1;
  std::int64_t kernel_h = 1, kernel_w = 1;
  std::int64_t stride_h = 1, stride_w = 1;
  std::int64_t dilation_h = 1, dilation_w = 1;
  std::int64_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  const float* weights = nullptr;  ///< ONNX OIHW, [out_channels, in_channels / groups, kernel_h, kernel_w]
  const float* bias = nullptr;     ///< [out_channels], or null for none
  float output_min = -std::numeric_limits<float>::infinity();  ///< fused Relu: 0; fused Clip: its lower bound
  float output_max = std::numeric_limits<float>::infinity();   ///< fused Clip: its upper bound
};

/// The params of an ONNX Conv: x [N, C, H, W], weights' shape [O, C/groups,
/// kH, kW], y [N, O, OH, OW], ONNX strides and dilations, padding at the
/// start and end of H, W. A negative end padding (oneDNN's exact form, see
/// spatial_padding()) becomes 0: XNNPACK rounds the output size down, so the
/// rows it then leaves unread are the ones oneDNN's negative padding drops.
/// Weights, bias and the output bounds are left for the caller to set.
inline XnnpackConvParams xnnpack_conv_params(const std::vector<std::int64_t>& x, const std::vector<std::int64_t>& w,
                                             const std::vector<std::int64_t>& y, std::int64_t groups,
                                             const std::vector<std::int64_t>& strides,
                                             const std::vector<std::int64_t>& dilations,
                                             const std::vector<std::int64_t>& pad_begin,
                                             const std::vector<std::int64_t>& pad_end) {
  XnnpackConvParams p;
  p.batch = x[0];
  p.in_channels = x[1];
  p.in_height = x[2];
  p.in_width = x[3];
  p.out_channels = w[0];
  p.out_height = y[2];
  p.out_width = y[3];
  p.groups = groups;
  p.kernel_h = w[2];
  p.kernel_w = w[3];
  p.stride_h = strides[0];
  p.stride_w = strides[1];
  p.dilation_h = dilations[0];
  p.dilation_w = dilations[1];
  p.pad_top = pad_begin[0];
  p.pad_left = pad_begin[1];
  p.pad_bottom = std::max<std::int64_t>(pad_end[0], 0);
  p.pad_right = std::max<std::int64_t>(pad_end[1], 0);
  return p;
}

/// Bytes XNNPACK may read past the end of an operator's input
/// (XNN_EXTRA_BYTES): callers give it buffers with this much slack.
inline constexpr std::size_t kXnnpackInputSlackBytes = 16;

/// A created XNNPACK convolution operator: weights packed at construction
/// (the params' pointers are not kept), run on the thread pool of the
/// thread count the session set (omp_get_max_threads()).
class XnnpackConv {
 public:
  virtual ~XnnpackConv() = default;
  /// Convolves `in` (nhwc, the params' shape) into `out` (nhwc). Both may
  /// change between calls. XNNPACK documents that it may read (never write)
  /// up to kXnnpackInputSlackBytes past `in`: `in` must have that slack.
  /// Throws Error when XNNPACK reports a failure.
  virtual void run(const float* in, float* out) = 0;
};

/// Creates the operator. Throws Error (kUnsupported) when XNNPACK is not
/// built in or rejects the parameters.
std::unique_ptr<XnnpackConv> make_xnnpack_conv(const XnnpackConvParams& params);

}  // namespace inferlab::native
