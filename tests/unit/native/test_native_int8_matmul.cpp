// The int8 Gemm and MatMul: the optimizer's QDQ pattern around a Gemm (with
// C and a fused Relu) or a MatMul (with its bias Add) runs as one integer
// matmul whose values equal the dequantized float computation.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "../onnx_builder.h"
#include "inferlab/files.h"
#include "optimize/graph_edit.h"
#include "run_engine.h"

namespace inferlab::native {
namespace {

using namespace test_onnx;

template <typename T>
void initializer(onnx::GraphProto& g, const std::string& name, int elem_type, const std::vector<std::int64_t>& dims,
                 const std::vector<T>& v) {
  graph_edit::add_raw_initializer(g, name, elem_type, dims, test::raw_bytes(v));
}

constexpr int kK = 8, kN = 4;
constexpr float kScaleX = 0.05F;

// 7-bit int8 weights, odd ones included (what `inferlab optimize --int8`
// writes): summed exactly with and without VNNI, so the comparison below can
// be exact on every ISA (unit_native_int8_without_vnni runs it capped to AVX2).
std::vector<std::int8_t> weights_q() {
  std::vector<std::int8_t> w(kK * kN);
  for (int i = 0; i < kK * kN; ++i) w[i] = static_cast<std::int8_t>((i * 37) % 127 - 63);
  return w;
}
std::vector<float> weight_scales() { return {0.01F, 0.02F, 0.005F, 0.03F}; }
std::vector<float> bias() { return {0.5F, -0.25F, 1.0F, -2.0F}; }

// x -> Q(s_x, int8 zero point 0) -> DQ, and W_q -> DQ(s_w, axis 1): the layer's two float inputs.
void qdq_operands(onnx::GraphProto& g) {
  initializer<float>(g, "s_x", onnx::TensorProto::FLOAT, {}, {kScaleX});
  initializer<std::int8_t>(g, "zp_x", onnx::TensorProto::INT8, {}, {0});
  initializer<std::int8_t>(g, "w_q", onnx::TensorProto::INT8, {kK, kN}, weights_q());
  initializer<float>(g, "s_w", onnx::TensorProto::FLOAT, {kN}, weight_scales());
  initializer<std::int8_t>(g, "zp_w", onnx::TensorProto::INT8, {kN}, std::vector<std::int8_t>(kN, 0));
  initializer<float>(g, "b", onnx::TensorProto::FLOAT, {kN}, bias());
  add_node(g, "QuantizeLinear", {"x", "s_x", "zp_x"}, {"x_q"});
  add_node(g, "DequantizeLinear", {"x_q", "s_x", "zp_x"}, {"x_dq"});
  add_int_attribute(add_node(g, "DequantizeLinear", {"w_q", "s_w", "zp_w"}, {"w"}), "axis", {1}, false);
}

struct Ran {
  std::vector<float> x, y;
  std::vector<std::string> ops;
  std::string implementation;  // the int8 layer's
};

// The layer's float input: values of both signs, several quantization steps apart.
std::vector<float> input_values(const Shape& x_shape) {
  std::vector<float> x;
  for (std::int64_t i = 0; i < shape_element_count(x_shape); ++i)
    x.push_back(3.0F * std::sin(0.9F * static_cast<float>(i)));
  return x;
}

Ran run(const onnx::ModelProto& model, const Shape& x_shape) {
  Ran r;
  r.x = input_values(x_shape);
  const Tensor x = test::float_tensor(x_shape, r.x);
  const auto ran = test::run_engine(model, {&x});
  r.y = ran.floats();
  r.ops = ran.ops(/*with_fused=*/true);
  for (const auto& step : ran.steps) {
    if (step.op == "Gemm" || step.op == "MatMul") r.implementation = step.implementation;
  }
  // Tactics time the int8 primitive against the QDQ graph's float form;
  // whichever won must compute the same.
  std::cout << "implementation: " << r.implementation << "\n";
  return r;
}

// The QDQ model's own float semantics: dequantized x times dequantized W, plus the bias.
std::vector<float> reference(const std::vector<float>& x, bool relu) {
  const auto w = weights_q();
  const auto sw = weight_scales();
  const auto b = bias();
  const std::size_t rows = x.size() / kK;
  std::vector<float> y(rows * kN);
  for (std::size_t r = 0; r < rows; ++r) {
    for (int n = 0; n < kN; ++n) {
      double sum = b[n];
      for (int k = 0; k < kK; ++k) {
        const float q = std::clamp(std::nearbyint(x[r * kK + k] / kScaleX), -128.0F, 127.0F);
        sum += static_cast<double>(q * kScaleX) * (w[k * kN + n] * sw[n]);
      }
      y[r * kN + n] = relu ? std::max(0.0F, static_cast<float>(sum)) : static_cast<float>(sum);
    }
  }
  return y;
}

void expect_near(const std::vector<float>& got, const std::vector<float>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-5F * std::max(1.0F, std::abs(want[i])));
}

// x [2, K] -> QDQ -> Gemm(W, b) [-> Relu] -> y [2, N].
onnx::ModelProto qdq_gemm(bool relu) {
  auto m = new_model("gemm");
  auto& g = *m.mutable_graph();
  set_value_info(g.add_input(), "x", {2, kK});
  set_value_info(g.add_output(), "y", {2, kN});
  qdq_operands(g);
  add_node(g, "Gemm", {"x_dq", "w", "b"}, {relu ? "fc" : "y"});
  if (relu) add_node(g, "Relu", {"fc"}, {"y"});
  return m;
}

TEST(NativeInt8MatMul, QdqGemmWithBiasAndReluRunsAsOneIntegerGemm) {
  const Ran r = run(qdq_gemm(/*relu=*/true), {2, kK});
  EXPECT_EQ(r.ops, (std::vector<std::string>{"QuantizeLinear", "Gemm+Relu"}));
  expect_near(r.y, reference(r.x, true));
}

TEST(NativeInt8MatMul, QdqMatMulTakesItsBiasAdd) {
  auto m = new_model("matmul");
  auto& g = *m.mutable_graph();
  set_value_info(g.add_input(), "x", {2, 3, kK});
  set_value_info(g.add_output(), "y", {2, 3, kN});
  qdq_operands(g);
  add_node(g, "MatMul", {"x_dq", "w"}, {"mm"});
  add_node(g, "Add", {"mm", "b"}, {"y"});
  const Ran r = run(m, {2, 3, kK});
  EXPECT_EQ(r.ops, (std::vector<std::string>{"QuantizeLinear", "MatMul+Bias"}));
  expect_near(r.y, reference(r.x, false));
}

// Both forms of the int8 Gemm, each made to run whatever timing would pick:
// the int8 primitive (tactics off: no float form is made) and the QDQ
// graph's float form (named in a private tactic cache). Each must compute
// the QDQ graph's values.
TEST(NativeInt8MatMul, BothFormsComputeTheQdqGraph) {
  const auto m = qdq_gemm(/*relu=*/false);
  const std::vector<float> xv = input_values({2, kK});
  const Tensor x = test::float_tensor({2, kK}, xv);
  auto gemm_implementation = [](const test::EngineRun& ran) {
    for (const auto& s : ran.steps) {
      if (s.op == "Gemm") return s.implementation;
    }
    return std::string();
  };

  const auto int8 = test::run_engine(m, {&x}, /*bf16=*/false, /*tactics=*/false);
  EXPECT_EQ(gemm_implementation(int8).rfind("dequantized", 0), std::string::npos) << gemm_implementation(int8);
  expect_near(int8.floats(), reference(xv, false));

  TempDir dir("inferlab-int8-forms");
  const char* saved = std::getenv("INFERLAB_TACTIC_CACHE");
  const std::string saved_value = saved ? saved : "";
  const std::string cache = dir.path() + "/tactics.tsv";
  ::setenv("INFERLAB_TACTIC_CACHE", cache.c_str(), 1);
  test::run_engine(m, {&x});  // times the two forms and caches the pick
  std::string text = read_file(cache), forced;
  int named = 0;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("MatMul int8 ", 0) == 0) {
      const auto first_tab = line.find('\t'), last_tab = line.rfind('\t');
      line = line.substr(0, first_tab + 1) + "dequantized f32" + line.substr(last_tab);
      ++named;
    }
    forced += line + "\n";
  }
  write_file_atomically(cache, forced);
  const auto float_form = test::run_engine(m, {&x});
  if (saved) {
    ::setenv("INFERLAB_TACTIC_CACHE", saved_value.c_str(), 1);
  } else {
    ::unsetenv("INFERLAB_TACTIC_CACHE");
  }
  ASSERT_EQ(named, 1) << "no int8-or-float choice was cached:\n" << text;
  EXPECT_EQ(gemm_implementation(float_form).rfind("dequantized to f32", 0), 0u) << gemm_implementation(float_form);
  expect_near(float_form.floats(), reference(xv, false));
}

}  // namespace
}  // namespace inferlab::native
