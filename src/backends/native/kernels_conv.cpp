// Conv on oneDNN's convolution primitive, float32 or int8, with fused
// activation and residual post-ops. Layouts are oneDNN's choice for the
// actual shapes (format_tag::any); weights are reordered once at prepare.
// With tactics on, XNNPACK's float32 nhwc convolution (xnnpack_conv.h) is
// timed beside oneDNN's implementations where its epilogue fits.
//
// In a bf16 session (set_bf16) the float Conv computes in bfloat16 with
// float32 accumulation: weights converted once at prepare, src read as
// bf16 (a float32 input is converted by the step's own reorder), bias
// float32, dst bf16 so the next bf16 layer reads it without conversion.
//
// The int8 form runs the QDQ pattern the optimizer emits,
//   Conv(DQ(Q(x, s_x, 0)), DQ(W_q, s_w[oc], 0, axis=0), bias),
// as one integer convolution: src is Q's u8/s8 output itself, weights s8,
// and s_x * s_w[oc] applied as oneDNN output scales to the s32 sums.
// Inputs then are Int8Operand's [q, s_x, zp_x, W_q, s_w, zp_w, bias]
// (+ residual); when only a QuantizeLinear(s_y, 0) reads the result,
// [..., bias, s_y, zp_y] (+ residual) and the Conv writes that u8/s8 tensor
// itself.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <set>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "conv_candidates.h"
#include "conv_float_form.h"
#include "epilogue.h"
#include "int8_operands.h"
#include "kernel.h"
#include "onednn_context.h"
#include "onednn_util.h"
#include "swish.h"
#include "tactics.h"
#include "xnnpack_conv.h"

namespace inferlab::native {

namespace {

using dnnl::memory;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

std::string join(const std::vector<std::int64_t>& values) {
  std::string text;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) text += 'x';
    text += std::to_string(values[i]);
  }
  return text;
}

// ONNX Conv's inputs: X, W, B. The int8 form's are Int8Operand's, its
// quantized source in X's place.
constexpr std::size_t kConvSource = 0, kConvWeights = 1, kConvBias = 2;
static_assert(Int8Operand::kQuantizedInput == kConvSource);

// The float32 product of an int8 Conv whose Swish and requantization run
// as one pass after it: one buffer per calling thread, shared by every
// such layer (steps run one after another on the thread that runs the
// graph), grown to the largest; its OpenMP workers never call run().
float* quantize_scratch(std::int64_t elements) {
  thread_local std::vector<float> buffer;
  if (buffer.size() < static_cast<std::size_t>(elements)) buffer.resize(static_cast<std::size_t>(elements));
  return buffer.data();
}

class ConvKernel final : public Kernel {
 public:
  ConvKernel(const onnx::NodeProto& node, bool int8) : node_(node), int8_(int8) {}

  // As XNNPACK's create/setup: the descriptor and its post-ops, then the
  // implementation, then weights packed once and the run's memories bound.
  std::vector<OutputDesc> prepare(const std::vector<InputDesc>& in) override {
    Tuner* const tuner = tuner_;  // choose_candidate() forgets it
    float_form_.reset();
    form_note_.clear();
    ConvDesc d = describe(in);
    // Without VNNI oneDNN's int8 kernels for an s8 source halve the weights
    // and double their outputs: fusion.h lets only weights in [-64, 63] come
    // here on such a CPU, which are given doubled (halved scales) and so
    // lose nothing. Where no kernel halves them, one that does not runs.
    d.weight_adjust = int8_ && !cpu_has_vnni() && d.src_type == dt::s8 ? 0.5F : 1.0F;
    set_attributes(in, d);
    Choice choice = choose_candidate(in, d);
    if (choice.candidates.empty() && d.weight_adjust != 1.0F) {
      d.weight_adjust = 1.0F;
      set_attributes(in, d);
      choice = choose_candidate(in, d);
    }
    if (choice.candidates.empty())
      throw Error(node_prefix(node_) + "int8: oneDNN offers no convolution that sums these weights exactly here",
                  ErrorKind::kUnsupported);
    if (choice.index == choice.candidates.size()) return bind_xnnpack(d, choice);
    create_primitive(choice.candidates[choice.index]);
    prepack_weights(in, d);
    std::vector<OutputDesc> out = bind_onednn(d);
    if (int8_ && tuner && !cpu_has_vnni()) choose_int8_or_float(in, d, out[0], tuner);
    return out;
  }
  bool accepts_layouts(const std::vector<InputDesc>&) const override { return true; }
  bool accepts_bf16(const std::vector<InputDesc>&) const override { return bf16_ && !int8_; }
  void set_bf16(bool on) override { bf16_ = on; }
  bool reads_input_at_run(std::size_t index) const override {
    return index == kConvSource || (epilogue_.residual && index + 1 == input_count_);
  }

  void run(const std::vector<View>& in, const std::vector<View>& out) override {
    if (float_form_) {
      float_form_->run(in[kConvSource].data, epilogue_.residual ? in.back().data : nullptr, out[0].data);
      return;
    }
    input_.set_data_handle(in[kConvSource].data);
    if (source_pass_) {
      source_pass_.run(in[kConvSource].data, src_.get_data_handle());
    } else if (input_reorder_) {
      input_reorder_.execute(cpu_stream(), input_, src_);
    }
    if (xnnpack_) {
      cpu_stream().wait();
      xnnpack_->run(static_cast<const float*>(src_.get_data_handle()), out[0].f());
      return;
    }
    float* product = quantize_apart_ ? quantize_scratch(dst_elements_) : nullptr;
    dst_.set_data_handle(product ? product : out[0].data);
    if (residual_) residual_.set_data_handle(in.back().data);
    if (residual_to_dst_) residual_to_dst_.execute(cpu_stream(), residual_, dst_);
    prim_.execute(cpu_stream(), args_);
    cpu_stream().wait();
    if (swish_apart_) swish_in_place(out[0].data, dst_elements_, out_type_);
    if (quantize_apart_) swish_quantize(product, out[0].data, dst_elements_, quantize_inverse_scale_, out_type_);
  }
  std::string implementation() const override {
    // A reorder before the convolution is part of this step's time: say so.
    // With tactics: "onednn:jit:avx2 acdb>acdb +src reorder (tactic 3 of 5, timed)".
    if (float_form_) return float_form_->implementation() + form_note_;
    return (xnnpack_ ? std::string("xnnpack:f32") : impl_name(pd_)) +
           (tactic_note_.empty() ? "" : " " + tactic_layouts_) +
           (source_pass_     ? " +src " + source_pass_.name
            : input_reorder_ ? " +src reorder"
                             : "") +
           (swish_apart_      ? " +swish pass"
            : quantize_apart_ ? " +swish+quantize pass"
                              : "") +
           tactic_note_ + form_note_;
  }
  void set_tuner(Tuner* tuner) override { tuner_ = tuner; }

  bool fuse_epilogue(const std::string& op, float lo, float hi) override {
    fused_op_ = op;
    epilogue_lo_ = lo;
    epilogue_hi_ = hi;
    return parse_epilogue(op, lo, hi, epilogue_);
  }

 private:
  // What the convolution computes, as describe() and set_attributes() find it.
  struct ConvDesc {
    Shape x, w, y;  // source, weights (OIHW) and output shapes
    std::int64_t groups = 1;
    std::vector<std::int64_t> strides, dilations;
    memory::dims pad_l, pad_r;
    memory::dims w_dims;  // grouped: GOIHW
    memory::dims dil;     // oneDNN's dilations (ONNX's minus 1)
    bool bf16 = false;    // the float Conv computes in bf16
    dt src_type = dt::f32, w_type = dt::f32;
    memory::desc b_md;                                        // the bias, float32 (zeros when the node has none)
    memory::desc given;                                       // the source as the layer before left it
    std::vector<float> scales = std::vector<float>(1, 1.0F);  // int8: s_x * s_w, per tensor or per output channel
    float weight_adjust = 1.0F;  // int8: the factor the chosen kernel scales the s8 weights by (onednn_util.h)
    dnnl::primitive_attr attr;   // output scales and post-ops
  };
  // The implementation chosen: candidates[index], or XNNPACK's when index == candidates.size().
  struct Choice {
    std::vector<ConvCandidate> candidates;
    std::size_t index = 0;
    std::shared_ptr<XnnpackConv> xnnpack;  // offered and accepted by XNNPACK, else null
  };

  std::size_t weights_slot() const { return int8_ ? Int8Operand::kWeights : kConvWeights; }
  std::size_t bias_slot() const { return int8_ ? Int8Operand::kBias : kConvBias; }

  // The geometry and types: shapes, padding, groups, what src, weights and dst hold.
  ConvDesc describe(const std::vector<InputDesc>& in) {
    const std::size_t wi = weights_slot();
    if (in.size() <= wi || !in[wi].constant)
      throw Error(node_prefix(node_) + "non-constant weights are not supported", ErrorKind::kUnsupported);
    check_types(in);
    input_count_ = in.size();
    ConvDesc d;
    d.x = in[kConvSource].shape;
    d.w = in[wi].shape;
    const Shape& x = d.x;
    const Shape& w = d.w;
    if (x.size() != 4 || w.size() != 4)
      throw Error(node_prefix(node_) + "convolutions other than 2-D are not supported", ErrorKind::kUnsupported);
    Attributes a(node_);
    d.groups = a.i("group", 1);
    const std::vector<std::int64_t> kernel{w[2], w[3]};
    d.strides = a.ints("strides", {1, 1});
    d.dilations = a.ints("dilations", {1, 1});
    Shape out_spatial;
    spatial_padding(a, x, kernel, d.strides, d.dilations, false, d.pad_l, d.pad_r, out_spatial);
    d.y = {x[0], w[0], out_spatial[0], out_spatial[1]};
    if (x[1] != w[1] * d.groups) throw Error(node_prefix(node_) + "input channels do not match the weights");

    // int8 with {s_y, zp_y} after the bias (residual last): requantized output.
    const std::size_t operands = in.size() - (epilogue_.residual ? 1 : 0);
    requantized_ = int8_ && operands == Int8Operand::kRequantizedCount;
    d.bf16 = bf16_ && !int8_;
    out_type_ = requantized_ ? (in[Int8Operand::kOutputZeroPoint].constant ? in[Int8Operand::kOutputZeroPoint].dtype
                                                                           : DType::kUInt8)
                : d.bf16     ? DType::kBFloat16
                             : DType::kFloat32;
    d.src_type = d.bf16 ? dt::bf16 : to_onednn(in[kConvSource].dtype);
    d.w_type = int8_ ? dt::s8 : d.bf16 ? dt::bf16 : dt::f32;
    d.w_dims = d.groups == 1 ? to_dims(w) : memory::dims{d.groups, w[0] / d.groups, w[1], w[2], w[3]};
    d.b_md = memory::desc({w[0]}, dt::f32, tag::x);
    d.dil = {d.dilations[0] - 1, d.dilations[1] - 1};
    return d;
  }

  // The primitive's attributes: int8 output scales, the fused epilogue and
  // residual as post-ops, and the requantization into u8/s8.
  void set_attributes(const std::vector<InputDesc>& in, ConvDesc& d) {
    // Requantizing divides the final value by s_y (the activation's scale
    // argument, or a linear step) and oneDNN rounds to nearest even and
    // saturates into u8/s8, as QuantizeLinear does.
    const float to_q = requantized_ ? 1.0F / requant_scale(in) : 1.0F;
    requant_in_scales_ = requantized_ && requantization_folds(to_q);
    if (int8_) {
      d.scales = int8_output_scales(in, d.w[0], node_prefix(node_));
      // oneDNN divides these by the kernel's weight adjust; the weights come
      // scaled by its inverse (prepack_weights), so the two cancel. d.scales
      // stay s_x * s_w: the bias is divided by them (oneDNN adds it before scaling).
      std::vector<float> given = d.scales;
      for (float& s : given) s *= d.weight_adjust * (requant_in_scales_ ? to_q : 1.0F);
      d.attr.set_output_scales(given.size() == 1 ? 0 : 1 << 1, given);
    }
    dnnl::post_ops ops;
    if (epilogue_.residual) {
      // The residual is the last input; its layout is whatever produced it.
      const InputDesc& r = in.back();
      if (r.shape != d.y) throw Error(node_prefix(node_) + "the fused residual's shape differs from the output");
      residual_md_ = physical_desc(r);
      residual_ = memory(residual_md_, cpu_engine(), nullptr);
    }
    // bf16: the residual is added as oneDNN's sum post-op (dst holds it
    // before the convolution; run() copies it there). With a binary post-op
    // oneDNN 2.6 picks its gemm convolution for bf16 first, whose residual
    // sums are wrong (resnet18: cosine 0.91 against ONNX Runtime); sum is
    // what oneDNN's bf16 jit kernels implement for residual blocks.
    sum_residual_ = d.bf16 && epilogue_.residual;
    // A Swish runs as its own pass over dst after the convolution (swish.h):
    // with oneDNN's swish post-op efficientnet_b0's 16 -> 96 1x1 layer took
    // 3.3x (f32) and 4.1x (bf16) its time without (standalone, 2 threads).
    // A requantized int8 Conv then writes float32 into a scratch buffer, and
    // one pass applies the Swish and quantizes (the post-op made four of its
    // int8 depthwise layers 1.5-3.8x slower, with VNNI and capped to AVX2).
    const bool swish = epilogue_.eltwise && epilogue_.algorithm == dnnl::algorithm::eltwise_swish &&
                       epilogue_.alpha == 1.0F && !epilogue_.clip_to_unit &&
                       (simd_path_supported(SimdPath::kAvx512) || simd_path_supported(SimdPath::kAvx2));
    swish_apart_ = swish && !requantized_;
    if (swish_apart_) swish_prepare(out_type_);
    quantize_apart_ = swish && requantized_ && !epilogue_.residual;
    quantize_inverse_scale_ = to_q;
    Epilogue fused = epilogue_;
    if (swish_apart_ || quantize_apart_ || requant_in_scales_) fused.eltwise = false;
    const float eltwise_scale = quantize_apart_ ? 1.0F : to_q;
    if (sum_residual_) {
      Epilogue rest = fused;
      rest.residual = false;
      ops.append_sum(1.0F);
      append_epilogue(rest, {}, eltwise_scale, ops);
    } else {
      append_epilogue(fused, residual_md_, eltwise_scale, ops);
    }
    if (requantized_ && !epilogue_.eltwise && !requant_in_scales_)
      ops.append_eltwise(1.0F, dnnl::algorithm::eltwise_linear, to_q, 0.0F);
    if (ops.len() > 0) d.attr.set_post_ops(ops);
    d.given = physical_desc(in[kConvSource]);
  }

  // src and dst layouts: `any` lets oneDNN choose for these shapes
  // (blocked, e.g. nChw8c, or nhwc for int8); tactics also try fixed ones.
  // The engine keeps whatever is chosen between layers.
  dnnl::convolution_forward::desc convolution_desc(const ConvDesc& d, tag layout, dnnl::algorithm algorithm) const {
    return dnnl::convolution_forward::desc(
        dnnl::prop_kind::forward_inference, algorithm, memory::desc(to_dims(d.x), d.src_type, layout),
        memory::desc(d.w_dims, d.w_type, tag::any), d.b_md,
        memory::desc(to_dims(d.y), to_onednn(quantize_apart_ ? DType::kFloat32 : out_type_), layout),
        to_dims(d.strides), d.dil, d.pad_l, d.pad_r);
  }

  // The layer as the tactic cache knows it: everything that can change which implementation is fastest.
  std::string tactic_signature(const std::vector<InputDesc>& in, const ConvDesc& d) const {
    return std::string("Conv ") +
           (int8_    ? "int8 "
            : d.bf16 ? "bf16 "
                     : "f32 ") +
           "x=" + shape_to_string(d.x) + " " + dtype_name(in[kConvSource].dtype) + " " + layout_name(d.given) +
           " w=" + shape_to_string(d.w) + " g=" + std::to_string(d.groups) + " s=" + join(d.strides) +
           " d=" + join(d.dilations) + " pl=" + join(d.pad_l) + " pr=" + join(d.pad_r) +
           " post=" + (fused_op_.empty() ? "none" : fused_op_) + (swish_apart_ || quantize_apart_ ? "(pass)" : "") +
           (epilogue_.residual ? " res=" + layout_name(residual_md_) : "") + " out=" + dtype_name(out_type_) +
           " scales=" + std::to_string(d.scales.size());
  }

  // oneDNN's first pick, or with tactics the fastest of the candidates that
  // fit (XNNPACK's among them where its epilogue fits), timed now or named
  // by the cache.
  Choice choose_candidate(const std::vector<InputDesc>& in, const ConvDesc& d) {
    const std::string signature = tuner_ ? tactic_signature(in, d) : "";
    const std::string cached = tuner_ ? tuner_->cached_tactic(signature) : "";
    // XNNPACK's convolution fits float32 Convs whose fused activation is a
    // clamp (none, Relu, Clip): it has no other epilogue and no residual.
    const std::size_t bi = bias_slot();
    const bool has_bias = in.size() > bi && !node_input(bi).empty();
    const bool offer_xnnpack = tuner_ && !int8_ && !d.bf16 && xnnpack_built() && !epilogue_.residual &&
                               (!has_bias || in[bi].constant) &&
                               (fused_op_.empty() || fused_op_ == "Relu" || fused_op_ == "Clip");
    // A cached XNNPACK choice needs only oneDNN's first pick listed (index 0
    // of the names, and the layout the timing charged against).
    const bool all = tuner_ != nullptr && !(offer_xnnpack && cached == kXnnpackConvTactic);
    Choice c;
    c.candidates =
        conv_candidates([&](tag layout, dnnl::algorithm algorithm) { return convolution_desc(d, layout, algorithm); },
                        d.attr, all, int8_, cached, d.weight_adjust);
    if (c.candidates.empty()) return c;  // prepare() tries again or says why
    const auto& candidates = c.candidates;
    tactic_note_.clear();
    xnnpack_.reset();
    std::vector<std::string> names;
    if (!cached.empty() && candidates.back().name == cached) {
      c.index = candidates.size() - 1;
      tuner_->count_hit();
      tactic_note_ = " (tactic " + std::to_string(c.index + 1) + ", cached)";
    } else if (tuner_) {
      for (const auto& candidate : candidates) names.push_back(candidate.name);
      if (offer_xnnpack)
        c.xnnpack = try_xnnpack(xnnpack_conv_params(d.x, d.w, d.y, d.groups, d.strides, d.dilations, d.pad_l, d.pad_r),
                                in[weights_slot()], has_bias ? &in[bi] : nullptr);
      if (c.xnnpack) names.push_back(kXnnpackConvTactic);
    }
    if (names.size() > 1) c.index = time_candidates(signature, names, c, d);
    tuner_ = nullptr;  // valid for this prepare() only
    return c;
  }

  // The tuner's pick among `names` (c's candidates, then XNNPACK's when it
  // took the layer): the cache's when it names one, else the fastest, each
  // run as run() would on shared zeroed scratch buffers.
  std::size_t time_candidates(const std::string& signature, const std::vector<std::string>& names, const Choice& c,
                              const ConvDesc& d) {
    const auto& candidates = c.candidates;
    std::shared_ptr<ConvScratch> scratch;
    const memory::desc usual = candidates[0].pd.dst_desc();
    std::vector<double> weights;  // per name: the candidates', then XNNPACK's (1)
    for (const auto& candidate : candidates) weights.push_back(candidate.time_weight);
    weights.resize(names.size(), 1.0);
    const auto choice = tuner_->choose(
        signature, names,
        [&](std::size_t i) {
          if (!scratch) {  // first call: only a layer that is timed allocates
            scratch = std::make_shared<ConvScratch>();
            for (const auto& candidate : candidates) {
              scratch->need(ConvScratch::kSrc, candidate.pd.src_desc());
              scratch->need(ConvScratch::kWeights, candidate.pd.weights_desc());
              scratch->need(ConvScratch::kDst, candidate.pd.dst_desc());
            }
            if (c.xnnpack) scratch->need(ConvScratch::kSrc, nhwc_like(d.given));
            if (c.xnnpack) scratch->need(ConvScratch::kDst, nhwc_like(usual));
            scratch->need(ConvScratch::kInput, d.given);
            scratch->need(ConvScratch::kBias, d.b_md);
            scratch->need(ConvScratch::kUsualDst, usual);
            if (epilogue_.residual) scratch->need(ConvScratch::kResidual, residual_md_);
            scratch->allocate();
          }
          if (i == candidates.size()) return xnnpack_runner(c.xnnpack, d.given, usual, scratch);
          return conv_runner(candidates[i].pd, d.given, usual, d.b_md, residual_md_,
                             epilogue_.residual && !sum_residual_, scratch);
        },
        weights);
    // oneDNN 2.6's int8 brgconv keeps state derived from its first run's
    // operands in the primitive, and the primitive cache would hand the
    // candidate timed on zeroed scratch to this layer: its sums were then
    // wrong (avx512_core_vnni). Emptying the cache makes the layer's own
    // primitive fresh; primitives already made keep working.
    if (int8_ && !choice.from_cache) {
      const int capacity = dnnl::get_primitive_cache_capacity();
      dnnl::set_primitive_cache_capacity(0);
      dnnl::set_primitive_cache_capacity(capacity);
    }
    tactic_note_ = " (tactic " + std::to_string(choice.index + 1) + " of " + std::to_string(names.size()) +
                   (choice.from_cache ? ", cached)" : ", timed)");
    return choice.index;
  }

  // Without VNNI oneDNN's int8 convolutions are not always faster than its
  // float32 ones (capped to AVX2, mobilenet_v3_small's 12 int8 depthwise
  // layers took 0.158 ms against 0.064 for its fp32 model's): the QDQ
  // graph's own float form (conv_float_form.h), which also pays a
  // dequantizing and a requantizing reorder, is timed against the int8
  // primitive on zeroed scratch, and the faster runs (7 of the corpus's 565
  // int8 Convs, capped; none of mobilenet_v3_small's). With VNNI the int8
  // kernels are not timed against it, so prepare stays short.
  void choose_int8_or_float(const std::vector<InputDesc>& in, const ConvDesc& d, const OutputDesc& out, Tuner* tuner) {
    const std::string signature = "Conv int8-or-f32 " + tactic_signature(in, d);
    const std::string int8_name = "int8:" + impl_name(pd_);
    if (tuner->cached_tactic(signature) == int8_name) {
      tuner->count_hit();
      form_note_ = " (int8 kept over f32, cached)";
      return;
    }
    std::shared_ptr<ConvFloatForm> form;
    try {
      form = std::make_shared<ConvFloatForm>(node_, fused_op_, epilogue_lo_, epilogue_hi_, in, epilogue_.residual, out,
                                             tuner);
    } catch (const Error&) {
      return;  // no float form for this layer: the int8 primitive runs
    }
    const std::size_t source_bytes = physical_desc(in[kConvSource]).get_size();
    const std::size_t out_bytes = physical_desc({out.dtype, out.shape, nullptr, out.layout}).get_size();
    const std::size_t residual_bytes = epilogue_.residual ? physical_desc(in.back()).get_size() : 0;
    auto scratch = std::make_shared<std::vector<std::uint8_t>>(source_bytes + out_bytes + residual_bytes + 192, 0);
    const auto choice = tuner->choose(signature, {int8_name, kDequantizedFloatTactic}, [&](std::size_t i) {
      std::uint8_t* base = scratch->data();
      void* source = base;
      void* result = base + source_bytes + 64;
      void* residual = residual_bytes ? base + source_bytes + out_bytes + 128 : nullptr;
      if (i == 1) {
        return std::function<void()>(
            [form, scratch, source, result, residual] { form->run(source, residual, result); });
      }
      std::vector<View> ins(in.size()), outs(1);
      ins[kConvSource].data = source;
      if (residual) ins.back().data = residual;
      outs[0] = {out_type_, d.y, result};
      return std::function<void()>([this, scratch, ins, outs] { run(ins, outs); });
    });
    if (choice.index == 1) {
      float_form_ = form;
      // The int8 primitive and weights are not kept (args_ held them too).
      args_.clear();
      weights_ = bias_ = memory();
      prim_ = {};
    } else if (!choice.from_cache) {
      // The int8 primitive ran on zeroed scratch: oneDNN 2.6's brgconv keeps
      // state from its first operands (see time_candidates), so it is made anew.
      const int capacity = dnnl::get_primitive_cache_capacity();
      dnnl::set_primitive_cache_capacity(0);
      dnnl::set_primitive_cache_capacity(capacity);
      prim_ = dnnl::convolution_forward(pd_);
    }
    form_note_ = std::string(" (") + (choice.index == 1 ? "f32 over int8, " : "int8 kept over f32, ") +
                 (choice.from_cache ? "cached)" : "timed)");
  }

  // XNNPACK packed its own weights: none of oneDNN's are kept, and it reads
  // a padded nhwc copy of its source.
  std::vector<OutputDesc> bind_xnnpack(const ConvDesc& d, const Choice& c) {
    xnnpack_ = c.xnnpack;
    tactic_layouts_ = "acdb>acdb";
    pd_ = {};
    prim_ = {};
    weights_ = bias_ = memory();
    bind_input(d.given, nhwc_like(d.given), /*padded_copy=*/true);
    return {{out_type_, d.y, layout_of(nhwc_like(c.candidates[0].pd.dst_desc()), d.y, out_type_)}};
  }

  void create_primitive(const ConvCandidate& chosen) {
    tactic_layouts_ = chosen.layouts;
    pd_ = chosen.pd;
    prim_ = dnnl::convolution_forward(pd_);
  }

  // Weights: ONNX OIHW (or grouped GOIHW, the same bytes) reordered once into
  // the primitive's layout; for int8, oneDNN's reorder also computes the
  // s8-source compensation, for bf16 it rounds the float32 weights to bf16
  // (nearest even). The bias is copied, zeros when the node has none.
  void prepack_weights(const std::vector<InputDesc>& in, const ConvDesc& d) {
    const std::size_t wi = weights_slot(), bi = bias_slot();
    const std::int64_t channels = d.w[0];
    memory user_w({d.w_dims, int8_ ? dt::s8 : dt::f32, d.groups == 1 ? tag::oihw : tag::goihw}, cpu_engine(),
                  const_cast<void*>(in[wi].constant->data()));
    std::vector<std::int8_t> doubled;  // for a kernel that halves them
    if (int8_ && d.weight_adjust != 1.0F) {
      doubled = doubled_s8_weights(*in[wi].constant, node_prefix(node_));
      user_w.set_data_handle(doubled.data());
    }
    weights_ = memory(pd_.weights_desc(), cpu_engine());
    dnnl::reorder(user_w, weights_).execute(cpu_stream(), user_w, weights_);
    bias_ = memory(d.b_md, cpu_engine());
    auto* b = static_cast<float*>(bias_.get_data_handle());
    if (in.size() > bi && !node_input(bi).empty()) {
      if (!in[bi].constant)
        throw Error(node_prefix(node_) + "a non-constant bias is not supported", ErrorKind::kUnsupported);
      std::copy_n(in[bi].constant->data_as<float>(), channels, b);
      // oneDNN 2.x adds the bias to the s32 sums (already divided by the
      // weight adjust) before the output scales it was given.
      if (int8_) {
        for (std::int64_t o = 0; o < channels; ++o) b[o] /= d.scales[d.scales.size() == 1 ? 0 : o] * d.weight_adjust;
      }
    } else {
      std::fill(b, b + channels, 0.0F);
    }
    cpu_stream().wait();
  }

  // The memories run() sets its pointers into, and the primitive's arguments over them.
  std::vector<OutputDesc> bind_onednn(const ConvDesc& d) {
    bind_input(d.given, pd_.src_desc());
    dst_ = memory(pd_.dst_desc(), cpu_engine(), nullptr);
    args_ = weighted_layer_args(src_, weights_, bias_, dst_, sum_residual_ ? memory() : residual_);
    residual_to_dst_ = sum_residual_ ? dnnl::reorder(residual_, dst_) : dnnl::reorder();
    const DType product_type = quantize_apart_ ? DType::kFloat32 : out_type_;
    dst_elements_ = static_cast<std::int64_t>(pd_.dst_desc().get_size() / dtype_size_bytes(product_type));
    // The quantizing pass keeps the product's layout (strides in elements) in u8/s8.
    memory::desc out_md = pd_.dst_desc();
    out_md.data.data_type = static_cast<dnnl_data_type_t>(to_onednn(out_type_));
    return {{out_type_, d.y, layout_of(out_md, d.y, out_type_)}};
  }
  // Where run() finds its source: the input itself when it already has the
  // layout `src` wants, else a private buffer the input is reordered into
  // (the layer before left another layout).
  // XNNPACK (`padded_copy`) always reads a private copy with slack past its
  // end: it may read past its input, and the arena's or the caller's tensor
  // promises no such slack.
  void bind_input(const memory::desc& given, const memory::desc& src, bool padded_copy = false) {
    input_ = memory(given, cpu_engine(), nullptr);
    source_pass_ = padded_copy ? SourcePass{} : source_pass(given, src);
    if (source_pass_) {
      src_ = memory(src, cpu_engine());
      input_reorder_ = dnnl::reorder();
      return;
    }
    if (padded_copy) {
      padded_src_.assign((src.get_size() + kXnnpackInputSlackBytes) / sizeof(float) + 1, 0.0F);
      src_ = memory(src, cpu_engine(), padded_src_.data());
      input_reorder_ = dnnl::reorder(input_, src_);
    } else if (given != src) {
      src_ = memory(src, cpu_engine());
      input_reorder_ = dnnl::reorder(input_, src_);
    } else {
      src_ = input_;
      input_reorder_ = dnnl::reorder();
    }
  }

  // XNNPACK's operator for this Conv, or null when XNNPACK rejects it: that
  // is no reason to fail the model, oneDNN's candidates still run.
  std::shared_ptr<XnnpackConv> try_xnnpack(XnnpackConvParams p, const InputDesc& w, const InputDesc* bias) const {
    p.weights = w.constant->data_as<float>();
    p.bias = bias ? bias->constant->data_as<float>() : nullptr;
    if (fused_op_ == "Relu") p.output_min = 0.0F;
    if (fused_op_ == "Clip") std::tie(p.output_min, p.output_max) = std::pair(epilogue_.alpha, epilogue_.beta);
    try {
      return make_xnnpack_conv(p);
    } catch (const Error&) {
      return nullptr;
    }
  }

  // The node's input name at a kernel input position (int8: the Q/DQ inputs
  // the importer substituted have no node name; only the bias matters here).
  std::string node_input(std::size_t index) const {
    if (!int8_) return static_cast<int>(index) < node_.input_size() ? node_.input(static_cast<int>(index)) : "";
    const int bias = static_cast<int>(kConvBias);
    return index == Int8Operand::kBias && node_.input_size() > bias ? node_.input(bias) : "";
  }

  void check_types(const std::vector<InputDesc>& in) const {
    for (std::size_t k = 0; k < in.size(); ++k) {
      // bf16 activations: the source, and a fused residual (last).
      const bool activation = k == kConvSource || (epilogue_.residual && k + 1 == in.size());
      bool ok = in[k].dtype == DType::kFloat32 || (bf16_ && !int8_ && activation && in[k].dtype == DType::kBFloat16);
      if (int8_ && (k == Int8Operand::kQuantizedInput || k == Int8Operand::kInputZeroPoint ||
                    k == Int8Operand::kWeightZeroPoint || k == Int8Operand::kOutputZeroPoint)) {
        // The quantized source and the zero points (checked to be 0 later).
        ok = in[k].dtype == DType::kUInt8 || in[k].dtype == DType::kInt8 ||
             (k != Int8Operand::kQuantizedInput && !in[k].constant);
      } else if (int8_ && k == Int8Operand::kWeights) {
        ok = in[k].dtype == DType::kInt8;
      }
      if (!ok)
        throw Error(
            node_prefix(node_) + dtype_name(in[k].dtype) + " operand " + std::to_string(k) + " is not supported",
            ErrorKind::kUnsupported);
    }
  }

  // Whether a requantized Conv's 1 / s_y (`to_q`) can go into the output
  // scales with no post-op left: without a residual, and with no activation
  // or one that saturation into u8 already applies (Relu; Clip from 0 whose
  // upper bound lands at or above 255 steps, ReLU6 calibrated to its range).
  // Then oneDNN writes round(s_x s_w (sum + bias / (s_x s_w)) / s_y)
  // saturated, as the post-ops did up to float rounding. oneDNN's int8
  // kernels run without post-ops fastest.
  bool requantization_folds(float to_q) const {
    if (epilogue_.residual) return false;
    if (!epilogue_.eltwise) return true;  // (a Swish is an eltwise: it never folds)
    if (out_type_ != DType::kUInt8 || epilogue_.clip_to_unit) return false;
    if (epilogue_.algorithm == dnnl::algorithm::eltwise_relu) return epilogue_.alpha == 0.0F;
    return epilogue_.algorithm == dnnl::algorithm::eltwise_clip && epilogue_.alpha == 0.0F &&
           epilogue_.beta * to_q >= 255.0F;
  }

  float requant_scale(const std::vector<InputDesc>& in) const {
    const InputDesc& scale = in[Int8Operand::kOutputScale];
    if (!scale.constant || scale.constant->element_count() != 1 ||
        !constant_all_zero(in[Int8Operand::kOutputZeroPoint]))
      throw Error(node_prefix(node_) + "int8: the output's scale must be a constant and its zero point 0",
                  ErrorKind::kUnsupported);
    return scale.constant->data_as<float>()[0];
  }

  const onnx::NodeProto& node_;
  bool int8_;
  bool bf16_ = false;  // a bf16 session: the float Conv computes in bf16
  bool requantized_ = false;
  bool requant_in_scales_ = false;  // 1 / s_y is in the output scales, no post-op (requantization_folds())
  DType out_type_ = DType::kFloat32;
  dnnl::convolution_forward::primitive_desc pd_;
  dnnl::convolution_forward prim_;
  memory weights_, bias_, input_, src_, dst_;
  dnnl::reorder input_reorder_;
  Epilogue epilogue_;  // fused activation and residual
  std::size_t input_count_ = 0;
  memory residual_;
  float epilogue_lo_ = 0, epilogue_hi_ = 0;    // the fused epilogue's bounds, for the float form
  std::shared_ptr<ConvFloatForm> float_form_;  // int8 without VNNI: the float form, when it was faster
  std::string form_note_;                      // int8 or its float form, and how that was chosen
  bool swish_apart_ = false;                   // the fused Swish runs as swish_in_place() over dst after the primitive
  bool quantize_apart_ = false;  // int8: float32 product into quantize_scratch(), then swish_quantize() into dst
  float quantize_inverse_scale_ = 1.0F;  // ... by 1 / the output's scale
  std::int64_t dst_elements_ = 0;        // ... over this many values (dst's physical size: blocked padding too)
  bool sum_residual_ = false;            // bf16: the residual is a sum post-op over dst ...
  dnnl::reorder residual_to_dst_;        // ... which this copies it into first
  memory::desc residual_md_;
  std::unordered_map<int, memory> args_;  // over the memories above (weighted_layer_args)
  std::string fused_op_;                  // for the tactic signature
  Tuner* tuner_ = nullptr;                // set for the next prepare() when tactics are on
  std::string tactic_note_;               // which tactic ran, for the profile
  std::string tactic_layouts_;            // its src>dst layouts
  std::shared_ptr<XnnpackConv> xnnpack_;  // the XNNPACK tactic when chosen, else null
  std::vector<float> padded_src_;         // its input's copy, with slack
  SourcePass source_pass_;                // converts the source where it fits, in input_reorder_'s place
};

}  // namespace

std::unique_ptr<Kernel> make_int8_conv_kernel(const onnx::NodeProto& node) {
  return std::make_unique<ConvKernel>(node, true);
}

void register_conv_kernels(std::map<std::string, KernelFactory>& r) {
  r["Conv"] = [](const onnx::NodeProto& n, int) { return std::make_unique<ConvKernel>(n, false); };
}

}  // namespace inferlab::native
