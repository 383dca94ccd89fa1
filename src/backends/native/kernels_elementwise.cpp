// Element-wise kernels: binary ops with numpy broadcasting (float32 and, for
// shape arithmetic folded at prepare, int64) and float32 unary activations.
#include <algorithm>
#include <cmath>

#include "kernel.h"
#include "onednn_context.h"
#include "onednn_util.h"

namespace inferlab::native {

namespace {

// Below this many elements a parallel region costs more than it saves.
constexpr std::int64_t kParallelMin = 1 << 15;

// Strides of `shape` as seen from an output of rank `rank`, 0 on broadcast dims.
std::vector<std::int64_t> broadcast_strides(const Shape& shape, const Shape& out) {
  std::vector<std::int64_t> strides(out.size(), 0);
  std::int64_t stride = 1;
  for (std::size_t k = 0; k < shape.size(); ++k) {
    const std::size_t i = shape.size() - 1 - k;
    const std::size_t o = out.size() - 1 - k;
    strides[o] = shape[i] == 1 ? 0 : stride;
    stride *= shape[i];
  }
  return strides;
}

template <typename T, typename Op>
void binary_loop(const View& a, const View& b, const View& out, Op op) {
  const T* pa = static_cast<const T*>(a.data);
  const T* pb = static_cast<const T*>(b.data);
  T* po = static_cast<T*>(out.data);
  const std::int64_t n = out.elements();
  if (a.shape == out.shape && b.shape == out.shape) {
#pragma omp parallel for if (n > kParallelMin) schedule(static)
    for (std::int64_t i = 0; i < n; ++i) po[i] = op(pa[i], pb[i]);
    return;
  }
  if (out.shape.empty()) {
    po[0] = op(pa[0], pb[0]);
    return;
  }
  const auto sa = broadcast_strides(a.shape, out.shape);
  const auto sb = broadcast_strides(b.shape, out.shape);
  const std::size_t rank = out.shape.size();
  const std::int64_t inner = out.shape.back();
  const std::int64_t ia = sa.back(), ib = sb.back();
  const std::int64_t rows = n / std::max<std::int64_t>(inner, 1);
  // Rows are independent: each computes its operands' offsets from its index.
#pragma omp parallel for if (n > kParallelMin) schedule(static)
  for (std::int64_t row = 0; row < rows; ++row) {
    std::int64_t oa = 0, ob = 0, rest = row;
    for (std::size_t d = rank - 1; d-- > 0;) {
      const std::int64_t i = rest % out.shape[d];
      rest /= out.shape[d];
      oa += i * sa[d];
      ob += i * sb[d];
    }
    T* dst = po + row * inner;
    for (std::int64_t k = 0; k < inner; ++k) dst[k] = op(pa[oa + k * ia], pb[ob + k * ib]);
  }
}

class BinaryKernel final : public Kernel {
 public:
  BinaryKernel(const onnx::NodeProto& node) : node_(node), op_(node.op_type()) {}
  // A QuantizeLinear that is the result's only reader (fusion.h): its scale
  // and zero point follow the two operands, and the result is written u8/s8.
  bool fuse_epilogue(const std::string& op, float, float) override {
    quantized_ = op == "QuantizeLinear";
    return quantized_;
  }
  std::vector<OutputDesc> prepare(const std::vector<InputDesc>& in) override {
    if (quantized_) return prepare_quantized(in);
    return prepare_float(in);
  }
  std::vector<OutputDesc> prepare_float(const std::vector<InputDesc>& in) {
    if (in.size() != 2) throw Error(node_prefix(node_) + "expects 2 inputs");
    onednn_.reset();
    // bf16 activations (a bf16 session) go to oneDNN's binary, which reads them as they are.
    if (accepts_bf16(in)) {
      onednn_ = make_binary_primitive_kernel(node_);
      return onednn_->prepare(in);
    }
    if (in[0].dtype != in[1].dtype)
      throw Error(node_prefix(node_) + "inputs of different dtypes are not supported", ErrorKind::kUnsupported);
    if (in[0].dtype != DType::kFloat32 && in[0].dtype != DType::kInt64) {
      throw Error(node_prefix(node_) + "dtype " + dtype_name(in[0].dtype) + " is not supported",
                  ErrorKind::kUnsupported);
    }
    if (op_ == "Pow" && in[0].dtype != DType::kFloat32)
      throw Error(node_prefix(node_) + "Pow needs float32", ErrorKind::kUnsupported);
    if ((is_blocked(in[0].layout) || is_blocked(in[1].layout)) && !same_blocked_layout(in)) {
      onednn_ = make_binary_primitive_kernel(node_);
      return onednn_->prepare(in);
    }
    OutputDesc out{in[0].dtype, broadcast_shapes(in[0].shape, in[1].shape, node_prefix(node_)), in[0].layout};
    // Same blocked layout on both sides: one flat loop over the padded buffer.
    physical_ = is_blocked(in[0].layout) ? static_cast<std::int64_t>(in[0].layout.get_size() / 4) : 0;
    return {out};
  }
  bool accepts_layouts(const std::vector<InputDesc>& in) const override {
    if (in.size() < 2) return true;
    const std::vector<InputDesc> operands(in.begin(), in.begin() + 2);  // a fused Q's scale and zero point follow
    if (!is_blocked(operands[0].layout) && !is_blocked(operands[1].layout)) return true;
    return same_blocked_layout(operands) || primitive_fits(operands);
  }
  bool accepts_bf16(const std::vector<InputDesc>& in) const override {
    return in.size() == 2 && (in[0].dtype == DType::kBFloat16 || in[1].dtype == DType::kBFloat16) && primitive_fits(in);
  }
  std::string implementation() const override {
    return (onednn_ ? onednn_->implementation() : "reference") + (requantize_ ? " +" + requantize_->name() : "");
  }
  // A fused QuantizeLinear's scale and zero point (inputs 2 and 3) were read
  // at prepare; the float paths read inputs 0 and 1 only.
  void run(const std::vector<View>& in, const std::vector<View>& out) override {
    if (!requantize_) return run_float(in, out);  // a quantizing primitive writes u8/s8 itself
    run_float(in, float_result_view_);
    requantize_->run(float_result_.data(), out[0].data);
  }

 private:
  // The result quantized: oneDNN's binary writes u8/s8 itself where it fits;
  // elsewhere the float result goes to a buffer of this kernel's and one
  // scaled reorder quantizes it (the two steps as before, in one).
  std::vector<OutputDesc> prepare_quantized(const std::vector<InputDesc>& in) {
    if (in.size() != 4) throw Error(node_prefix(node_) + "a fused QuantizeLinear needs its scale and zero point");
    const InputDesc& scale = in[2];
    const InputDesc& zero_point = in[3];
    if (!scale.constant || scale.dtype != DType::kFloat32 || scale.constant->element_count() != 1 ||
        !zero_point.constant || (zero_point.dtype != DType::kUInt8 && zero_point.dtype != DType::kInt8) ||
        zero_point.constant->element_count() != 1 || zero_point.constant->data_as<std::uint8_t>()[0] != 0) {
      throw Error(node_prefix(node_) + "a fused QuantizeLinear needs a constant scalar scale and zero point 0");
    }
    const QuantizedDst q{zero_point.dtype, 1.0F / scale.constant->data_as<float>()[0]};
    const std::vector<InputDesc> operands(in.begin(), in.begin() + 2);
    onednn_.reset();
    requantize_.reset();
    if (primitive_fits(operands)) {
      onednn_ = make_binary_primitive_kernel(node_, q);
      return onednn_->prepare(operands);
    }
    const OutputDesc result = prepare_float(operands).at(0);
    if (result.dtype != DType::kFloat32)
      throw Error(node_prefix(node_) + "a fused QuantizeLinear needs a float32 result", ErrorKind::kUnsupported);
    const InputDesc as_input{result.dtype, result.shape, nullptr, result.layout};
    const dnnl::memory::desc from = physical_desc(as_input);
    const Shape& y = result.shape;
    const dnnl::memory::desc to(to_dims(y), to_onednn(q.dtype),
                                y.size() == 4 ? dnnl::memory::format_tag::acdb : plain_tag(y.size()));
    float_result_.assign(from.get_size() / sizeof(float), 0.0F);
    float_result_view_ = {View{DType::kFloat32, y, float_result_.data()}};
    requantize_ = std::make_unique<ScaledReorder>();
    requantize_->prepare(from, to, q.inverse_scale);
    return {{q.dtype, y, layout_of(to, y, q.dtype)}};
  }
  void run_float(const std::vector<View>& in, const std::vector<View>& out) {
    if (onednn_) return onednn_->run(in, out);
    if (physical_ > 0) {
      View a = in[0], b = in[1], y = out[0];
      a.shape = b.shape = y.shape = {physical_};
      return dispatch<float>({a, b}, {y});
    }
    if (in[0].dtype == DType::kInt64) {
      dispatch<std::int64_t>(in, out);
    } else {
      dispatch<float>(in, out);
    }
  }

  template <typename T>
  void dispatch(const std::vector<View>& in, const std::vector<View>& out) {
    if (op_ == "Add") return binary_loop<T>(in[0], in[1], out[0], [](T x, T y) { return x + y; });
    if (op_ == "Sub") return binary_loop<T>(in[0], in[1], out[0], [](T x, T y) { return x - y; });
    if (op_ == "Mul") return binary_loop<T>(in[0], in[1], out[0], [](T x, T y) { return x * y; });
    if (op_ == "Div") return binary_loop<T>(in[0], in[1], out[0], [](T x, T y) { return x / y; });
    if constexpr (std::is_same_v<T, float>) {
      // x^2 is by far the common case (LayerNorm variance); std::pow is slow.
      if (op_ == "Pow") {
        return binary_loop<T>(in[0], in[1], out[0], [](T x, T y) { return y == 2.0F ? x * x : std::pow(x, y); });
      }
    }
    throw Error(node_prefix(node_) + "unsupported binary op");
  }
  static bool same_blocked_layout(const std::vector<InputDesc>& in) {
    return in[0].layout == in[1].layout && in[0].shape == in[1].shape && in[0].dtype == DType::kFloat32;
  }
  // oneDNN's binary primitive: 4-D float32 or bfloat16, the larger operand first unless Add/Mul.
  bool primitive_fits(const std::vector<InputDesc>& in) const {
    auto floating = [](DType t) { return t == DType::kFloat32 || t == DType::kBFloat16; };
    if (op_ == "Pow" || !floating(in[0].dtype) || !floating(in[1].dtype)) return false;
    const bool swapped = shape_element_count(in[0].shape) < shape_element_count(in[1].shape);
    // The larger operand 4-D; the smaller one 4-D, or a plain one of lower
    // rank that broadcasts from the right (ConvNeXt's layer scale, [C, 1, 1]).
    const InputDesc& big = in[swapped ? 1 : 0];
    const InputDesc& small = in[swapped ? 0 : 1];
    if (big.shape.size() != 4 || small.shape.size() > 4 || (small.shape.size() < 4 && is_blocked(small.layout)))
      return false;
    return !swapped || op_ == "Add" || op_ == "Mul";
  }

  const onnx::NodeProto& node_;
  std::string op_;
  std::int64_t physical_ = 0;  // > 0: blocked inputs, flat loop of this many floats
  std::unique_ptr<Kernel> onednn_;
  bool quantized_ = false;                     // a QuantizeLinear fused after the result
  std::unique_ptr<ScaledReorder> requantize_;  // quantized without the primitive: float result -> u8/s8
  std::vector<float> float_result_;            // ... and the float result it reads,
  std::vector<View> float_result_view_;        // ... as the float path's output
};

// F is a stateless lambda type, so the per-element call inlines.
template <typename F>
class UnaryKernel final : public Kernel {
 public:
  UnaryKernel(const onnx::NodeProto& node, F f) : node_(node), f_(f) {}
  // Element by element: any layout works, padding included.
  bool accepts_layouts(const std::vector<InputDesc>&) const override { return true; }
  std::vector<OutputDesc> prepare(const std::vector<InputDesc>& in) override {
    if (in.empty() || in[0].dtype != DType::kFloat32)
      throw Error(node_prefix(node_) + "expects a float32 input", ErrorKind::kUnsupported);
    count_ = is_blocked(in[0].layout) ? static_cast<std::int64_t>(in[0].layout.get_size() / 4)
                                      : shape_element_count(in[0].shape);
    return {{DType::kFloat32, in[0].shape, in[0].layout}};
  }
  void run(const std::vector<View>& in, const std::vector<View>& out) override {
    const float* x = in[0].f();
    float* y = out[0].f();
    const auto f = f_;
#pragma omp parallel for if (count_ > kParallelMin) schedule(static)
    for (std::int64_t i = 0; i < count_; ++i) y[i] = f(x[i]);
  }

 private:
  const onnx::NodeProto& node_;
  F f_;
  std::int64_t count_ = 0;
};

// Activations as one oneDNN eltwise, vectorised: Gelu (ONNX opset 20's op,
// which rewrite_gelu() makes of torch's five-node export, where Erf alone
// was a scalar loop) and HardSwish (x * max(0, min(1, x / 6 + 1 / 2)),
// oneDNN 2.6's fixed hardswish).
class EltwiseKernel final : public Kernel {
 public:
  EltwiseKernel(const onnx::NodeProto& node, dnnl::algorithm algorithm) : node_(node), algorithm_(algorithm) {}
  bool accepts_layouts(const std::vector<InputDesc>&) const override { return true; }
  std::vector<OutputDesc> prepare(const std::vector<InputDesc>& in) override {
    if (in.empty() || in[0].dtype != DType::kFloat32)
      throw Error(node_prefix(node_) + "expects a float32 input", ErrorKind::kUnsupported);
    // Debian's ONNX (opset <= 18) rejects opset-20 models at load, so only
    // rewrite_gelu()'s nodes get here: the exact (erf) form.
    const std::string approximate = Attributes(node_).s("approximate", "none");
    if (algorithm_ == dnnl::algorithm::eltwise_gelu_erf && approximate != "none")
      throw Error(node_prefix(node_) + "approximate '" + approximate + "' is not supported (only 'none')",
                  ErrorKind::kUnsupported);
    // Element by element, so the buffer is one flat vector in any layout.
    const std::int64_t count = is_blocked(in[0].layout) ? static_cast<std::int64_t>(in[0].layout.get_size() / 4)
                                                        : shape_element_count(in[0].shape);
    const dnnl::memory::desc flat({count}, dnnl::memory::data_type::f32, dnnl::memory::format_tag::a);
    dnnl::eltwise_forward::desc desc(dnnl::prop_kind::forward_inference, algorithm_, flat, 0.0F, 0.0F);
    pd_ = dnnl::eltwise_forward::primitive_desc(desc, cpu_engine());
    prim_ = dnnl::eltwise_forward(pd_);
    src_ = dnnl::memory(flat, cpu_engine(), nullptr);
    dst_ = dnnl::memory(flat, cpu_engine(), nullptr);
    return {{DType::kFloat32, in[0].shape, in[0].layout}};
  }
  void run(const std::vector<View>& in, const std::vector<View>& out) override {
    execute_src_dst(prim_, src_, dst_, in[0], out[0]);
  }
  std::string implementation() const override { return impl_name(pd_); }

 private:
  const onnx::NodeProto& node_;
  dnnl::algorithm algorithm_;
  dnnl::eltwise_forward::primitive_desc pd_;
  dnnl::eltwise_forward prim_;
  dnnl::memory src_, dst_;
};

// Clip: bounds from attributes (opset < 11) or constant inputs (opset >= 11).
// HardSigmoid is the same loop after a scale and shift, clamped to [0, 1]
// (max(0, min(1, alpha x + beta)); oneDNN 2.6 has no hardsigmoid): torch
// 1.13 exports MobileNetV3's Hardsigmoid and Hardswish so at opset 13.
class ClipKernel final : public Kernel {
 public:
  explicit ClipKernel(const onnx::NodeProto& node) : node_(node) {
    Attributes a(node);
    lo_ = a.f("min", -INFINITY);
    hi_ = a.f("max", INFINITY);
  }
  ClipKernel(const onnx::NodeProto& node, float scale, float shift)
      : node_(node), lo_(0.0F), hi_(1.0F), scale_(scale), shift_(shift) {}
  bool accepts_layouts(const std::vector<InputDesc>&) const override { return true; }
  std::vector<OutputDesc> prepare(const std::vector<InputDesc>& in) override {
    if (in.empty() || in[0].dtype != DType::kFloat32)
      throw Error(node_prefix(node_) + "expects a float32 input", ErrorKind::kUnsupported);
    count_ = is_blocked(in[0].layout) ? static_cast<std::int64_t>(in[0].layout.get_size() / 4)
                                      : shape_element_count(in[0].shape);
    for (std::size_t k = 1; k < in.size() && k < 3; ++k) {
      if (node_.input(static_cast<int>(k)).empty()) continue;
      if (!in[k].constant)
        throw Error(node_prefix(node_) + "non-constant min/max are not supported", ErrorKind::kUnsupported);
      (k == 1 ? lo_ : hi_) = in[k].constant->data_as<float>()[0];
    }
    return {{DType::kFloat32, in[0].shape, in[0].layout}};
  }
  void run(const std::vector<View>& in, const std::vector<View>& out) override {
    const float* x = in[0].f();
    float* y = out[0].f();
    const float lo = lo_, hi = hi_, scale = scale_, shift = shift_;
#pragma omp parallel for if (count_ > kParallelMin) schedule(static)
    for (std::int64_t i = 0; i < count_; ++i) y[i] = std::min(std::max(x[i] * scale + shift, lo), hi);
  }
  float lo() const { return lo_; }
  float hi() const { return hi_; }

 private:
  const onnx::NodeProto& node_;
  float lo_, hi_;
  float scale_ = 1.0F, shift_ = 0.0F;  // HardSigmoid's alpha and beta
  std::int64_t count_ = 0;
};

// erf as a rational polynomial on [-4, 4] (the form Eigen and XLA use for
// float): vectorizes, and stays within 4e-7 of std::erf (tested). Replacing
// std::erf halved Swin-T's 12 Erf layers (36.6 -> 18.0 ms per run, bench/native_profile).
float fast_erf(float x) {
  x = std::clamp(x, -4.0F, 4.0F);
  const float x2 = x * x;
  float p = x2 * -2.72614225801306e-10F + 2.77068142495902e-08F;
  p = x2 * p + -2.10102402082508e-06F;
  p = x2 * p + -5.69250639462346e-05F;
  p = x2 * p + -7.34990630326855e-04F;
  p = x2 * p + -2.95459980854025e-03F;
  p = x2 * p + -1.60960333262415e-02F;
  p = x * p;
  float q = x2 * -1.45660718464996e-05F + -2.13374055278905e-04F;
  q = x2 * q + -1.68282697438203e-03F;
  q = x2 * q + -7.37332916720468e-03F;
  q = x2 * q + -1.42647390514189e-02F;
  return p / q;
}

}  // namespace

Shape broadcast_shapes(const Shape& a, const Shape& b, const std::string& where) {
  Shape out(std::max(a.size(), b.size()), 1);
  for (std::size_t k = 0; k < out.size(); ++k) {
    const std::int64_t da = k < a.size() ? a[a.size() - 1 - k] : 1;
    const std::int64_t db = k < b.size() ? b[b.size() - 1 - k] : 1;
    if (da != db && da != 1 && db != 1) {
      throw Error(where + "shapes " + shape_to_string(a) + " and " + shape_to_string(b) + " do not broadcast");
    }
    out[out.size() - 1 - k] = da == 1 ? db : da;
  }
  return out;
}

void register_elementwise_kernels(std::map<std::string, KernelFactory>& r) {
  for (const char* op : {"Add", "Sub", "Mul", "Div", "Pow"}) {
    r[op] = [](const onnx::NodeProto& n, int) { return std::make_unique<BinaryKernel>(n); };
  }
  auto unary = [&r](const char* op, auto f) {
    r[op] = [f](const onnx::NodeProto& n, int) { return std::make_unique<UnaryKernel<decltype(f)>>(n, f); };
  };
  unary("Relu", [](float x) { return x > 0 ? x : 0.0F; });
  unary("Sigmoid", [](float x) { return 1.0F / (1.0F + std::exp(-x)); });
  unary("Erf", fast_erf);
  unary("Sqrt", [](float x) { return std::sqrt(x); });
  unary("Exp", [](float x) { return std::exp(x); });
  unary("Tanh", [](float x) { return std::tanh(x); });
  unary("Neg", [](float x) { return -x; });
  unary("Abs", [](float x) { return std::abs(x); });
  r["Clip"] = [](const onnx::NodeProto& n, int) { return std::make_unique<ClipKernel>(n); };
  r["Gelu"] = [](const onnx::NodeProto& n, int) {
    return std::make_unique<EltwiseKernel>(n, dnnl::algorithm::eltwise_gelu_erf);
  };
  r["HardSwish"] = [](const onnx::NodeProto& n, int) {
    return std::make_unique<EltwiseKernel>(n, dnnl::algorithm::eltwise_hardswish);
  };
  r["HardSigmoid"] = [](const onnx::NodeProto& n, int) {
    Attributes a(n);
    return std::make_unique<ClipKernel>(n, a.f("alpha", 0.2F), a.f("beta", 0.5F));
  };
}

}  // namespace inferlab::native
