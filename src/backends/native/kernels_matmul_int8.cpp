// Gemm and MatMul of the optimizer's QDQ pattern as one integer matmul:
//   MatMul(DQ(Q(x, s_x, 0)), DQ(W_q, s_w[n], 0, axis = N's)) (+ bias),
// the source is Q's u8/s8 output itself, the weights s8 read where they
// are, and s_x * s_w[n] applied as oneDNN output scales to the s32 sums.
// Inputs: Int8Operand's [q, s_x, zp_x, W_q, s_w, zp_w, bias] (+ residual),
// the bias being Gemm's C or the bias Add fusion.h folded after a MatMul.
// With tactics, the layer is also timed as its QDQ graph computes it, in
// float32 (the source dequantized by one scaled reorder, the weights at
// prepare): oneDNN 2.6's int8 gemm without VNNI ran a batch-1 classifier's
// two Gemms 6.5x and 8x slower than float32 (mobilenet_v3_small, oneDNN
// capped to AVX2).
#include <algorithm>
#include <memory>
#include <unordered_map>

#include "epilogue.h"
#include "int8_operands.h"
#include "kernel.h"
#include "onednn_context.h"
#include "onednn_util.h"
#include "tactics.h"

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
    float_.reset();
    tactic_note_.clear();
    if (tuner_) choose_form(in, a_md, trans_b, with_bias ? bias : nullptr, y_md, attr, rows, k, n);
    tuner_ = nullptr;  // valid for this prepare() only
    return {{DType::kFloat32, y, Layout()}};
  }
  void set_tuner(Tuner* tuner) override { tuner_ = tuner; }

  void run(const std::vector<View>& in, const std::vector<View>& out) override {
    if (float_)
      return run_float(in[Int8Operand::kQuantizedInput].data, out[0].data,
                       epilogue_.residual ? in.back().data : nullptr);
    run_int8(in[Int8Operand::kQuantizedInput].data, out[0].data, epilogue_.residual ? in.back().data : nullptr);
  }
  std::string implementation() const override {
    return (float_ ? "dequantized to f32: " + impl_name(float_->pd) : impl_name(pd_)) + tactic_note_;
  }
  // The source every run, the int8 weights (read where they are) unless the
  // float form with weights of its own runs, and a fused residual; scales
  // and bias were copied.
  bool reads_input_at_run(std::size_t index) const override {
    return index == Int8Operand::kQuantizedInput || (index == Int8Operand::kWeights && !float_) ||
           (epilogue_.residual && index + 1 == input_count_);
  }

 private:
  // The QDQ graph's own arithmetic: x_q * s_x into float32, W_q * s_w[n]
  // at prepare, then oneDNN's float32 matmul with the unscaled bias and the
  // same epilogue.
  struct FloatForm {
    ScaledReorder dequantize;
    std::vector<float> source, weights;  // the dequantized source (rows x k) and weights
    dnnl::matmul::primitive_desc pd;
    dnnl::matmul prim;
    memory src, weights_mem, bias, dst, residual;
    std::unordered_map<int, memory> args;
  };
  void prepare_float_form(const std::vector<InputDesc>& in, const memory::desc& a_md, bool trans_b,
                          const InputDesc* bias, const memory::desc& y_md, const dnnl::primitive_attr& int8_attr,
                          std::int64_t rows, std::int64_t k, std::int64_t n) {
    auto f = std::make_unique<FloatForm>();
    const memory::desc a_f32({rows, k}, dt::f32, tag::ab);
    f->dequantize.prepare(a_md, a_f32, in[Int8Operand::kInputScale].constant->data_as<float>()[0]);
    f->source.assign(static_cast<std::size_t>(rows * k), 0.0F);
    // The output channel is axis 0 of transB's [n, k], axis 1 of [k, n].
    f->weights = dequantize_int8_constant(*in[Int8Operand::kWeights].constant, *in[Int8Operand::kWeightScale].constant,
                                          trans_b ? 0 : 1);
    const memory::desc w_f32({k, n}, dt::f32, trans_b ? tag::ba : tag::ab);
    const memory::desc bias_md({1, n}, dt::f32, tag::ab);
    dnnl::primitive_attr attr;
    attr.set_post_ops(int8_attr.get_post_ops());
    f->pd = dnnl::matmul::primitive_desc(
        bias ? dnnl::matmul::desc(a_f32, w_f32, bias_md, y_md) : dnnl::matmul::desc(a_f32, w_f32, y_md), attr,
        cpu_engine());
    f->prim = dnnl::matmul(f->pd);
    f->src = memory(a_f32, cpu_engine(), f->source.data());
    f->weights_mem = memory(w_f32, cpu_engine(), f->weights.data());
    if (bias) {
      f->bias = memory(bias_md, cpu_engine());
      std::copy_n(bias->constant->data_as<float>(), n, static_cast<float*>(f->bias.get_data_handle()));
    }
    f->dst = memory(y_md, cpu_engine(), nullptr);
    if (residual_) f->residual = memory(y_md, cpu_engine(), nullptr);
    f->args = weighted_layer_args(f->src, f->weights_mem, f->bias, f->dst, f->residual);
    float_ = std::move(f);
  }
  // The tuner's pick between the int8 primitive (tactic 1, what runs
  // without tactics) and the float form, timed on zeroed scratch inputs;
  // float_ is kept only when it won. A cache naming the int8 primitive
  // spares dequantizing the weights.
  void choose_form(const std::vector<InputDesc>& in, const memory::desc& a_md, bool trans_b, const InputDesc* bias,
                   const memory::desc& y_md, const dnnl::primitive_attr& int8_attr, std::int64_t rows, std::int64_t k,
                   std::int64_t n) {
    const std::string signature =
        "MatMul int8 m=" + std::to_string(rows) + " k=" + std::to_string(k) + " n=" + std::to_string(n) +
        " src=" + dtype_name(in[Int8Operand::kQuantizedInput].dtype) + " tb=" + (trans_b ? "1" : "0") +
        " bias=" + (bias ? "1" : "0") + " res=" + (epilogue_.residual ? "1" : "0") +
        " post=" + (epilogue_.eltwise ? std::to_string(static_cast<int>(epilogue_.algorithm)) : "none");
    const std::string int8_name = "int8:" + impl_name(pd_);
    if (tuner_->cached_tactic(signature) == int8_name) {
      tuner_->count_hit();
      tactic_note_ = " (tactic 1 of 2, cached)";
      return;
    }
    prepare_float_form(in, a_md, trans_b, bias, y_md, int8_attr, rows, k, n);
    const std::vector<std::string> names = {int8_name, kDequantizedFloatTactic};
    auto scratch_src = std::make_shared<std::vector<std::uint8_t>>(static_cast<std::size_t>(rows * k), 0);
    auto scratch_y = std::make_shared<std::vector<float>>(static_cast<std::size_t>(rows * n), 0.0F);
    auto scratch_r = std::make_shared<std::vector<float>>(epilogue_.residual ? scratch_y->size() : 0, 0.0F);
    const auto choice = tuner_->choose(signature, names, [&, scratch_src, scratch_y, scratch_r](std::size_t i) {
      return std::function<void()>([this, i, scratch_src, scratch_y, scratch_r] {
        void* residual = scratch_r->empty() ? nullptr : scratch_r->data();
        if (i == 1) {
          run_float(scratch_src->data(), scratch_y->data(), residual);
        } else {
          run_int8(scratch_src->data(), scratch_y->data(), residual);
        }
      });
    });
    if (choice.index != 1) float_.reset();  // its float weights are not kept
    tactic_note_ =
        " (tactic " + std::to_string(choice.index + 1) + " of 2, " + (choice.from_cache ? "cached)" : "timed)");
  }
  void run_int8(void* source, void* out, void* residual) {
    src_.set_data_handle(source);
    dst_.set_data_handle(out);
    if (residual_) residual_.set_data_handle(residual);
    prim_.execute(cpu_stream(), args_);
    cpu_stream().wait();
  }
  void run_float(void* source, void* out, void* residual) {
    FloatForm& f = *float_;
    f.dequantize.run(source, f.source.data());
    f.dst.set_data_handle(out);
    if (f.residual) f.residual.set_data_handle(residual);
    f.prim.execute(cpu_stream(), f.args);
    cpu_stream().wait();
  }

  const onnx::NodeProto& node_;
  Epilogue epilogue_;
  std::size_t input_count_ = 0;
  dnnl::matmul::primitive_desc pd_;
  dnnl::matmul prim_;
  memory src_, weights_, bias_, dst_, residual_;
  std::unordered_map<int, memory> args_;  // over the memories above (weighted_layer_args)
  Tuner* tuner_ = nullptr;                // set for the next prepare() when tactics are on
  std::unique_ptr<FloatForm> float_;      // the float form: while timed, then only when it runs
  std::string tactic_note_;               // for the profile: which form and how it was chosen
};

}  // namespace

std::unique_ptr<Kernel> make_int8_matmul_kernel(const onnx::NodeProto& node) {
  return std::make_unique<Int8MatMulKernel>(node);
}

}  // namespace inferlab::native
