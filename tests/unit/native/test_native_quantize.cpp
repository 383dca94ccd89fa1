// QuantizeLinear, DequantizeLinear and Cast against hand-computed values,
// and whole QDQ and FP16 models in the exact format `inferlab optimize`
// emits, against the same models computed in float32 here.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "../onnx_builder.h"
#include "backends/native/engine.h"
#include "backends/native/onednn_util.h"
#include "backends/native/quantize_passes.h"
#include "backends/native/swish.h"
#include "inferlab/error.h"
#include "inferlab/files.h"
#include "inferlab/float16.h"
#include "inferlab/registry.h"

namespace inferlab::native {
namespace {

using namespace test_onnx;

onnx::ModelProto empty_model(int opset = 13) { return new_model("quantize", opset); }

void typed_value(onnx::ValueInfoProto* v, const std::string& name, int elem_type, const Shape& dims) {
  v->set_name(name);
  auto* t = v->mutable_type()->mutable_tensor_type();
  t->set_elem_type(elem_type);
  for (auto d : dims) t->mutable_shape()->add_dim()->set_dim_value(d);
}

template <typename T>
void raw_initializer(onnx::GraphProto& g, const std::string& name, int elem_type, const Shape& dims,
                     const std::vector<T>& values) {
  auto* t = g.add_initializer();
  t->set_name(name);
  t->set_data_type(elem_type);
  for (auto d : dims) t->add_dims(d);
  t->set_raw_data(std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T)));
}

template <typename T>
Tensor tensor_of(DType dtype, const Shape& shape, const std::vector<T>& values) {
  Tensor t(dtype, shape);
  EXPECT_EQ(t.size_bytes(), values.size() * sizeof(T));
  std::memcpy(t.data(), values.data(), t.size_bytes());
  return t;
}

template <typename T>
std::vector<T> values_of(const Tensor& t) {
  return {t.data_as<T>(), t.data_as<T>() + t.element_count()};
}

// Runs `model` on the native engine; outputs take the dtypes the engine reports.
// Tactics (timed kernel choice) are off: what these tests check must not
// depend on which kernel a loaded machine happened to time fastest (the
// int8 Conv test failed once in a parallel ctest run with them on).
std::vector<Tensor> run_native(const onnx::ModelProto& model, const std::vector<const Tensor*>& inputs,
                               Engine** keep = nullptr, bool int8 = true) {
  TempDir dir("inferlab-native-q");
  const std::string path = dir.path() + "/m.onnx";
  write_file_atomically(path, model.SerializeAsString());
  static std::unique_ptr<Engine> last;
  last = std::make_unique<Engine>(path);
  last->set_int8_kernels(int8);
  last->set_tactics(false);
  std::vector<Shape> shapes;
  for (const auto* t : inputs) shapes.push_back(t->shape());
  last->prepare(shapes);
  std::vector<Tensor> outs;
  for (const auto& spec : last->output_specs()) outs.emplace_back(spec.dtype, spec.shape);
  std::vector<Tensor*> ptrs;
  for (auto& t : outs) ptrs.push_back(&t);
  last->run(inputs, ptrs);
  if (keep) *keep = last.get();
  return outs;
}

// One Q or DQ node: x a runtime input, scale and zero point initializers.
template <typename Z>
onnx::ModelProto qdq_node(const std::string& op, int x_type, const Shape& x_shape, const std::vector<float>& scale,
                          int zp_type, const std::vector<Z>& zp, int y_type, std::int64_t axis = 1) {
  auto m = empty_model();
  auto& g = *m.mutable_graph();
  typed_value(g.add_input(), "x", x_type, x_shape);
  typed_value(g.add_output(), "y", y_type, x_shape);
  const Shape param_shape = scale.size() == 1 ? Shape{} : Shape{static_cast<std::int64_t>(scale.size())};
  raw_initializer(g, "scale", onnx::TensorProto::FLOAT, param_shape, scale);
  raw_initializer(g, "zp", zp_type, param_shape, zp);
  auto* n = add_node(g, op, {"x", "scale", "zp"}, {"y"});
  if (axis != 1) add_int_attribute(n, "axis", {axis}, false);
  return m;
}

TEST(NativeQuantize, PerTensorRoundsHalfToEvenAndSaturates) {
  // x / 2 = 0.5, 1.5, 2.5, -0.5, -1.5, 150, -150, 127; + 128, clamped to [0, 255].
  const std::vector<float> x{1, 3, 5, -1, -3, 300, -300, 254};
  const auto model = qdq_node("QuantizeLinear", onnx::TensorProto::FLOAT, {8}, {2.0F}, onnx::TensorProto::UINT8,
                              std::vector<std::uint8_t>{128}, onnx::TensorProto::UINT8);
  const Tensor in = tensor_of(DType::kFloat32, {8}, x);
  const auto out = run_native(model, {&in});
  ASSERT_EQ(out[0].dtype(), DType::kUInt8);
  EXPECT_EQ(values_of<std::uint8_t>(out[0]), (std::vector<std::uint8_t>{128, 130, 130, 128, 126, 255, 0, 255}));

  // int8, scale 1: ties to even both ways, and both saturation bounds.
  const std::vector<float> x8{0.5F, 1.5F, 2.5F, -0.5F, -1.5F, -2.5F, 127.4F, 127.6F, 200, -128.4F, -128.6F, -300};
  const auto model8 = qdq_node("QuantizeLinear", onnx::TensorProto::FLOAT, {12}, {1.0F}, onnx::TensorProto::INT8,
                               std::vector<std::int8_t>{0}, onnx::TensorProto::INT8);
  const Tensor in8 = tensor_of(DType::kFloat32, {12}, x8);
  const auto out8 = run_native(model8, {&in8});
  ASSERT_EQ(out8[0].dtype(), DType::kInt8);
  EXPECT_EQ(values_of<std::int8_t>(out8[0]),
            (std::vector<std::int8_t>{0, 2, 2, 0, -2, -2, 127, 127, 127, -128, -128, -128}));
}

TEST(NativeQuantize, FourDimensionalOutputComesBackInNchwOrder) {
  // The oneDNN path writes 4-D results nhwc (for int8 convolutions); a graph
  // output must still be row-major NCHW.
  std::vector<float> x(2 * 3 * 2 * 2);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i) - 11.5F;
  const auto model = qdq_node("QuantizeLinear", onnx::TensorProto::FLOAT, {2, 3, 2, 2}, {1.0F}, onnx::TensorProto::INT8,
                              std::vector<std::int8_t>{0}, onnx::TensorProto::INT8);
  const Tensor in = tensor_of(DType::kFloat32, {2, 3, 2, 2}, x);
  Engine* engine = nullptr;
  const auto y = values_of<std::int8_t>(run_native(model, {&in}, &engine)[0]);
  // Three channels: the planar image pass (quantize_planar.h), else oneDNN's reorder.
  EXPECT_EQ(engine->steps().at(0).implementation, "quantize_planar3_to_nhwc");
  for (std::size_t i = 0; i < x.size(); ++i) EXPECT_EQ(y[i], static_cast<std::int8_t>(std::nearbyint(x[i]))) << i;
}

TEST(NativeQuantize, PlanarImageGivesTheReordersBytes) {
  // Two 45x47 images (2115 pixels: a ragged 16-pixel tail and a ragged
  // work item), values with ties at scale 0.5 and beyond both bounds; int8
  // and uint8. The planar pass and oneDNN's reorder (4 channels) must agree
  // with round-half-even of x * (1 / scale), saturated.
  for (bool is_signed : {true, false}) {
    for (std::int64_t channels : {3, 4}) {
      const Shape shape{2, channels, 45, 47};
      std::vector<float> x(static_cast<std::size_t>(shape_element_count(shape)));
      for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(static_cast<int>(i * 7 % 601) - 300) * 0.25F;
      const auto model =
          is_signed ? qdq_node("QuantizeLinear", onnx::TensorProto::FLOAT, shape, {0.5F}, onnx::TensorProto::INT8,
                               std::vector<std::int8_t>{0}, onnx::TensorProto::INT8)
                    : qdq_node("QuantizeLinear", onnx::TensorProto::FLOAT, shape, {0.5F}, onnx::TensorProto::UINT8,
                               std::vector<std::uint8_t>{0}, onnx::TensorProto::UINT8);
      const Tensor in = tensor_of(DType::kFloat32, shape, x);
      Engine* engine = nullptr;
      const auto out = run_native(model, {&in}, &engine);
      const std::string implementation = engine->steps().at(0).implementation;
      EXPECT_EQ(implementation == "quantize_planar3_to_nhwc", channels == 3) << implementation;
      const float lo = is_signed ? -128.0F : 0.0F, hi = is_signed ? 127.0F : 255.0F;
      int mismatches = 0;
      for (std::size_t i = 0; i < x.size(); ++i) {
        const int want = static_cast<int>(std::clamp(std::nearbyint(x[i] * 2.0F), lo, hi));
        const int got = is_signed ? out[0].data_as<std::int8_t>()[i] : out[0].data_as<std::uint8_t>()[i];
        if (got != want && mismatches++ < 5) ADD_FAILURE() << implementation << " element " << i << " x=" << x[i];
      }
      EXPECT_EQ(0, mismatches) << implementation;
    }
  }
}

TEST(NativeQuantize, PerTensorOverManyElementsUsesEveryChunk) {
  // Larger than one parallel chunk: every element must still be written.
  std::vector<float> x(100003);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(static_cast<int>(i % 301) - 150) * 0.25F;
  const auto model = qdq_node("QuantizeLinear", onnx::TensorProto::FLOAT, {static_cast<std::int64_t>(x.size())}, {0.5F},
                              onnx::TensorProto::INT8, std::vector<std::int8_t>{0}, onnx::TensorProto::INT8);
  const Tensor in = tensor_of(DType::kFloat32, {static_cast<std::int64_t>(x.size())}, x);
  const auto y = values_of<std::int8_t>(run_native(model, {&in})[0]);
  for (std::size_t i = 0; i < x.size(); ++i) {
    const float want = std::clamp(std::nearbyint(x[i] / 0.5F), -128.0F, 127.0F);
    ASSERT_EQ(y[i], static_cast<std::int8_t>(want)) << "element " << i << " x=" << x[i];
  }
}

TEST(NativeQuantize, ContiguousPassGivesTheSameBytesOnEveryInstructionSet) {
  // A ragged length (vector tails), ties at scale 0.5, both bounds, NaN-free.
  std::vector<float> x(40009);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(static_cast<int>(i * 13 % 1201) - 600) * 0.25F;
  for (bool is_signed : {true, false}) {
    const float lo = is_signed ? -128.0F : 0.0F, hi = is_signed ? 127.0F : 255.0F;
    for (SimdPath path : {SimdPath::kScalar, SimdPath::kAvx2, SimdPath::kAvx512}) {
      if (!simd_path_supported(path)) {
        std::printf("skipped path %d: this CPU lacks it\n", static_cast<int>(path));
        continue;
      }
      std::vector<std::int8_t> y(x.size());
      quantize_contiguous(x.data(), static_cast<std::int64_t>(x.size()), 2.0F, is_signed, y.data(), path);
      int mismatches = 0;
      for (std::size_t i = 0; i < x.size(); ++i) {
        const int want = static_cast<int>(std::clamp(std::nearbyint(x[i] * 2.0F), lo, hi));
        const int got = is_signed ? y[i] : static_cast<std::uint8_t>(y[i]);
        if (got != want && mismatches++ < 5) ADD_FAILURE() << "path " << static_cast<int>(path) << " element " << i;
      }
      EXPECT_EQ(0, mismatches) << "path " << static_cast<int>(path) << (is_signed ? " int8" : " uint8");
    }
  }
}

TEST(NativeQuantize, PerAxisUsesEachChannelsScaleAndZeroPoint) {
  // x [1,3,2], axis 1: scales 1, 2, 4 and zero points 0, 1, -1.
  const std::vector<float> x{1.5F, -2.5F, 3, 5, 10, -10};
  const auto model = qdq_node("QuantizeLinear", onnx::TensorProto::FLOAT, {1, 3, 2}, {1, 2, 4}, onnx::TensorProto::INT8,
                              std::vector<std::int8_t>{0, 1, -1}, onnx::TensorProto::INT8);
  const Tensor in = tensor_of(DType::kFloat32, {1, 3, 2}, x);
  EXPECT_EQ(values_of<std::int8_t>(run_native(model, {&in})[0]), (std::vector<std::int8_t>{2, -2, 3, 3, 1, -3}));
}

TEST(NativeDequantize, PerTensorAndPerAxis) {
  const auto model = qdq_node("DequantizeLinear", onnx::TensorProto::UINT8, {4}, {2.0F}, onnx::TensorProto::UINT8,
                              std::vector<std::uint8_t>{128}, onnx::TensorProto::FLOAT);
  const Tensor in = tensor_of(DType::kUInt8, {4}, std::vector<std::uint8_t>{0, 3, 128, 255});
  EXPECT_EQ(values_of<float>(run_native(model, {&in})[0]), (std::vector<float>{-256, -250, 0, 254}));

  // int8 [2,3] along axis 0 (a weight's output channels).
  const auto per_axis = qdq_node("DequantizeLinear", onnx::TensorProto::INT8, {2, 3}, {0.5F, 2.0F},
                                 onnx::TensorProto::INT8, std::vector<std::int8_t>{0, -1}, onnx::TensorProto::FLOAT, 0);
  const Tensor q = tensor_of(DType::kInt8, {2, 3}, std::vector<std::int8_t>{-128, 0, 127, 1, 2, 3});
  EXPECT_EQ(values_of<float>(run_native(per_axis, {&q})[0]), (std::vector<float>{-64, 0, 63.5F, 4, 6, 8}));
}

// Per-axis parameters on an axis the tensor does not have, or whose length
// differs from the scale's, are refused at prepare with the node named.
TEST(NativeDequantize, PerAxisParametersOnAnUnusableAxisAreRefused) {
  const Tensor q = tensor_of(DType::kInt8, {2, 3}, std::vector<std::int8_t>{-128, 0, 127, 1, 2, 3});
  const auto out_of_range =
      qdq_node("DequantizeLinear", onnx::TensorProto::INT8, {2, 3}, {0.5F, 2.0F}, onnx::TensorProto::INT8,
               std::vector<std::int8_t>{0, 0}, onnx::TensorProto::FLOAT, 2);
  try {
    run_native(out_of_range, {&q});
    FAIL() << "axis 2 of a rank-2 tensor was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("axis 2 is out of range for rank 2"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("DequantizeLinear"), std::string::npos) << e.what();
  }
  // Two scales along axis 1, which has three channels.
  const auto wrong_length =
      qdq_node("DequantizeLinear", onnx::TensorProto::INT8, {2, 3}, {0.5F, 2.0F}, onnx::TensorProto::INT8,
               std::vector<std::int8_t>{0, 0}, onnx::TensorProto::FLOAT, 1);
  try {
    run_native(wrong_length, {&q});
    FAIL() << "2 scales along an axis of 3 were accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("the scale has 2 values but axis 1"), std::string::npos) << e.what();
  }
}

TEST(NativeDequantize, ConstantWeightsAreFoldedAtPrepare) {
  // y = x + DQ(W_q): the DequantizeLinear runs once, at prepare, not per run.
  auto m = empty_model();
  auto& g = *m.mutable_graph();
  typed_value(g.add_input(), "x", onnx::TensorProto::FLOAT, {2, 2});
  typed_value(g.add_output(), "y", onnx::TensorProto::FLOAT, {2, 2});
  raw_initializer(g, "w_q", onnx::TensorProto::INT8, {2, 2}, std::vector<std::int8_t>{1, -2, 3, -4});
  raw_initializer(g, "w_s", onnx::TensorProto::FLOAT, {2}, std::vector<float>{0.5F, 0.25F});
  raw_initializer(g, "w_z", onnx::TensorProto::INT8, {2}, std::vector<std::int8_t>{0, 0});
  add_int_attribute(add_node(g, "DequantizeLinear", {"w_q", "w_s", "w_z"}, {"w"}), "axis", {0}, false);
  add_node(g, "Add", {"x", "w"}, {"y"});
  const Tensor in = tensor_of(DType::kFloat32, {2, 2}, std::vector<float>{10, 10, 10, 10});
  Engine* engine = nullptr;
  EXPECT_EQ(values_of<float>(run_native(m, {&in}, &engine)[0]), (std::vector<float>{10.5F, 9, 10.75F, 9}));
  EXPECT_EQ(engine->folded_nodes(), 1);
  ASSERT_EQ(engine->steps().size(), 1U);
  EXPECT_EQ(engine->steps()[0].op, "Add");
}

TEST(NativeCast, FloatToFloat16RoundsAndIntegerCastsTruncate) {
  auto m = empty_model();
  auto& g = *m.mutable_graph();
  typed_value(g.add_input(), "x", onnx::TensorProto::FLOAT, {5});
  typed_value(g.add_output(), "h", onnx::TensorProto::FLOAT, {5});
  typed_value(g.add_output(), "i", onnx::TensorProto::INT64, {5});
  typed_value(g.add_output(), "b", onnx::TensorProto::BOOL, {5});
  typed_value(g.add_output(), "u", onnx::TensorProto::UINT8, {5});
  // float16 inside the graph, float32 at its edge (the optimizer's pattern).
  add_int_attribute(add_node(g, "Cast", {"x"}, {"x16"}), "to", {onnx::TensorProto::FLOAT16}, false);
  add_int_attribute(add_node(g, "Cast", {"x16"}, {"h"}), "to", {onnx::TensorProto::FLOAT}, false);
  add_int_attribute(add_node(g, "Cast", {"x"}, {"i"}), "to", {onnx::TensorProto::INT64}, false);
  add_int_attribute(add_node(g, "Cast", {"x"}, {"b"}), "to", {onnx::TensorProto::BOOL}, false);
  add_int_attribute(add_node(g, "Cast", {"i"}, {"u"}), "to", {onnx::TensorProto::UINT8}, false);
  // 1 + 2^-11 is a float16 tie (rounds to 1), 1 + 3 * 2^-11 rounds up to even.
  const std::vector<float> x{1.0F + 0x1p-11F, 1.0F + 3 * 0x1p-11F, -2.7F, 0.0F, 70000.0F};
  const Tensor in = tensor_of(DType::kFloat32, {5}, x);
  const auto out = run_native(m, {&in});
  EXPECT_EQ(values_of<float>(out[0]), (std::vector<float>{1.0F, 1.0F + 0x1p-9F, -2.69921875F, 0.0F, INFINITY}));
  EXPECT_EQ(values_of<std::int64_t>(out[1]), (std::vector<std::int64_t>{1, 1, -2, 0, 70000}));
  ASSERT_EQ(out[2].dtype(), DType::kBool);
  EXPECT_EQ(values_of<std::uint8_t>(out[2]), (std::vector<std::uint8_t>{1, 1, 1, 0, 1}));
  // int64 -> uint8 wraps modulo 256, as numpy's astype does.
  EXPECT_EQ(values_of<std::uint8_t>(out[3]), (std::vector<std::uint8_t>{1, 1, 254, 0, 112}));
}

TEST(NativeCast, RefusesTypesWithoutAKernelAsUnsupported) {
  auto m = empty_model();
  auto& g = *m.mutable_graph();
  typed_value(g.add_input(), "x", onnx::TensorProto::FLOAT, {2});
  typed_value(g.add_output(), "y", onnx::TensorProto::DOUBLE, {2});
  add_int_attribute(add_node(g, "Cast", {"x"}, {"y"}), "to", {onnx::TensorProto::DOUBLE}, false);
  const Tensor in = tensor_of(DType::kFloat32, {2}, std::vector<float>{1, 2});
  try {
    run_native(m, {&in});
    FAIL() << "a cast to double has no kernel";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kUnsupported) << e.what();
    EXPECT_NE(std::string(e.what()).find("DOUBLE"), std::string::npos) << e.what();
  }
}

// Naive float64 convolution (stride 1, pad 1, 3x3) + bias + Relu, NCHW.
std::vector<float> conv3x3_relu(const std::vector<float>& x, const std::vector<float>& w, const std::vector<float>& b,
                                int cin, int cout, int h, int wd) {
  std::vector<float> y(static_cast<std::size_t>(cout * h * wd));
  for (int o = 0; o < cout; ++o)
    for (int r = 0; r < h; ++r)
      for (int c = 0; c < wd; ++c) {
        double acc = b[o];
        for (int i = 0; i < cin; ++i)
          for (int kr = 0; kr < 3; ++kr)
            for (int kc = 0; kc < 3; ++kc) {
              const int rr = r + kr - 1, cc = c + kc - 1;
              if (rr < 0 || rr >= h || cc < 0 || cc >= wd) continue;
              acc += double{x[(i * h + rr) * wd + cc]} * w[((o * cin + i) * 3 + kr) * 3 + kc];
            }
        y[(o * h + r) * wd + c] = static_cast<float>(std::max(acc, 0.0));
      }
  return y;
}

std::vector<float> seeded(std::size_t n, std::uint64_t seed, float scale = 1.0F) {
  std::vector<float> v(n);
  std::uint64_t state = seed;
  for (auto& x : v) x = scale * (static_cast<float>((splitmix64_next(state) >> 40) / double(1 << 24)) - 0.5F) * 2;
  return v;
}

constexpr int kCin = 3, kCout = 4, kH = 8, kW = 8;

// The optimizer's contract: x -> Q(s_x, int8 zp 0) -> DQ -> Conv(., DQ(W_q
// int8, s_w[Cout], zp int8 zeros, axis 0), bias f32) -> Relu -> y.
struct QdqConv {
  onnx::ModelProto model = empty_model();
  float s_x = 1.0F / 127;
  std::vector<std::int8_t> w_q;
  std::vector<float> s_w, bias;
  // seven_bit: weights in [-63, 63] (odd values included), what
  // `inferlab optimize --int8` writes by default; else 8-bit [-127, 127].
  explicit QdqConv(bool seven_bit = false) {
    const auto w = seeded(kCout * kCin * 9, 3, 0.5F);
    bias = seeded(kCout, 4, 0.1F);
    for (int o = 0; o < kCout; ++o) {
      float peak = 0;
      for (int k = 0; k < kCin * 9; ++k) peak = std::max(peak, std::abs(w[o * kCin * 9 + k]));
      s_w.push_back(peak / (seven_bit ? 63 : 127));
      for (int k = 0; k < kCin * 9; ++k)
        w_q.push_back(static_cast<std::int8_t>(std::nearbyint(w[o * kCin * 9 + k] / s_w.back())));
    }
    auto& g = *m().mutable_graph();
    typed_value(g.add_input(), "x", onnx::TensorProto::FLOAT, {1, kCin, kH, kW});
    typed_value(g.add_output(), "y", onnx::TensorProto::FLOAT, {1, kCout, kH, kW});
    raw_initializer(g, "x_scale", onnx::TensorProto::FLOAT, {}, std::vector<float>{s_x});
    raw_initializer(g, "x_zp", onnx::TensorProto::INT8, {}, std::vector<std::int8_t>{0});
    raw_initializer(g, "w_q", onnx::TensorProto::INT8, {kCout, kCin, 3, 3}, w_q);
    raw_initializer(g, "w_scale", onnx::TensorProto::FLOAT, {kCout}, s_w);
    raw_initializer(g, "w_zp", onnx::TensorProto::INT8, {kCout}, std::vector<std::int8_t>(kCout, 0));
    raw_initializer(g, "b", onnx::TensorProto::FLOAT, {kCout}, bias);
    add_node(g, "QuantizeLinear", {"x", "x_scale", "x_zp"}, {"x_q"});
    add_node(g, "DequantizeLinear", {"x_q", "x_scale", "x_zp"}, {"x_dq"});
    add_int_attribute(add_node(g, "DequantizeLinear", {"w_q", "w_scale", "w_zp"}, {"w"}), "axis", {0}, false);
    auto* conv = add_node(g, "Conv", {"x_dq", "w", "b"}, {"c"});
    add_int_attribute(conv, "pads", {1, 1, 1, 1}, true);
    add_int_attribute(conv, "kernel_shape", {3, 3}, true);
    add_node(g, "Relu", {"c"}, {"y"});
  }
  onnx::ModelProto& m() { return model; }
  // The same model in float32: fake-quantized input, dequantized weights.
  std::vector<float> reference(const std::vector<float>& x) const {
    std::vector<float> xq(x.size()), w(w_q.size());
    for (std::size_t i = 0; i < x.size(); ++i) xq[i] = std::clamp(std::nearbyint(x[i] / s_x), -128.0F, 127.0F) * s_x;
    for (std::size_t k = 0; k < w.size(); ++k) w[k] = w_q[k] * s_w[k / (kCin * 9)];
    return conv3x3_relu(xq, w, bias, kCin, kCout, kH, kW);
  }
};

TEST(NativeQdq, ReferencePathMatchesFloatWithDequantizedWeights) {
  QdqConv q;
  const auto x = seeded(kCin * kH * kW, 11);
  const Tensor in = tensor_of(DType::kFloat32, {1, kCin, kH, kW}, x);
  Engine* engine = nullptr;
  const auto y = values_of<float>(run_native(q.model, {&in}, &engine, /*int8=*/false)[0]);
  const auto want = q.reference(x);
  // Same products, other summation order: float32 rounding only (|y| < 4).
  for (std::size_t i = 0; i < want.size(); ++i) ASSERT_NEAR(y[i], want[i], 1e-5) << "element " << i;
  EXPECT_EQ(engine->folded_nodes(), 1) << "the weights' DequantizeLinear runs at prepare";
}

// Whether oneDNN here sums u8 x s8 exactly in 32 bits (VNNI); an
// ONEDNN_MAX_CPU_ISA=AVX2 run of this suite (unit_native_qdq_avx2) answers no.
bool exact_int8_sums() { return inferlab::native::cpu_has_vnni(); }

// |y - ref| over the elements, and max |ref|.
std::pair<float, float> worst_and_peak(const std::vector<float>& y, const std::vector<float>& ref) {
  float peak = 0, worst = 0;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    peak = std::max(peak, std::abs(ref[i]));
    worst = std::max(worst, std::abs(y[i] - ref[i]));
  }
  return {worst, peak};
}

// 8-bit weights (odd ones at +-127): with VNNI one int8 convolution whose
// s32 sums are exact; without VNNI oneDNN would halve them (s8 source) or
// saturate 16-bit pair sums, so the layer runs as written, in float32, and
// says why. Either way the result is the QDQ graph's to float rounding.
TEST(NativeQdq, EightBitWeightsRunExactlyOnEveryIsa) {
  QdqConv q;
  ASSERT_NE(std::find_if(q.w_q.begin(), q.w_q.end(), [](std::int8_t v) { return std::abs(v) == 127; }), q.w_q.end());
  const auto x = seeded(kCin * kH * kW, 11);
  const Tensor in = tensor_of(DType::kFloat32, {1, kCin, kH, kW}, x);
  Engine* engine = nullptr;
  const auto y = values_of<float>(run_native(q.model, {&in}, &engine, /*int8=*/true)[0]);
  // An int8 Conv reads the QuantizeLinear output itself; a float32 one
  // needs the activation's DequantizeLinear step.
  std::string conv_impl;
  bool dequantizes = false;
  for (const auto& s : engine->steps()) {
    dequantizes = dequantizes || s.op == "DequantizeLinear";
    if (s.op != "Conv") continue;
    conv_impl = s.implementation;
    EXPECT_EQ(s.fused, "Relu");
  }
  if (exact_int8_sums()) {
    EXPECT_FALSE(dequantizes) << "with VNNI the Conv runs int8: " << conv_impl;
  } else {
    EXPECT_TRUE(dequantizes) << "without VNNI the Conv runs float32: " << conv_impl;
    EXPECT_NE(conv_impl.find("without VNNI the int8 kernels are exact only for 7"), std::string::npos) << conv_impl;
  }
  const auto ref = values_of<float>(run_native(q.model, {&in}, nullptr, /*int8=*/false)[0]);
  const auto [worst, peak] = worst_and_peak(y, ref);
  EXPECT_GT(peak, 0.5F);
  // Float rounding only (|y| < 4).
  EXPECT_LE(worst, 1e-4F) << "worst " << worst << " on " << onednn_isa_name();
}

// 7-bit weights, odd values included, from an s8 source (oneDNN halves the
// weights without VNNI: native gives them doubled) and from a u8 one (16-bit
// pair sums, which 7-bit weights cannot saturate): one int8 convolution on
// every ISA, equal to the QDQ graph to float rounding.
TEST(NativeQdq, SevenBitWeightsRunInt8ExactlyOnEveryIsa) {
  for (const bool u8 : {false, true}) {
    QdqConv q(/*seven_bit=*/true);
    ASSERT_NE(std::find_if(q.w_q.begin(), q.w_q.end(), [](std::int8_t v) { return v % 2 != 0; }), q.w_q.end());
    auto& g = *q.model.mutable_graph();
    if (u8) {  // a non-negative input quantized as uint8
      for (auto& t : *g.mutable_initializer()) {
        if (t.name() == "x_zp") t.set_data_type(onnx::TensorProto::UINT8);
      }
    }
    auto x = seeded(kCin * kH * kW, 12);
    if (u8) {
      for (auto& v : x) v = std::abs(v) * 2;  // up to 2 = 254 steps of 1/127
    }
    const Tensor in = tensor_of(DType::kFloat32, {1, kCin, kH, kW}, x);
    Engine* engine = nullptr;
    const auto y = values_of<float>(run_native(q.model, {&in}, &engine, /*int8=*/true)[0]);
    int convs = 0;
    for (const auto& s : engine->steps()) {
      EXPECT_NE(s.op, "DequantizeLinear") << (u8 ? "u8" : "s8") << " source: the 7-bit Conv runs int8, reading the "
                                          << "QuantizeLinear output itself";
      convs += s.op == "Conv";
    }
    EXPECT_EQ(convs, 1);
    const auto ref = values_of<float>(run_native(q.model, {&in}, nullptr, /*int8=*/false)[0]);
    const auto [worst, peak] = worst_and_peak(y, ref);
    EXPECT_GT(peak, 0.5F);
    EXPECT_LE(worst, 1e-4F) << (u8 ? "u8" : "s8") << " source: worst " << worst << " on " << onednn_isa_name();
  }
}

TEST(NativeQdq, ChainedInt8ConvsWriteTheNextQuantizedTensorThemselves) {
  // x -> Q -> DQ -> Conv -> Relu -> Q(u8) -> DQ -> Conv -> y: the first Conv
  // absorbs the u8 QuantizeLinear after its Relu (int8 out), the second reads it.
  QdqConv q(/*seven_bit=*/true);
  auto& g = *q.model.mutable_graph();
  g.mutable_node(4)->set_output(0, "r");  // Relu -> r
  const float s_r = 2.5F / 255;
  raw_initializer(g, "r_scale", onnx::TensorProto::FLOAT, {}, std::vector<float>{s_r});
  raw_initializer(g, "r_zp", onnx::TensorProto::UINT8, {}, std::vector<std::uint8_t>{0});
  std::vector<std::int8_t> w2(kCout * kCout * 9);
  for (std::size_t k = 0; k < w2.size(); ++k) w2[k] = static_cast<std::int8_t>(static_cast<int>(k * 37 % 127) - 63);
  raw_initializer(g, "w2_q", onnx::TensorProto::INT8, {kCout, kCout, 3, 3}, w2);
  raw_initializer(g, "w2_scale", onnx::TensorProto::FLOAT, {kCout}, std::vector<float>(kCout, 0.004F));
  raw_initializer(g, "w2_zp", onnx::TensorProto::INT8, {kCout}, std::vector<std::int8_t>(kCout, 0));
  add_node(g, "QuantizeLinear", {"r", "r_scale", "r_zp"}, {"r_q"});
  add_node(g, "DequantizeLinear", {"r_q", "r_scale", "r_zp"}, {"r_dq"});
  add_int_attribute(add_node(g, "DequantizeLinear", {"w2_q", "w2_scale", "w2_zp"}, {"w2"}), "axis", {0}, false);
  add_int_attribute(add_node(g, "Conv", {"r_dq", "w2"}, {"y"}), "pads", {1, 1, 1, 1}, true);
  g.mutable_output(0)->set_name("y");

  const auto x = seeded(kCin * kH * kW, 12);
  const Tensor in = tensor_of(DType::kFloat32, {1, kCin, kH, kW}, x);
  Engine* engine = nullptr;
  const auto y = values_of<float>(run_native(q.model, {&in}, &engine, /*int8=*/true)[0]);
  std::vector<std::string> ops;
  for (const auto& s : engine->steps()) ops.push_back(s.op);
  EXPECT_EQ(ops, (std::vector<std::string>{"QuantizeLinear", "Conv", "Conv", "Reorder"}))
      << "one Q for the graph input, two int8 Convs, the output back to nchw";
  const auto ref = values_of<float>(run_native(q.model, {&in}, nullptr, /*int8=*/false)[0]);
  float peak = 0, worst = 0;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    peak = std::max(peak, std::abs(ref[i]));
    worst = std::max(worst, std::abs(y[i] - ref[i]));
  }
  // 7-bit weights sum exactly on every ISA: what is left is float rounding (3.6e-7 measured; a requantized value
  // flipped at a rounding tie would cost ~5e-3 here).
  EXPECT_GT(peak, 0.1F);
  EXPECT_LE(worst, 1e-4F) << "worst " << worst << ", output step " << peak / 127;
}

// x -> Q -> DQ -> Conv -> Clip(0, 2) -> Q(u8) -> DQ -> y. Where the clip's
// top lands at or beyond 255 steps (s_y = 1.9 / 255), u8 saturation does
// the Clip's work and the requantization runs as output scales alone; where
// it does not (s_y = 4 / 255, the top at 127.5 steps), the Clip stays a
// post-op. Both equal the graph as written, within one step where float
// rounding falls either side of a tie.
TEST(NativeQdq, RequantizedClipEqualsTheGraphAsWrittenWhetherSaturationCoversIt) {
  for (const float s_y : {1.9F / 255, 4.0F / 255}) {
    QdqConv q(/*seven_bit=*/true);
    auto& g = *q.model.mutable_graph();
    auto* clip = g.mutable_node(4);
    clip->set_op_type("Clip");
    clip->add_input("clip_lo");
    clip->add_input("clip_hi");
    clip->set_output(0, "r");
    raw_initializer(g, "clip_lo", onnx::TensorProto::FLOAT, {}, std::vector<float>{0.0F});
    raw_initializer(g, "clip_hi", onnx::TensorProto::FLOAT, {}, std::vector<float>{2.0F});
    raw_initializer(g, "r_scale", onnx::TensorProto::FLOAT, {}, std::vector<float>{s_y});
    raw_initializer(g, "r_zp", onnx::TensorProto::UINT8, {}, std::vector<std::uint8_t>{0});
    add_node(g, "QuantizeLinear", {"r", "r_scale", "r_zp"}, {"r_q"});
    add_node(g, "DequantizeLinear", {"r_q", "r_scale", "r_zp"}, {"y"});
    auto x = seeded(kCin * kH * kW, 13);
    for (auto& v : x) v *= 1.6F;  // sums beyond the clip's top (2) and below 0
    const Tensor in = tensor_of(DType::kFloat32, {1, kCin, kH, kW}, x);
    Engine* engine = nullptr;
    const auto y = values_of<float>(run_native(q.model, {&in}, &engine, /*int8=*/true)[0]);
    bool int8_conv = false;
    for (const auto& s : engine->steps()) int8_conv = int8_conv || (s.op == "Conv" && s.fused == "Clip");
    EXPECT_TRUE(int8_conv) << "the Conv runs int8 with its Clip fused";
    const auto ref = values_of<float>(run_native(q.model, {&in}, nullptr, /*int8=*/false)[0]);
    const float top = std::nearbyint(2.0F / s_y) > 255 ? 255 * s_y : std::nearbyint(2.0F / s_y) * s_y;
    int at_top = 0, at_zero = 0, off_by_a_step = 0;
    for (std::size_t i = 0; i < ref.size(); ++i) {
      at_top += std::abs(ref[i] - top) < 1e-6F;
      at_zero += ref[i] == 0.0F;
      ASSERT_LE(std::abs(y[i] - ref[i]), s_y * 1.001F) << "element " << i << " with s_y " << s_y;
      off_by_a_step += std::abs(y[i] - ref[i]) > 1e-4F;
    }
    EXPECT_GT(at_top, 0) << "some sums reach the clip's top";
    EXPECT_GT(at_zero, 0) << "some sums are clipped at 0";
    EXPECT_LE(off_by_a_step, static_cast<int>(ref.size()) / 50) << "ties only";
  }
}

// x -> Q -> DQ -> Conv -> Sigmoid -> Mul (Swish) -> Q(s8) = r_q, a graph
// output: the int8 Conv writes its float32 product and one pass applies the
// Swish and quantizes (swish.h). Each r_q value equals the graph run as
// written, or differs by one step where the two swish implementations'
// float rounding falls either side of a rounding tie.
TEST(NativeQdq, ConvSwishQuantizeEqualsTheGraphAsWritten) {
  QdqConv q(/*seven_bit=*/true);
  auto& g = *q.model.mutable_graph();
  g.mutable_node(4)->set_op_type("Sigmoid");
  g.mutable_node(4)->set_output(0, "s");
  add_node(g, "Mul", {"c", "s"}, {"r"});
  const float s_r = 1.5F / 127;
  raw_initializer(g, "r_scale", onnx::TensorProto::FLOAT, {}, std::vector<float>{s_r});
  raw_initializer(g, "r_zp", onnx::TensorProto::INT8, {}, std::vector<std::int8_t>{0});
  add_node(g, "QuantizeLinear", {"r", "r_scale", "r_zp"}, {"r_q"});
  g.clear_output();
  typed_value(g.add_output(), "r_q", onnx::TensorProto::INT8, {1, kCout, kH, kW});

  const auto x = seeded(kCin * kH * kW, 21, 3.0F);
  const Tensor in = tensor_of(DType::kFloat32, {1, kCin, kH, kW}, x);
  Engine* engine = nullptr;
  const auto y = values_of<std::int8_t>(run_native(q.model, {&in}, &engine, /*int8=*/true)[0]);
  bool pass = false;
  for (const auto& s : engine->steps())
    pass = pass || s.implementation.find("+swish+quantize pass") != std::string::npos;
  if (simd_path_supported(SimdPath::kAvx2) || simd_path_supported(SimdPath::kAvx512)) {
    EXPECT_TRUE(pass) << "the int8 Conv did not apply its Swish and requantization as one pass";
  }
  const auto ref = values_of<std::int8_t>(run_native(q.model, {&in}, nullptr, /*int8=*/false)[0]);
  ASSERT_EQ(y.size(), ref.size());
  int off_by_one = 0, negative = 0;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    EXPECT_LE(std::abs(y[i] - ref[i]), 1) << i;
    off_by_one += y[i] != ref[i] ? 1 : 0;
    negative += ref[i] < 0 ? 1 : 0;
  }
  EXPECT_GT(negative, 0) << "the test should reach swish's negative part";
  EXPECT_LE(off_by_one, static_cast<int>(ref.size()) / 50) << "more than ties";
}

// A fire module in QDQ form: r -> Q(u8) -> DQ, read by a 1x1 and a 3x3
// int8 Conv (+Relu), Concat, Q(u8) -> DQ -> 1x1 Conv -> y. The engine
// quantizes each Concat input instead of the Concat's output
// (quantize_concat_rewrite.h): both expand Convs write u8 themselves, the
// Concat joins u8 tensors, and neither the shared DequantizeLinear nor a
// QuantizeLinear after the Concat runs.
TEST(NativeQdq, FireModuleConcatRunsInInt8) {
  QdqConv q(/*seven_bit=*/true);
  auto& g = *q.model.mutable_graph();
  g.mutable_node(4)->set_output(0, "r");  // Relu -> r
  auto seven_bit_weights = [](std::size_t n, int seed) {
    std::vector<std::int8_t> w(n);
    for (std::size_t k = 0; k < n; ++k) w[k] = static_cast<std::int8_t>(static_cast<int>((k * 37 + seed) % 127) - 63);
    return w;
  };
  const auto u8 = onnx::TensorProto::UINT8;
  raw_initializer(g, "r_scale", onnx::TensorProto::FLOAT, {}, std::vector<float>{2.5F / 255});
  raw_initializer(g, "c_scale", onnx::TensorProto::FLOAT, {}, std::vector<float>{4.0F / 255});
  raw_initializer(g, "zp_u8", u8, {}, std::vector<std::uint8_t>{0});
  const std::pair<std::string, Shape> convs[] = {
      {"e1", {kCout, kCout, 1, 1}}, {"e3", {kCout, kCout, 3, 3}}, {"sq", {kCout, 2 * kCout, 1, 1}}};
  int seed = 0;
  for (const auto& [name, shape] : convs) {
    raw_initializer(g, name + "_q", onnx::TensorProto::INT8, shape,
                    seven_bit_weights(static_cast<std::size_t>(shape_element_count(shape)), seed += 11));
    raw_initializer(g, name + "_scale", onnx::TensorProto::FLOAT, {kCout}, std::vector<float>(kCout, 0.004F));
    raw_initializer(g, name + "_zp", onnx::TensorProto::INT8, {kCout}, std::vector<std::int8_t>(kCout, 0));
    add_int_attribute(add_node(g, "DequantizeLinear", {name + "_q", name + "_scale", name + "_zp"}, {name + "_w"}),
                      "axis", {0}, false);
  }
  add_node(g, "QuantizeLinear", {"r", "r_scale", "zp_u8"}, {"r_q"});
  add_node(g, "DequantizeLinear", {"r_q", "r_scale", "zp_u8"}, {"r_dq"});
  add_node(g, "Conv", {"r_dq", "e1_w"}, {"e1_out"});
  add_node(g, "Relu", {"e1_out"}, {"e1_r"});
  add_int_attribute(add_node(g, "Conv", {"r_dq", "e3_w"}, {"e3_out"}), "pads", {1, 1, 1, 1}, true);
  add_node(g, "Relu", {"e3_out"}, {"e3_r"});
  add_int_attribute(add_node(g, "Concat", {"e1_r", "e3_r"}, {"cat"}), "axis", {1}, false);
  add_node(g, "QuantizeLinear", {"cat", "c_scale", "zp_u8"}, {"cat_q"});
  add_node(g, "DequantizeLinear", {"cat_q", "c_scale", "zp_u8"}, {"cat_dq"});
  add_node(g, "Conv", {"cat_dq", "sq_w"}, {"y"});

  const auto x = seeded(kCin * kH * kW, 13);
  const Tensor in = tensor_of(DType::kFloat32, {1, kCin, kH, kW}, x);
  Engine* engine = nullptr;
  const auto y = values_of<float>(run_native(q.model, {&in}, &engine, /*int8=*/true)[0]);
  int quantize = 0, dequantize = 0, conv_steps = 0, concats = 0;
  for (const auto& s : engine->steps()) {
    quantize += s.op == "QuantizeLinear";
    dequantize += s.op == "DequantizeLinear";
    concats += s.op == "Concat";
    conv_steps += s.op == "Conv";
  }
  EXPECT_EQ(quantize, 1) << "only the graph input's";
  EXPECT_EQ(dequantize, 0) << "every Conv reads a quantized tensor itself (a float Conv would need its DQ)";
  EXPECT_EQ(concats, 1);
  EXPECT_EQ(conv_steps, 4);
  const auto ref = values_of<float>(run_native(q.model, {&in}, nullptr, /*int8=*/false)[0]);
  float peak = 0, worst = 0;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    peak = std::max(peak, std::abs(ref[i]));
    worst = std::max(worst, std::abs(y[i] - ref[i]));
  }
  // Requantizing in the Convs multiplies by 1/s where ONNX divides by s: a
  // value at a rounding tie may move one step. Within one output step.
  EXPECT_GT(peak, 0.1F);
  EXPECT_LE(worst, peak / 127) << "worst " << worst << ", output step " << peak / 127;
}

// x * gate -> QuantizeLinear (u8 and s8, scale 1/64) -> y: with int8 kernels
// the Mul writes the quantized tensor itself, one step, and equals the graph
// run as written (the scale is a power of two: no rounding tie differs).
// 4-D operands take oneDNN's binary with a u8/s8 result; 3-D ones the float
// loop and one scaled reorder inside the same step.
TEST(NativeQdq, MulReadOnlyByQuantizeLinearWritesTheQuantizedTensor) {
  for (const bool four_d : {true, false}) {
    for (const auto zp_type : {onnx::TensorProto::UINT8, onnx::TensorProto::INT8}) {
      const Shape x_shape = four_d ? Shape{1, 8, 5, 5} : Shape{8, 5, 5};
      const Shape g_shape = four_d ? Shape{1, 8, 1, 1} : Shape{8, 1, 1};
      auto m = empty_model();
      auto& g = *m.mutable_graph();
      typed_value(g.add_input(), "x", onnx::TensorProto::FLOAT, x_shape);
      typed_value(g.add_input(), "gate", onnx::TensorProto::FLOAT, g_shape);
      typed_value(g.add_output(), "y", zp_type, x_shape);
      raw_initializer(g, "s", onnx::TensorProto::FLOAT, {}, std::vector<float>{1.0F / 64});
      raw_initializer(g, "zp", zp_type, {}, std::vector<std::uint8_t>{0});
      add_node(g, "Mul", {"x", "gate"}, {"m"});
      add_node(g, "QuantizeLinear", {"m", "s", "zp"}, {"y"});
      const auto x = seeded(static_cast<std::size_t>(shape_element_count(x_shape)), 21, 4.0F);
      auto gate = seeded(8, 22);
      for (auto& v : gate) v = 0.5F + std::abs(v);  // |x * gate| reaches 6: both ends saturate
      const Tensor in_x = tensor_of(DType::kFloat32, x_shape, x);
      const Tensor in_g = tensor_of(DType::kFloat32, g_shape, gate);
      Engine* engine = nullptr;
      const auto fused = run_native(m, {&in_x, &in_g}, &engine, /*int8=*/true);
      std::vector<std::string> ops;
      for (const auto& step : engine->steps()) {
        ops.push_back(step.op);
        if (step.op == "Mul") {
          EXPECT_EQ(step.fused, "QuantizeLinear");
          // 4-D: the primitive alone; 3-D: the loop then "+" the scaled reorder.
          EXPECT_EQ(step.implementation.find(" +") == std::string::npos, four_d) << step.implementation;
        }
      }
      EXPECT_EQ(ops, std::vector<std::string>{"Mul"}) << (four_d ? "4-D" : "3-D");
      const auto written = run_native(m, {&in_x, &in_g}, &engine, /*int8=*/false);
      ASSERT_EQ(written[0].size_bytes(), fused[0].size_bytes());
      EXPECT_EQ(std::memcmp(written[0].data(), fused[0].data(), fused[0].size_bytes()), 0)
          << (four_d ? "4-D" : "3-D") << (zp_type == onnx::TensorProto::UINT8 ? " u8" : " s8");
    }
  }
}

// The same tiny Conv with float16 weights and Casts around it.
onnx::ModelProto fp16_conv(const std::vector<float>& w, const std::vector<float>& b, bool fp16_io) {
  auto m = empty_model();
  auto& g = *m.mutable_graph();
  const int io = fp16_io ? onnx::TensorProto::FLOAT16 : onnx::TensorProto::FLOAT;
  typed_value(g.add_input(), "x", io, {1, kCin, kH, kW});
  typed_value(g.add_output(), "y", io, {1, kCout, kH, kW});
  std::vector<std::uint16_t> w16, b16;
  for (float v : w) w16.push_back(float_to_float16_bits(v));
  for (float v : b) b16.push_back(float_to_float16_bits(v));
  raw_initializer(g, "w", onnx::TensorProto::FLOAT16, {kCout, kCin, 3, 3}, w16);
  raw_initializer(g, "b", onnx::TensorProto::FLOAT16, {kCout}, b16);
  const std::string in = fp16_io ? "x" : "x16";
  if (!fp16_io) add_int_attribute(add_node(g, "Cast", {"x"}, {"x16"}), "to", {onnx::TensorProto::FLOAT16}, false);
  auto* conv = add_node(g, "Conv", {in, "w", "b"}, {"c"});
  add_int_attribute(conv, "pads", {1, 1, 1, 1}, true);
  add_node(g, "Relu", {"c"}, {fp16_io ? "y" : "r"});
  if (!fp16_io) add_int_attribute(add_node(g, "Cast", {"r"}, {"y"}), "to", {onnx::TensorProto::FLOAT}, false);
  return m;
}

TEST(NativeFp16, Fp16ModelComputesInFloat32WithRoundedWeights) {
  const auto w = seeded(kCout * kCin * 9, 21, 0.5F), b = seeded(kCout, 22, 0.1F), x = seeded(kCin * kH * kW, 23);
  std::vector<float> w_r, b_r, x_r;
  for (float v : w) w_r.push_back(round_to_float16(v));
  for (float v : b) b_r.push_back(round_to_float16(v));
  for (float v : x) x_r.push_back(round_to_float16(v));
  // Float32 arithmetic on the fp16-rounded weights and input.
  const auto want = conv3x3_relu(x_r, w_r, b_r, kCin, kCout, kH, kW);
  const auto exact = conv3x3_relu(x, w, b, kCin, kCout, kH, kW);

  const Tensor in = tensor_of(DType::kFloat32, {1, kCin, kH, kW}, x);
  const auto out = run_native(fp16_conv(w, b, false), {&in});
  ASSERT_EQ(out[0].dtype(), DType::kFloat32);
  const auto y = values_of<float>(out[0]);
  double worst_vs_fp32 = 0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    ASSERT_NEAR(y[i], want[i], 1e-5) << "element " << i;
    worst_vs_fp32 = std::max(worst_vs_fp32, double{std::abs(y[i] - exact[i])});
  }
  // fp16 rounding of 28 products of O(0.5): error well under 1e-2, but not zero.
  EXPECT_LT(worst_vs_fp32, 1e-2);
  EXPECT_GT(worst_vs_fp32, 0.0) << "the weights were not rounded to float16";

  // --fp16-io: float16 graph input and output are real float16 tensors.
  std::vector<std::uint16_t> x16;
  for (float v : x) x16.push_back(float_to_float16_bits(v));
  const Tensor in16 = tensor_of(DType::kFloat16, {1, kCin, kH, kW}, x16);
  const auto out16 = run_native(fp16_conv(w, b, true), {&in16});
  ASSERT_EQ(out16[0].dtype(), DType::kFloat16);
  const auto y16 = values_of<std::uint16_t>(out16[0]);
  for (std::size_t i = 0; i < want.size(); ++i) {
    ASSERT_NEAR(float16_bits_to_float(y16[i]), want[i], std::abs(want[i]) * 0x1p-11F + 1e-5) << "element " << i;
  }
}

TEST(NativeFp16, ConversionIsBitExactOnEveryFloat16) {
  for (std::uint32_t h = 0; h < 0x10000; ++h) {
    const float f = float16_bits_to_float(static_cast<std::uint16_t>(h));
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(float16_bits_to_float(float_to_float16_bits(f))));
      continue;
    }
    ASSERT_EQ(float_to_float16_bits(f), h) << std::hex << h;
  }
  // 65520 is the first value that rounds to infinity; 2^-25 ties to zero, just above it to the smallest subnormal.
  EXPECT_EQ(float_to_float16_bits(65519.0F), 0x7bffU);
  EXPECT_EQ(float_to_float16_bits(65520.0F), 0x7c00U);
  EXPECT_EQ(float_to_float16_bits(0x1p-25F), 0x0000U);
  EXPECT_EQ(float_to_float16_bits(0x1.01p-25F), 0x0001U);
}

TEST(NativeBackend, SupportsStatesHowFp16AndQdqModelsRun) {
  auto native = create_backend("native");
  TempDir dir("inferlab-native-q");
  QdqConv q;
  write_file_atomically(dir.path() + "/q.onnx", q.model.SerializeAsString());
  const ModelSource source{"q", ModelFormat::kOnnx, dir.path() + "/q.onnx", {}, {}};
  EXPECT_TRUE(native->supports(source, Precision::kFp32).supported);
  const auto fp16 = native->supports(source, Precision::kFp16);
  EXPECT_FALSE(fp16.supported);
  EXPECT_NE(fp16.reason.find("fp32"), std::string::npos) << fp16.reason;
  EXPECT_TRUE(native->supports(source, Precision::kInt8).supported) << "a QDQ model runs int8 convolutions";
  // A model without Q/DQ is not quantized by the engine on its own.
  write_file_atomically(dir.path() + "/f.onnx",
                        fp16_conv(seeded(kCout * kCin * 9, 1), seeded(kCout, 2), false).SerializeAsString());
  const auto plain = native->supports({"f", ModelFormat::kOnnx, dir.path() + "/f.onnx", {}, {}}, Precision::kInt8);
  EXPECT_FALSE(plain.supported);
  EXPECT_NE(plain.reason.find("QDQ"), std::string::npos) << plain.reason;
}

}  // namespace
}  // namespace inferlab::native
