#pragma once
// Helpers the oneDNN kernels share: dims, plain layouts, ONNX padding, and
// the engine's names for the layouts oneDNN picks.

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "kernel.h"

namespace inferlab::native {

dnnl::memory::dims to_dims(const Shape& s);
/// oneDNN's element type for `dtype`; throws Error for types it lacks.
dnnl::memory::data_type to_onednn(DType dtype);
/// The row-major tag of a rank (a, ab, ... abcde).
dnnl::memory::format_tag plain_tag(std::size_t rank);

/// ONNX spatial padding (explicit pads, or auto_pad SAME_UPPER/SAME_LOWER/
/// VALID) as oneDNN's left/right padding, and the output's spatial sizes.
void spatial_padding(const Attributes& a, const Shape& in, const std::vector<std::int64_t>& kernel,
                     const std::vector<std::int64_t>& strides, const std::vector<std::int64_t>& dilations,
                     bool ceil_mode, dnnl::memory::dims& pad_l, dnnl::memory::dims& pad_r, Shape& out_spatial);

/// An input's descriptor as it lies in memory: its blocked layout, or plain
/// row-major (nchw for 4-D) when it has none.
dnnl::memory::desc physical_desc(const InputDesc& d);

/// The engine's name for a layout oneDNN chose for an output: empty when plain.
Layout layout_of(const dnnl::memory::desc& md, const Shape& shape, DType dtype = DType::kFloat32);

/// "onednn:" + oneDNN's implementation name, e.g. "onednn:jit:avx2".
std::string impl_name(const dnnl::primitive_desc_base& pd);
/// oneDNN picked one of its reference kernels ("ref:any"): its slow
/// fallback where no optimised kernel takes these layouts.
bool is_reference_impl(const dnnl::primitive_desc_base& pd);

/// A layout in oneDNN's letter notation, e.g. "abcd" (nchw), "acdb" (nhwc),
/// "aBcd8b" (nChw8c); "other" for non-blocked formats (Winograd, any).
std::string layout_name(const dnnl::memory::desc& md);

/// Runs a one-input, one-output primitive (pooling, eltwise) on a step's
/// views: points `src` and `dst` at them, executes, waits for the stream.
void execute_src_dst(const dnnl::primitive& prim, dnnl::memory& src, dnnl::memory& dst, const View& in,
                     const View& out);

/// The execute() arguments of a convolution or matmul: src, weights and
/// dst, plus bias and the first post-op's binary operand (a fused residual)
/// when those memories are non-empty. Built once at prepare(): the map holds
/// handles to the same memories, so run() only moves their data handles.
std::unordered_map<int, dnnl::memory> weighted_layer_args(const dnnl::memory& src, const dnnl::memory& weights,
                                                          const dnnl::memory& bias, const dnnl::memory& dst,
                                                          const dnnl::memory& residual);

/// Every element of a constant is zero; an absent optional input (no
/// constant, no shape) counts as zero too, as ONNX defines.
bool constant_all_zero(const InputDesc& d);

/// The output scales of an int8 layer whose inputs are in Int8Operand's
/// slots (int8_operands.h): s_x * s_w, one value (per-tensor weights) or one per
/// output channel (`channels`). Throws Error, message starting with
/// `prefix`, for non-constant scales, non-zero zero points or another count.
std::vector<float> int8_output_scales(const std::vector<InputDesc>& in, std::int64_t channels,
                                      const std::string& prefix);

/// One oneDNN reorder that multiplies by `scale` on the way (its output
/// scale): float32 to u8/s8 is QuantizeLinear with zero point 0 (rounding to
/// nearest even, saturating), u8/s8 to float32 its DequantizeLinear. Not
/// thread-safe; run() takes the buffers of each call.
class ScaledReorder {
 public:
  void prepare(const dnnl::memory::desc& src, const dnnl::memory::desc& dst, float scale);
  void run(void* in, void* out);
  std::string name() const { return impl_name(pd_); }

 private:
  dnnl::reorder::primitive_desc pd_;
  dnnl::reorder prim_;
  dnnl::memory src_, dst_;
};

/// The ISA oneDNN dispatches to on this CPU, e.g. "avx2", "avx512_core_vnni".
std::string onednn_isa_name();

/// Whether oneDNN dispatches to int8 dot products that sum exactly in 32 bits
/// (VNNI: avx2_vnni, avx512_core_vnni and above, or AMX), read at run time.
bool cpu_has_vnni();

/// The factor an int8 primitive's weights layout `md` scales the s8 weights
/// by when they are reordered into it (oneDNN's scale_adjust: 0.5 in the
/// kernels for CPUs without VNNI that read an s8 source, whose outputs it
/// then multiplies by 2); 1 when the layout has none.
float weight_scale_adjust(const dnnl::memory::desc& md);
/// `weights` (s8) times 2, for a kernel whose weight adjust is 0.5: it then
/// holds them exactly. Throws Error (message starting with `prefix`) for a
/// value outside [-64, 63], which s8 cannot hold doubled.
std::vector<std::int8_t> doubled_s8_weights(const Constant& weights, const std::string& prefix);

/// Whether oneDNN dispatches to bf16 dot-product instructions here
/// (avx512_bf16's vdpbf16ps, or AMX), read at run time.
bool cpu_has_bf16();
/// Why bf16 cannot run on this CPU, naming oneDNN's ISA; empty when it can.
std::string bf16_unsupported_reason();

}  // namespace inferlab::native
