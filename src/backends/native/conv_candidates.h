#pragma once
// The candidates of a Conv's tactic selection (kernels_conv.cpp times them
// through the Tuner, tactics.h): oneDNN's implementations for the layouts
// worth trying, and the runners that time one candidate the way the
// kernel's run() would execute it, on scratch buffers the candidates of one
// layer share.

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "xnnpack_conv.h"

namespace inferlab::native {

/// One way to run a convolution: a oneDNN implementation with the src/dst
/// layouts it was created for.
struct ConvCandidate {
  dnnl::convolution_forward::primitive_desc pd;
  std::string layouts;  ///< "src>dst", e.g. "acdb>acdb" (nhwc)
  std::string name;     ///< oneDNN's implementation + layouts: the tactic's name in the cache
  /// What its timed run counts as, per ms (Tuner::choose): above 1 for a
  /// Winograd kernel, whose transformed weights take about 4x the bytes.
  double time_weight = 1.0;
};

/// The convolutions that fit: first oneDNN's own first choice with layouts
/// it picks (what runs when tactics are off), then with `all`, every other
/// implementation oneDNN offers for src/dst layouts of its choice, nhwc and
/// (float32) nchw, and (not int8) its Winograd ones, stopping at one named
/// `wanted` (the cached tactic). `desc_for` makes the layer's descriptor for
/// a src/dst layout and an algorithm (direct or Winograd).
/// int8: only implementations that scale the s8 weights by
/// `int8_weight_adjust` (oneDNN's scale_adjust: 0.5 in the kernels for CPUs
/// without VNNI reading an s8 source, else 1) are listed, since the layer's
/// output scales and weights were prepared for that factor; the list may then
/// be empty.
std::vector<ConvCandidate> conv_candidates(
    const std::function<dnnl::convolution_forward::desc(dnnl::memory::format_tag, dnnl::algorithm)>& desc_for,
    const dnnl::primitive_attr& attr, bool all, bool int8, const std::string& wanted, float int8_weight_adjust = 1.0F);

/// Zeroed buffers, one per role, as large as the largest candidate of a
/// layer needs, with 64 bytes of slack past each (XNNPACK may read past
/// its input). Not thread-safe; lives while one layer is timed.
class ConvScratch {
 public:
  enum Role { kInput, kSrc, kWeights, kBias, kDst, kUsualDst, kResidual, kRoles };
  /// Grows the buffer for `role` to hold `md`; call before allocate().
  void need(Role role, const dnnl::memory::desc& md) { bytes_[role] = std::max(bytes_[role], md.get_size()); }
  /// Allocates and zeroes every buffer; throws Error when memory runs out.
  void allocate();
  /// A oneDNN memory of `md` over the buffer of `role` (which it does not own).
  dnnl::memory bind(Role role, const dnnl::memory::desc& md) const;

 private:
  struct Free {
    void operator()(char* p) const { std::free(p); }
  };
  std::size_t bytes_[kRoles] = {};
  std::unique_ptr<char, Free> buffers_[kRoles];
};

/// A Conv source conversion of our own, where one beats oneDNN's reorder
/// from the layout the layer is given to the one its kernel reads: a
/// float32 nchw 3-channel image into bf16 nhwc (planar3_to_nhwc_bf16(),
/// layout_passes.h; a bf16 model's first layer). Empty (false) elsewhere:
/// the reorder runs then.
struct SourcePass {
  std::function<void(const void* given, void* src)> run;  ///< converts one tensor; the shapes are bound
  std::string name;                                       ///< for the profile, e.g. "planar3_to_nhwc_bf16"
  explicit operator bool() const { return static_cast<bool>(run); }
};
SourcePass source_pass(const dnnl::memory::desc& given, const dnnl::memory::desc& src);

/// `md`'s dims as float32 nhwc.
dnnl::memory::desc nhwc_like(const dnnl::memory::desc& md);

/// A oneDNN candidate run once as ConvKernel::run() would, from the layout
/// the layer is `given`, its output charged a reorder into `usual_dst` when
/// it writes another layout (see conv_candidates.cpp).
std::function<void()> conv_runner(const dnnl::convolution_forward::primitive_desc& pd, const dnnl::memory::desc& given,
                                  const dnnl::memory::desc& usual_dst, const dnnl::memory::desc& bias,
                                  const dnnl::memory::desc& residual, bool with_residual,
                                  const std::shared_ptr<ConvScratch>& scratch);

/// The XNNPACK candidate run once the same way (nhwc in and out, reading a
/// padded copy of its input as run() does).
std::function<void()> xnnpack_runner(const std::shared_ptr<XnnpackConv>& conv, const dnnl::memory::desc& given,
                                     const dnnl::memory::desc& usual_dst, const std::shared_ptr<ConvScratch>& scratch);

}  // namespace inferlab::native
