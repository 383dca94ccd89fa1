// QuantizeLinear, DequantizeLinear and Cast (reference kernels), and the
// float16 conversions at graph edges. The engine computes in float32: a
// float16 value inside the graph is a float32 holding a float16-representable
// number (Cast to FLOAT16 rounds), so an fp16-storage model's numerics are
// reproduced without fp16 arithmetic, which this CPU target does not have.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "inferlab/float16.h"
#include "kernel.h"
#include "onednn_context.h"
#include "onednn_util.h"
#include "quantize_passes.h"

namespace inferlab::native {

namespace {

constexpr std::int64_t kParallelMin = 1 << 15;

// x viewed as [outer, channels, inner] around the quantization axis; channels
// is 1 for per-tensor parameters.
struct AxisSplit {
  std::int64_t outer = 1, channels = 1, inner = 1;
};

AxisSplit split_at(const Shape& x, const Shape& scale, std::int64_t axis, int opset, const onnx::NodeProto& node) {
  AxisSplit s;
  const std::int64_t count = shape_element_count(scale);
  if (scale.size() > 1 || count < 1)
    throw Error(node_prefix(node) + "the scale must be a scalar or a 1-D tensor, got " + shape_to_string(scale));
  if (count == 1) {
    s.inner = shape_element_count(x);
    return s;
  }
  if (opset < 13)
    throw Error(node_prefix(node) + "per-axis scales need opset 13 (the model has " + std::to_string(opset) + ")");
  const auto rank = static_cast<std::int64_t>(x.size());
  if (axis < -rank || axis >= rank)
    throw Error(node_prefix(node) + "axis " + std::to_string(axis) + " is out of range for rank " +
                std::to_string(rank));
  if (axis < 0) axis += rank;
  if (x[axis] != count)
    throw Error(node_prefix(node) + "the scale has " + std::to_string(count) + " values but axis " +
                std::to_string(axis) + " of " + shape_to_string(x) + " has " + std::to_string(x[axis]));
  for (std::int64_t d = 0; d < axis; ++d) s.outer *= x[d];
  s.channels = count;
  for (std::int64_t d = axis + 1; d < rank; ++d) s.inner *= x[d];
  return s;
}

// Rejects the attributes and types of opsets after 13 this engine lacks
// (float8 zero points, blocked quantization, saturate).
void check_qdq_node(const onnx::NodeProto& node) {
  Attributes a(node);
  if (a.has("block_size") && a.i("block_size", 0) != 0)
    throw Error(node_prefix(node) + "blocked quantization (block_size) is not supported", ErrorKind::kUnsupported);
}

DType zero_point_dtype(const std::vector<InputDesc>& in, const onnx::NodeProto& node, DType fallback) {
  if (in.size() < 3 || node.input(2).empty()) return fallback;
  const DType d = in[2].dtype;
  if (d != DType::kUInt8 && d != DType::kInt8 && d != DType::kInt32)
    throw Error(node_prefix(node) + "zero point type " + dtype_name(d) + " is not supported (uint8 and int8 are)",
                ErrorKind::kUnsupported);
  return d;
}

// round(v) half to even for |v| < 2^22: adding 1.5 * 2^23 leaves no
// fraction bits, so the FPU's default rounding does the work (vectorizes,
// unlike std::nearbyint without SSE4.1).
inline float round_half_even(float v) {
  constexpr float kMagic = 12582912.0F;
  return (v + kMagic) - kMagic;
}

template <typename Q>
void quantize_row(const float* x, float scale, float zp, Q* y, std::int64_t n) {
  constexpr float lo = std::numeric_limits<Q>::min(), hi = std::numeric_limits<Q>::max();
  // fmin/fmax keep the magic rounding in range and send NaN to a bound.
  for (std::int64_t i = 0; i < n; ++i) {
    const float v = std::fmin(std::fmax(x[i] / scale, -4.0e6F), 4.0e6F);
    y[i] = static_cast<Q>(std::fmin(std::fmax(round_half_even(v) + zp, lo), hi));
  }
}

template <typename Q>
void quantize(const float* x, const float* scale, const Q* zp, Q* y, const AxisSplit& s) {
  if (s.channels == 1) {
    // One scale: chunks, so every thread still gets work.
    constexpr std::int64_t kChunk = 1 << 14;
    const std::int64_t n = s.outer * s.inner;
    const std::int64_t chunks = (n + kChunk - 1) / kChunk;
    const float z = zp ? static_cast<float>(zp[0]) : 0.0F;
#pragma omp parallel for if (n > kParallelMin) schedule(static)
    for (std::int64_t k = 0; k < chunks; ++k) {
      quantize_row(x + k * kChunk, scale[0], z, y + k * kChunk, std::min(kChunk, n - k * kChunk));
    }
    return;
  }
  const std::int64_t rows = s.outer * s.channels;
#pragma omp parallel for if (rows * s.inner > kParallelMin) schedule(static)
  for (std::int64_t row = 0; row < rows; ++row) {
    const std::int64_t c = row % s.channels;
    quantize_row(x + row * s.inner, scale[c], zp ? static_cast<float>(zp[c]) : 0.0F, y + row * s.inner, s.inner);
  }
}

template <typename Q>
void dequantize(const Q* x, const float* scale, const Q* zp, float* y, const AxisSplit& s) {
  const std::int64_t rows = s.outer * s.channels;
  const std::int64_t total = rows * s.inner;
  if (rows == 1 && total > kParallelMin) {
    const float sc = scale[0];
    const float z = zp ? static_cast<float>(zp[0]) : 0.0F;
#pragma omp parallel for schedule(static)
    for (std::int64_t i = 0; i < total; ++i) y[i] = (static_cast<float>(x[i]) - z) * sc;
    return;
  }
#pragma omp parallel for if (total > kParallelMin) schedule(static)
  for (std::int64_t row = 0; row < rows; ++row) {
    const std::int64_t c = row % s.channels;
    const float sc = scale[c];
    const float z = zp ? static_cast<float>(zp[c]) : 0.0F;
    const Q* xr = x + row * s.inner;
    float* yr = y + row * s.inner;
    for (std::int64_t i = 0; i < s.inner; ++i) yr[i] = (static_cast<float>(xr[i]) - z) * sc;
  }
}

// The optimizer's activation form, per-tensor with a constant scale and
// zero point 0, runs as one oneDNN reorder that scales: any source layout
// in one pass, vectorized. It multiplies by 1/scale where ONNX divides, so a
// value within an ulp of a rounding tie may land one step away (none does
// when the scale is a power of two).
bool scaled_reorder_fits(const std::vector<InputDesc>& in, const onnx::NodeProto& node) {
  if (in.size() < 2 || !in[1].constant || in[1].dtype != DType::kFloat32 || in[1].constant->element_count() != 1)
    return false;
  if (in[0].shape.empty() || in[0].shape.size() > 5 || in[0].constant) return false;
  if (in.size() > 2 && node.input_size() > 2 && !node.input(2).empty()) {
    const auto* zp = in[2].constant;
    if (!zp || (in[2].dtype != DType::kUInt8 && in[2].dtype != DType::kInt8) || zp->data_as<std::uint8_t>()[0] != 0)
      return false;
  }
  return true;
}

class QuantizeKernel final : public Kernel {
 public:
  QuantizeKernel(const onnx::NodeProto& node, int opset) : node_(node), opset_(opset) { check_qdq_node(node); }
  std::vector<OutputDesc> prepare(const std::vector<InputDesc>& in) override {
    if (in.size() < 2) throw Error(node_prefix(node_) + "needs x and y_scale");
    if (in[0].dtype != DType::kFloat32 || in[1].dtype != DType::kFloat32)
      throw Error(node_prefix(node_) + "x and y_scale must be float32 (got " + dtype_name(in[0].dtype) + ", " +
                      dtype_name(in[1].dtype) + ")",
                  ErrorKind::kUnsupported);
    out_ = zero_point_dtype(in, node_, DType::kUInt8);
    if (out_ == DType::kInt32)
      throw Error(node_prefix(node_) + "an int32 zero point is not supported", ErrorKind::kUnsupported);
    has_zp_ = in.size() > 2 && !node_.input(2).empty();
    if (has_zp_ && shape_element_count(in[2].shape) != shape_element_count(in[1].shape))
      throw Error(node_prefix(node_) + "y_zero_point and y_scale differ in size");
    split_ = split_at(in[0].shape, in[1].shape, Attributes(node_).i("axis", 1), opset_, node_);
    fast_ = scaled_reorder_fits(in, node_);
    if (!fast_) return {{out_, in[0].shape, Layout()}};
    // 4-D results are written nhwc: the layout oneDNN's int8 convolutions read.
    const Shape& x = in[0].shape;
    const dnnl::memory::desc dst(to_dims(x), to_onednn(out_),
                                 x.size() == 4 ? dnnl::memory::format_tag::acdb : plain_tag(x.size()));
    inverse_scale_ = 1.0F / in[1].constant->data_as<float>()[0];
    // A planar RGB image (the model's input), or the same element order on
    // both sides (nhwc to nhwc, plain below 4-D): a pass of our own, with
    // the reorder's bytes (quantize_passes.h). Otherwise the reorder.
    planar3_ = x.size() == 4 && x[1] == 3 && !is_blocked(in[0].layout);
    contiguous_ =
        !planar3_ && (x.size() == 4 ? layout_name(physical_desc(in[0])) == "acdb" : !is_blocked(in[0].layout));
    if (!planar3_ && !contiguous_) reorder_.prepare(physical_desc(in[0]), dst, inverse_scale_);
    return {{out_, x, layout_of(dst, x, out_)}};
  }
  bool accepts_layouts(const std::vector<InputDesc>& in) const override {
    return scaled_reorder_fits(in, node_) || Kernel::accepts_layouts(in);
  }
  std::string implementation() const override {
    if (!fast_) return "reference";
    return planar3_ ? "quantize_planar3_to_nhwc" : contiguous_ ? "quantize_contiguous" : reorder_.name();
  }
  void run(const std::vector<View>& in, const std::vector<View>& out) override {
    if (fast_ && planar3_) {
      const Shape& x = in[0].shape;
      return quantize_planar3_to_nhwc(in[0].f(), x[0], x[2] * x[3], inverse_scale_, out_ == DType::kInt8,
                                      static_cast<std::int8_t*>(out[0].data));
    }
    if (fast_ && contiguous_) {
      return quantize_contiguous(in[0].f(), in[0].elements(), inverse_scale_, out_ == DType::kInt8,
                                 static_cast<std::int8_t*>(out[0].data));
    }
    if (fast_) return reorder_.run(in[0].data, out[0].data);
    const float* x = in[0].f();
    const float* scale = in[1].f();
    if (out_ == DType::kUInt8) {
      const auto* zp = has_zp_ ? static_cast<const std::uint8_t*>(in[2].data) : nullptr;
      auto* y = static_cast<std::uint8_t*>(out[0].data);
      quantize(x, scale, zp, y, split_);
    } else {
      const auto* zp = has_zp_ ? static_cast<const std::int8_t*>(in[2].data) : nullptr;
      auto* y = static_cast<std::int8_t*>(out[0].data);
      quantize(x, scale, zp, y, split_);
    }
  }

 private:
  const onnx::NodeProto& node_;
  int opset_;
  DType out_ = DType::kUInt8;
  bool has_zp_ = false;
  AxisSplit split_;
  bool fast_ = false;
  ScaledReorder reorder_;
  float inverse_scale_ = 1.0F;
  bool planar3_ = false;     // fast_ on an nchw 3-channel input: quantize_planar3_to_nhwc()
  bool contiguous_ = false;  // fast_ with one element order on both sides: quantize_contiguous()
};

class DequantizeKernel final : public Kernel {
 public:
  DequantizeKernel(const onnx::NodeProto& node, int opset) : node_(node), opset_(opset) { check_qdq_node(node); }
  std::vector<OutputDesc> prepare(const std::vector<InputDesc>& in) override {
    if (in.size() < 2) throw Error(node_prefix(node_) + "needs x and x_scale");
    in_ = in[0].dtype;
    if (in_ != DType::kUInt8 && in_ != DType::kInt8 && in_ != DType::kInt32)
      throw Error(node_prefix(node_) + "x of type " + dtype_name(in_) + " is not supported (uint8, int8, int32 are)",
                  ErrorKind::kUnsupported);
    if (in[1].dtype != DType::kFloat32)
      throw Error(node_prefix(node_) + "x_scale must be float32, got " + dtype_name(in[1].dtype),
                  ErrorKind::kUnsupported);
    has_zp_ = in.size() > 2 && !node_.input(2).empty();
    if (has_zp_ && zero_point_dtype(in, node_, in_) != in_)
      throw Error(node_prefix(node_) + "x and x_zero_point differ in type");
    if (has_zp_ && shape_element_count(in[2].shape) != shape_element_count(in[1].shape))
      throw Error(node_prefix(node_) + "x_zero_point and x_scale differ in size");
    split_ = split_at(in[0].shape, in[1].shape, Attributes(node_).i("axis", 1), opset_, node_);
    fast_ = in_ != DType::kInt32 && scaled_reorder_fits(in, node_);
    if (fast_) {
      const Shape& x = in[0].shape;
      reorder_.prepare(physical_desc(in[0]), {to_dims(x), dnnl::memory::data_type::f32, plain_tag(x.size())},
                       in[1].constant->data_as<float>()[0]);
    }
    return {{DType::kFloat32, in[0].shape, Layout()}};
  }
  bool accepts_layouts(const std::vector<InputDesc>& in) const override {
    return (in.at(0).dtype != DType::kInt32 && scaled_reorder_fits(in, node_)) || Kernel::accepts_layouts(in);
  }
  std::string implementation() const override { return fast_ ? reorder_.name() : "reference"; }
  void run(const std::vector<View>& in, const std::vector<View>& out) override {
    if (fast_) return reorder_.run(in[0].data, out[0].data);
    const float* scale = in[1].f();
    const void* zp = has_zp_ ? in[2].data : nullptr;
    switch (in_) {
      case DType::kUInt8:
        return dequantize(static_cast<const std::uint8_t*>(in[0].data), scale, static_cast<const std::uint8_t*>(zp),
                          out[0].f(), split_);
      case DType::kInt8:
        return dequantize(static_cast<const std::int8_t*>(in[0].data), scale, static_cast<const std::int8_t*>(zp),
                          out[0].f(), split_);
      default:
        return dequantize(static_cast<const std::int32_t*>(in[0].data), scale, static_cast<const std::int32_t*>(zp),
                          out[0].f(), split_);
    }
  }

 private:
  const onnx::NodeProto& node_;
  int opset_;
  DType in_ = DType::kUInt8;
  bool has_zp_ = false;
  AxisSplit split_;
  bool fast_ = false;
  ScaledReorder reorder_;
};

// What a Cast writes: a plain conversion, 0/1 for bool, or float32 rounded to
// float16 (the engine's float16).
enum class CastMode { kPlain, kBool, kHalf };

template <typename To, typename From>
To cast_value(From v, CastMode mode) {
  if (mode == CastMode::kBool) return static_cast<To>(v != From{0});
  if constexpr (std::is_floating_point_v<From> && std::is_integral_v<To>) {
    // Out-of-range float to int is undefined in C++: saturate (NaN -> 0).
    if (!(v == v)) return To{0};
    constexpr auto lo = static_cast<From>(std::numeric_limits<To>::lowest());
    constexpr auto hi = static_cast<From>(std::numeric_limits<To>::max());
    if (v <= lo) return std::numeric_limits<To>::lowest();
    if (v >= hi) return std::numeric_limits<To>::max();
    return static_cast<To>(v);
  } else if constexpr (std::is_same_v<To, float>) {
    const auto f = static_cast<float>(v);
    return mode == CastMode::kHalf ? round_to_float16(f) : f;
  } else {
    return static_cast<To>(v);
  }
}

template <typename To, typename From>
void cast_loop(const void* src, void* dst, std::int64_t n, CastMode mode) {
  const auto* x = static_cast<const From*>(src);
  auto* y = static_cast<To*>(dst);
#pragma omp parallel for if (n > kParallelMin) schedule(static)
  for (std::int64_t i = 0; i < n; ++i) y[i] = cast_value<To>(x[i], mode);
}

// Calls f with a value of the C++ type that stores `dtype` (bool as uint8).
template <typename F>
void with_type(DType dtype, F&& f) {
  switch (dtype) {
    case DType::kFloat32:
      return f(float{});
    case DType::kInt64:
      return f(std::int64_t{});
    case DType::kInt32:
      return f(std::int32_t{});
    case DType::kInt8:
      return f(std::int8_t{});
    case DType::kUInt8:
    case DType::kBool:
      return f(std::uint8_t{});
    default:
      throw Error("Cast: type " + dtype_name(dtype) + " is not supported", ErrorKind::kUnsupported);
  }
}

class CastKernel final : public Kernel {
 public:
  explicit CastKernel(const onnx::NodeProto& node) : node_(node) {
    const auto to = static_cast<int>(Attributes(node).i("to", 0));
    mode_ = to == onnx::TensorProto::BOOL ? CastMode::kBool : CastMode::kPlain;
    switch (to) {
      case onnx::TensorProto::FLOAT16:
        mode_ = CastMode::kHalf;
        to_ = DType::kFloat32;
        break;
      case onnx::TensorProto::FLOAT:
      case onnx::TensorProto::INT64:
      case onnx::TensorProto::INT32:
      case onnx::TensorProto::INT8:
      case onnx::TensorProto::UINT8:
      case onnx::TensorProto::BOOL:
        to_ = [&] {
          switch (to) {
            case onnx::TensorProto::FLOAT:
              return DType::kFloat32;
            case onnx::TensorProto::INT64:
              return DType::kInt64;
            case onnx::TensorProto::INT32:
              return DType::kInt32;
            case onnx::TensorProto::INT8:
              return DType::kInt8;
            case onnx::TensorProto::UINT8:
              return DType::kUInt8;
            default:
              return DType::kBool;
          }
        }();
        break;
      default:
        throw Error(node_prefix(node) + "casting to " +
                        onnx::TensorProto::DataType_Name(static_cast<onnx::TensorProto::DataType>(to)) +
                        " is not supported (float, float16, int64, int32, int8, uint8 and bool are)",
                    ErrorKind::kUnsupported);
    }
  }
  // Float to float (rounded to float16 or not) is element-wise on any layout.
  bool accepts_layouts(const std::vector<InputDesc>& in) const override {
    return in.at(0).dtype == DType::kFloat32 && to_ == DType::kFloat32;
  }
  std::vector<OutputDesc> prepare(const std::vector<InputDesc>& in) override {
    from_ = in.at(0).dtype;
    with_type(from_, [](auto) {});  // refuses types without a kernel
    const bool float_to_float = from_ == DType::kFloat32 && to_ == DType::kFloat32;
    count_ = float_to_float && is_blocked(in[0].layout) ? static_cast<std::int64_t>(in[0].layout.get_size() / 4)
                                                        : shape_element_count(in[0].shape);
    // float16 -> float inside the engine, or a type to itself: a copy.
    same_ = from_ == to_ && mode_ != CastMode::kHalf;
    return {{to_, in[0].shape, float_to_float ? in[0].layout : Layout()}};
  }
  bool output_aliases_input() const override { return same_; }
  void run(const std::vector<View>& in, const std::vector<View>& out) override {
    if (same_) {
      if (in[0].data != out[0].data)
        std::memcpy(out[0].data, in[0].data, static_cast<std::size_t>(count_) * dtype_size_bytes(to_));
      return;
    }
    with_type(from_, [&](auto from) {
      with_type(to_, [&](auto to) { cast_loop<decltype(to), decltype(from)>(in[0].data, out[0].data, count_, mode_); });
    });
  }

 private:
  const onnx::NodeProto& node_;
  DType from_ = DType::kFloat32, to_ = DType::kFloat32;
  CastMode mode_ = CastMode::kPlain;
  bool same_ = false;
  std::int64_t count_ = 0;
};

class Float16ConversionKernel final : public Kernel {
 public:
  explicit Float16ConversionKernel(bool to_half) : to_half_(to_half) {}
  std::vector<OutputDesc> prepare(const std::vector<InputDesc>& in) override {
    const DType want = to_half_ ? DType::kFloat32 : DType::kFloat16;
    if (in.at(0).dtype != want) throw Error("float16 conversion: expected " + dtype_name(want) + " input");
    return {{to_half_ ? DType::kFloat16 : DType::kFloat32, in[0].shape, Layout()}};
  }
  void run(const std::vector<View>& in, const std::vector<View>& out) override {
    const std::int64_t n = in[0].elements();
    if (to_half_) {
      const float* x = in[0].f();
      auto* y = static_cast<std::uint16_t*>(out[0].data);
#pragma omp parallel for if (n > kParallelMin) schedule(static)
      for (std::int64_t i = 0; i < n; ++i) y[i] = float_to_float16_bits(x[i]);
    } else {
      const auto* x = static_cast<const std::uint16_t*>(in[0].data);
      float* y = out[0].f();
#pragma omp parallel for if (n > kParallelMin) schedule(static)
      for (std::int64_t i = 0; i < n; ++i) y[i] = float16_bits_to_float(x[i]);
    }
  }

 private:
  bool to_half_;
};

}  // namespace

std::vector<float> dequantize_int8_constant(const Constant& q, const Constant& scale, std::int64_t axis) {
  const Shape& shape = q.shape();
  AxisSplit s;
  s.channels = scale.element_count();
  if (s.channels == 1) {
    s.inner = q.element_count();
  } else {
    if (axis < 0 || axis >= static_cast<std::int64_t>(shape.size()) || shape[axis] != s.channels)
      throw Error("native: " + std::to_string(s.channels) + " weight scales do not match axis " + std::to_string(axis) +
                  " of " + shape_to_string(shape));
    for (std::int64_t d = 0; d < axis; ++d) s.outer *= shape[d];
    for (std::size_t d = static_cast<std::size_t>(axis) + 1; d < shape.size(); ++d) s.inner *= shape[d];
  }
  std::vector<float> values(static_cast<std::size_t>(q.element_count()));
  dequantize(q.data_as<std::int8_t>(), scale.data_as<float>(), static_cast<const std::int8_t*>(nullptr), values.data(),
             s);
  return values;
}

std::unique_ptr<Kernel> make_float16_conversion_kernel(bool to_half) {
  return std::make_unique<Float16ConversionKernel>(to_half);
}

Tensor widen_float16(Tensor t) {
  if (t.dtype() != DType::kFloat16) return t;
  Tensor wide(DType::kFloat32, t.shape());
  const auto* x = t.data_as<std::uint16_t>();
  float* y = wide.data_as<float>();
  for (std::int64_t i = 0; i < t.element_count(); ++i) y[i] = float16_bits_to_float(x[i]);
  return wide;
}

void register_quantize_kernels(std::map<std::string, KernelFactory>& r) {
  r["QuantizeLinear"] = [](const onnx::NodeProto& n, int opset) { return std::make_unique<QuantizeKernel>(n, opset); };
  r["DequantizeLinear"] = [](const onnx::NodeProto& n, int opset) {
    return std::make_unique<DequantizeKernel>(n, opset);
  };
  r["Cast"] = [](const onnx::NodeProto& n, int) { return std::make_unique<CastKernel>(n); };
}

}  // namespace inferlab::native
