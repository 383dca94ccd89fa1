// Reductions: Softmax (oneDNN's softmax, with the plain loop as fallback)
// and ReduceMean (float32); GlobalAveragePool is oneDNN pooling.
#include <algorithm>
#include <cmath>

#include "kernel.h"
#include "onednn_context.h"
#include "onednn_util.h"

namespace inferlab::native {

namespace {

class SoftmaxKernel final : public Kernel {
 public:
  SoftmaxKernel(const onnx::NodeProto& node, int opset) : node_(node), opset_(opset) {}
  std::vector<OutputDesc> prepare(const std::vector<InputDesc>& in) override {
    const Shape& s = in.at(0).shape;
    const auto rank = static_cast<std::int64_t>(s.size());
    std::int64_t axis = Attributes(node_).i("axis", opset_ >= 13 ? -1 : 1);
    if (axis < 0) axis += rank;
    if (axis < 0 || axis >= rank) throw Error(node_prefix(node_) + "axis out of range");
    // Before opset 13 Softmax normalised over all dims from `axis` on (flattened).
    outer_ = 1;
    inner_ = 1;
    axis_len_ = 1;
    if (opset_ >= 13) {
      for (std::int64_t d = 0; d < axis; ++d) outer_ *= s[d];
      axis_len_ = s[axis];
      for (std::int64_t d = axis + 1; d < rank; ++d) inner_ *= s[d];
    } else {
      for (std::int64_t d = 0; d < axis; ++d) outer_ *= s[d];
      for (std::int64_t d = axis; d < rank; ++d) axis_len_ *= s[d];
    }
    // Both opsets' forms are a softmax over the middle of [outer, axis, inner]:
    // oneDNN's vectorised kernel, where the loop below calls std::exp per
    // element (Swin-T's attention: 8% of its time).
    const dnnl::memory::desc md({outer_, axis_len_, inner_}, dnnl::memory::data_type::f32,
                                dnnl::memory::format_tag::abc);
    try {
      pd_ = dnnl::softmax_forward::primitive_desc(
          dnnl::softmax_forward::desc(dnnl::prop_kind::forward_inference, md, 1), cpu_engine());
      prim_ = dnnl::softmax_forward(pd_);
      src_ = dnnl::memory(md, cpu_engine(), nullptr);
      dst_ = dnnl::memory(md, cpu_engine(), nullptr);
    } catch (const dnnl::error&) {
      prim_ = dnnl::softmax_forward();  // the loop below, e.g. for dims oneDNN refuses
    }
    return {{DType::kFloat32, s, Layout()}};
  }
  std::string implementation() const override { return prim_ ? impl_name(pd_) : "reference"; }
  void run(const std::vector<View>& in, const std::vector<View>& out) override {
    if (prim_) return execute_src_dst(prim_, src_, dst_, in[0], out[0]);
    const float* x = in[0].f();
    float* y = out[0].f();
#pragma omp parallel for collapse(2) if (outer_ * inner_ * axis_len_ > (1 << 15)) schedule(static)
    for (std::int64_t o = 0; o < outer_; ++o) {
      for (std::int64_t i = 0; i < inner_; ++i) {
        const std::int64_t base = o * axis_len_ * inner_ + i;
        float top = -INFINITY;
        for (std::int64_t k = 0; k < axis_len_; ++k) top = std::max(top, x[base + k * inner_]);
        float sum = 0;
        for (std::int64_t k = 0; k < axis_len_; ++k) {
          const float e = std::exp(x[base + k * inner_] - top);
          y[base + k * inner_] = e;
          sum += e;
        }
        const float scale = 1.0F / sum;
        for (std::int64_t k = 0; k < axis_len_; ++k) y[base + k * inner_] *= scale;
      }
    }
  }

 private:
  const onnx::NodeProto& node_;
  int opset_;
  std::int64_t outer_ = 1, axis_len_ = 1, inner_ = 1;
  dnnl::softmax_forward::primitive_desc pd_;
  dnnl::softmax_forward prim_;
  dnnl::memory src_, dst_;
};

// Mean over contiguous axes via an outer/reduced/inner decomposition, which
// covers LayerNorm's last-axis mean.
class MeanKernel final : public Kernel {
 public:
  explicit MeanKernel(const onnx::NodeProto& node) : node_(node) {}
  std::vector<OutputDesc> prepare(const std::vector<InputDesc>& in) override {
    const Shape& s = in.at(0).shape;
    const auto rank = static_cast<std::int64_t>(s.size());
    std::vector<std::int64_t> axes = Attributes(node_).ints("axes");
    if (in.size() > 1 && !node_.input(1).empty()) {
      if (!in[1].constant)
        throw Error(node_prefix(node_) + "non-constant axes are not supported", ErrorKind::kUnsupported);
      axes = constant_ints(*in[1].constant);
    }
    const bool keep = Attributes(node_).i("keepdims", 1) != 0;
    if (axes.empty()) {
      for (std::int64_t d = 0; d < rank; ++d) axes.push_back(d);
    }
    for (auto& a : axes) a = a < 0 ? a + rank : a;
    std::sort(axes.begin(), axes.end());
    for (std::size_t k = 1; k < axes.size(); ++k) {
      if (axes[k] != axes[k - 1] + 1)
        throw Error(node_prefix(node_) + "non-contiguous reduction axes are not supported", ErrorKind::kUnsupported);
    }
    outer_ = reduced_ = inner_ = 1;
    for (std::int64_t d = 0; d < rank; ++d) {
      if (d < axes.front()) {
        outer_ *= s[d];
      } else if (d <= axes.back()) {
        reduced_ *= s[d];
      } else {
        inner_ *= s[d];
      }
    }
    Shape out;
    for (std::int64_t d = 0; d < rank; ++d) {
      const bool reduced = d >= axes.front() && d <= axes.back();
      if (!reduced) {
        out.push_back(s[d]);
      } else if (keep) {
        out.push_back(1);
      }
    }
    return {{DType::kFloat32, out, Layout()}};
  }
  void run(const std::vector<View>& in, const std::vector<View>& out) override {
    const float* x = in[0].f();
    float* y = out[0].f();
    const float scale = 1.0F / static_cast<float>(reduced_);
#pragma omp parallel for if (outer_ * reduced_ * inner_ > (1 << 15)) schedule(static)
    for (std::int64_t o = 0; o < outer_; ++o) {
      if (inner_ == 1) {
        // A reduction along the last axis (LayerNorm): independent partial
        // sums let the compiler vectorize without reassociating floats itself.
        const float* src = x + o * reduced_;
        float partial[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        std::int64_t r = 0;
        for (; r + 8 <= reduced_; r += 8) {
          for (int k = 0; k < 8; ++k) partial[k] += src[r + k];
        }
        float sum = 0;
        for (; r < reduced_; ++r) sum += src[r];
        for (float p : partial) sum += p;
        y[o] = sum * scale;
        continue;
      }
      float* dst = y + o * inner_;
      std::fill(dst, dst + inner_, 0.0F);
      for (std::int64_t r = 0; r < reduced_; ++r) {
        const float* src = x + (o * reduced_ + r) * inner_;
        for (std::int64_t i = 0; i < inner_; ++i) dst[i] += src[i];
      }
      for (std::int64_t i = 0; i < inner_; ++i) dst[i] *= scale;
    }
  }

 private:
  const onnx::NodeProto& node_;
  std::int64_t outer_ = 1, reduced_ = 1, inner_ = 1;
};

}  // namespace

void register_reduce_kernels(std::map<std::string, KernelFactory>& r) {
  r["Softmax"] = [](const onnx::NodeProto& n, int opset) { return std::make_unique<SoftmaxKernel>(n, opset); };
  r["ReduceMean"] = [](const onnx::NodeProto& n, int) { return std::make_unique<MeanKernel>(n); };
}

}  // namespace inferlab::native
