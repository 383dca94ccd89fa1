// The LayerNorm rewrite: torch's nine-node export (plain, or with the Sub and
// Div wrapped in inferlab's OpenCV Reshapes and gamma expanded) becomes one
// LayerNormalization step computing the same values; near misses stay.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "../onnx_builder.h"
#include "optimize/graph_edit.h"
#include "run_engine.h"

namespace inferlab::native {
namespace {

using namespace test_onnx;

constexpr int kRows = 6, kWidth = 8;  // x is [2, 3, 8]

void floats(onnx::GraphProto& g, const std::string& name, const std::vector<std::int64_t>& dims,
            const std::vector<float>& v) {
  graph_edit::add_float_initializer(g, name, dims, v);
}

void ints(onnx::GraphProto& g, const std::string& name, const std::vector<std::int64_t>& v) {
  graph_edit::add_raw_initializer(g, name, onnx::TensorProto::INT64, {static_cast<std::int64_t>(v.size())},
                                  test::raw_bytes(v));
}

std::vector<float> gamma_values() {
  std::vector<float> v(kWidth);
  for (int i = 0; i < kWidth; ++i) v[i] = 0.5F + 0.25F * static_cast<float>(i);
  return v;
}
std::vector<float> beta_values() {
  std::vector<float> v(kWidth);
  for (int i = 0; i < kWidth; ++i) v[i] = -1.0F + 0.125F * static_cast<float>(i);
  return v;
}

struct Variant {
  bool wrapped = false;   // Sub and Div inside OpenCV's Reshapes, gamma and beta expanded to [3, 8]
  float exponent = 2.0F;  // Pow's; anything but 2 is no LayerNorm
  std::int64_t axis = -1;
  bool expose_centered = false;  // d is also a graph output
};

// A binary `op` of left and right (right broadcast over the last axis), as written or wrapped.
void binary(onnx::GraphProto& g, const Variant& v, const std::string& op, const std::string& left,
            const std::string& right, const std::string& out) {
  if (!v.wrapped) {
    add_node(g, op, {left, right}, {out});
    return;
  }
  add_node(g, "Reshape", {left, "shape_a"}, {out + "_a"});
  add_node(g, "Reshape", {right, "shape_b"}, {out + "_b"});
  add_node(g, op, {out + "_a", out + "_b"}, {out + "_y"});
  add_node(g, "Reshape", {out + "_y", "shape_y"}, {out});
}

onnx::ModelProto torch_layernorm(const Variant& v) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  auto& g = *m.mutable_graph();
  g.set_name("layernorm");
  set_value_info(g.add_input(), "x", {2, 3, kWidth});
  set_value_info(g.add_output(), "y", {2, 3, kWidth});
  if (v.expose_centered) set_value_info(g.add_output(), "d", {2, 3, kWidth});
  floats(g, "two", {}, {v.exponent});
  floats(g, "eps", {}, {1e-5F});
  auto gamma = gamma_values(), beta = beta_values();
  if (v.wrapped) {
    for (int r = 1; r < 3; ++r) {
      gamma.insert(gamma.end(), gamma.begin(), gamma.begin() + kWidth);
      beta.insert(beta.end(), beta.begin(), beta.begin() + kWidth);
    }
    floats(g, "gamma", {3, kWidth}, gamma);
    floats(g, "beta", {3, kWidth}, beta);
    ints(g, "shape_a", {1, -1, kWidth});
    ints(g, "shape_b", {1, -1, 1});
    ints(g, "shape_y", {-1, 3, kWidth});
  } else {
    floats(g, "gamma", {kWidth}, gamma);
    floats(g, "beta", {kWidth}, beta);
  }
  add_int_attribute(add_node(g, "ReduceMean", {"x"}, {"mean"}), "axes", {v.axis}, true);
  binary(g, v, "Sub", "x", "mean", "d");
  add_node(g, "Pow", {"d", "two"}, {"sq"});
  add_int_attribute(add_node(g, "ReduceMean", {"sq"}, {"var"}), "axes", {v.axis}, true);
  add_node(g, "Add", {"var", "eps"}, {"ve"});
  add_node(g, "Sqrt", {"ve"}, {"sd"});
  binary(g, v, "Div", "d", "sd", "n");
  add_node(g, "Mul", {"n", "gamma"}, {"ng"});
  add_node(g, "Add", {"ng", "beta"}, {"y"});
  return m;
}

struct Ran {
  std::vector<float> x, y;
  std::vector<std::string> ops;
};

Ran run(const onnx::ModelProto& model) {
  Ran r;
  for (int i = 0; i < kRows * kWidth; ++i)
    r.x.push_back(std::sin(0.7F * static_cast<float>(i)) * static_cast<float>(1 + i % 5));
  const Tensor x = test::float_tensor({2, 3, kWidth}, r.x);
  const auto ran = test::run_engine(model, {&x});
  r.y = ran.floats();
  r.ops = ran.ops();
  return r;
}

void expect_layernorm(const Ran& r) {
  const auto gamma = gamma_values(), beta = beta_values();
  for (int row = 0; row < kRows; ++row) {
    double mean = 0, var = 0;
    for (int i = 0; i < kWidth; ++i) mean += r.x[row * kWidth + i];
    mean /= kWidth;
    for (int i = 0; i < kWidth; ++i) var += std::pow(r.x[row * kWidth + i] - mean, 2);
    var /= kWidth;
    for (int i = 0; i < kWidth; ++i) {
      const double want = (r.x[row * kWidth + i] - mean) / std::sqrt(var + 1e-5) * gamma[i] + beta[i];
      EXPECT_NEAR(r.y[row * kWidth + i], want, 1e-5 * std::max(1.0, std::abs(want))) << row << "," << i;
    }
  }
}

TEST(NativeLayerNorm, TorchsExportRunsAsOneLayerNormalizationStep) {
  const Ran r = run(torch_layernorm({}));
  EXPECT_EQ(r.ops, std::vector<std::string>{"LayerNormalization"});
  expect_layernorm(r);
}

TEST(NativeLayerNorm, OpenCvReshapesAndExpandedGammaAreSeenThrough) {
  Variant v;
  v.wrapped = true;
  const Ran r = run(torch_layernorm(v));
  EXPECT_EQ(r.ops, std::vector<std::string>{"LayerNormalization"});
  expect_layernorm(r);
}

TEST(NativeLayerNorm, NearMissesStayAsWritten) {
  Variant cube;
  cube.exponent = 3.0F;
  const Ran cubed = run(torch_layernorm(cube));
  EXPECT_EQ(std::count(cubed.ops.begin(), cubed.ops.end(), "LayerNormalization"), 0);
  Variant other_axis;
  other_axis.axis = 1;
  const Ran across = run(torch_layernorm(other_axis));
  EXPECT_EQ(std::count(across.ops.begin(), across.ops.end(), "LayerNormalization"), 0);
  EXPECT_GT(across.ops.size(), 5U);
  // d is read outside the pattern: rewriting would lose it, so it stays, and
  // the values are still the LayerNorm they were.
  Variant exposed;
  exposed.expose_centered = true;
  const Ran kept = run(torch_layernorm(exposed));
  EXPECT_EQ(std::count(kept.ops.begin(), kept.ops.end(), "LayerNormalization"), 0);
  expect_layernorm(kept);
}

}  // namespace
}  // namespace inferlab::native
