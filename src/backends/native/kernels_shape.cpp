// Data-movement kernels: Reshape, Flatten, Squeeze/Unsqueeze (views over
// their input), Transpose, Slice, Concat, Gather, Shape, Constant.
#include <algorithm>
#include <cstring>
#include <numeric>

#include "kernel.h"
#include "onednn_util.h"

namespace inferlab::native {

namespace {

std::int64_t normalise_axis(std::int64_t axis, std::size_t rank, const onnx::NodeProto& node) {
  const auto r = static_cast<std::int64_t>(rank);
  if (axis < -r || axis >= r) throw Error(node_prefix(node) + "axis " + std::to_string(axis) + " out of range");
  return axis < 0 ? axis + r : axis;
}

// Element strides of a row-major tensor of `shape`.
std::vector<std::int64_t> row_major_strides(const Shape& shape) {
  std::vector<std::int64_t> strides(shape.size(), 1);
  for (std::size_t d = shape.size(); d-- > 1;) strides[d - 1] = strides[d] * shape[d];
  return strides;
}

// A kernel whose output is its input with another shape: the planner aliases
// the two, so run() copies only when it was given distinct buffers.
class ViewKernel : public Kernel {
 public:
  explicit ViewKernel(const onnx::NodeProto& node) : node_(node) {}
  bool output_aliases_input() const override { return true; }
  void run(const std::vector<View>& in, const std::vector<View>& out) override {
    if (in[0].data != out[0].data) {
      std::memcpy(out[0].data, in[0].data, out[0].elements() * dtype_size_bytes(out[0].dtype));
    }
  }

 protected:
  const onnx::NodeProto& node_;
};

class ReshapeKernel final : public ViewKernel {
 public:
  using ViewKernel::ViewKernel;
  std::vector<OutputDesc> prepare(const std::vector<InputDesc>& in) override {
    if (in.size() < 2 || !in[1].constant)
      throw Error(node_prefix(node_) + "a non-constant target shape is not supported", ErrorKind::kUnsupported);
    const bool allow_zero = Attributes(node_).i("allowzero", 0) != 0;
    Shape shape = constant_ints(*in[1].constant);
    std::int64_t known = 1, infer = -1;
    for (std::size_t i = 0; i < shape.size(); ++i) {
      if (shape[i] == 0 && !allow_zero) {
        if (i >= in[0].shape.size()) throw Error(node_prefix(node_) + "0 refers past the input's rank");
        shape[i] = in[0].shape[i];
      }
      if (shape[i] == -1) {
        if (infer >= 0) throw Error(node_prefix(node_) + "more than one -1 in the target shape");
        infer = static_cast<std::int64_t>(i);
      } else {
        known *= shape[i];
      }
    }
    const std::int64_t total = shape_element_count(in[0].shape);
    if (infer >= 0) shape[infer] = known > 0 ? total / known : 0;
    if (shape_element_count(shape) != total) {
      throw Error(node_prefix(node_) + "cannot reshape " + shape_to_string(in[0].shape) + " to " +
                  shape_to_string(shape));
    }
    return {{in[0].dtype, shape, Layout()}};
  }
};

// Identity, and Dropout in inference (output 0 only): the input unchanged.
class PassThroughKernel final : public ViewKernel {
 public:
  using ViewKernel::ViewKernel;
  std::vector<OutputDesc> prepare(const std::vector<InputDesc>& in) override {
    if (node_.output_size() > 1 && !node_.output(1).empty()) {
      throw Error(node_prefix(node_) + "the Dropout mask output is not supported", ErrorKind::kUnsupported);
    }
    // Dropout's training_mode (opset 12+) is the identity only when false or when the ratio is 0.
    const bool zero_ratio = node_.input_size() > 1 && !node_.input(1).empty() && in[1].constant &&
                            in[1].dtype == DType::kFloat32 && in[1].constant->data_as<float>()[0] == 0.0F;
    if (node_.op_type() == "Dropout" && in.size() > 2 && node_.input_size() > 2 && !node_.input(2).empty() &&
        (!in[2].constant || in[2].constant->data_as<std::uint8_t>()[0] != 0) && !zero_ratio) {
      throw Error(node_prefix(node_) + "training-mode Dropout is not supported (inference only)",
                  ErrorKind::kUnsupported);
    }
    return {{in.at(0).dtype, in.at(0).shape, Layout()}};
  }
};

class FlattenKernel final : public ViewKernel {
 public:
  using ViewKernel::ViewKernel;
  std::vector<OutputDesc> prepare(const std::vector<InputDesc>& in) override {
    const Shape& s = in[0].shape;
    const std::int64_t axis = Attributes(node_).i("axis", 1);
    const std::int64_t a = axis < 0 ? axis + static_cast<std::int64_t>(s.size()) : axis;
    std::int64_t outer = 1, inner = 1;
    for (std::int64_t i = 0; i < static_cast<std::int64_t>(s.size()); ++i) (i < a ? outer : inner) *= s[i];
    return {{in[0].dtype, {outer, inner}, Layout()}};
  }
};

class SqueezeKernel final : public ViewKernel {
 public:
  SqueezeKernel(const onnx::NodeProto& node, bool unsqueeze) : ViewKernel(node), unsqueeze_(unsqueeze) {}
  std::vector<OutputDesc> prepare(const std::vector<InputDesc>& in) override {
    std::vector<std::int64_t> axes = Attributes(node_).ints("axes");
    if (in.size() > 1 && !node_.input(1).empty()) {
      if (!in[1].constant)
        throw Error(node_prefix(node_) + "non-constant axes are not supported", ErrorKind::kUnsupported);
      axes = constant_ints(*in[1].constant);
    }
    Shape s = in[0].shape;
    if (unsqueeze_) {
      const std::size_t rank = s.size() + axes.size();
      for (auto& a : axes) a = a < 0 ? a + static_cast<std::int64_t>(rank) : a;
      std::sort(axes.begin(), axes.end());
      for (auto a : axes) s.insert(s.begin() + a, 1);
    } else {
      if (axes.empty()) {
        s.erase(std::remove(s.begin(), s.end(), 1), s.end());
      } else {
        for (auto& a : axes) a = normalise_axis(a, s.size(), node_);
        std::sort(axes.rbegin(), axes.rend());
        for (auto a : axes) s.erase(s.begin() + a);
      }
    }
    return {{in[0].dtype, s, Layout()}};
  }

 private:
  bool unsqueeze_;
};

// Transpose, reading and writing plain tensors. Two permutations are only
// a change of layout in the engine's terms, and run as a copy the planner
// turns into an alias (ConvNeXt's permutes around each LayerNorm): NCHW ->
// NHWC of an input already laid out nhwc, and NHWC -> NCHW of a plain
// input, whose output is then declared nhwc.
class TransposeKernel final : public Kernel {
 public:
  explicit TransposeKernel(const onnx::NodeProto& node) : node_(node) {}
  bool accepts_layouts(const std::vector<InputDesc>& in) const override {
    return to_nhwc_view(in[0]) || Kernel::accepts_layouts(in);
  }
  bool output_aliases_input() const override { return view_; }
  std::string implementation() const override { return view_ ? "layout view" : "reference"; }
  std::vector<OutputDesc> prepare(const std::vector<InputDesc>& in) override {
    view_ = false;
    if (to_nhwc_view(in[0])) {
      view_ = true;
      const Shape& s = in[0].shape;
      return {{in[0].dtype, {s[0], s[2], s[3], s[1]}, Layout()}};
    }
    if (to_nchw_view(in[0])) {
      view_ = true;
      const Shape& s = in[0].shape;
      const Shape out{s[0], s[3], s[1], s[2]};
      const dnnl::memory::desc nhwc(to_dims(out), to_onednn(in[0].dtype), dnnl::memory::format_tag::acdb);
      return {{in[0].dtype, out, layout_of(nhwc, out, in[0].dtype)}};
    }
    const Shape& s = in[0].shape;
    perm_ = Attributes(node_).ints("perm");
    if (perm_.empty()) {
      for (std::size_t i = 0; i < s.size(); ++i) perm_.push_back(static_cast<std::int64_t>(s.size() - 1 - i));
    }
    if (perm_.size() != s.size()) throw Error(node_prefix(node_) + "perm does not match the input rank");
    Shape out;
    for (auto p : perm_) out.push_back(s.at(p));
    // Output-order strides into the input; the innermost output dim walks the input at stride_.back().
    const auto in_strides = row_major_strides(s);
    stride_.clear();
    for (auto p : perm_) stride_.push_back(in_strides[p]);
    return {{in[0].dtype, out, Layout()}};
  }
  void run(const std::vector<View>& in, const std::vector<View>& out) override {
    if (view_) {
      if (in[0].data != out[0].data)
        std::memcpy(out[0].data, in[0].data, out[0].elements() * dtype_size_bytes(out[0].dtype));
      return;
    }
    const std::size_t rank = stride_.size();
    const std::size_t elem = dtype_size_bytes(in[0].dtype);
    const auto& stride = stride_;
    const Shape& os = out[0].shape;
    const std::int64_t inner = rank ? os.back() : 1;
    const std::int64_t total = out[0].elements();
    const auto* src = static_cast<const char*>(in[0].data);
    auto* dst = static_cast<char*>(out[0].data);
    const std::int64_t rows = inner > 0 ? total / inner : 0;
#pragma omp parallel for if (total > (1 << 15)) schedule(static)
    for (std::int64_t row = 0; row < rows; ++row) {
      const std::int64_t done = row * inner;
      std::int64_t offset = 0, rest = row;
      for (std::size_t d = rank - 1; d-- > 0;) {
        offset += (rest % os[d]) * stride[d];
        rest /= os[d];
      }
      const std::int64_t step = rank ? stride[rank - 1] : 1;
      if (elem == 4) {
        const auto* s4 = reinterpret_cast<const std::uint32_t*>(src) + offset;
        auto* d4 = reinterpret_cast<std::uint32_t*>(dst) + done;
        for (std::int64_t k = 0; k < inner; ++k) d4[k] = s4[k * step];
      } else {
        for (std::int64_t k = 0; k < inner; ++k)
          std::memcpy(dst + (done + k) * elem, src + (offset + k * step) * elem, elem);
      }
    }
  }

 private:
  static bool onednn_type(DType t) {
    return t == DType::kFloat32 || t == DType::kBFloat16 || t == DType::kInt8 || t == DType::kUInt8;
  }
  bool perm_is(std::initializer_list<std::int64_t> p) const {
    return Attributes(node_).ints("perm") == std::vector<std::int64_t>(p);
  }
  // NCHW -> NHWC of a tensor whose bytes already are NHWC.
  bool to_nhwc_view(const InputDesc& d) const {
    return d.shape.size() == 4 && onednn_type(d.dtype) && is_blocked(d.layout) && layout_name(d.layout) == "acdb" &&
           perm_is({0, 2, 3, 1});
  }
  // NHWC -> NCHW of a plain tensor: the same bytes, declared nhwc.
  bool to_nchw_view(const InputDesc& d) const {
    return d.shape.size() == 4 && onednn_type(d.dtype) && !is_blocked(d.layout) && perm_is({0, 3, 1, 2});
  }

  const onnx::NodeProto& node_;
  bool view_ = false;  // one of the two permutations above: the output is the input's bytes
  std::vector<std::int64_t> perm_;
  std::vector<std::int64_t> stride_;
};

class SliceKernel final : public Kernel {
 public:
  explicit SliceKernel(const onnx::NodeProto& node) : node_(node) {}
  std::vector<OutputDesc> prepare(const std::vector<InputDesc>& in) override {
    const Shape& s = in[0].shape;
    std::vector<std::int64_t> starts, ends, axes, steps;
    Attributes a(node_);
    if (in.size() >= 3) {
      for (std::size_t k = 1; k < in.size(); ++k) {
        if (!node_.input(static_cast<int>(k)).empty() && !in[k].constant) {
          throw Error(node_prefix(node_) + "non-constant starts/ends/axes/steps are not supported",
                      ErrorKind::kUnsupported);
        }
      }
      starts = constant_ints(*in[1].constant);
      ends = constant_ints(*in[2].constant);
      if (in.size() > 3 && in[3].constant) axes = constant_ints(*in[3].constant);
      if (in.size() > 4 && in[4].constant) steps = constant_ints(*in[4].constant);
    } else {
      starts = a.ints("starts");
      ends = a.ints("ends");
      axes = a.ints("axes");
    }
    if (axes.empty()) {
      axes.resize(starts.size());
      std::iota(axes.begin(), axes.end(), 0);
    }
    if (steps.empty()) steps.assign(starts.size(), 1);
    start_.assign(s.size(), 0);
    step_.assign(s.size(), 1);
    Shape out = s;
    for (std::size_t k = 0; k < starts.size(); ++k) {
      const std::int64_t ax = normalise_axis(axes[k], s.size(), node_);
      const std::int64_t dim = s[ax], step = steps[k];
      if (step == 0) throw Error(node_prefix(node_) + "step 0");
      auto clamp = [&](std::int64_t v) {
        if (v < 0) v += dim;
        return step > 0 ? std::clamp<std::int64_t>(v, 0, dim) : std::clamp<std::int64_t>(v, -1, dim - 1);
      };
      const std::int64_t b = clamp(starts[k]), e = clamp(ends[k]);
      start_[ax] = b;
      step_[ax] = step;
      out[ax] = step > 0 ? std::max<std::int64_t>(0, (e - b + step - 1) / step)
                         : std::max<std::int64_t>(0, (b - e - step - 1) / -step);
    }
    in_strides_ = row_major_strides(s);
    return {{in[0].dtype, out, Layout()}};
  }
  void run(const std::vector<View>& in, const std::vector<View>& out) override {
    const std::size_t rank = in_strides_.size();
    const std::size_t elem = dtype_size_bytes(in[0].dtype);
    const auto& in_strides = in_strides_;
    const Shape& os = out[0].shape;
    const std::int64_t total = out[0].elements();
    if (total == 0) return;
    const std::int64_t inner = os.back();
    std::vector<std::int64_t> index(rank, 0);
    const auto* src = static_cast<const char*>(in[0].data);
    auto* dst = static_cast<char*>(out[0].data);
    for (std::int64_t done = 0; done < total; done += inner) {
      std::int64_t offset = 0;
      for (std::size_t d = 0; d < rank; ++d) offset += (start_[d] + index[d] * step_[d]) * in_strides[d];
      if (step_[rank - 1] == 1) {
        std::memcpy(dst + done * elem, src + offset * elem, inner * elem);
      } else {
        for (std::int64_t k = 0; k < inner; ++k) {
          std::memcpy(dst + (done + k) * elem, src + (offset + k * step_[rank - 1] * in_strides[rank - 1]) * elem,
                      elem);
        }
      }
      for (std::size_t d = rank - 1; d-- > 0;) {
        if (++index[d] < os[d]) break;
        index[d] = 0;
      }
    }
  }

 private:
  const onnx::NodeProto& node_;
  std::vector<std::int64_t> start_, step_, in_strides_;
};

class ConcatKernel final : public Kernel {
 public:
  explicit ConcatKernel(const onnx::NodeProto& node) : node_(node) {}
  // Channel concatenation of 4-D float tensors goes to oneDNN, which reads
  // blocked layouts as they are; everything else is concatenated here, plain.
  bool accepts_layouts(const std::vector<InputDesc>& in) const override {
    return channel_concat(in) || Kernel::accepts_layouts(in);
  }
  // bf16 activations: oneDNN's concat, when all of them are bf16 (it takes one type).
  bool accepts_bf16(const std::vector<InputDesc>& in) const override {
    return channel_concat(in) && in[0].dtype == DType::kBFloat16;
  }
  std::string implementation() const override { return onednn_ ? onednn_->implementation() : "reference"; }
  std::vector<OutputDesc> prepare(const std::vector<InputDesc>& in) override {
    if (channel_concat(in)) {
      onednn_ = make_channel_concat_kernel(node_);
      return onednn_->prepare(in);
    }
    onednn_.reset();
    Shape out = in.at(0).shape;
    axis_ = normalise_axis(Attributes(node_).i("axis", 0), out.size(), node_);
    out[axis_] = 0;
    for (const auto& d : in) {
      if (d.shape.size() != out.size() || d.dtype != in[0].dtype) {
        throw Error(node_prefix(node_) + "inputs differ in rank or dtype");
      }
      out[axis_] += d.shape[axis_];
    }
    return {{in[0].dtype, out, Layout()}};
  }
  void run(const std::vector<View>& in, const std::vector<View>& out) override {
    if (onednn_) return onednn_->run(in, out);
    const Shape& os = out[0].shape;
    const std::size_t elem = dtype_size_bytes(out[0].dtype);
    std::int64_t outer = 1, inner = 1;
    for (std::int64_t d = 0; d < axis_; ++d) outer *= os[d];
    for (std::size_t d = axis_ + 1; d < os.size(); ++d) inner *= os[d];
    auto* dst = static_cast<char*>(out[0].data);
    const std::int64_t out_row = os[axis_] * inner * elem;
    std::int64_t at = 0;
    for (const auto& v : in) {
      const std::int64_t row = v.shape[axis_] * inner * elem;
      const auto* src = static_cast<const char*>(v.data);
      for (std::int64_t o = 0; o < outer; ++o) std::memcpy(dst + o * out_row + at, src + o * row, row);
      at += row;
    }
  }

 private:
  // oneDNN only where an input is blocked (or bf16): for plain float32
  // inputs the memcpy loop below is faster than oneDNN's generic ("simple")
  // concat. All inputs float32, or all bfloat16.
  bool channel_concat(const std::vector<InputDesc>& in) const {
    const std::int64_t axis = Attributes(node_).i("axis", 0);
    if (in.size() < 2 || (axis != 1 && axis != -3)) return false;
    const bool bf16 = in[0].dtype == DType::kBFloat16;
    const bool any_blocked = std::any_of(in.begin(), in.end(), [](const InputDesc& d) { return is_blocked(d.layout); });
    // int8/uint8: the requantized Convs' nhwc outputs that quantize_before_concat() joins.
    const bool int8 = in[0].dtype == DType::kInt8 || in[0].dtype == DType::kUInt8;
    return (any_blocked || bf16) && std::all_of(in.begin(), in.end(), [&](const InputDesc& d) {
             return d.dtype == in[0].dtype && (bf16 || int8 || d.dtype == DType::kFloat32) && d.shape.size() == 4 &&
                    d.constant == nullptr;
           });
  }

  const onnx::NodeProto& node_;
  std::int64_t axis_ = 0;
  std::unique_ptr<Kernel> onednn_;
};

class GatherKernel final : public Kernel {
 public:
  explicit GatherKernel(const onnx::NodeProto& node) : node_(node) {}
  std::vector<OutputDesc> prepare(const std::vector<InputDesc>& in) override {
    if (!in.at(1).constant)
      throw Error(node_prefix(node_) + "non-constant indices are not supported", ErrorKind::kUnsupported);
    indices_ = constant_ints(*in[1].constant);
    const Shape& s = in[0].shape;
    axis_ = normalise_axis(Attributes(node_).i("axis", 0), s.size(), node_);
    for (auto& i : indices_) {
      if (i < 0) i += s[axis_];
      if (i < 0 || i >= s[axis_]) throw Error(node_prefix(node_) + "index out of range");
    }
    Shape out(s.begin(), s.begin() + axis_);
    for (auto d : in[1].shape) out.push_back(d);
    out.insert(out.end(), s.begin() + axis_ + 1, s.end());
    in_shape_ = s;
    return {{in[0].dtype, out, Layout()}};
  }
  void run(const std::vector<View>& in, const std::vector<View>& out) override {
    const std::size_t elem = dtype_size_bytes(in[0].dtype);
    std::int64_t outer = 1, inner = 1;
    for (std::int64_t d = 0; d < axis_; ++d) outer *= in_shape_[d];
    for (std::size_t d = axis_ + 1; d < in_shape_.size(); ++d) inner *= in_shape_[d];
    const auto* src = static_cast<const char*>(in[0].data);
    auto* dst = static_cast<char*>(out[0].data);
    const std::int64_t n = static_cast<std::int64_t>(indices_.size());
    for (std::int64_t o = 0; o < outer; ++o) {
      for (std::int64_t k = 0; k < n; ++k) {
        std::memcpy(dst + ((o * n + k) * inner) * elem, src + ((o * in_shape_[axis_] + indices_[k]) * inner) * elem,
                    inner * elem);
      }
    }
  }

 private:
  const onnx::NodeProto& node_;
  std::vector<std::int64_t> indices_;
  std::int64_t axis_ = 0;
  Shape in_shape_;
};

// Shape depends only on the input's shape, so the engine folds it at prepare.
class ShapeKernel final : public Kernel {
 public:
  explicit ShapeKernel(const onnx::NodeProto& node) : node_(node) {}
  // Only the shape is read: any layout and type, so no reorder is made for it.
  bool accepts_layouts(const std::vector<InputDesc>&) const override { return true; }
  bool accepts_bf16(const std::vector<InputDesc>&) const override { return true; }
  std::vector<OutputDesc> prepare(const std::vector<InputDesc>& in) override {
    // Opset 15's start/end select a range of dimensions, clamped like Slice.
    const Shape& full = in.at(0).shape;
    const auto rank = static_cast<std::int64_t>(full.size());
    Attributes a(node_);
    auto clamp = [rank](std::int64_t v) { return std::clamp<std::int64_t>(v < 0 ? v + rank : v, 0, rank); };
    const std::int64_t start = clamp(a.i("start", 0)), end = clamp(a.i("end", rank));
    shape_.assign(full.begin() + start, full.begin() + std::max(start, end));
    return {{DType::kInt64, {static_cast<std::int64_t>(shape_.size())}, Layout()}};
  }
  void run(const std::vector<View>&, const std::vector<View>& out) override {
    std::copy(shape_.begin(), shape_.end(), out[0].i64());
  }

 private:
  const onnx::NodeProto& node_;
  Shape shape_;
};

}  // namespace

std::vector<std::int64_t> constant_ints(const Constant& tensor) {
  std::vector<std::int64_t> values(static_cast<std::size_t>(tensor.element_count()));
  if (tensor.dtype() == DType::kInt64) {
    std::copy_n(tensor.data_as<std::int64_t>(), values.size(), values.begin());
  } else if (tensor.dtype() == DType::kInt32) {
    std::copy_n(tensor.data_as<std::int32_t>(), values.size(), values.begin());
  } else {
    throw Error("expected an int64 or int32 constant, got " + dtype_name(tensor.dtype()));
  }
  return values;
}

void register_shape_kernels(std::map<std::string, KernelFactory>& r) {
  r["Reshape"] = [](const onnx::NodeProto& n, int) { return std::make_unique<ReshapeKernel>(n); };
  r["Identity"] = [](const onnx::NodeProto& n, int) { return std::make_unique<PassThroughKernel>(n); };
  r["Dropout"] = [](const onnx::NodeProto& n, int) { return std::make_unique<PassThroughKernel>(n); };
  r["Flatten"] = [](const onnx::NodeProto& n, int) { return std::make_unique<FlattenKernel>(n); };
  r["Squeeze"] = [](const onnx::NodeProto& n, int) { return std::make_unique<SqueezeKernel>(n, false); };
  r["Unsqueeze"] = [](const onnx::NodeProto& n, int) { return std::make_unique<SqueezeKernel>(n, true); };
  r["Transpose"] = [](const onnx::NodeProto& n, int) { return std::make_unique<TransposeKernel>(n); };
  r["Slice"] = [](const onnx::NodeProto& n, int) { return std::make_unique<SliceKernel>(n); };
  r["Concat"] = [](const onnx::NodeProto& n, int) { return std::make_unique<ConcatKernel>(n); };
  r["Gather"] = [](const onnx::NodeProto& n, int) { return std::make_unique<GatherKernel>(n); };
  r["Shape"] = [](const onnx::NodeProto& n, int) { return std::make_unique<ShapeKernel>(n); };
}

}  // namespace inferlab::native
