// LayerNormalization (ONNX opset 17's op, and what rewrite_layernorm() makes
// of the decomposed form torch exports below opset 17) on oneDNN's
// layer_normalization primitive. ONNX normalises over every dim from `axis`
// on; oneDNN over the last, so the tensor is viewed as [rows, normalised].
#include <cmath>
#include <unordered_map>

#include "kernel.h"
#include "onednn_context.h"
#include "onednn_util.h"

namespace inferlab::native {

namespace {

using dnnl::memory;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

class LayerNormKernel final : public Kernel {
 public:
  explicit LayerNormKernel(const onnx::NodeProto& node) : node_(node) {}

  std::vector<OutputDesc> prepare(const std::vector<InputDesc>& in) override {
    if (in.empty() || in[0].dtype != DType::kFloat32)
      throw Error(node_prefix(node_) + "expects a float32 input", ErrorKind::kUnsupported);
    const Shape& x = in[0].shape;
    const auto rank = static_cast<std::int64_t>(x.size());
    Attributes a(node_);
    std::int64_t axis = a.i("axis", -1);
    if (axis < 0) axis += rank;
    if (axis < 0 || axis >= rank)
      throw Error(node_prefix(node_) + "axis out of range for a rank-" + std::to_string(rank) + " input");
    epsilon_ = a.f("epsilon", 1e-5F);
    std::int64_t rows = 1, width = 1;
    for (std::int64_t d = 0; d < axis; ++d) rows *= x[d];
    for (std::int64_t d = axis; d < rank; ++d) width *= x[d];
    rows_ = rows;

    auto flags = dnnl::normalization_flags::none;
    auto& eng = cpu_engine();
    const memory::desc vector_md({width}, dt::f32, tag::a);
    // Scale and bias: constant, with the normalised dims' element count
    // (broadcasting them into those dims changes nothing once flattened).
    for (std::size_t k = 1; k <= 2; ++k) {
      if (in.size() <= k || (in[k].shape.empty() && !in[k].constant)) continue;  // absent
      if (in[k].dtype != DType::kFloat32 || !in[k].constant)
        throw Error(node_prefix(node_) + (k == 1 ? "scale" : "bias") + " must be a float32 constant",
                    ErrorKind::kUnsupported);
      if (in[k].constant->element_count() != width)
        throw Error(node_prefix(node_) + (k == 1 ? "scale" : "bias") + " has " +
                    std::to_string(in[k].constant->element_count()) + " values for " + std::to_string(width) +
                    " normalised elements per row");
      memory& target = k == 1 ? scale_ : shift_;
      target = memory(vector_md, eng);
      std::copy_n(in[k].constant->data_as<float>(), width, static_cast<float*>(target.get_data_handle()));
      flags |= k == 1 ? dnnl::normalization_flags::use_scale : dnnl::normalization_flags::use_shift;
    }
    // Mean and InvStdDev outputs: oneDNN's training pass computes mean and
    // variance; the variance becomes 1 / sqrt(variance + epsilon) after it.
    statistics_ = node_.output_size() > 1 && !node_.output(1).empty();
    statistics_ = statistics_ || (node_.output_size() > 2 && !node_.output(2).empty());
    const memory::desc md({rows, width}, dt::f32, tag::ab);
    const auto prop = statistics_ ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
    pd_ = dnnl::layer_normalization_forward::primitive_desc(
        dnnl::layer_normalization_forward::desc(prop, md, epsilon_, flags), eng);
    prim_ = dnnl::layer_normalization_forward(pd_);
    src_ = memory(md, eng, nullptr);
    dst_ = memory(md, eng, nullptr);
    if (statistics_) {
      mean_ = memory(pd_.mean_desc(), eng);
      variance_ = memory(pd_.variance_desc(), eng);
    }
    Shape stats_shape(x.begin(), x.begin() + axis);
    stats_shape.resize(x.size(), 1);
    std::vector<OutputDesc> outs{{DType::kFloat32, x, Layout()}};
    for (int k = 1; k < node_.output_size(); ++k) outs.push_back({DType::kFloat32, stats_shape, Layout()});
    return outs;
  }

  void run(const std::vector<View>& in, const std::vector<View>& out) override {
    src_.set_data_handle(in[0].data);
    dst_.set_data_handle(out[0].data);
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src_}, {DNNL_ARG_DST, dst_}};
    if (scale_) args.emplace(DNNL_ARG_SCALE, scale_);
    if (shift_) args.emplace(DNNL_ARG_SHIFT, shift_);
    if (statistics_) {
      args.emplace(DNNL_ARG_MEAN, mean_);
      args.emplace(DNNL_ARG_VARIANCE, variance_);
    }
    prim_.execute(cpu_stream(), args);
    cpu_stream().wait();
    if (!statistics_) return;
    const auto* mean = static_cast<const float*>(mean_.get_data_handle());
    const auto* variance = static_cast<const float*>(variance_.get_data_handle());
    for (std::int64_t r = 0; r < rows_; ++r) {
      if (out.size() > 1 && out[1].data) out[1].f()[r] = mean[r];
      if (out.size() > 2 && out[2].data) out[2].f()[r] = 1.0F / std::sqrt(variance[r] + epsilon_);
    }
  }
  std::string implementation() const override { return impl_name(pd_); }
  // Scale and bias were copied at prepare().
  bool reads_input_at_run(std::size_t index) const override { return index == 0; }

 private:
  const onnx::NodeProto& node_;
  float epsilon_ = 1e-5F;
  std::int64_t rows_ = 1;
  bool statistics_ = false;
  dnnl::layer_normalization_forward::primitive_desc pd_;
  dnnl::layer_normalization_forward prim_;
  memory src_, dst_, scale_, shift_, mean_, variance_;
};

}  // namespace

void register_layernorm_kernels(std::map<std::string, KernelFactory>& r) {
  r["LayerNormalization"] = [](const onnx::NodeProto& n, int) { return std::make_unique<LayerNormKernel>(n); };
}

}  // namespace inferlab::native
