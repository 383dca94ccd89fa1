// oneDNN's Conv candidates and the runners that time them (conv_candidates.h).
#include "conv_candidates.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <set>
#include <unordered_map>
#include <utility>

#include "inferlab/error.h"
#include "layout_passes.h"
#include "onednn_context.h"
#include "onednn_util.h"

namespace inferlab::native {

using dnnl::memory;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

namespace {

// An implementation's family without its ISA suffix ("jit:avx2" -> "jit"):
// oneDNN lists a family's ISAs newest first, and the older ones (sse41 on
// an AVX2 CPU) are never faster on the same layouts, so only the first is kept.
std::string family(const std::string& impl) {
  const auto colon = impl.rfind(':');
  if (colon == std::string::npos) return impl;
  const std::string isa = impl.substr(colon + 1);
  return isa.rfind("sse", 0) == 0 || isa.rfind("avx", 0) == 0 || isa.rfind("amx", 0) == 0 ? impl.substr(0, colon)
                                                                                          : impl;
}

// An int8 kernel written for an ISA without VNNI ("jit_uni_int8:avx2",
// "...:avx512_core"): it sums u8 x s8 pairs in 16 bits, so oneDNN halves its
// weights, and its results differ from the exact sums of the VNNI kernels
// (0.053 on a test layer whose outputs reach 5). On a VNNI CPU such a kernel
// is never a candidate: a tactic must not change what the model computes.
bool inexact_int8_kernel(const std::string& impl) {
  const auto colon = impl.rfind(':');
  if (colon == std::string::npos) return false;
  const std::string isa = impl.substr(colon + 1);
  const bool names_isa = isa.rfind("sse", 0) == 0 || isa.rfind("avx", 0) == 0;
  return names_isa && isa.find("vnni") == std::string::npos && isa.find("bf16") == std::string::npos &&
         isa.find("amx") == std::string::npos;
}

// oneDNN 2.6.3's AMX 1x1 convolutions ("jit_1x1:avx512_core_amx_bf16",
// "..._amx_int8") writing a plain (nhwc) output wrote 12 pixels past the
// tensor's end at 6x6 outputs (squeezenet1_0 at 112x112: 1536 bytes past a
// 4608-byte bf16 tensor, 48000 past a 1000-channel f32 one; it corrupted the
// heap during timing and would overwrite the arena's next tensor when
// chosen). Of 64-channel bf16 layers with 1x1 to 20x20 outputs only 6x6 overran,
// 2 threads, Xeon with AMX; not knowing the rule, no plain output whose
// pixel count is not a multiple of 16 (an AMX tile's rows) is left to
// them (their blocked outputs and the brgconv kernels remain candidates).
// NativeConvCandidates.NoneWritesPastItsOutput checks every candidate on
// the machine that runs it.
bool writes_past_its_output(const dnnl::convolution_forward::primitive_desc& pd) {
  const std::string impl = pd.impl_info_str();
  if (impl.rfind("jit_1x1:", 0) != 0 || impl.find("amx") == std::string::npos) return false;
  const memory::desc dst = pd.dst_desc();
  if (dst.data.format_kind == dnnl_blocked && dst.data.format_desc.blocking.inner_nblks > 0) return false;
  memory::dim pixels = 1;
  for (int k = 2; k < dst.data.ndims; ++k) pixels *= dst.data.dims[k];
  return pixels % 16 != 0;
}

// A Winograd convolution keeps its weights transformed, about 4x the bytes
// of the direct kernels' (6x6 tiles for 3x3 filters): resnet152's peak RSS
// went from 380 to 614 MB with it chosen for 10 layer shapes. Its runs count
// 1.25x as long as they took, so that it is chosen only where it gains much.
// (resnet152 and vgg16 kept it on the same layers with this weight: it won
// those by more.)
constexpr double kWinogradTimeWeight = 1.25;

// Whether `attr` adds a binary post-op operand (a fused residual).
bool adds_residual(const dnnl::primitive_attr& attr) {
  const dnnl::post_ops ops = attr.get_post_ops();
  for (int i = 0; i < ops.len(); ++i) {
    if (ops.kind(i) == dnnl::primitive::kind::binary) return true;
  }
  return false;
}

}  // namespace

// The convolutions that fit: first oneDNN's own first choice with layouts
// it picks (what runs when tactics are off), then with `all`, every other
// implementation oneDNN offers for src/dst layouts of its choice, nhwc and
// (float32) nchw. oneDNN's reference implementations ("ref:any") are left
// out: they are there for correctness, many times slower than any jit or
// gemm kernel, and would only cost timing. Listing stops at a candidate
// named `wanted` (the cached tactic): a prepare that finds its tactics in
// the cache creates no more descriptors than one without tactics when
// oneDNN's own pick won.
std::vector<ConvCandidate> conv_candidates(
    const std::function<dnnl::convolution_forward::desc(tag, dnnl::algorithm)>& desc_for,
    const dnnl::primitive_attr& attr, bool all, bool int8, const std::string& wanted, float int8_weight_adjust) {
  std::vector<ConvCandidate> out;
  std::set<std::string> seen;
  const bool exact_int8_only = int8 && cpu_has_vnni();
  const bool residual = adds_residual(attr);
  auto add = [&](const dnnl::convolution_forward::primitive_desc& pd) {
    const std::string impl = pd.impl_info_str();
    if (writes_past_its_output(pd)) return;
    if (!out.empty() && exact_int8_only && inexact_int8_kernel(impl)) return;
    if (int8 && weight_scale_adjust(pd.weights_desc()) != int8_weight_adjust) return;
    const std::string layouts = layout_name(pd.src_desc()) + ">" + layout_name(pd.dst_desc());
    // oneDNN 2.6's gemm convolution writing nhwc adds a fused residual
    // wrongly when it reads nhwc (resnet18 at 112x112: cosine 0.96 against
    // ONNX Runtime whenever timing picked it; NativeTactics test): never a
    // tactic for a Conv with a residual.
    if (!out.empty() && residual && impl.find("gemm") != std::string::npos &&
        layouts.find(">acdb") != std::string::npos)
      return;
    if (!out.empty() && (impl.rfind("ref", 0) == 0 || !seen.insert(family(impl) + " " + layouts).second)) return;
    // A plain nchw output (only gemm kernels write one) is kept only when
    // oneDNN's own pick writes it too: a later Conv that adds this tensor as
    // its fused residual must then write nchw itself, which only its slow
    // gemm kernel can (efficientnet_b0: 3.4 ms instead of 0.26 for one
    // layer), a cost the timing of this layer cannot see.
    if (!out.empty() && layouts.substr(layouts.find('>') + 1) == "abcd" && layout_name(out[0].pd.dst_desc()) != "abcd")
      return;
    if (out.empty()) seen.insert(family(impl) + " " + layouts);
    // The iterator's descriptor moves on with next_impl(): keep a copy.
    dnnl_primitive_desc_t copy = nullptr;
    dnnl::error::wrap_c_api(dnnl_primitive_desc_clone(&copy, pd.get()), "could not clone a primitive descriptor");
    const double weight = impl.find("wino") != std::string::npos ? kWinogradTimeWeight : 1.0;
    out.push_back({dnnl::convolution_forward::primitive_desc(copy), layouts, impl + " " + layouts, weight});
  };
  auto& eng = cpu_engine();
  // oneDNN 2.x's descriptor iterator keeps a pointer to the operation
  // descriptor it was made from, and next_impl() reads it: each descriptor
  // must outlive its iterator. From a temporary, next_impl() read a dead
  // stack slot; int8 layers of 9 corpus models crashed inside it on a Xeon
  // with AMX (mobilenet_v3_small's first Conv) where the slot had been reused.
  const dnnl::convolution_forward::desc first_desc = desc_for(tag::any, dnnl::algorithm::convolution_direct);
  dnnl::convolution_forward::primitive_desc first(first_desc, attr, eng);
  // int8: oneDNN's first pick may scale the weights otherwise than the
  // layer's scales were set for; then its next one stands in for it, as
  // it does for one that writes past its output.
  while ((int8 && weight_scale_adjust(first.weights_desc()) != int8_weight_adjust) || writes_past_its_output(first)) {
    if (!first.next_impl()) return out;
  }
  add(first);
  if (!all || out.back().name == wanted) return out;
  // Every other implementation for src/dst layouts of oneDNN's choice, nhwc
  // and (float32) nchw; then Winograd (oneDNN 2.6: float32 3x3 stride-1
  // layers on AVX-512, blocked layouts), which convolution_direct never
  // reaches: on the AMX Xeon it ran vgg16's and resnet's 3x3 layers 2.0-2.7x
  // faster than the direct kernels (standalone), its results within the
  // bench's tolerance of theirs (NativeConvCandidates test). It must win the
  // timing like any other candidate. oneDNN offers none for other layers.
  std::vector<std::pair<tag, dnnl::algorithm>> tries{{tag::any, dnnl::algorithm::convolution_direct},
                                                     {tag::nhwc, dnnl::algorithm::convolution_direct}};
  // oneDNN 2.6 has only its reference int8 convolution for nchw.
  if (!int8) {
    tries.emplace_back(tag::nchw, dnnl::algorithm::convolution_direct);
    tries.emplace_back(tag::any, dnnl::algorithm::convolution_winograd);
  }
  for (const auto& [layout, algorithm] : tries) {
    const dnnl::convolution_forward::desc layout_desc = desc_for(layout, algorithm);
    dnnl::convolution_forward::primitive_desc pd(layout_desc, attr, eng, /*allow_empty=*/true);
    if (!pd) continue;
    do {
      add(pd);
      if (out.back().name == wanted) return out;
    } while (pd.next_impl());
  }
  return out;
}

// Zeroed buffers the candidates of one layer share while they are timed:
// they run one after another, so one buffer per role, as large as the
// largest candidate needs, spares holding every tensor once per candidate
// (vgg16's first layers: 12.8 MB each, half a dozen candidates). Zeroed:
// timing runs must not meet denormals or NaNs left in fresh memory, which
// slow some kernels down.
void ConvScratch::allocate() {
  for (int r = 0; r < kRoles; ++r) {
    // 64 bytes of slack past every buffer: XNNPACK may read past its input.
    const std::size_t bytes = (std::max<std::size_t>(bytes_[r], 1) + 63) / 64 * 64 + 64;
    buffers_[r].reset(static_cast<char*>(std::aligned_alloc(64, bytes)));
    if (!buffers_[r]) throw Error("native: out of memory for tactic timing buffers", ErrorKind::kRuntime);
    std::memset(buffers_[r].get(), 0, bytes);
  }
}

memory ConvScratch::bind(Role role, const memory::desc& md) const {
  return memory(md, cpu_engine(), buffers_[role].get());
}

SourcePass source_pass(const memory::desc& given, const memory::desc& src) {
  const memory::dims dims = given.dims();
  if (given.data_type() != dt::f32 || src.data_type() != dt::bf16 || dims.size() != 4 || dims[1] != 3 ||
      layout_name(given) != "abcd" || layout_name(src) != "acdb" || !planar3_to_nhwc_bf16_unfit().empty())
    return {};
  const std::int64_t images = dims[0], pixels = dims[2] * dims[3];
  return {[images, pixels](const void* in, void* out) {
            planar3_to_nhwc_bf16(static_cast<const float*>(in), images, pixels, static_cast<std::uint16_t*>(out));
          },
          "planar3_to_nhwc_bf16"};
}

memory::desc nhwc_like(const memory::desc& md) { return memory::desc(md.dims(), dt::f32, tag::nhwc); }

namespace {

// A candidate as ConvKernel::run() would execute it, from the layout the
// layer is given (so a reorder the candidate needs is in its time), on the
// shared scratch buffers. A candidate whose output layout differs from
// oneDNN's own pick (`usual_dst`) also pays a reorder of its output into
// that layout: the layers after this one were planned for it, so the next
// one would pay that reorder in its own time for a choice made here. Without
// the charge, layers choose nhwc and blocked layouts alternately and each
// one's gain goes to the next one's reorder. `bind` makes the convolution
// itself, given its src and dst.
using ComputeBinder = std::function<std::function<void()>(const memory& src, const memory& dst)>;
std::function<void()> charged_runner(const memory::desc& src_md, const memory::desc& dst_md, const memory::desc& given,
                                     const memory::desc& usual_dst, const std::shared_ptr<ConvScratch>& scratch,
                                     const ComputeBinder& bind, bool copy_input = false) {
  using S = ConvScratch;
  memory input = scratch->bind(S::kInput, given);
  const bool in_place = given == src_md && !copy_input;
  memory src = in_place ? input : scratch->bind(S::kSrc, src_md);
  // The conversion run() makes: our pass where one fits, else the reorder.
  const SourcePass pass = in_place ? SourcePass{} : source_pass(given, src_md);
  dnnl::reorder to_src = in_place || pass ? dnnl::reorder() : dnnl::reorder(input, src);
  memory dst = scratch->bind(S::kDst, dst_md);
  const bool same = usual_dst == dst_md;
  memory usual = same ? dst : scratch->bind(S::kUsualDst, usual_dst);
  dnnl::reorder to_usual = same ? dnnl::reorder() : dnnl::reorder(dst, usual);
  std::function<void()> compute = bind(src, dst);
  return [=]() mutable {
    if (pass) pass.run(input.get_data_handle(), src.get_data_handle());
    if (to_src) to_src.execute(cpu_stream(), input, src);
    cpu_stream().wait();  // XNNPACK does not wait for oneDNN's stream
    compute();
    if (to_usual) to_usual.execute(cpu_stream(), dst, usual);
    cpu_stream().wait();
  };
}

}  // namespace

std::function<void()> conv_runner(const dnnl::convolution_forward::primitive_desc& pd, const memory::desc& given,
                                  const memory::desc& usual_dst, const memory::desc& bias, const memory::desc& residual,
                                  bool with_residual, const std::shared_ptr<ConvScratch>& scratch) {
  using S = ConvScratch;
  return charged_runner(pd.src_desc(), pd.dst_desc(), given, usual_dst, scratch, [&](memory src, memory dst) {
    dnnl::convolution_forward prim(pd);
    const auto args =
        weighted_layer_args(src, scratch->bind(S::kWeights, pd.weights_desc()), scratch->bind(S::kBias, bias), dst,
                            with_residual ? scratch->bind(S::kResidual, residual) : memory());
    return std::function<void()>([=] { prim.execute(cpu_stream(), args); });
  });
}

std::function<void()> xnnpack_runner(const std::shared_ptr<XnnpackConv>& conv, const memory::desc& given,
                                     const memory::desc& usual_dst, const std::shared_ptr<ConvScratch>& scratch) {
  // As run() does, XNNPACK reads a padded private copy of its input.
  return charged_runner(
      nhwc_like(given), nhwc_like(usual_dst), given, usual_dst, scratch,
      [&](memory src, memory dst) {
        return std::function<void()>([conv, s = src.get_data_handle(), d = dst.get_data_handle()] {
          conv->run(static_cast<const float*>(s), static_cast<float*>(d));
        });
      },
      /*copy_input=*/true);
}

}  // namespace inferlab::native
