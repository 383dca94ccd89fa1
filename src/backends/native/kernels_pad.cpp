// Pad (opset 2-18): constant, reflect and edge modes over any rank and
// element type, pads given as the attribute (opset < 11) or as a constant
// input (negative pads crop), with opset 18's `axes`. torch <= 1.13 puts a
// Pad before every AveragePool with count_include_pad (DenseNet's
// transitions, GoogLeNet's and Inception's branches).
#include <algorithm>
#include <cstring>

#include "kernel.h"

namespace inferlab::native {

namespace {

class PadKernel final : public Kernel {
 public:
  PadKernel(const onnx::NodeProto& node, int opset) : node_(node), opset_(opset) {}

  std::vector<OutputDesc> prepare(const std::vector<InputDesc>& in) override {
    Attributes a(node_);
    const std::string mode = a.s("mode", "constant");
    if (mode != "constant" && mode != "reflect" && mode != "edge")
      throw Error(node_prefix(node_) + "mode '" + mode + "' is not supported (constant, reflect, edge are)",
                  ErrorKind::kUnsupported);
    mode_ = mode == "constant" ? Mode::kConstant : mode == "reflect" ? Mode::kReflect : Mode::kEdge;
    const Shape& x = in.at(0).shape;
    const std::size_t rank = x.size();
    std::vector<std::int64_t> pads;
    value_.assign(dtype_size_bytes(in[0].dtype), 0);
    if (opset_ < 11) {
      pads = a.ints("pads");
      const float value = a.f("value", 0.0F);
      if (in[0].dtype != DType::kFloat32 && value != 0.0F)
        throw Error(node_prefix(node_) + "a non-zero value for a non-float tensor is not supported",
                    ErrorKind::kUnsupported);
      std::memcpy(value_.data(), &value, in[0].dtype == DType::kFloat32 ? sizeof(float) : 0);
    } else {
      if (in.size() < 2 || !in[1].constant)
        throw Error(node_prefix(node_) + "non-constant pads are not supported", ErrorKind::kUnsupported);
      pads = constant_ints(*in[1].constant);
      if (in.size() > 2 && in[2].constant && in[2].constant->element_count() > 0) {
        if (in[2].dtype != in[0].dtype) throw Error(node_prefix(node_) + "constant_value's type differs from data's");
        std::memcpy(value_.data(), in[2].constant->data(), value_.size());
      } else if (in.size() > 2 && !in[2].shape.empty() && !in[2].constant) {
        throw Error(node_prefix(node_) + "a non-constant constant_value is not supported", ErrorKind::kUnsupported);
      }
      if (in.size() > 3 && (in[3].constant || !in[3].shape.empty())) pads = expand_axes(pads, in[3], rank);
    }
    if (pads.size() != 2 * rank)
      throw Error(node_prefix(node_) + std::to_string(pads.size()) + " pads for rank " + std::to_string(rank));
    begin_.assign(pads.begin(), pads.begin() + static_cast<std::ptrdiff_t>(rank));
    Shape y = x;
    for (std::size_t d = 0; d < rank; ++d) {
      y[d] = x[d] + pads[d] + pads[d + rank];
      if (y[d] < 0) throw Error(node_prefix(node_) + "pads crop more than dimension " + std::to_string(d) + " has");
      // Reflection mirrors without repeating the edge: it needs pads < size.
      if (mode_ == Mode::kReflect && (pads[d] >= x[d] || pads[d + rank] >= x[d]) && (pads[d] > 0 || pads[d + rank] > 0))
        throw Error(node_prefix(node_) + "reflect pads must be smaller than the dimension they pad");
      if (mode_ == Mode::kEdge && x[d] == 0 && y[d] > 0)
        throw Error(node_prefix(node_) + "edge padding of an empty dimension");
    }
    in_shape_ = x;
    out_shape_ = y;
    return {{in[0].dtype, y, Layout()}};
  }

  void run(const std::vector<View>& in, const std::vector<View>& out) override {
    const std::size_t rank = out_shape_.size();
    const std::size_t elem = dtype_size_bytes(in[0].dtype);
    const auto* src = static_cast<const char*>(in[0].data);
    auto* dst = static_cast<char*>(out[0].data);
    if (rank == 0) {
      std::memcpy(dst, src, elem);
      return;
    }
    const std::int64_t inner = out_shape_.back();
    const std::int64_t rows = inner == 0 ? 0 : shape_element_count(out_shape_) / inner;
    std::vector<std::int64_t> in_strides(rank, 1);
    for (std::size_t d = rank - 1; d-- > 0;) in_strides[d] = in_strides[d + 1] * in_shape_[d + 1];
      // Each output row: its source row (or none, for a constant pad), then
      // the last dimension element by element at the edges and one memcpy
      // for the part inside the input.
#pragma omp parallel for schedule(static) if (rows > 64)
    for (std::int64_t row = 0; row < rows; ++row) {
      std::int64_t rest = row, offset = 0;
      bool inside = true;
      for (std::size_t d = rank - 1; d-- > 0;) {
        const std::int64_t o = rest % out_shape_[d];
        rest /= out_shape_[d];
        const std::int64_t i = source_index(o - begin_[d], in_shape_[d]);
        if (i < 0) inside = false;
        offset += i * in_strides[d];
      }
      char* out_row = dst + row * inner * static_cast<std::int64_t>(elem);
      if (!inside) {
        for (std::int64_t k = 0; k < inner; ++k) std::memcpy(out_row + k * elem, value_.data(), elem);
        continue;
      }
      const char* in_row = src + offset * static_cast<std::int64_t>(elem);
      const std::int64_t lead = begin_[rank - 1], n = in_shape_[rank - 1];
      const std::int64_t copy_from = std::max<std::int64_t>(0, lead), copy_to = std::min(inner, lead + n);
      for (std::int64_t k = 0; k < inner; ++k) {
        if (k == copy_from && copy_to > copy_from) {
          std::memcpy(out_row + k * elem, in_row + (k - lead) * elem, (copy_to - copy_from) * elem);
          k = copy_to - 1;
          continue;
        }
        const std::int64_t i = source_index(k - lead, n);
        std::memcpy(out_row + k * elem, i < 0 ? value_.data() : in_row + i * elem, elem);
      }
    }
  }

 private:
  enum class Mode { kConstant, kReflect, kEdge };

  // The input index an output reads along a dimension of `size`, given its
  // position `i` relative to the input's start; -1 for the constant.
  std::int64_t source_index(std::int64_t i, std::int64_t size) const {
    if (i >= 0 && i < size) return i;
    switch (mode_) {
      case Mode::kConstant:
        return -1;
      case Mode::kEdge:
        return i < 0 ? 0 : size - 1;
      case Mode::kReflect:
        return i < 0 ? -i : 2 * (size - 1) - i;
    }
    return -1;
  }

  // Opset 18's `axes`: pads given for those axes only, zero elsewhere.
  std::vector<std::int64_t> expand_axes(const std::vector<std::int64_t>& pads, const InputDesc& axes_in,
                                        std::size_t rank) const {
    if (!axes_in.constant)
      throw Error(node_prefix(node_) + "non-constant axes are not supported", ErrorKind::kUnsupported);
    const auto axes = constant_ints(*axes_in.constant);
    if (pads.size() != 2 * axes.size()) throw Error(node_prefix(node_) + "pads do not match axes");
    std::vector<std::int64_t> full(2 * rank, 0);
    for (std::size_t k = 0; k < axes.size(); ++k) {
      const std::int64_t axis = axes[k] < 0 ? axes[k] + static_cast<std::int64_t>(rank) : axes[k];
      if (axis < 0 || axis >= static_cast<std::int64_t>(rank)) throw Error(node_prefix(node_) + "axis out of range");
      full[axis] = pads[k];
      full[axis + rank] = pads[k + axes.size()];
    }
    return full;
  }

  const onnx::NodeProto& node_;
  int opset_;
  Mode mode_ = Mode::kConstant;
  std::vector<char> value_;  // the constant's bytes, one element
  std::vector<std::int64_t> begin_;
  Shape in_shape_, out_shape_;
};

}  // namespace

void register_pad_kernels(std::map<std::string, KernelFactory>& r) {
  r["Pad"] = [](const onnx::NodeProto& n, int opset) { return std::make_unique<PadKernel>(n, opset); };
}

}  // namespace inferlab::native
