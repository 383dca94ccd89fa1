// ConcatBatchNormalization (concat_batchnorm_rewrite.h): y = BN(Concat(x1,
// ..., xk on axis 1)), with the Relu after it when fusion.cpp fuses one.
// Inputs (scale, B, mean, var, x1, ..., xk).
//
// Float32 inputs in plain (nchw) or nhwc layouts, which is how DenseNet's
// Convs and transitions hand them over here, take one pass: each input's
// channels are read once and written normalised into their place in the
// output (nchw when every input is plain, else nhwc, the plain inputs then
// read channel-strided). Anything else (blocked layouts, bf16) runs
// oneDNN's concat into the output and its batch normalisation in place:
// the two passes as before. (Mixed layouts were 51 of DenseNet-121's 62.)
#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "kernel.h"
#include "onednn_context.h"
#include "onednn_util.h"

namespace inferlab::native {

namespace {

using dnnl::memory;
using tag = dnnl::memory::format_tag;

constexpr std::size_t kFirstInput = 4;  // after scale, B, mean, var

class ConcatBatchNormKernel final : public Kernel {
 public:
  explicit ConcatBatchNormKernel(const onnx::NodeProto& node) : node_(node) {}
  bool accepts_layouts(const std::vector<InputDesc>&) const override { return true; }
  // bf16 inputs only when all of them are (oneDNN's concat takes one type):
  // a mix (DenseNet's bf16 Conv outputs beside a float32 one) is all made
  // float32 by the engine.
  bool accepts_bf16(const std::vector<InputDesc>& in) const override {
    for (std::size_t k = kFirstInput; k < in.size(); ++k) {
      if (in[k].dtype != DType::kBFloat16) return false;
    }
    return in.size() > kFirstInput;
  }
  // The statistics become the per-channel scale and shift at prepare.
  bool reads_input_at_run(std::size_t index) const override { return index >= kFirstInput; }
  bool fuse_epilogue(const std::string& op, float, float) override {
    relu_ = op == "Relu";
    return relu_;
  }

  std::vector<OutputDesc> prepare(const std::vector<InputDesc>& in) override {
    if (in.size() <= kFirstInput) throw Error(node_prefix(node_) + "expects scale, B, mean, var and the inputs");
    Shape y = in[kFirstInput].shape;
    if (y.size() < 2) throw Error(node_prefix(node_) + "inputs need a channel axis");
    y[1] = 0;
    channels_.clear();
    for (std::size_t k = kFirstInput; k < in.size(); ++k) {
      Shape s = in[k].shape;
      if (s.size() != y.size()) throw Error(node_prefix(node_) + "inputs of different ranks");
      for (std::size_t d = 0; d < s.size(); ++d) {
        if (d != 1 && s[d] != y[d])
          throw Error(node_prefix(node_) + "inputs differ outside the channel axis: " +
                      shape_to_string(in[kFirstInput].shape) + " and " + shape_to_string(s));
      }
      channels_.push_back(s[1]);
      y[1] += s[1];
    }
    const std::int64_t c = y[1];
    std::vector<const float*> stats;
    for (std::size_t k = 0; k < kFirstInput; ++k) {
      if (!in[k].constant || in[k].dtype != DType::kFloat32 || in[k].constant->element_count() != c)
        throw Error(node_prefix(node_) + "scale, B, mean and var must be float32 constants of C values",
                    ErrorKind::kUnsupported);
      stats.push_back(in[k].constant->data_as<float>());
    }
    const float epsilon = Attributes(node_).f("epsilon", 1e-5F);
    scale_.resize(static_cast<std::size_t>(c));
    shift_.resize(static_cast<std::size_t>(c));
    for (std::int64_t i = 0; i < c; ++i) {
      // ONNX: (x - mean) / sqrt(var + epsilon) * scale + B, as one multiply-add.
      const double a = double(stats[0][i]) / std::sqrt(double(stats[3][i]) + epsilon);
      scale_[i] = static_cast<float>(a);
      shift_[i] = static_cast<float>(double(stats[1][i]) - double(stats[2][i]) * a);
    }
    pixels_ = 1;
    for (std::size_t d = 2; d < y.size(); ++d) pixels_ *= y[d];
    batch_ = y[0];
    mode_ = one_pass_mode(in);
    if (mode_ == Mode::kNchw) return {{DType::kFloat32, y, Layout()}};
    if (mode_ == Mode::kNhwc) {
      return {{DType::kFloat32, y, layout_of(memory::desc(to_dims(y), memory::data_type::f32, tag::acdb), y)}};
    }
    return prepare_two_passes(in, y);
  }

  void run(const std::vector<View>& in, const std::vector<View>& out) override {
    if (mode_ == Mode::kTwoPasses) {
      std::unordered_map<int, memory> args;
      for (std::size_t i = 0; i < inputs_.size(); ++i) {
        inputs_[i].set_data_handle(in[kFirstInput + i].data);
        args.emplace(DNNL_ARG_MULTIPLE_SRC + static_cast<int>(i), inputs_[i]);
      }
      dst_.set_data_handle(out[0].data);
      args.emplace(DNNL_ARG_DST, dst_);
      concat_.execute(cpu_stream(), args);
      bn_args_[DNNL_ARG_SRC] = dst_;
      bn_args_[DNNL_ARG_DST] = dst_;
      bn_.execute(cpu_stream(), bn_args_);
      cpu_stream().wait();
      return;
    }
    float* y = out[0].f();
    const std::int64_t c_total = static_cast<std::int64_t>(scale_.size());
    const float* a = scale_.data();
    const float* b = shift_.data();
    const bool relu = relu_;
    std::int64_t offset = 0;  // the input's first channel in the output
    for (std::size_t i = 0; i < channels_.size(); ++i) {
      const float* x = in[kFirstInput + i].f();
      const std::int64_t ci = channels_[i];
      if (mode_ == Mode::kNchw) {
        // Per (image, channel): a contiguous plane of pixels_ values.
        const std::int64_t planes = batch_ * ci, hw = pixels_;
#pragma omp parallel for schedule(static) if (planes * hw > 4096)
        for (std::int64_t p = 0; p < planes; ++p) {
          const std::int64_t n = p / ci, ch = p % ci;
          const float* src = x + p * hw;
          float* dst = y + (n * c_total + offset + ch) * hw;
          const float s = a[offset + ch], t = b[offset + ch];
          for (std::int64_t k = 0; k < hw; ++k) {
            const float v = src[k] * s + t;
            dst[k] = relu && v < 0 ? 0.0F : v;
          }
        }
      } else if (plain_input_[i]) {
        // A plain (nchw) input into the nhwc output: per (image, pixel), its
        // channels lie pixels_ apart.
        const std::int64_t positions = batch_ * pixels_, hw = pixels_;
        const float* as = a + offset;
        const float* bs = b + offset;
#pragma omp parallel for schedule(static) if (positions * ci > 4096)
        for (std::int64_t p = 0; p < positions; ++p) {
          const float* src = x + (p / hw) * ci * hw + p % hw;
          float* dst = y + p * c_total + offset;
          for (std::int64_t k = 0; k < ci; ++k) {
            const float v = src[k * hw] * as[k] + bs[k];
            dst[k] = relu && v < 0 ? 0.0F : v;
          }
        }
      } else {
        // Per pixel: the input's ci channels are contiguous, and so is their place in the output.
        const std::int64_t positions = batch_ * pixels_;
        const float* as = a + offset;
        const float* bs = b + offset;
#pragma omp parallel for schedule(static) if (positions * ci > 4096)
        for (std::int64_t p = 0; p < positions; ++p) {
          const float* src = x + p * ci;
          float* dst = y + p * c_total + offset;
          for (std::int64_t k = 0; k < ci; ++k) {
            const float v = src[k] * as[k] + bs[k];
            dst[k] = relu && v < 0 ? 0.0F : v;
          }
        }
      }
      offset += ci;
    }
  }

  std::string implementation() const override {
    switch (mode_) {
      case Mode::kNchw:
        return "fused concat+bnorm (nchw)";
      case Mode::kNhwc:
        return std::count(plain_input_.begin(), plain_input_.end(), true) > 0 ? "fused concat+bnorm (nchw+nhwc to nhwc)"
                                                                              : "fused concat+bnorm (nhwc)";
      default:
        return impl_name(concat_pd_) + " + " + impl_name(bn_pd_);
    }
  }

 private:
  enum class Mode { kNchw, kNhwc, kTwoPasses };

  // One pass needs float32 inputs: all plain (any rank), or each plain or
  // nhwc (rank 4). Notes which inputs are plain.
  Mode one_pass_mode(const std::vector<InputDesc>& in) {
    bool plain = true, nhwc_or_plain = true;
    plain_input_.clear();
    for (std::size_t k = kFirstInput; k < in.size(); ++k) {
      if (in[k].dtype != DType::kFloat32) return Mode::kTwoPasses;
      const bool blocked = is_blocked(in[k].layout);
      plain = plain && !blocked;
      nhwc_or_plain = nhwc_or_plain && in[k].shape.size() == 4 && (!blocked || layout_name(in[k].layout) == "acdb");
      plain_input_.push_back(!blocked);
    }
    return plain ? Mode::kNchw : nhwc_or_plain ? Mode::kNhwc : Mode::kTwoPasses;
  }

  std::vector<OutputDesc> prepare_two_passes(const std::vector<InputDesc>& in, const Shape& y) {
    auto& eng = cpu_engine();
    std::vector<memory::desc> srcs;
    const DType dtype = in[kFirstInput].dtype;
    for (std::size_t k = kFirstInput; k < in.size(); ++k) {
      if (in[k].dtype != dtype) throw Error(node_prefix(node_) + "inputs of different types", ErrorKind::kUnsupported);
      srcs.push_back(physical_desc(in[k]));
    }
    concat_pd_ = dnnl::concat::primitive_desc(memory::desc(to_dims(y), to_onednn(dtype), tag::any), 1, srcs, eng);
    concat_ = dnnl::concat(concat_pd_);
    inputs_.clear();
    for (const auto& d : srcs) inputs_.emplace_back(d, eng, nullptr);
    dst_ = memory(concat_pd_.dst_desc(), eng, nullptr);
    // The normalisation as a scale and shift over the concatenation, in place.
    auto flags = dnnl::normalization_flags::use_global_stats | dnnl::normalization_flags::use_scale |
                 dnnl::normalization_flags::use_shift;
    if (relu_) flags |= dnnl::normalization_flags::fuse_norm_relu;
    bn_pd_ = dnnl::batch_normalization_forward::primitive_desc(
        {dnnl::prop_kind::forward_inference, concat_pd_.dst_desc(), 0.0F, flags}, eng);
    bn_ = dnnl::batch_normalization_forward(bn_pd_);
    const std::int64_t c = y[1];
    const memory::desc c_md({c}, memory::data_type::f32, tag::x);
    bn_args_.clear();
    const std::vector<float> zeros(static_cast<std::size_t>(c), 0.0F), ones(static_cast<std::size_t>(c), 1.0F);
    // mean 0 and variance 1 (epsilon 0) make oneDNN's BN exactly scale_ * x + shift_.
    const std::pair<int, const std::vector<float>*> operands[] = {
        {DNNL_ARG_SCALE, &scale_}, {DNNL_ARG_SHIFT, &shift_}, {DNNL_ARG_MEAN, &zeros}, {DNNL_ARG_VARIANCE, &ones}};
    for (const auto& [arg, values] : operands) {
      memory m(c_md, eng);
      std::copy(values->begin(), values->end(), static_cast<float*>(m.get_data_handle()));
      bn_args_.emplace(arg, m);
    }
    return {{dtype, y, layout_of(concat_pd_.dst_desc(), y, dtype)}};
  }

  const onnx::NodeProto& node_;
  bool relu_ = false;
  Mode mode_ = Mode::kTwoPasses;
  std::vector<std::int64_t> channels_;  // each input's channel count
  std::vector<bool> plain_input_;       // each input: plain (nchw), else nhwc
  std::vector<float> scale_, shift_;    // per output channel: the BN as y = scale * x + shift
  std::int64_t batch_ = 0, pixels_ = 0;
  // The two-pass form.
  dnnl::concat::primitive_desc concat_pd_;
  dnnl::concat concat_;
  dnnl::batch_normalization_forward::primitive_desc bn_pd_;
  dnnl::batch_normalization_forward bn_;
  std::vector<memory> inputs_;
  memory dst_;
  std::unordered_map<int, memory> bn_args_;
};

}  // namespace

void register_concat_batchnorm_kernel(std::map<std::string, KernelFactory>& r) {
  r["ConcatBatchNormalization"] = [](const onnx::NodeProto& n, int) {
    return std::make_unique<ConcatBatchNormKernel>(n);
  };
}

}  // namespace inferlab::native
