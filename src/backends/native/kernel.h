#pragma once
// The native engine's kernel contract. One Kernel object per graph node:
// prepare() sees the input shapes (and constant input values) once and
// computes the outputs' shapes; run() is called every inference with
// pointers into the arena. Kernels hold no tensor memory of their own
// except prepared weights (e.g. oneDNN's reordered filters).

#ifndef ONNX_ML
#define ONNX_ML 1
#endif
#include <onnx/onnx_pb.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "inferlab/error.h"
#include "inferlab/tensor.h"

namespace inferlab::native {

/// A tensor in the engine: dtype, shape, and a pointer it does not own.
struct View {
  DType dtype = DType::kFloat32;
  Shape shape;
  void* data = nullptr;
  std::int64_t elements() const { return shape_element_count(shape); }
  float* f() const { return static_cast<float*>(data); }
  std::int64_t* i64() const { return static_cast<std::int64_t*>(data); }
};

/// A tensor's physical layout: empty (ndims 0) for the plain row-major
/// layout of its ONNX shape, else the oneDNN descriptor of a blocked layout
/// (e.g. nChw8c) whose buffer may be larger than the logical elements.
using Layout = dnnl::memory::desc;
inline bool is_blocked(const Layout& layout) { return layout.data.ndims != 0; }

/// A constant's values, read-only, in memory someone else owns (the model's
/// protobuf for initializers, a Tensor for folded values).
class Constant {
 public:
  Constant() = default;
  Constant(DType dtype, Shape shape, const void* data) : dtype_(dtype), shape_(std::move(shape)), data_(data) {}
  explicit Constant(const Tensor& t) : dtype_(t.dtype()), shape_(t.shape()), data_(t.data()) {}
  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  const void* data() const { return data_; }
  template <typename T>
  const T* data_as() const {
    return static_cast<const T*>(data_);
  }
  std::int64_t element_count() const { return shape_element_count(shape_); }

 private:
  DType dtype_ = DType::kUnknown;
  Shape shape_;
  const void* data_ = nullptr;
};

/// What prepare() knows of an input: dtype, shape, layout, and its values
/// when it is a constant (initializer or folded), else null. The values stay
/// valid during prepare() only unless reads_input_at_run() says otherwise.
struct InputDesc {
  DType dtype = DType::kFloat32;
  Shape shape;
  const Constant* constant = nullptr;
  Layout layout;
};

/// What prepare() returns for each output.
struct OutputDesc {
  DType dtype = DType::kFloat32;
  Shape shape;
  Layout layout;  ///< empty: plain
};

class Tuner;  // tactics.h

class Kernel {
 public:
  virtual ~Kernel() = default;
  /// Computes the output descriptors. Throws Error naming the node on
  /// shapes or attributes it cannot handle.
  virtual std::vector<OutputDesc> prepare(const std::vector<InputDesc>& inputs) = 0;
  /// Computes outputs from inputs (views sized as prepared).
  virtual void run(const std::vector<View>& inputs, const std::vector<View>& outputs) = 0;
  /// Whether prepare() may be given these inputs as they are; when false the
  /// engine reorders every blocked input to plain first. The default takes
  /// plain layouts only.
  virtual bool accepts_layouts(const std::vector<InputDesc>& inputs) const {
    for (const auto& in : inputs) {
      if (is_blocked(in.layout)) return false;
    }
    return true;
  }
  /// Whether prepare() may be given these inputs when some are bfloat16
  /// activations (a bf16 session's Conv outputs); when false the engine
  /// converts them to float32 first. The default takes float32 only.
  virtual bool accepts_bf16(const std::vector<InputDesc>& /*inputs*/) const { return false; }
  /// Whether run() reads input `index`. Kernels that copy a constant input
  /// into their own prepared form at prepare() (Conv and MatMul weights) say
  /// no, and the engine frees that constant.
  virtual bool reads_input_at_run(std::size_t /*index*/) const { return true; }
  /// Output 0 may share input 0's storage (pure reshapes): the planner then
  /// gives both one buffer and run() sees equal pointers.
  virtual bool output_aliases_input() const { return false; }
  /// What implementation runs, for the profile, e.g. "onednn:jit:avx2" or "reference".
  virtual std::string implementation() const { return "reference"; }
  /// Tactic selection (tactics.h): a kernel with several implementations
  /// times them through `tuner` in its next prepare() and keeps the fastest.
  /// Null (the default) keeps the implementation it picks without timing.
  /// The tuner is valid during that prepare() only.
  virtual void set_tuner(Tuner* /*tuner*/) {}
  /// Fuses the epilogue `op` that fusion.h planned after this node (an
  /// activation, Clip with bounds `lo`, `hi`, or a residual Add whose operand
  /// the engine passes as the last input) as oneDNN post-ops. Called before
  /// prepare(); false (the default) when the kernel cannot.
  virtual bool fuse_epilogue(const std::string& /*op*/, float /*lo*/, float /*hi*/) { return false; }
  /// A bf16 session: the kernel computes in bfloat16 with float32
  /// accumulation where it has such a form (Conv; Gemm/MatMul by constant
  /// weights), weights converted once at prepare. Called before prepare();
  /// kernels without a bf16 form ignore it and compute in float32.
  virtual void set_bf16(bool /*on*/) {}
  /// In a bf16 session, the engine found that every reader of output 0 is a
  /// product by constant weights that reads bf16 as it is (Gemm/MatMul): a
  /// kernel computing in bf16 may then write output 0 as bf16 instead of
  /// float32, sparing the readers' conversion. Called before prepare();
  /// kernels without a bf16 form ignore it.
  virtual void allow_bf16_output(bool /*on*/) {}
};

/// Attribute access with ONNX defaults.
class Attributes {
 public:
  explicit Attributes(const onnx::NodeProto& node) : node_(node) {}
  bool has(const std::string& name) const { return find(name) != nullptr; }
  std::int64_t i(const std::string& name, std::int64_t fallback) const {
    const auto* a = find(name);
    return a ? a->i() : fallback;
  }
  float f(const std::string& name, float fallback) const {
    const auto* a = find(name);
    return a ? a->f() : fallback;
  }
  std::string s(const std::string& name, const std::string& fallback) const {
    const auto* a = find(name);
    return a ? a->s() : fallback;
  }
  std::vector<std::int64_t> ints(const std::string& name, std::vector<std::int64_t> fallback = {}) const {
    const auto* a = find(name);
    return a ? std::vector<std::int64_t>(a->ints().begin(), a->ints().end()) : fallback;
  }

 private:
  const onnx::AttributeProto* find(const std::string& name) const {
    for (const auto& a : node_.attribute()) {
      if (a.name() == name) return &a;
    }
    return nullptr;
  }
  const onnx::NodeProto& node_;
};

/// Creates the kernel for `node`; null when the engine has no kernel for its op.
using KernelFactory = std::function<std::unique_ptr<Kernel>(const onnx::NodeProto& node, int opset)>;

/// op type -> factory, for every op the engine claims.
const std::map<std::string, KernelFactory>& kernel_registry();

/// "<op> <name>: " for error messages.
inline std::string node_prefix(const onnx::NodeProto& node) {
  return node.op_type() + " '" + (node.name().empty() ? node.output(0) : node.name()) + "': ";
}

// Registration hooks, one per kernel file (called by kernel_registry()).
void register_elementwise_kernels(std::map<std::string, KernelFactory>& registry);
void register_shape_kernels(std::map<std::string, KernelFactory>& registry);
void register_reduce_kernels(std::map<std::string, KernelFactory>& registry);
void register_onednn_kernels(std::map<std::string, KernelFactory>& registry);
void register_conv_kernels(std::map<std::string, KernelFactory>& registry);
void register_matmul_kernels(std::map<std::string, KernelFactory>& registry);
void register_layernorm_kernels(std::map<std::string, KernelFactory>& registry);
void register_quantize_kernels(std::map<std::string, KernelFactory>& registry);
void register_pad_kernels(std::map<std::string, KernelFactory>& registry);
void register_concat_batchnorm_kernel(std::map<std::string, KernelFactory>& registry);

/// A kernel converting float16 bits to float32 (`to_half` false) or float32
/// to float16 bits (true): the engine's steps at float16 graph inputs and outputs.
std::unique_ptr<Kernel> make_float16_conversion_kernel(bool to_half);

/// `t` as float32 when it holds float16, else `t` itself. The engine computes
/// in float32: float16 weights and constants are widened once, at load.
Tensor widen_float16(Tensor t);

/// The int8 Conv of a QDQ pattern (kernels_conv.cpp); its inputs are in
/// Int8Operand's slots (int8_operands.h), then a fused residual.
std::unique_ptr<Kernel> make_int8_conv_kernel(const onnx::NodeProto& conv);

/// The int8 Gemm or MatMul of a QDQ pattern with constant 2-D weights
/// (kernels_matmul_int8.cpp); inputs as make_int8_conv_kernel()'s, the bias
/// being Gemm's C or the bias Add fused after a MatMul; float32 output.
std::unique_ptr<Kernel> make_int8_matmul_kernel(const onnx::NodeProto& node);

/// DequantizeLinear of a constant int8 tensor with zero point 0 (what a QDQ
/// graph computes for its weights): q * scale, `scale` holding one value or
/// one per index along `axis` of q. Float32, in q's order. Throws Error for
/// another count of scales. Defined with the DequantizeLinear kernel.
std::vector<float> dequantize_int8_constant(const Constant& q, const Constant& scale, std::int64_t axis);

/// A kernel converting its input to layout `to` (empty: plain); the engine
/// inserts these where a kernel needs another layout than it is given.
std::unique_ptr<Kernel> make_reorder_kernel(const Layout& to);
/// A kernel converting a bfloat16 input (any layout) to float32 in layout
/// `to` (empty: plain): where a bf16 value meets a float32-only kernel or a
/// graph output.
std::unique_ptr<Kernel> make_float32_conversion_kernel(const Layout& to);

/// A binary result written quantized, as a QuantizeLinear with zero point 0
/// after it would: saturate(round_half_even(result * inverse_scale)).
struct QuantizedDst {
  DType dtype = DType::kUInt8;  ///< kUInt8 or kInt8
  float inverse_scale = 1.0F;   ///< 1 / the QuantizeLinear's y_scale
};

/// oneDNN binary (Add/Sub/Mul/Div) of 4-D float tensors in any layouts, the
/// second operand broadcast; Add/Mul take either operand as the larger. With
/// `quantized` it writes u8/s8 (nhwc where oneDNN has a jit kernel for it).
std::unique_ptr<Kernel> make_binary_primitive_kernel(const onnx::NodeProto& node,
                                                     std::optional<QuantizedDst> quantized = std::nullopt);

/// oneDNN concatenation along channels of 4-D float tensors, any layouts.
std::unique_ptr<Kernel> make_channel_concat_kernel(const onnx::NodeProto& node);

/// Numpy-style broadcast of two shapes; throws Error on a mismatch.
Shape broadcast_shapes(const Shape& a, const Shape& b, const std::string& where);

/// Reads a constant int64/int32 tensor as int64 values.
std::vector<std::int64_t> constant_ints(const Constant& tensor);

}  // namespace inferlab::native
