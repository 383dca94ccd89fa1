// XNNPACK's float32 convolution behind the XnnpackConv interface
// (xnnpack_conv.h): library initialization, the thread pools, and the
// weights' rearrangement from ONNX's layout into XNNPACK's.
#include "xnnpack_conv.h"

#include <omp.h>
#include <pthreadpool.h>
#include <xnnpack.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <vector>

#include "inferlab/error.h"

namespace inferlab::native {

namespace {

std::string status_name(xnn_status status) {
  switch (status) {
    case xnn_status_success:
      return "success";
    case xnn_status_uninitialized:
      return "uninitialized";
    case xnn_status_invalid_parameter:
      return "invalid parameter";
    case xnn_status_invalid_state:
      return "invalid state";
    case xnn_status_unsupported_parameter:
      return "unsupported parameter";
    case xnn_status_unsupported_hardware:
      return "unsupported hardware";
    case xnn_status_out_of_memory:
      return "out of memory";
  }
  return "status " + std::to_string(static_cast<int>(status));
}

// xnn_initialize is not safe to call from two threads at once, and sessions
// may prepare concurrently; its result is kept, so a CPU XNNPACK rejects
// fails every create with the same reason.
void initialize_once() {
  static std::once_flag once;
  static xnn_status status = xnn_status_uninitialized;
  std::call_once(once, [] { status = xnn_initialize(nullptr); });
  if (status != xnn_status_success)
    throw Error("native: XNNPACK could not be initialized (" + status_name(status) +
                    "); rebuild with -DINFERLAB_WITH_XNNPACK=OFF to leave its Conv tactic out",
                ErrorKind::kUnsupported);
}

// One pool per thread count, kept for the process's lifetime like oneDNN's
// engine: sessions with the same count share one, so a process never holds
// more pool threads than its largest session asks for. The count comes from
// OpenMP because that is where the session sets it (native_backend.cpp) for
// oneDNN. One thread: no pool, XNNPACK runs on the calling thread.
pthreadpool_t pool_for(int threads) {
  if (threads <= 1) return nullptr;
  static std::mutex mutex;
  static std::map<int, pthreadpool_t> pools;
  std::lock_guard<std::mutex> lock(mutex);
  pthreadpool_t& pool = pools[threads];
  if (!pool) pool = pthreadpool_create(static_cast<std::size_t>(threads));
  if (!pool)
    throw Error("native: could not create XNNPACK's thread pool of " + std::to_string(threads) + " threads",
                ErrorKind::kRuntime);
  return pool;
}

class XnnpackConvImpl final : public XnnpackConv {
 public:
  explicit XnnpackConvImpl(const XnnpackConvParams& p) : p_(p), pool_(pool_for(omp_get_max_threads())) {
    initialize_once();
    // XNNPACK computes the output size itself and takes unsigned padding: a
    // mismatch here would have it write outside the output buffer.
    auto out = [](std::int64_t in, std::int64_t pads, std::int64_t k, std::int64_t d, std::int64_t s) {
      return (in + pads - (k - 1) * d - 1) / s + 1;
    };
    if (std::min({p.stride_h, p.stride_w, p.dilation_h, p.dilation_w, p.kernel_h, p.kernel_w, p.groups}) < 1 ||
        std::min({p.pad_top, p.pad_left, p.pad_bottom, p.pad_right}) < 0 || p.in_channels % p.groups != 0 ||
        p.out_channels % p.groups != 0 ||
        out(p.in_height, p.pad_top + p.pad_bottom, p.kernel_h, p.dilation_h, p.stride_h) != p.out_height ||
        out(p.in_width, p.pad_left + p.pad_right, p.kernel_w, p.dilation_w, p.stride_w) != p.out_width)
      throw Error(
          "native: XNNPACK's convolution would compute another output size than the Conv's (or its "
          "strides, dilations, kernel or groups are not positive, or the groups do not divide the channels)",
          ErrorKind::kUnsupported);
    const std::int64_t gi = p.in_channels / p.groups, go = p.out_channels / p.groups;
    const std::int64_t area = p.kernel_h * p.kernel_w;
    // ONNX's OIHW is [groups, go, gi, kh, kw]; XNNPACK (without
    // XNN_FLAG_DEPTHWISE_CONVOLUTION) takes [groups, go, kh, kw, gi]. For a
    // depthwise Conv (gi == 1) both are the same bytes.
    std::vector<float> packed(static_cast<std::size_t>(p.out_channels * gi * area));
    for (std::int64_t o = 0; o < p.out_channels; ++o)
      for (std::int64_t i = 0; i < gi; ++i)
        for (std::int64_t k = 0; k < area; ++k) packed[(o * area + k) * gi + i] = p.weights[(o * gi + i) * area + k];
    auto u32 = [](std::int64_t v) { return static_cast<std::uint32_t>(v); };
    // XNN_FLAG_YIELD_WORKERS: the pool's threads sleep once the operator is
    // done instead of spinning for the next one, which on a 2-core machine
    // took the core from oneDNN's OpenMP threads, and their spinning took it
    // from the pool's: with spinning, mobilenet_v2's Convs timed 3-7 ms on
    // XNNPACK at 2 threads (20-150x oneDNN), with yielding 2-10x.
    const xnn_status status = xnn_create_convolution2d_nhwc_f32(
        u32(p.pad_top), u32(p.pad_right), u32(p.pad_bottom), u32(p.pad_left), u32(p.kernel_h), u32(p.kernel_w),
        u32(p.stride_h), u32(p.stride_w), u32(p.dilation_h), u32(p.dilation_w), u32(p.groups),
        static_cast<std::size_t>(gi), static_cast<std::size_t>(go), static_cast<std::size_t>(p.in_channels),
        static_cast<std::size_t>(p.out_channels), packed.data(), p.bias, p.output_min, p.output_max,
        XNN_FLAG_YIELD_WORKERS, &op_);
    if (status != xnn_status_success)
      throw Error("native: XNNPACK rejected a convolution (" + status_name(status) + ")", ErrorKind::kUnsupported);
  }
  ~XnnpackConvImpl() override { xnn_delete_operator(op_); }
  XnnpackConvImpl(const XnnpackConvImpl&) = delete;
  XnnpackConvImpl& operator=(const XnnpackConvImpl&) = delete;

  void run(const float* in, float* out) override {
    // Setup binds the pointers and computes XNNPACK's indirection buffer;
    // done every run because the engine's arena may hand another buffer.
    xnn_status status = xnn_setup_convolution2d_nhwc_f32(op_, static_cast<std::size_t>(p_.batch),
                                                         static_cast<std::size_t>(p_.in_height),
                                                         static_cast<std::size_t>(p_.in_width), in, out, pool_);
    if (status == xnn_status_success) status = xnn_run_operator(op_, pool_);
    if (status != xnn_status_success)
      throw Error("native: XNNPACK convolution failed (" + status_name(status) + ")", ErrorKind::kRuntime);
  }

 private:
  XnnpackConvParams p_;  // shapes only after construction: its pointers are not read again
  pthreadpool_t pool_;
  xnn_operator_t op_ = nullptr;
};

}  // namespace

bool xnnpack_built() { return true; }

std::string xnnpack_status() {
  return "built: a float32 Conv tactic candidate (nhwc; plain, grouped, depthwise; no, Relu or Clip activation)";
}

std::unique_ptr<XnnpackConv> make_xnnpack_conv(const XnnpackConvParams& params) {
  return std::make_unique<XnnpackConvImpl>(params);
}

}  // namespace inferlab::native
