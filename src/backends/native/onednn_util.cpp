// Helpers the oneDNN kernels share (onednn_util.h).
#include "onednn_util.h"

#include <algorithm>
#include <cstdlib>
#include <numeric>

#include "int8_operands.h"
#include "onednn_context.h"

namespace inferlab::native {

using dnnl::memory;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

dt to_onednn(DType dtype) {
  switch (dtype) {
    case DType::kFloat32:
      return dt::f32;
    case DType::kInt8:
      return dt::s8;
    case DType::kUInt8:
      return dt::u8;
    case DType::kInt32:
      return dt::s32;
    case DType::kBFloat16:
      return dt::bf16;
    default:
      throw Error("oneDNN kernels do not take " + dtype_name(dtype) + " tensors", ErrorKind::kUnsupported);
  }
}

memory::dims to_dims(const Shape& s) { return memory::dims(s.begin(), s.end()); }

tag plain_tag(std::size_t rank) {
  switch (rank) {
    case 1:
      return tag::a;
    case 2:
      return tag::ab;
    case 3:
      return tag::abc;
    case 4:
      return tag::abcd;
    case 5:
      return tag::abcde;
    default:
      throw Error("oneDNN kernels support ranks 1-5, got " + std::to_string(rank));
  }
}

void spatial_padding(const Attributes& a, const Shape& in, const std::vector<std::int64_t>& kernel,
                     const std::vector<std::int64_t>& strides, const std::vector<std::int64_t>& dilations,
                     bool ceil_mode, memory::dims& pad_l, memory::dims& pad_r, Shape& out_spatial) {
  const std::size_t n = kernel.size();
  const std::string auto_pad = a.s("auto_pad", "NOTSET");
  std::vector<std::int64_t> pads = a.ints("pads", std::vector<std::int64_t>(2 * n, 0));
  pad_l.assign(n, 0);
  pad_r.assign(n, 0);
  out_spatial.assign(n, 0);
  for (std::size_t i = 0; i < n; ++i) {
    const std::int64_t size = in[2 + i], k_eff = (kernel[i] - 1) * dilations[i] + 1;
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      const std::int64_t out = (size + strides[i] - 1) / strides[i];
      const std::int64_t total = std::max<std::int64_t>(0, (out - 1) * strides[i] + k_eff - size);
      pads[i] = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      pads[i + n] = total - pads[i];
    } else if (auto_pad == "VALID") {
      pads[i] = pads[i + n] = 0;
    }
    const std::int64_t span = size + pads[i] + pads[i + n] - k_eff;
    out_spatial[i] = (ceil_mode ? (span + strides[i] - 1) / strides[i] : span / strides[i]) + 1;
    if (ceil_mode && (out_spatial[i] - 1) * strides[i] >= size + pads[i]) --out_spatial[i];
    pad_l[i] = pads[i];
    // oneDNN derives the output size from the right padding: make it exact.
    pad_r[i] = (out_spatial[i] - 1) * strides[i] + k_eff - size - pads[i];
  }
}

memory::desc physical_desc(const InputDesc& d) {
  return is_blocked(d.layout) ? d.layout
                              : memory::desc(to_dims(d.shape), to_onednn(d.dtype), plain_tag(d.shape.size()));
}

Layout layout_of(const memory::desc& md, const Shape& shape, DType dtype) {
  return md == memory::desc(to_dims(shape), to_onednn(dtype), plain_tag(shape.size())) ? Layout() : md;
}

std::string impl_name(const dnnl::primitive_desc_base& pd) { return std::string("onednn:") + pd.impl_info_str(); }

bool is_reference_impl(const dnnl::primitive_desc_base& pd) {
  return std::string(pd.impl_info_str()).rfind("ref", 0) == 0;
}

std::string layout_name(const memory::desc& md) {
  const auto& d = md.data;
  if (d.format_kind != dnnl_blocked) return "other";
  const auto& b = d.format_desc.blocking;
  // Outer dimensions from the largest stride; a dimension split into inner
  // blocks is upper-case, and the blocks follow (size, dimension).
  std::vector<int> order(static_cast<std::size_t>(d.ndims));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int x, int y) { return b.strides[x] > b.strides[y]; });
  std::string name;
  for (int i : order) {
    const bool blocked = std::find(b.inner_idxs, b.inner_idxs + b.inner_nblks, i) != b.inner_idxs + b.inner_nblks;
    name += static_cast<char>((blocked ? 'A' : 'a') + i);
  }
  for (int k = 0; k < b.inner_nblks; ++k)
    name += std::to_string(b.inner_blks[k]) + static_cast<char>('a' + b.inner_idxs[k]);
  return name;
}

std::string onednn_isa_name() {
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::sse41:
      return "sse41";
    case dnnl::cpu_isa::avx:
      return "avx";
    case dnnl::cpu_isa::avx2:
      return "avx2";
    case dnnl::cpu_isa::avx2_vnni:
      return "avx2_vnni";
    case dnnl::cpu_isa::avx512_core:
      return "avx512_core";
    case dnnl::cpu_isa::avx512_core_vnni:
      return "avx512_core_vnni";
    case dnnl::cpu_isa::avx512_core_bf16:
      return "avx512_core_bf16";
    case dnnl::cpu_isa::avx512_core_amx:
      return "avx512_core_amx";
    default:
      return "other";
  }
}

bool cpu_has_vnni() {
  const auto isa = dnnl::get_effective_cpu_isa();
  return isa == dnnl::cpu_isa::avx2_vnni || isa == dnnl::cpu_isa::avx512_core_vnni ||
         isa == dnnl::cpu_isa::avx512_core_bf16 || isa == dnnl::cpu_isa::avx512_core_amx;
}

void ScaledReorder::prepare(const dnnl::memory::desc& src, const dnnl::memory::desc& dst, float scale) {
  dnnl::primitive_attr attr;
  attr.set_output_scales(0, {scale});
  pd_ = dnnl::reorder::primitive_desc(cpu_engine(), src, cpu_engine(), dst, attr);
  prim_ = dnnl::reorder(pd_);
  src_ = dnnl::memory(src, cpu_engine(), nullptr);
  dst_ = dnnl::memory(dst, cpu_engine(), nullptr);
}

void ScaledReorder::run(void* in, void* out) {
  src_.set_data_handle(in);
  dst_.set_data_handle(out);
  prim_.execute(cpu_stream(), src_, dst_);
  cpu_stream().wait();
}

float weight_scale_adjust(const dnnl::memory::desc& md) {
  return (md.data.extra.flags & dnnl_memory_extra_flag_scale_adjust) != 0 ? md.data.extra.scale_adjust : 1.0F;
}

std::vector<std::int8_t> doubled_s8_weights(const Constant& weights, const std::string& prefix) {
  const auto* w = weights.data_as<std::int8_t>();
  std::vector<std::int8_t> doubled(static_cast<std::size_t>(weights.element_count()));
  for (std::size_t i = 0; i < doubled.size(); ++i) {
    if (w[i] < SevenBitWeights::kMin || w[i] > SevenBitWeights::kMax)
      throw Error(prefix + "int8: weight " + std::to_string(w[i]) + " cannot be doubled into s8");
    doubled[i] = static_cast<std::int8_t>(2 * w[i]);
  }
  return doubled;
}

bool cpu_has_bf16() {
  const auto isa = dnnl::get_effective_cpu_isa();
  return isa == dnnl::cpu_isa::avx512_core_bf16 || isa == dnnl::cpu_isa::avx512_core_amx;
}

std::string bf16_unsupported_reason() {
  if (cpu_has_bf16()) return "";
  // oneDNN would still run bf16 primitives on plain AVX-512 by emulating the
  // bf16 dot product, several times slower than fp32: never a bf16 result.
  // A cap on oneDNN's ISA hides what the CPU has: say so rather than blame the CPU.
  for (const char* cap : {"ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA"}) {
    if (const char* value = std::getenv(cap))
      return std::string("bf16 needs avx512_bf16 or AMX; oneDNN is capped below both (") + cap + "=" + value +
             ", oneDNN reports " + onednn_isa_name() + ")";
  }
  return "bf16 needs avx512_bf16 or AMX; this CPU has neither (oneDNN reports " + onednn_isa_name() + ")";
}

void execute_src_dst(const dnnl::primitive& prim, dnnl::memory& src, dnnl::memory& dst, const View& in,
                     const View& out) {
  src.set_data_handle(in.data);
  dst.set_data_handle(out.data);
  prim.execute(cpu_stream(), {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}});
  cpu_stream().wait();
}

std::unordered_map<int, memory> weighted_layer_args(const memory& src, const memory& weights, const memory& bias,
                                                    const memory& dst, const memory& residual) {
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, dst}};
  if (bias) args.emplace(DNNL_ARG_BIAS, bias);
  if (residual) args.emplace(DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1, residual);
  return args;
}

bool constant_all_zero(const InputDesc& d) {
  if (!d.constant) return d.shape.empty();
  const auto* bytes = static_cast<const unsigned char*>(d.constant->data());
  const std::size_t n = static_cast<std::size_t>(d.constant->element_count()) * dtype_size_bytes(d.dtype);
  return std::all_of(bytes, bytes + n, [](unsigned char b) { return b == 0; });
}

std::vector<float> int8_output_scales(const std::vector<InputDesc>& in, std::int64_t channels,
                                      const std::string& prefix) {
  const InputDesc &sx = in[Int8Operand::kInputScale], &sw = in[Int8Operand::kWeightScale];
  if (!sx.constant || sx.constant->element_count() != 1 || !sw.constant)
    throw Error(prefix + "int8: scales must be constants", ErrorKind::kUnsupported);
  if (!constant_all_zero(in[Int8Operand::kInputZeroPoint]) || !constant_all_zero(in[Int8Operand::kWeightZeroPoint]))
    throw Error(prefix + "int8: zero points must be 0 (symmetric quantization)", ErrorKind::kUnsupported);
  const std::int64_t n = sw.constant->element_count();
  if (n != 1 && n != channels) throw Error(prefix + "int8: weight scales must be per-tensor or per output channel");
  std::vector<float> scales(static_cast<std::size_t>(n));
  for (std::int64_t o = 0; o < n; ++o) scales[o] = sx.constant->data_as<float>()[0] * sw.constant->data_as<float>()[o];
  return scales;
}

}  // namespace inferlab::native
