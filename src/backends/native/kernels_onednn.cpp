// Kernels on oneDNN primitives: MaxPool/AveragePool, BatchNormalization,
// layout reorders, channel Concat and binary ops. Convolutions are in kernels_conv.cpp, Gemm
// and MatMul in kernels_matmul.cpp.
#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "channel_ops.h"
#include "kernel.h"
#include "onednn_context.h"
#include "onednn_util.h"

namespace inferlab::native {

namespace {

using dnnl::memory;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

class PoolKernel final : public Kernel {
 public:
  PoolKernel(const onnx::NodeProto& node, bool max, bool global = false) : node_(node), max_(max), global_(global) {}
  bool accepts_layouts(const std::vector<InputDesc>&) const override { return true; }
  // bf16 in, bf16 out: pooling is memory-bound, and half the bytes pay.
  bool accepts_bf16(const std::vector<InputDesc>&) const override { return true; }
  std::vector<OutputDesc> prepare(const std::vector<InputDesc>& in) override {
    const Shape& x = in.at(0).shape;
    const DType dtype = in[0].dtype;
    if (dtype != DType::kFloat32 && dtype != DType::kBFloat16)
      throw Error(node_prefix(node_) + dtype_name(dtype) + " pooling is not supported (float32 and bfloat16 are)",
                  ErrorKind::kUnsupported);
    if (x.size() != 4)
      throw Error(node_prefix(node_) + "pooling other than 2-D is not supported", ErrorKind::kUnsupported);
    Attributes a(node_);
    const auto kernel = global_ ? std::vector<std::int64_t>{x[2], x[3]} : a.ints("kernel_shape");
    if (kernel.size() != 2) throw Error(node_prefix(node_) + "kernel_shape must have 2 values");
    const auto strides = global_ ? std::vector<std::int64_t>{1, 1} : a.ints("strides", {1, 1});
    const auto dilations = global_ ? std::vector<std::int64_t>{1, 1} : a.ints("dilations", {1, 1});
    if (dilations != std::vector<std::int64_t>{1, 1}) {
      throw Error(node_prefix(node_) + "dilated pooling is not supported", ErrorKind::kUnsupported);
    }
    if (max_ && node_.output_size() > 1 && !node_.output(1).empty()) {
      throw Error(node_prefix(node_) + "the Indices output is not supported", ErrorKind::kUnsupported);
    }
    memory::dims pad_l, pad_r;
    Shape out_spatial;
    if (global_) {
      pad_l = pad_r = {0, 0};
      out_spatial = {1, 1};
    } else {
      spatial_padding(a, x, kernel, strides, dilations, a.i("ceil_mode", 0) != 0, pad_l, pad_r, out_spatial);
    }
    const Shape y{x[0], x[1], out_spatial[0], out_spatial[1]};
    const auto algorithm =
        max_ ? dnnl::algorithm::pooling_max
             : (!global_ && a.i("count_include_pad", 0) ? dnnl::algorithm::pooling_avg_include_padding
                                                        : dnnl::algorithm::pooling_avg_exclude_padding);
    const memory::desc given = physical_desc(in[0]);
    const memory::desc dst_md(to_dims(y), to_onednn(dtype), tag::any);
    auto pooling = [&](const memory::desc& src_md) {
      return dnnl::pooling_forward::primitive_desc(
          dnnl::pooling_forward::desc(dnnl::prop_kind::forward_inference, algorithm, src_md, dst_md, to_dims(strides),
                                      to_dims(kernel), pad_l, pad_r),
          cpu_engine());
    };
    pd_ = pooling(given);
    input_reorder_ = dnnl::reorder();
    input_ = src_ = memory(given, cpu_engine(), nullptr);
    // oneDNN 2.6 pools bf16 in nChw8c (what grouped bf16 Convs of width 8
    // write) only with its reference kernel: regnet_y_400mf's 13 squeeze-
    // excitation GlobalAveragePools took 1.45 ms of 3.4 in bf16. Reordering
    // the input to nhwc inside the step reaches the jit kernel.
    if (is_reference_impl(pd_) && is_blocked(in[0].layout)) {
      const memory::desc nhwc(to_dims(x), to_onednn(dtype), tag::nhwc);
      auto jit = pooling(nhwc);
      if (!is_reference_impl(jit)) {
        pd_ = jit;
        src_ = memory(nhwc, cpu_engine());
        input_reorder_ = dnnl::reorder(input_, src_);
      }
    }
    // A global average over an nhwc input runs as channel_mean_nhwc(), whose
    // sums do not depend on the thread count; measured in channel_ops.h. Its
    // result, one value per channel, has the same bytes in nhwc and nchw.
    const std::string dst_layout = layout_name(pd_.dst_desc());
    channel_mean_ = global_ && !max_ && !input_reorder_ && layout_name(given) == "acdb" &&
                    (dst_layout == "acdb" || dst_layout == "abcd");
    if (channel_mean_) {
      extent_ = {x[0], x[2] * x[3], x[1]};
      scratch_.assign(static_cast<std::size_t>(channel_mean_scratch_floats(extent_)), 0.0F);
      dtype_ = dtype;
    } else {
      prim_ = dnnl::pooling_forward(pd_);
      dst_ = memory(pd_.dst_desc(), cpu_engine(), nullptr);
    }
    return {{dtype, y, layout_of(pd_.dst_desc(), y, dtype)}};
  }
  // Without the reorder src_ is input_ itself (one memory object).
  void run(const std::vector<View>& in, const std::vector<View>& out) override {
    if (channel_mean_) return channel_mean_nhwc(in[0].data, dtype_, extent_, out[0].data, dtype_, scratch_.data());
    input_.set_data_handle(in[0].data);
    if (input_reorder_) input_reorder_.execute(cpu_stream(), input_, src_);
    dst_.set_data_handle(out[0].data);
    prim_.execute(cpu_stream(), {{DNNL_ARG_SRC, src_}, {DNNL_ARG_DST, dst_}});
    cpu_stream().wait();
  }
  std::string implementation() const override {
    if (channel_mean_) return "channel_mean_nhwc";
    return impl_name(pd_) + (input_reorder_ ? " +src reorder" : "");
  }

 private:
  const onnx::NodeProto& node_;
  bool max_;
  bool global_;
  bool channel_mean_ = false;  // run() is channel_mean_nhwc(), not the primitive
  NhwcExtent extent_;
  DType dtype_ = DType::kFloat32;
  std::vector<float> scratch_;  // channel_mean_nhwc()'s partial sums
  dnnl::pooling_forward::primitive_desc pd_;
  dnnl::pooling_forward prim_;
  memory input_, src_, dst_;     // input_: as given; src_: it, or its nhwc copy
  dnnl::reorder input_reorder_;  // given -> nhwc, where only that reaches a jit kernel
};

// Inference BatchNormalization that the graph passes could not fold into a
// Conv before it (DenseNet's pre-activation BN reads a Concat): oneDNN's
// batch_normalization with the model's mean and variance (global stats) and
// its scale and bias, in the input's layout and type (float32 or bf16).
class BatchNormKernel final : public Kernel {
 public:
  explicit BatchNormKernel(const onnx::NodeProto& node) : node_(node) {}
  bool accepts_layouts(const std::vector<InputDesc>&) const override { return true; }
  bool accepts_bf16(const std::vector<InputDesc>&) const override { return true; }
  // The statistics are copied into oneDNN's operands at prepare.
  bool reads_input_at_run(std::size_t index) const override { return index == 0; }
  bool fuse_epilogue(const std::string& op, float, float) override {
    relu_ = op == "Relu";
    return relu_;
  }
  std::vector<OutputDesc> prepare(const std::vector<InputDesc>& in) override {
    Attributes a(node_);
    if (a.i("training_mode", 0) != 0 || node_.output_size() > 1)
      throw Error(node_prefix(node_) + "training mode (running statistics outputs) is not supported",
                  ErrorKind::kUnsupported);
    if (in.size() != 5) throw Error(node_prefix(node_) + "expects 5 inputs (X, scale, B, mean, var)");
    const Shape& x = in[0].shape;
    if (x.size() < 2 || x.size() > 5)
      throw Error(node_prefix(node_) + "inputs of rank " + std::to_string(x.size()) + " are not supported",
                  ErrorKind::kUnsupported);
    if (in[0].dtype != DType::kFloat32 && in[0].dtype != DType::kBFloat16)
      throw Error(node_prefix(node_) + dtype_name(in[0].dtype) + " is not supported", ErrorKind::kUnsupported);
    const std::int64_t c = x[1];
    for (std::size_t k = 1; k < 5; ++k) {
      if (!in[k].constant || in[k].dtype != DType::kFloat32 || in[k].constant->element_count() != c)
        throw Error(node_prefix(node_) + "scale, B, mean and var must be float32 constants of C values",
                    ErrorKind::kUnsupported);
    }
    auto& eng = cpu_engine();
    const memory::desc src_md = physical_desc(in[0]);
    auto flags = dnnl::normalization_flags::use_global_stats | dnnl::normalization_flags::use_scale |
                 dnnl::normalization_flags::use_shift;
    if (relu_) flags |= dnnl::normalization_flags::fuse_norm_relu;
    pd_ = dnnl::batch_normalization_forward::primitive_desc(
        {dnnl::prop_kind::forward_inference, src_md, a.f("epsilon", 1e-5F), flags}, eng);
    prim_ = dnnl::batch_normalization_forward(pd_);
    const memory::desc c_md({c}, dt::f32, tag::x);
    const int args[] = {DNNL_ARG_SCALE, DNNL_ARG_SHIFT, DNNL_ARG_MEAN, DNNL_ARG_VARIANCE};
    args_.clear();
    for (std::size_t k = 1; k < 5; ++k) {
      memory m(c_md, eng);
      std::copy_n(in[k].constant->data_as<float>(), c, static_cast<float*>(m.get_data_handle()));
      args_.emplace(args[k - 1], m);
    }
    src_ = memory(pd_.src_desc(), eng, nullptr);
    dst_ = memory(pd_.dst_desc(), eng, nullptr);
    args_.emplace(DNNL_ARG_SRC, src_);
    args_.emplace(DNNL_ARG_DST, dst_);
    return {{in[0].dtype, x, layout_of(pd_.dst_desc(), x, in[0].dtype)}};
  }
  void run(const std::vector<View>& in, const std::vector<View>& out) override {
    src_.set_data_handle(in[0].data);
    dst_.set_data_handle(out[0].data);
    prim_.execute(cpu_stream(), args_);
    cpu_stream().wait();
  }
  std::string implementation() const override { return impl_name(pd_); }

 private:
  const onnx::NodeProto& node_;
  bool relu_ = false;  // a fused Relu after it
  dnnl::batch_normalization_forward::primitive_desc pd_;
  dnnl::batch_normalization_forward prim_;
  memory src_, dst_;
  std::unordered_map<int, memory> args_;  // src, dst and the four per-channel operands
};

// Converts between layouts (and from bfloat16 to float32 with
// `to_float32`); inserted by the engine, never named in a model.
class ReorderKernel final : public Kernel {
 public:
  ReorderKernel(Layout to, bool to_float32) : to_(std::move(to)), to_float32_(to_float32) {}
  bool accepts_layouts(const std::vector<InputDesc>&) const override { return true; }
  bool accepts_bf16(const std::vector<InputDesc>&) const override { return true; }
  std::vector<OutputDesc> prepare(const std::vector<InputDesc>& in) override {
    const Shape& s = in.at(0).shape;
    src_ = memory(physical_desc(in[0]), cpu_engine(), nullptr);
    // int8 values move between layouts too (QuantizeLinear writes nhwc).
    const DType dtype = to_float32_ ? DType::kFloat32 : in[0].dtype;
    Layout to = to_;
    if (is_blocked(to)) to.data.data_type = static_cast<dnnl_data_type_t>(to_onednn(dtype));  // strides count elements
    dst_ = memory(physical_desc({dtype, s, nullptr, to}), cpu_engine(), nullptr);
    prim_ = dnnl::reorder(src_, dst_);
    return {{dtype, s, to}};
  }
  void run(const std::vector<View>& in, const std::vector<View>& out) override {
    src_.set_data_handle(in[0].data);
    dst_.set_data_handle(out[0].data);
    prim_.execute(cpu_stream(), src_, dst_);
    cpu_stream().wait();
  }
  std::string implementation() const override { return "onednn:reorder"; }

 private:
  Layout to_;
  bool to_float32_;
  memory src_, dst_;
  dnnl::reorder prim_;
};

// Channel concatenation of 4-D float tensors in whatever layouts they come.
class ChannelConcatKernel final : public Kernel {
 public:
  explicit ChannelConcatKernel(const onnx::NodeProto& node) : node_(node) {}
  bool accepts_layouts(const std::vector<InputDesc>&) const override { return true; }
  std::vector<OutputDesc> prepare(const std::vector<InputDesc>& in) override {
    std::vector<memory::desc> srcs;
    Shape y = in.at(0).shape;
    y[1] = 0;
    const DType dtype = in[0].dtype;  // one dtype for all (ConcatKernel checks): float32, bfloat16, int8, uint8
    for (const auto& d : in) {
      srcs.push_back(physical_desc(d));
      y[1] += d.shape[1];
    }
    const memory::desc dst_any(to_dims(y), to_onednn(dtype), tag::any);
    pd_ = dnnl::concat::primitive_desc(dst_any, 1, srcs, cpu_engine());
    given_.clear();
    to_common_.clear();
    copies_.clear();
    // Inputs in different layouts (Inception's branches: nhwc Convs beside
    // a plain pooling path) leave oneDNN 2.6 only its reference concat:
    // those not in nhwc are reordered to it first (into copies made once),
    // and the concat is then its simple copy.
    if (is_reference_impl(pd_)) {
      std::vector<memory::desc> nhwc_srcs;
      for (std::size_t i = 0; i < in.size(); ++i) {
        const memory::desc nhwc(to_dims(in[i].shape), to_onednn(dtype), tag::acdb);
        nhwc_srcs.push_back(nhwc);
        given_.emplace_back(srcs[i], cpu_engine(), nullptr);
        if (srcs[i] == nhwc) {
          copies_.emplace_back();
          to_common_.emplace_back();
        } else {
          copies_.emplace_back(nhwc, cpu_engine());
          to_common_.emplace_back(given_.back(), copies_.back());
        }
      }
      const memory::desc dst_nhwc(to_dims(y), to_onednn(dtype), tag::acdb);
      pd_ = dnnl::concat::primitive_desc(dst_nhwc, 1, nhwc_srcs, cpu_engine());
      srcs = nhwc_srcs;
    }
    prim_ = dnnl::concat(pd_);
    inputs_.clear();
    for (std::size_t i = 0; i < srcs.size(); ++i) {
      if (i < to_common_.size() && to_common_[i]) {
        inputs_.push_back(copies_[i]);
      } else {
        inputs_.emplace_back(srcs[i], cpu_engine(), nullptr);
      }
    }
    dst_ = memory(pd_.dst_desc(), cpu_engine(), nullptr);
    return {{dtype, y, layout_of(pd_.dst_desc(), y, dtype)}};
  }
  void run(const std::vector<View>& in, const std::vector<View>& out) override {
    std::unordered_map<int, memory> args;
    for (std::size_t i = 0; i < in.size(); ++i) {
      if (i < to_common_.size() && to_common_[i]) {
        given_[i].set_data_handle(in[i].data);
        to_common_[i].execute(cpu_stream(), given_[i], inputs_[i]);
      } else {
        inputs_[i].set_data_handle(in[i].data);
      }
      args.emplace(DNNL_ARG_MULTIPLE_SRC + static_cast<int>(i), inputs_[i]);
    }
    dst_.set_data_handle(out[0].data);
    args.emplace(DNNL_ARG_DST, dst_);
    prim_.execute(cpu_stream(), args);
    cpu_stream().wait();
  }
  std::string implementation() const override {
    const bool reorders = std::any_of(to_common_.begin(), to_common_.end(), [](const auto& r) { return bool(r); });
    return impl_name(pd_) + (reorders ? " +input reorders" : "");
  }

 private:
  const onnx::NodeProto& node_;
  dnnl::concat::primitive_desc pd_;
  dnnl::concat prim_;
  std::vector<memory> inputs_;
  memory dst_;
  // Mixed layouts: each input as given, its reorder to nhwc (empty when it
  // is nhwc already) and the nhwc copies the concat reads.
  std::vector<memory> given_;
  std::vector<dnnl::reorder> to_common_;
  std::vector<memory> copies_;
};

// Add/Sub/Mul/Div of 4-D float tensors in blocked layouts, with oneDNN's
// broadcasting of the second operand (e.g. a [N,C,1,1] scale on [N,C,H,W]).
// Operands may be float32 or bfloat16; the result has the larger one's type.
class BinaryPrimitiveKernel final : public Kernel {
 public:
  BinaryPrimitiveKernel(const onnx::NodeProto& node, std::optional<QuantizedDst> quantized)
      : node_(node), quantized_(quantized) {}
  bool accepts_layouts(const std::vector<InputDesc>&) const override { return true; }
  std::vector<OutputDesc> prepare(const std::vector<InputDesc>& in) override {
    const std::string& op = node_.op_type();
    const bool commutative = op == "Add" || op == "Mul";
    swapped_ = shape_element_count(in[0].shape) < shape_element_count(in[1].shape);
    if (swapped_ && !commutative) throw Error(node_prefix(node_) + "the first operand must be the larger one");
    const InputDesc& big = in[swapped_ ? 1 : 0];
    const InputDesc& small = in[swapped_ ? 0 : 1];
    const auto algorithm = op == "Add"   ? dnnl::algorithm::binary_add
                           : op == "Mul" ? dnnl::algorithm::binary_mul
                           : op == "Sub" ? dnnl::algorithm::binary_sub
                                         : dnnl::algorithm::binary_div;
    const DType out_type = quantized_ ? quantized_->dtype : big.dtype;
    dnnl::primitive_attr attr;
    if (quantized_) {
      dnnl::post_ops ops;
      ops.append_eltwise(1.0F, dnnl::algorithm::eltwise_linear, quantized_->inverse_scale, 0.0F);
      attr.set_post_ops(ops);
    }
    // A plain smaller operand of lower rank broadcasts from the right: [C, 1, 1] is [1, C, 1, 1].
    Shape small_shape = small.shape;
    while (small_shape.size() < big.shape.size()) small_shape.insert(small_shape.begin(), 1);
    const memory::desc small_md = small_shape.size() == small.shape.size()
                                      ? physical_desc(small)
                                      : memory::desc(to_dims(small_shape), to_onednn(small.dtype), plain_tag(4));
    // A quantized result is written nhwc, what the int8 convolutions read,
    // unless oneDNN has only its reference kernel for that.
    auto binary_for = [&](const memory::desc& big_md) {
      auto make = [&](tag dst_tag) {
        const memory::desc dst(to_dims(big.shape), to_onednn(out_type), dst_tag);
        return dnnl::binary::primitive_desc(dnnl::binary::desc(algorithm, big_md, small_md, dst), attr, cpu_engine());
      };
      if (quantized_) {
        auto nhwc = make(tag::acdb);
        if (!is_reference_impl(nhwc)) return nhwc;
      }
      return make(tag::any);
    };
    const memory::desc given = physical_desc(big);
    pd_ = binary_for(given);
    big_reorder_ = dnnl::reorder();
    // oneDNN 2.6 has no jit binary for some blocked layouts with a
    // broadcast operand: a squeeze-excitation Mul on aBcd8b (RegNet-Y's
    // grouped Convs, 8 channels a group, write that) ran ref:any and made
    // regnet_y_400mf 1.8x ONNX Runtime. Such an operand is reordered to
    // nhwc first, as a Conv's "+src reorder".
    if (is_reference_impl(pd_) && is_blocked(big.layout) && big.shape.size() == 4) {
      const memory::desc nhwc(to_dims(big.shape), to_onednn(big.dtype), tag::acdb);
      auto alternative = binary_for(nhwc);
      if (!is_reference_impl(alternative)) {
        pd_ = alternative;
        big_given_ = memory(given, cpu_engine(), nullptr);
        big_nhwc_ = memory(nhwc, cpu_engine());
        big_reorder_ = dnnl::reorder(big_given_, big_nhwc_);
      }
    }
    // A squeeze-excitation's Mul (nhwc by one value per channel) runs as
    // channel_scale_nhwc() (channel_ops.h), as the mean before it does. The
    // per-channel operand's bytes are the same in nchw and nhwc.
    const std::string small_layout = layout_name(small_md);
    const bool per_channel = small_shape.size() == 4 && small_shape[1] == big.shape[1] && small_shape[2] == 1 &&
                             small_shape[3] == 1 && (small_shape[0] == 1 || small_shape[0] == big.shape[0]) &&
                             (small_layout == "abcd" || small_layout == "acdb");
    channel_scale_ = op == "Mul" && !quantized_ && !big_reorder_ && per_channel && layout_name(given) == "acdb" &&
                     layout_name(pd_.dst_desc()) == "acdb" && out_type == big.dtype;
    if (channel_scale_) {
      extent_ = {big.shape[0], big.shape[2] * big.shape[3], big.shape[1]};
      big_type_ = big.dtype;
      small_type_ = small.dtype;
      scale_per_image_ = small_shape[0] > 1;
    } else {
      prim_ = dnnl::binary(pd_);
      src0_ = big_reorder_ ? big_nhwc_ : memory(given, cpu_engine(), nullptr);
      src1_ = memory(small_md, cpu_engine(), nullptr);
      dst_ = memory(pd_.dst_desc(), cpu_engine(), nullptr);
    }
    return {{out_type, big.shape, layout_of(pd_.dst_desc(), big.shape, out_type)}};
  }
  void run(const std::vector<View>& in, const std::vector<View>& out) override {
    if (channel_scale_) {
      return channel_scale_nhwc(in[swapped_ ? 1 : 0].data, big_type_, in[swapped_ ? 0 : 1].data, small_type_,
                                scale_per_image_, extent_, out[0].data, big_type_);
    }
    if (big_reorder_) {
      big_given_.set_data_handle(in[swapped_ ? 1 : 0].data);
      big_reorder_.execute(cpu_stream(), big_given_, big_nhwc_);
    } else {
      src0_.set_data_handle(in[swapped_ ? 1 : 0].data);
    }
    src1_.set_data_handle(in[swapped_ ? 0 : 1].data);
    dst_.set_data_handle(out[0].data);
    prim_.execute(cpu_stream(), {{DNNL_ARG_SRC_0, src0_}, {DNNL_ARG_SRC_1, src1_}, {DNNL_ARG_DST, dst_}});
    cpu_stream().wait();
  }
  std::string implementation() const override {
    if (channel_scale_) return "channel_scale_nhwc";
    return impl_name(pd_) + (big_reorder_ ? " +src reorder" : "");
  }

 private:
  const onnx::NodeProto& node_;
  std::optional<QuantizedDst> quantized_;
  bool swapped_ = false;
  bool channel_scale_ = false;  // run() is channel_scale_nhwc(), not the primitive
  NhwcExtent extent_;
  DType big_type_ = DType::kFloat32, small_type_ = DType::kFloat32;
  bool scale_per_image_ = false;
  dnnl::binary::primitive_desc pd_;
  dnnl::binary prim_;
  memory src0_, src1_, dst_;
  // A blocked operand oneDNN has only a reference kernel for: reordered to nhwc first.
  dnnl::reorder big_reorder_;
  memory big_given_, big_nhwc_;
};

}  // namespace

std::unique_ptr<Kernel> make_binary_primitive_kernel(const onnx::NodeProto& node,
                                                     std::optional<QuantizedDst> quantized) {
  return std::make_unique<BinaryPrimitiveKernel>(node, quantized);
}

std::unique_ptr<Kernel> make_reorder_kernel(const Layout& to) { return std::make_unique<ReorderKernel>(to, false); }

std::unique_ptr<Kernel> make_float32_conversion_kernel(const Layout& to) {
  return std::make_unique<ReorderKernel>(to, true);
}

std::unique_ptr<Kernel> make_channel_concat_kernel(const onnx::NodeProto& node) {
  return std::make_unique<ChannelConcatKernel>(node);
}

dnnl::engine& cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

dnnl::stream& cpu_stream() {
  thread_local dnnl::stream stream(cpu_engine());
  return stream;
}

void register_onednn_kernels(std::map<std::string, KernelFactory>& r) {
  r["MaxPool"] = [](const onnx::NodeProto& n, int) { return std::make_unique<PoolKernel>(n, true); };
  r["AveragePool"] = [](const onnx::NodeProto& n, int) { return std::make_unique<PoolKernel>(n, false); };
  r["GlobalAveragePool"] = [](const onnx::NodeProto& n, int) { return std::make_unique<PoolKernel>(n, false, true); };
  r["GlobalMaxPool"] = [](const onnx::NodeProto& n, int) { return std::make_unique<PoolKernel>(n, true, true); };
  r["BatchNormalization"] = [](const onnx::NodeProto& n, int) { return std::make_unique<BatchNormKernel>(n); };
}

}  // namespace inferlab::native
