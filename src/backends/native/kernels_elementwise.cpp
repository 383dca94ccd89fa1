// Element-wise kernels: binary ops with numpy broadcasting (float32 and, for
// shape arithmetic folded at prepare, int64) and float32 unary activations.
#include <algorithm>
#include <cmath>

#include "kernel.h"

namespace inferlab::native {

namespace {

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
  std::vector<std::int64_t> index(rank, 0);
  for (std::int64_t done = 0; done < n; done += inner) {
    std::int64_t oa = 0, ob = 0;
    for (std::size_t d = 0; d + 1 < rank; ++d) {
      oa += index[d] * sa[d];
      ob += index[d] * sb[d];
    }
    T* dst = po + done;
    for (std::int64_t k = 0; k < inner; ++k) dst[k] = op(pa[oa + k * ia], pb[ob + k * ib]);
    for (std::size_t d = rank - 1; d-- > 0;) {
      if (++index[d] < out.shape[d]) break;
      index[d] = 0;
    }
  }
}

class BinaryKernel final : public Kernel {
 public:
  BinaryKernel(const onnx::NodeProto& node) : node_(node), op_(node.op_type()) {}
  std::vector<OutputDesc> prepare(const std::vector<InputDesc>& in) override {
    if (in.size() != 2) throw Error(node_prefix(node_) + "expects 2 inputs");
    if (in[0].dtype != in[1].dtype) throw Error(node_prefix(node_) + "inputs differ in dtype");
    if (in[0].dtype != DType::kFloat32 && in[0].dtype != DType::kInt64) {
      throw Error(node_prefix(node_) + "dtype " + dtype_name(in[0].dtype) + " is not supported");
    }
    if (op_ == "Pow" && in[0].dtype != DType::kFloat32) throw Error(node_prefix(node_) + "Pow needs float32");
    OutputDesc out{in[0].dtype, broadcast_shapes(in[0].shape, in[1].shape, node_prefix(node_)), in[0].layout};
    // Same blocked layout on both sides: one flat loop over the padded buffer.
    physical_ = is_blocked(in[0].layout) ? static_cast<std::int64_t>(in[0].layout.get_size() / 4) : 0;
    return {out};
  }
  bool accepts_layouts(const std::vector<InputDesc>& in) const override {
    if (in.size() != 2 || (!is_blocked(in[0].layout) && !is_blocked(in[1].layout))) return true;
    return in[0].layout == in[1].layout && in[0].shape == in[1].shape && in[0].dtype == DType::kFloat32;
  }
  void run(const std::vector<View>& in, const std::vector<View>& out) override {
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

 private:
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
  const onnx::NodeProto& node_;
  std::string op_;
  std::int64_t physical_ = 0;  // > 0: blocked inputs, flat loop of this many floats
};

class UnaryKernel final : public Kernel {
 public:
  UnaryKernel(const onnx::NodeProto& node, std::function<float(float)> f) : node_(node), f_(std::move(f)) {}
  // Element by element: any layout works, padding included.
  bool accepts_layouts(const std::vector<InputDesc>&) const override { return true; }
  std::vector<OutputDesc> prepare(const std::vector<InputDesc>& in) override {
    if (in.empty() || in[0].dtype != DType::kFloat32) throw Error(node_prefix(node_) + "expects a float32 input");
    count_ = is_blocked(in[0].layout) ? static_cast<std::int64_t>(in[0].layout.get_size() / 4)
                                      : shape_element_count(in[0].shape);
    return {{DType::kFloat32, in[0].shape, in[0].layout}};
  }
  void run(const std::vector<View>& in, const std::vector<View>& out) override {
    const float* x = in[0].f();
    float* y = out[0].f();
    for (std::int64_t i = 0; i < count_; ++i) y[i] = f_(x[i]);
  }

 private:
  const onnx::NodeProto& node_;
  std::function<float(float)> f_;
  std::int64_t count_ = 0;
};

// Clip: bounds from attributes (opset < 11) or constant inputs (opset >= 11).
class ClipKernel final : public Kernel {
 public:
  explicit ClipKernel(const onnx::NodeProto& node) : node_(node) {
    Attributes a(node);
    lo_ = a.f("min", -INFINITY);
    hi_ = a.f("max", INFINITY);
  }
  bool accepts_layouts(const std::vector<InputDesc>&) const override { return true; }
  std::vector<OutputDesc> prepare(const std::vector<InputDesc>& in) override {
    if (in.empty() || in[0].dtype != DType::kFloat32) throw Error(node_prefix(node_) + "expects a float32 input");
    count_ = is_blocked(in[0].layout) ? static_cast<std::int64_t>(in[0].layout.get_size() / 4)
                                      : shape_element_count(in[0].shape);
    for (std::size_t k = 1; k < in.size() && k < 3; ++k) {
      if (node_.input(static_cast<int>(k)).empty()) continue;
      if (!in[k].constant) throw Error(node_prefix(node_) + "min/max must be constants");
      (k == 1 ? lo_ : hi_) = in[k].constant->data_as<float>()[0];
    }
    return {{DType::kFloat32, in[0].shape, in[0].layout}};
  }
  void run(const std::vector<View>& in, const std::vector<View>& out) override {
    const float* x = in[0].f();
    float* y = out[0].f();
    for (std::int64_t i = 0; i < count_; ++i) y[i] = std::min(std::max(x[i], lo_), hi_);
  }
  float lo() const { return lo_; }
  float hi() const { return hi_; }

 private:
  const onnx::NodeProto& node_;
  float lo_, hi_;
  std::int64_t count_ = 0;
};

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
  auto unary = [&r](const char* op, float (*f)(float)) {
    r[op] = [f](const onnx::NodeProto& n, int) { return std::make_unique<UnaryKernel>(n, f); };
  };
  unary("Relu", [](float x) { return x > 0 ? x : 0.0F; });
  unary("Sigmoid", [](float x) { return 1.0F / (1.0F + std::exp(-x)); });
  unary("Erf", [](float x) { return std::erf(x); });
  unary("Sqrt", [](float x) { return std::sqrt(x); });
  unary("Exp", [](float x) { return std::exp(x); });
  unary("Tanh", [](float x) { return std::tanh(x); });
  unary("Neg", [](float x) { return -x; });
  unary("Abs", [](float x) { return std::abs(x); });
  r["Clip"] = [](const onnx::NodeProto& n, int) { return std::make_unique<ClipKernel>(n); };
}

}  // namespace inferlab::native
