// The float form of an int8 Conv (conv_float_form.h).
#include "conv_float_form.h"

#include "int8_operands.h"

namespace inferlab::native {

namespace {

// `md` with another data type, same dims and strides (elements): the
// float32 twin of a u8/s8 layout and back.
dnnl::memory::desc retyped(dnnl::memory::desc md, DType dtype) {
  md.data.data_type = static_cast<dnnl_data_type_t>(to_onednn(dtype));
  return md;
}

float scalar_of(const InputDesc& d, const std::string& prefix) {
  if (!d.constant || d.dtype != DType::kFloat32 || d.constant->element_count() != 1)
    throw Error(prefix + "the float form needs a float32 scalar scale", ErrorKind::kUnsupported);
  return d.constant->data_as<float>()[0];
}

}  // namespace

ConvFloatForm::ConvFloatForm(const onnx::NodeProto& node, const std::string& fused_op, float lo, float hi,
                             const std::vector<InputDesc>& in, bool residual, const OutputDesc& out, Tuner* tuner) {
  const std::string prefix = node_prefix(node);
  const InputDesc& x = in.at(Int8Operand::kQuantizedInput);
  const InputDesc& w = in.at(Int8Operand::kWeights);
  const InputDesc& s_w = in.at(Int8Operand::kWeightScale);
  if (!w.constant || w.dtype != DType::kInt8 || !s_w.constant || s_w.dtype != DType::kFloat32)
    throw Error(prefix + "the float form needs constant int8 weights and float32 scales", ErrorKind::kUnsupported);
  const float s_x = scalar_of(in.at(Int8Operand::kInputScale), prefix);
  weights_ = dequantize_int8_constant(*w.constant, *s_w.constant, /*axis=*/0);  // per output channel
  weights_constant_ = Constant(DType::kFloat32, w.shape, weights_.data());

  // The float Conv's inputs: source (the quantized input's layout, float32),
  // weights, bias, residual.
  std::vector<InputDesc> descs(3);
  descs[0] = {DType::kFloat32, x.shape, nullptr, is_blocked(x.layout) ? retyped(x.layout, DType::kFloat32) : Layout()};
  descs[1] = {DType::kFloat32, w.shape, &weights_constant_, Layout()};
  const InputDesc& bias = in.at(Int8Operand::kBias);
  if (bias.constant) descs[2] = bias;
  if (residual) descs.push_back(in.back());
  conv_ = kernel_registry().at("Conv")(node, 13);
  if (!fused_op.empty() && !conv_->fuse_epilogue(fused_op, lo, hi))
    throw Error(prefix + "the float form cannot fuse " + fused_op, ErrorKind::kUnsupported);
  conv_->set_tuner(tuner);
  const std::vector<OutputDesc> conv_out = conv_->prepare(descs);
  weights_.clear();  // prepacked by the float Conv
  weights_.shrink_to_fit();

  const dnnl::memory::desc x_md = physical_desc(x);
  const dnnl::memory::desc source_md = retyped(x_md, DType::kFloat32);
  dequantize_.prepare(x_md, source_md, s_x);
  source_.resize(source_md.get_size() / sizeof(float));
  const InputDesc product{DType::kFloat32, conv_out[0].shape, nullptr, conv_out[0].layout};
  const dnnl::memory::desc product_md = physical_desc(product);
  product_.resize(product_md.get_size() / sizeof(float));
  const bool requantized = out.dtype != DType::kFloat32;
  const float to_out = requantized ? 1.0F / scalar_of(in.at(Int8Operand::kOutputScale), prefix) : 1.0F;
  finish_.prepare(product_md, physical_desc({out.dtype, out.shape, nullptr, out.layout}), to_out);
  conv_in_.assign(descs.size(), View{});
  conv_in_[0].data = source_.data();
  conv_out_.assign(1, View{DType::kFloat32, product.shape, product_.data()});
}

void ConvFloatForm::run(void* source, void* residual, void* out) {
  dequantize_.run(source, source_.data());
  if (residual) conv_in_.back().data = residual;
  conv_->run(conv_in_, conv_out_);
  finish_.run(product_.data(), out);
}

std::string ConvFloatForm::implementation() const { return "dequantized to f32: " + conv_->implementation(); }

}  // namespace inferlab::native
