// Gemm and MatMul on oneDNN's matmul primitive, with the epilogue fusion.h
// plans after them (bias Add, activation, residual Add) as post-ops.
#include <algorithm>
#include <cstring>
#include <unordered_map>

#include "epilogue.h"
#include "kernel.h"
#include "onednn_context.h"
#include "onednn_util.h"
#include "tactics.h"

namespace inferlab::native {

namespace {

using dnnl::memory;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

// Gemm and MatMul on the matmul primitive. Gemm: Y = alpha * A' B' + beta * C
// with C a constant vector (bias). MatMul: batched with broadcast batch dims;
// a constant 2-D B takes the fast weights path (A flattened to 2-D), and the
// bias Add fusion.h absorbs after it arrives as a third input, like Gemm's C.
// A fused epilogue (activation, residual Add) runs as oneDNN post-ops.
// In a bf16 session the constant-weights form computes in bfloat16 with
// float32 accumulation: the weights converted once into oneDNN's layout,
// A converted by the step itself unless it arrives bf16, float32 out unless
// the engine found that only such bf16 products read it (allow_bf16_output:
// a transformer MLP's fc1 -> fc2), else its readers are float32 kernels
// (classifier heads, LayerNorm, residual Adds). Products of two runtime
// operands stay float32. With tactics on, a float32 product by
// constant weights also times the sgemm form (SgemmForm below) against the
// matmul primitive and keeps the faster.
class MatMulKernel final : public Kernel {
 public:
  MatMulKernel(const onnx::NodeProto& node, bool gemm) : node_(node), gemm_(gemm) {}
  void set_bf16(bool on) override { bf16_ = on; }
  void allow_bf16_output(bool on) override { bf16_output_allowed_ = on; }
  // bf16 A (the bf16 output of the product before) is read as it is by the
  // bf16 product by constant 2-D weights; any other bf16 operand is not.
  bool accepts_bf16(const std::vector<InputDesc>& in) const override {
    if (!bf16_ || in.size() < 2 || !in[1].constant || in[1].shape.size() != 2) return false;
    for (std::size_t k = 1; k < in.size(); ++k) {
      if (in[k].dtype == DType::kBFloat16 && !in[k].constant) return false;
    }
    return true;
  }
  void set_tuner(Tuner* tuner) override { tuner_ = tuner; }

  bool fuse_epilogue(const std::string& op, float lo, float hi) override {
    return parse_epilogue(op, lo, hi, epilogue_);
  }

  std::vector<OutputDesc> prepare(const std::vector<InputDesc>& in) override {
    auto& eng = cpu_engine();
    bf16_input_ = in.at(0).dtype == DType::kBFloat16 && accepts_bf16(in);
    for (std::size_t i = 0; i < in.size(); ++i) {
      if (in[i].dtype != DType::kFloat32 && !(i == 0 && bf16_input_))
        throw Error(node_prefix(node_) + dtype_name(in[i].dtype) + " operands are not supported (float32 is)",
                    ErrorKind::kUnsupported);
    }
    input_count_ = in.size();
    sgemm_ = SgemmForm();
    // Operands before the residual: A, B and, when present, C (or the bias).
    const std::size_t operands = in.size() - (epilogue_.residual ? 1 : 0);
    Shape a = in.at(0).shape, b = in.at(1).shape;
    bool trans_a = false, trans_b = false;
    float alpha = 1.0F, beta = 1.0F;
    if (gemm_) {
      Attributes at(node_);
      trans_a = at.i("transA", 0) != 0;
      trans_b = at.i("transB", 0) != 0;
      alpha = at.f("alpha", 1.0F);
      beta = at.f("beta", 1.0F);
      if (a.size() != 2 || b.size() != 2)
        throw Error(node_prefix(node_) + "Gemm inputs other than 2-D are not supported", ErrorKind::kUnsupported);
    }
    if (a.size() < 2 || b.size() < 2)
      throw Error(node_prefix(node_) + "1-D MatMul operands are not supported", ErrorKind::kUnsupported);
    const std::int64_t m = trans_a ? a[a.size() - 1] : a[a.size() - 2];
    const std::int64_t k = trans_a ? a[a.size() - 2] : a[a.size() - 1];
    const std::int64_t kb = trans_b ? b[b.size() - 1] : b[b.size() - 2];
    const std::int64_t n = trans_b ? b[b.size() - 2] : b[b.size() - 1];
    if (k != kb)
      throw Error(node_prefix(node_) + "inner dimensions differ: " + shape_to_string(a) + " x " + shape_to_string(b));

    Shape y;
    memory::desc a_md, b_md, y_md;
    weights_constant_ = in[1].constant != nullptr && b.size() == 2;
    bf16_weights_ = bf16_ && weights_constant_;
    // A fused residual is added in dst's type: bf16 out only without one.
    bf16_output_ = bf16_output_allowed_ && bf16_weights_ && !epilogue_.residual;
    memory::desc a_given;  // A as given, when the step converts it to bf16
    if (weights_constant_) {
      // Fold every leading dim of A into M: one 2-D product against constant weights.
      const std::int64_t rows = shape_element_count(a) / (m * k) * m;
      y = a;
      y.back() = n;
      if (trans_a) y[y.size() - 2] = m;
      a_md = memory::desc({rows, k}, dt::f32, trans_a ? tag::ba : tag::ab);
      // The weights are read where they are (transposed or not): a reordered
      // copy would double the memory of FC-heavy models (VGG16's 411 MB layer).
      // bf16 needs a converted copy anyway (half the bytes, and the float32
      // original is freed), so oneDNN picks its layout.
      b_md = bf16_weights_ ? memory::desc({k, n}, dt::bf16, tag::any)
                           : memory::desc({k, n}, dt::f32, trans_b ? tag::ba : tag::ab);
      if (bf16_weights_) {
        if (!bf16_input_) a_given = a_md;
        a_md = memory::desc({rows, k}, dt::bf16, trans_a ? tag::ba : tag::ab);
      }
      y_md = memory::desc({rows, n}, bf16_output_ ? dt::bf16 : dt::f32, tag::ab);
    } else {
      // Equal ranks, batch dims broadcast by oneDNN.
      const std::size_t rank = std::max(a.size(), b.size());
      while (a.size() < rank) a.insert(a.begin(), 1);
      while (b.size() < rank) b.insert(b.begin(), 1);
      y.assign(rank, 0);
      for (std::size_t d = 0; d + 2 < rank; ++d) {
        if (a[d] != b[d] && a[d] != 1 && b[d] != 1) throw Error(node_prefix(node_) + "batch dims do not broadcast");
        y[d] = std::max(a[d], b[d]);
      }
      y[rank - 2] = m;
      y[rank - 1] = n;
      if (trans_a || trans_b)
        throw Error(node_prefix(node_) + "transposed runtime operands are not supported", ErrorKind::kUnsupported);
      a_md = memory::desc(to_dims(a), dt::f32, plain_tag(rank));
      b_md = memory::desc(to_dims(b), dt::f32, plain_tag(rank));
      y_md = memory::desc(to_dims(y), dt::f32, plain_tag(rank));
    }
    dnnl::primitive_attr attr;
    if (alpha != 1.0F) attr.set_output_scales(0, {alpha});
    memory::desc bias_md;
    std::vector<float> bias;
    const bool with_bias = operands > 2 && (!gemm_ || !node_.input(2).empty());
    if (with_bias) {
      // The bias is added to every row: only the 2-D (constant weights) form has rows.
      if (!in[2].constant || shape_element_count(in[2].shape) != n || (!gemm_ && !weights_constant_)) {
        throw Error(node_prefix(node_) + "a C other than a constant vector of N values is not supported",
                    ErrorKind::kUnsupported);
      }
      bias.assign(in[2].constant->data_as<float>(), in[2].constant->data_as<float>() + n);
      for (auto& v : bias) v *= beta;
      sgemm_.bias_row = bias;  // the sgemm form adds beta * C after alpha's scaling
      // With alpha folded into the output scale, the bias must be pre-divided.
      if (alpha != 1.0F) {
        for (auto& v : bias) v /= alpha;
      }
      bias_md = memory::desc({1, n}, dt::f32, tag::ab);
    }
    Shape out_shape = y;
    if (epilogue_.residual && in.back().shape != y) {
      // A residual that broadcasts (Swin's attention adds its position bias
      // to q k^T so) is no post-op operand: the Add runs as a oneDNN binary
      // after the product, the epilogue's activation as its post-op.
      const Shape& r = in.back().shape;
      out_shape = broadcast_shapes(y, r, node_prefix(node_));
      const bool into_product = out_shape == y;
      if (!into_product && out_shape != r)
        throw Error(node_prefix(node_) + "a residual Add that broadcasts both operands is not supported",
                    ErrorKind::kUnsupported);
      auto padded = [&](const Shape& s) {
        Shape p(out_shape.size() - s.size(), 1);
        p.insert(p.end(), s.begin(), s.end());
        return memory::desc(to_dims(p), dt::f32, plain_tag(p.size()));
      };
      const memory::desc big = padded(out_shape), small = padded(into_product ? r : y);
      binary_ = residual_add(big, small);
      // The product is written to the output and the residual added in
      // place, or, when the residual is the larger, to a private buffer.
      if (!into_product) product_ = memory(y_md, eng);
      residual_is_larger_ = !into_product;
      binary_big_ = memory(big, eng, nullptr);
      binary_small_ = memory(small, eng, nullptr);
      binary_dst_ = memory(big, eng, nullptr);
    } else if (epilogue_.residual) {
      // The residual is plain (this kernel takes plain inputs only) and has
      // the output's shape, so it reads as the product's own dst layout.
      residual_ = memory(y_md, eng, nullptr);
    }
    dnnl::post_ops ops;
    if (!binary_) append_epilogue(epilogue_, y_md, 1.0F, ops);
    if (ops.len() > 0) attr.set_post_ops(ops);
    dnnl::matmul::desc desc =
        bias.empty() ? dnnl::matmul::desc(a_md, b_md, y_md) : dnnl::matmul::desc(a_md, b_md, bias_md, y_md);
    pd_ = dnnl::matmul::primitive_desc(desc, attr, eng);
    prim_ = dnnl::matmul(pd_);
    if (bf16_weights_) {
      memory user_b({{k, n}, dt::f32, trans_b ? tag::ba : tag::ab}, eng, const_cast<void*>(in[1].constant->data()));
      weights_ = memory(pd_.weights_desc(), eng);
      dnnl::reorder(user_b, weights_).execute(cpu_stream(), user_b, weights_);
      cpu_stream().wait();
    } else if (weights_constant_) {
      weights_ = memory(pd_.weights_desc(), eng, const_cast<void*>(in[1].constant->data()));
    } else {
      weights_ = memory(pd_.weights_desc(), eng, nullptr);
    }
    if (!bias.empty()) {
      bias_ = memory(bias_md, eng);
      std::copy(bias.begin(), bias.end(), static_cast<float*>(bias_.get_data_handle()));
    }
    if (bf16_weights_ && !bf16_input_) {
      input_ = memory(a_given, eng, nullptr);
      src_ = memory(pd_.src_desc(), eng);
      input_reorder_ = dnnl::reorder(input_, src_);
    } else {
      input_ = src_ = memory(pd_.src_desc(), eng, nullptr);
      input_reorder_ = dnnl::reorder();
    }
    dst_ = memory(pd_.dst_desc(), eng, nullptr);
    args_ = weighted_layer_args(src_, weights_, bias_, dst_, residual_);
    tactic_note_.clear();
    sgemm_.on = false;
    if (tuner_ && weights_constant_ && !bf16_weights_ && !binary_) {
      sgemm_.m = shape_element_count(a) / k;
      sgemm_.n = n;
      sgemm_.k = k;
      sgemm_.trans_a = trans_a;
      sgemm_.trans_b = trans_b;
      sgemm_.alpha = alpha;
      choose_form(y_md);
    }
    tuner_ = nullptr;  // valid for this prepare() only
    return {{bf16_output_ ? DType::kBFloat16 : DType::kFloat32, out_shape, Layout()}};
  }

  void run(const std::vector<View>& in, const std::vector<View>& out) override {
    if (sgemm_.on) {
      run_sgemm(in[0].f(), out[0].f(), epilogue_.residual ? in.back().f() : nullptr);
      return;
    }
    input_.set_data_handle(in[0].data);
    if (input_reorder_) input_reorder_.execute(cpu_stream(), input_, src_);
    if (!weights_constant_) weights_.set_data_handle(in[1].data);
    dst_.set_data_handle(product_ ? product_.get_data_handle() : out[0].data);
    if (residual_) residual_.set_data_handle(in.back().data);
    prim_.execute(cpu_stream(), args_);
    if (binary_) {
      binary_big_.set_data_handle(residual_is_larger_ ? in.back().data : out[0].data);
      binary_small_.set_data_handle(residual_is_larger_ ? dst_.get_data_handle() : in.back().data);
      binary_dst_.set_data_handle(out[0].data);
      binary_.execute(cpu_stream(),
                      {{DNNL_ARG_SRC_0, binary_big_}, {DNNL_ARG_SRC_1, binary_small_}, {DNNL_ARG_DST, binary_dst_}});
    }
    cpu_stream().wait();
  }
  std::string implementation() const override {
    const std::string bf16_io =
        !bf16_weights_ ? "" : std::string(" ") + (bf16_input_ ? "bf16" : "f32") + ">" + (bf16_output_ ? "bf16" : "f32");
    return (sgemm_.on ? std::string("onednn:sgemm") : impl_name(pd_)) + bf16_io + tactic_note_;
  }
  // A and B are read in place every run (constant B included, unless
  // converted to bf16), and so is a fused residual; C (or the bias) was copied.
  bool reads_input_at_run(std::size_t index) const override {
    return index == 0 || (index == 1 && !bf16_weights_) || (epilogue_.residual && index + 1 == input_count_);
  }

 private:
  // The product as one dnnl_sgemm call on the weights where they are. At
  // batch 1 it is a matrix-vector product, bound by reading the weights:
  // oneDNN's gemm streams plain weights near the memory's speed, where the
  // matmul primitive first copies them into its blocked form on every run
  // (measured on Zen 4, alexnet's 9216x4096 layer: 4.0 against 7.5 ms).
  // The bias is written into the output first (beta 1); the epilogue runs
  // after it in place, as eltwise primitives or, with a residual, as one
  // binary add carrying the activation as its post-ops.
  struct SgemmForm {
    bool on = false;
    dnnl_dim_t m = 0, n = 0, k = 0;  // rows of A (every leading dim folded), columns of Y, inner
    bool trans_a = false, trans_b = false;
    float alpha = 1.0F;
    std::vector<float> bias_row;  // beta * C, added to every row; empty: none
    std::vector<dnnl::primitive> eltwise_steps;
    dnnl::binary residual_add;
    memory y, residual;  // what the epilogue primitives read and write
  };

  void run_sgemm(const float* a, float* y, const float* residual) {
    const auto& f = sgemm_;
    if (!f.bias_row.empty()) {
      for (dnnl_dim_t r = 0; r < f.m; ++r) std::memcpy(y + r * f.n, f.bias_row.data(), f.n * sizeof(float));
    }
    // Row-major, as dnnl_sgemm reads them: A is [m, k] ([k, m] transposed),
    // the weights [k, n] ([n, k] transposed).
    const dnnl_status_t status =
        dnnl_sgemm(f.trans_a ? 'T' : 'N', f.trans_b ? 'T' : 'N', f.m, f.n, f.k, f.alpha, a, f.trans_a ? f.m : f.k,
                   static_cast<const float*>(weights_.get_data_handle()), f.trans_b ? f.k : f.n,
                   f.bias_row.empty() ? 0.0F : 1.0F, y, f.n);
    if (status != dnnl_success)
      throw Error(node_prefix(node_) + "dnnl_sgemm failed (status " + std::to_string(status) + ")");
    if (!f.residual_add && f.eltwise_steps.empty()) return;
    sgemm_.y.set_data_handle(y);
    if (f.residual_add) {
      sgemm_.residual.set_data_handle(const_cast<float*>(residual));
      f.residual_add.execute(cpu_stream(), {{DNNL_ARG_SRC_0, f.y}, {DNNL_ARG_SRC_1, f.residual}, {DNNL_ARG_DST, f.y}});
    } else {
      for (const auto& step : f.eltwise_steps) step.execute(cpu_stream(), {{DNNL_ARG_SRC, f.y}, {DNNL_ARG_DST, f.y}});
    }
    cpu_stream().wait();
  }

  // The residual Add as a oneDNN binary (big + small -> big) carrying the
  // epilogue's activation as its post-ops: a broadcast residual after the
  // primitive, and any residual after the sgemm form.
  dnnl::binary residual_add(const memory::desc& big, const memory::desc& small) const {
    dnnl::primitive_attr attr;
    dnnl::post_ops ops;
    Epilogue activation = epilogue_;
    activation.residual = false;
    append_epilogue(activation, {}, 1.0F, ops);
    if (ops.len() > 0) attr.set_post_ops(ops);
    return dnnl::binary(dnnl::binary::primitive_desc(dnnl::binary::desc(dnnl::algorithm::binary_add, big, small, big),
                                                     attr, cpu_engine()));
  }

  // Builds the sgemm form's epilogue over the output `y_md`.
  void build_sgemm_epilogue(const memory::desc& y_md) {
    auto& eng = cpu_engine();
    auto& f = sgemm_;
    f.eltwise_steps.clear();
    f.residual_add = dnnl::binary();
    f.y = memory(y_md, eng, nullptr);
    if (epilogue_.residual) {
      f.residual = memory(y_md, eng, nullptr);
      f.residual_add = residual_add(y_md, y_md);
      return;
    }
    if (!epilogue_.eltwise) return;
    auto eltwise = [&](dnnl::algorithm algorithm, float alpha, float beta) {
      f.eltwise_steps.push_back(dnnl::eltwise_forward(dnnl::eltwise_forward::primitive_desc(
          dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_inference, algorithm, y_md, alpha, beta), eng)));
    };
    eltwise(epilogue_.algorithm, epilogue_.alpha, epilogue_.beta);
    if (epilogue_.clip_to_unit) eltwise(dnnl::algorithm::eltwise_clip, 0.0F, 1.0F);
  }

  // The tuner's pick between the matmul primitive (tactic 1, what runs
  // without tactics) and the sgemm form, each timed on zeroed scratch
  // inputs against the real weights.
  void choose_form(const memory::desc& y_md) {
    build_sgemm_epilogue(y_md);
    const auto& f = sgemm_;
    const std::string signature =
        std::string("MatMul f32 m=") + std::to_string(f.m) + " k=" + std::to_string(f.k) + " n=" + std::to_string(f.n) +
        " ta=" + (f.trans_a ? "1" : "0") + " tb=" + (f.trans_b ? "1" : "0") +
        " bias=" + (f.bias_row.empty() ? "0" : "1") + " res=" + (epilogue_.residual ? "1" : "0") +
        " post=" + (epilogue_.eltwise ? std::to_string(static_cast<int>(epilogue_.algorithm)) : "none");
    const std::vector<std::string> names = {"matmul:" + impl_name(pd_), "sgemm"};
    auto scratch_a = std::make_shared<std::vector<float>>(static_cast<std::size_t>(f.m * f.k), 0.0F);
    auto scratch_y = std::make_shared<std::vector<float>>(static_cast<std::size_t>(f.m * f.n), 0.0F);
    auto scratch_r = std::make_shared<std::vector<float>>(epilogue_.residual ? scratch_y->size() : 0, 0.0F);
    const auto choice = tuner_->choose(signature, names, [&, scratch_a, scratch_y, scratch_r](std::size_t i) {
      std::function<void()> runner;
      if (i == 1) {
        runner = [this, scratch_a, scratch_y, scratch_r] {
          run_sgemm(scratch_a->data(), scratch_y->data(), scratch_r->empty() ? nullptr : scratch_r->data());
        };
      } else {
        runner = [this, scratch_a, scratch_y, scratch_r] {
          input_.set_data_handle(scratch_a->data());
          dst_.set_data_handle(scratch_y->data());
          if (residual_) residual_.set_data_handle(scratch_r->data());
          prim_.execute(cpu_stream(), args_);
          cpu_stream().wait();
        };
      }
      return runner;
    });
    sgemm_.on = choice.index == 1;
    tactic_note_ =
        " (tactic " + std::to_string(choice.index + 1) + " of 2, " + (choice.from_cache ? "cached)" : "timed)");
  }

  const onnx::NodeProto& node_;
  bool gemm_;
  bool bf16_ = false;                 // a bf16 session
  bool bf16_weights_ = false;         // ... and constant weights: this product runs in bf16
  bool bf16_output_allowed_ = false;  // every reader takes bf16 A (allow_bf16_output)
  bool bf16_input_ = false;           // A arrives bf16 and is read as it is
  bool bf16_output_ = false;          // the product writes bf16
  bool weights_constant_ = false;
  Epilogue epilogue_;
  std::size_t input_count_ = 0;
  dnnl::matmul::primitive_desc pd_;
  dnnl::matmul prim_;
  memory weights_, bias_, input_, src_, dst_, residual_;
  dnnl::reorder input_reorder_;           // A into bf16 (bf16 weights only)
  std::unordered_map<int, memory> args_;  // over the memories above (weighted_layer_args)
  // A broadcast residual: its Add, and the product's buffer when the residual is the larger.
  dnnl::binary binary_;
  memory binary_big_, binary_small_, binary_dst_, product_;
  bool residual_is_larger_ = false;
  Tuner* tuner_ = nullptr;  // set for the next prepare() when tactics are on
  SgemmForm sgemm_;
  std::string tactic_note_;  // for the profile: which tactic and how it was chosen
};

}  // namespace

void register_matmul_kernels(std::map<std::string, KernelFactory>& r) {
  r["Gemm"] = [](const onnx::NodeProto& n, int) { return std::make_unique<MatMulKernel>(n, true); };
  r["MatMul"] = [](const onnx::NodeProto& n, int) { return std::make_unique<MatMulKernel>(n, false); };
}

}  // namespace inferlab::native
