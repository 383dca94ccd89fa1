// Gemm and MatMul of the optimizer's QDQ pattern as one integer matmul:
//   MatMul(DQ(Q(x, s_x, 0)), DQ(W_q, s_w[n], 0, axis = N's)) (+ bias),
// the source is Q's u8/s8 output itself, the weights s8 read where they
// are, and s_x * s_w[n] applied as oneDNN output scales to the s32 sums.
// Inputs: Int8Operand's [q, s_x, zp_x, W_q, s_w, zp_w, bias] (+ residual),
// the bias being Gemm's C or the bias Add fusion.h folded after a MatMul.
#include <algorithm>
#include <unordered_map>

#include "epilogue.h"
#include "int8_operands.h"
#include "kernel.h"
#include "onednn_context.h"
#include "onednn_util.h"

namespace inferlab::native {

namespace {

using dnnl::memory;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

class Int8MatMulKernel final : public Kernel {
 public:
  explicit Int8MatMulKernel(const onnx::NodeProto& node) : node_(node) {}

  bool fuse_epilogue(const std::string& op, float lo, float hi) override {
    return parse_epilogue(op, lo, hi, epilogue_);
  }

  std::vector<OutputDesc> prepare(const std::vector<InputDesc>& in) override {
    input_count_ = in.size();
    const std::size_t operands = in.size() - (epilogue_.residual ? 1 : 0);
    // Every slot up to the weights' zero point; the bias is optional.
    if (operands < Int8Operand::kBias) throw Error(node_prefix(node_) + "int8: expected the QDQ pattern's six inputs");
    const InputDesc& source = in[Int8Operand::kQuantizedInput];
    const InputDesc& weights = in[Int8Operand::kWeights];
    if (source.dtype != DType::kUInt8 && source.dtype != DType::kInt8)
      throw Error(node_prefix(node_) + "int8: a " + dtype_name(source.dtype) + " source is not supported",
                  ErrorKind::kUnsupported);
    if (!weights.constant || weights.dtype != DType::kInt8 || weights.shape.size() != 2)
      throw Error(node_prefix(node_) + "int8: weights must be a constant 2-D int8 tensor", ErrorKind::kUnsupported);
    const bool trans_b = node_.op_type() == "Gemm" && Attributes(node_).i("transB", 0) != 0;
    const Shape& a = source.shape;
    const Shape& w = weights.shape;
    if (a.size() < 2 || (node_.op_type() == "Gemm" && a.size() != 2))
      throw Error(node_prefix(node_) + "int8: unsupported source rank " + std::to_string(a.size()),
                  ErrorKind::kUnsupported);
    const std::int64_t k = a.back(), n = trans_b ? w[0] : w[1];
    if ((trans_b ? w[1] : w[0]) != k)
      throw Error(node_prefix(node_) + "inner dimensions differ: " + shape_to_string(a) + " x " + shape_to_string(w));
    // Every leading dim of the source folds into the rows of one 2-D product.
    const std::int64_t rows = shape_element_count(a) / k;
    Shape y = a;
    y.back() = n;

    dnnl::primitive_attr attr;
    const std::vector<float> scales = int8_output_scales(in, n, node_prefix(node_));
    attr.set_output_scales(scales.size() == 1 ? 0 : 1 << 1, scales);
    const memory::desc y_md({rows, n}, dt::f32, tag::ab);
    if (epilogue_.residual) {
      if (in.back().shape != y)
        throw Error(node_prefix(node_) + "int8: a residual Add that broadcasts is not supported",
                    ErrorKind::kUnsupported);
      residual_ = memory(y_md, cpu_engine(), nullptr);
    }
    dnnl::post_ops ops;
    append_epilogue(epilogue_, y_md, 1.0F, ops);
    if (ops.len() > 0) attr.set_post_ops(ops);

    const memory::desc a_md({rows, k}, to_onednn(source.dtype), tag::ab);
    const memory::desc b_md({k, n}, dt::s8, trans_b ? tag::ba : tag::ab);
    const InputDesc* bias = operands > Int8Operand::kBias ? &in[Int8Operand::kBias] : nullptr;
    const bool with_bias = bias && bias->constant;
    if (bias && !bias->constant && !bias->shape.empty())
      throw Error(node_prefix(node_) + "a non-constant bias is not supported", ErrorKind::kUnsupported);
    const memory::desc bias_md({1, n}, dt::f32, tag::ab);
    pd_ = dnnl::matmul::primitive_desc(
        with_bias ? dnnl::matmul::desc(a_md, b_md, bias_md, y_md) : dnnl::matmul::desc(a_md, b_md, y_md), attr,
        cpu_engine());
    // The weights are read where they lie, unscaled: a kernel that wants
    // them adjusted (none in oneDNN 2.6's matmul) would sum something else.
    if (weight_scale_adjust(pd_.weights_desc()) != 1.0F)
      throw Error(node_prefix(node_) + "int8: oneDNN's " + impl_name(pd_) + " wants its weights rescaled",
                  ErrorKind::kUnsupported);
    prim_ = dnnl::matmul(pd_);
    if (with_bias) {
      if (bias->constant->element_count() != n || bias->dtype != DType::kFloat32)
        throw Error(node_prefix(node_) + "a bias other than " + std::to_string(n) + " float32 values is not supported",
                    ErrorKind::kUnsupported);
      bias_ = memory(bias_md, cpu_engine());
      auto* b = static_cast<float*>(bias_.get_data_handle());
      std::copy_n(bias->constant->data_as<float>(), n, b);
      // oneDNN 2.x adds the bias to the s32 sums before the output scales.
      for (std::int64_t o = 0; o < n; ++o) b[o] /= scales[scales.size() == 1 ? 0 : o];
    }
    src_ = memory(pd_.src_desc(), cpu_engine(), nullptr);
    weights_ = memory(pd_.weights_desc(), cpu_engine(), const_cast<void*>(weights.constant->data()));
    dst_ = memory(pd_.dst_desc(), cpu_engine(), nullptr);
    args_ = weighted_layer_args(src_, weights_, bias_, dst_, residual_);
    return {{DType::kFloat32, y, Layout()}};
  }

  void run(const std::vector<View>& in, const std::vector<View>& out) override {
    src_.set_data_handle(in[Int8Operand::kQuantizedInput].data);
    dst_.set_data_handle(out[0].data);
    if (residual_) residual_.set_data_handle(in.back().data);
    prim_.execute(cpu_stream(), args_);
    cpu_stream().wait();
  }
  std::string implementation() const override { return impl_name(pd_); }
  // The source and the int8 weights (read where they are) every run, and a
  // fused residual; scales and bias were copied.
  bool reads_input_at_run(std::size_t index) const override {
    return index == Int8Operand::kQuantizedInput || index == Int8Operand::kWeights ||
           (epilogue_.residual && index + 1 == input_count_);
  }

 private:
  const onnx::NodeProto& node_;
  Epilogue epilogue_;
  std::size_t input_count_ = 0;
  dnnl::matmul::primitive_desc pd_;
  dnnl::matmul prim_;
  memory src_, weights_, bias_, dst_, residual_;
  std::unordered_map<int, memory> args_;  // over the memories above (weighted_layer_args)
};

}  // namespace

std::unique_ptr<Kernel> make_int8_matmul_kernel(const onnx::NodeProto& node) {
  return std::make_unique<Int8MatMulKernel>(node);
}

}  // namespace inferlab::native
