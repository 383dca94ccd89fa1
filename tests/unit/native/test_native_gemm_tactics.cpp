// The MatMul kernel's two forms for float32 products by constant weights:
// the matmul primitive (what runs without tactics) and the sgemm form that
// tactics may pick (kernels_matmul.cpp). Which one wins depends on the
// machine, so the sgemm form is forced through the tactic cache; both must
// compute what a double-precision loop over ONNX's definition computes,
// bias, alpha/beta, transposes, fused activation and residual included.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "../onnx_builder.h"
#include "backends/native/engine.h"
#include "inferlab/files.h"

namespace inferlab::native {
namespace {

using namespace test_onnx;

void add_float_attribute(onnx::NodeProto* n, const std::string& name, float value) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(value);
}

// The values add_initializer() wrote for `name`.
std::vector<float> initializer_values(const onnx::GraphProto& g, const std::string& name) {
  for (const auto& t : g.initializer()) {
    if (t.name() != name) continue;
    std::vector<float> v(t.raw_data().size() / sizeof(float));
    std::memcpy(v.data(), t.raw_data().data(), t.raw_data().size());
    return v;
  }
  return {};
}

struct Case {
  onnx::ModelProto model;
  Shape input;
  std::vector<float> expected;  // for the input fill_seeded_uniform(…, 42) makes
};

Tensor seeded_input(const Shape& shape) {
  Tensor t(DType::kFloat32, shape);
  fill_seeded_uniform(t, 42);
  return t;
}

// Y = Relu(0.5 * X W^T + 2 * b): Gemm transB with alpha, beta and a bias,
// X [3, 40], W [24, 40] (as an FC layer stores it).
Case gemm_trans_b_relu() {
  Case c{new_model("gemm_tb"), {3, 40}, {}};
  auto& g = *c.model.mutable_graph();
  set_value_info(g.add_input(), "x", {3, 40});
  set_value_info(g.add_output(), "y", {3, 24});
  add_initializer(g, "w", {24, 40}, 7);
  add_initializer(g, "b", {24}, 8);
  auto* gemm = add_node(g, "Gemm", {"x", "w", "b"}, {"z"});
  add_int_attribute(gemm, "transB", {1}, false);
  add_float_attribute(gemm, "alpha", 0.5F);
  add_float_attribute(gemm, "beta", 2.0F);
  add_node(g, "Relu", {"z"}, {"y"});
  const auto w = initializer_values(g, "w"), b = initializer_values(g, "b");
  const Tensor x = seeded_input(c.input);
  for (int r = 0; r < 3; ++r) {
    for (int n = 0; n < 24; ++n) {
      double sum = 0;
      for (int k = 0; k < 40; ++k) sum += double(x.data_as<float>()[r * 40 + k]) * w[n * 40 + k];
      c.expected.push_back(static_cast<float>(std::max(0.0, 0.5 * sum + 2.0 * b[n])));
    }
  }
  return c;
}

// Y = X^T W: Gemm transA, no bias, X [40, 2], W [40, 16].
Case gemm_trans_a() {
  Case c{new_model("gemm_ta"), {40, 2}, {}};
  auto& g = *c.model.mutable_graph();
  set_value_info(g.add_input(), "x", {40, 2});
  set_value_info(g.add_output(), "y", {2, 16});
  add_initializer(g, "w", {40, 16}, 9);
  add_int_attribute(add_node(g, "Gemm", {"x", "w"}, {"y"}), "transA", {1}, false);
  const auto w = initializer_values(g, "w");
  const Tensor x = seeded_input(c.input);
  for (int r = 0; r < 2; ++r) {
    for (int n = 0; n < 16; ++n) {
      double sum = 0;
      for (int k = 0; k < 40; ++k) sum += double(x.data_as<float>()[k * 2 + r]) * w[k * 16 + n];
      c.expected.push_back(static_cast<float>(sum));
    }
  }
  return c;
}

// Y = Relu(X W + b + X2): a 3-D MatMul (leading dims folded into rows) with
// its bias Add and a residual Add of the input's own product-shaped twin,
// X [2, 3, 32] -> [2, 3, 32].
Case matmul_bias_residual() {
  Case c{new_model("matmul_res"), {2, 3, 32}, {}};
  auto& g = *c.model.mutable_graph();
  set_value_info(g.add_input(), "x", {2, 3, 32});
  set_value_info(g.add_output(), "y", {2, 3, 32});
  add_initializer(g, "w", {32, 32}, 10);
  add_initializer(g, "b", {32}, 11);
  add_node(g, "MatMul", {"x", "w"}, {"p"});
  add_node(g, "Add", {"p", "b"}, {"pb"});
  add_node(g, "Add", {"pb", "x"}, {"s"});
  add_node(g, "Relu", {"s"}, {"y"});
  const auto w = initializer_values(g, "w"), b = initializer_values(g, "b");
  const Tensor x = seeded_input(c.input);
  const float* xv = x.data_as<float>();
  for (int r = 0; r < 6; ++r) {
    for (int n = 0; n < 32; ++n) {
      double sum = b[n] + xv[r * 32 + n];
      for (int k = 0; k < 32; ++k) sum += double(xv[r * 32 + k]) * w[k * 32 + n];
      c.expected.push_back(static_cast<float>(std::max(0.0, sum)));
    }
  }
  return c;
}

class NativeGemmTactics : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    if (const char* old = std::getenv("INFERLAB_TACTIC_CACHE")) saved_ = old;
    cache_ = dir_.path() + "/tactics.tsv";
    ::setenv("INFERLAB_TACTIC_CACHE", cache_.c_str(), 1);
  }
  void TearDown() override {
    if (saved_.empty()) {
      ::unsetenv("INFERLAB_TACTIC_CACHE");
    } else {
      ::setenv("INFERLAB_TACTIC_CACHE", saved_.c_str(), 1);
    }
  }

  // Runs `c` once; `implementation` gets the product step's implementation.
  std::vector<float> run(const Case& c, bool tactics, std::string& implementation) {
    const std::string path = dir_.path() + "/m.onnx";
    write_file_atomically(path, c.model.SerializeAsString());
    Engine engine(path);
    engine.set_tactics(tactics);
    engine.prepare({c.input});
    const Tensor input = seeded_input(c.input);
    Tensor out(DType::kFloat32, engine.output_specs().at(0).shape);
    std::vector<Tensor*> outs{&out};
    engine.run({&input}, outs);
    for (const auto& s : engine.steps()) {
      if (s.op == "Gemm" || s.op == "MatMul") implementation = s.implementation;
    }
    return {out.data_as<float>(), out.data_as<float>() + out.element_count()};
  }

  // Rewrites every MatMul entry of the cache to name `tactic`.
  void force_cached_tactic(const std::string& tactic) {
    std::istringstream in(read_file(cache_));
    std::string text;
    int forced = 0;
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("MatMul f32 ", 0) == 0) {
        const auto first_tab = line.find('\t'), last_tab = line.rfind('\t');
        line = line.substr(0, first_tab + 1) + tactic + line.substr(last_tab);
        ++forced;
      }
      text += line + "\n";
    }
    ASSERT_EQ(forced, 1) << "one product, one cache entry:\n" << text;
    write_file_atomically(cache_, text);
  }

  TempDir dir_{"inferlab-gemm-tactics"};
  std::string saved_, cache_;
};

void expect_matches(const std::vector<float>& got, const std::vector<float>& expected) {
  ASSERT_EQ(got.size(), expected.size());
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], expected[i], 1e-4) << "element " << i;
}

Case make_case(int which) {
  switch (which) {
    case 0:
      return gemm_trans_b_relu();
    case 1:
      return gemm_trans_a();
    default:
      return matmul_bias_residual();
  }
}

TEST_P(NativeGemmTactics, BothFormsComputeOnnxsDefinition) {
  const Case c = make_case(GetParam());
  ASSERT_FALSE(c.expected.empty());
  std::string untuned_impl, timed_impl, forced_impl;
  expect_matches(run(c, false, untuned_impl), c.expected);
  EXPECT_EQ(untuned_impl.find("sgemm"), std::string::npos) << "without tactics the primitive runs: " << untuned_impl;
  expect_matches(run(c, true, timed_impl), c.expected);
  EXPECT_NE(timed_impl.find("(tactic "), std::string::npos) << "the two forms were timed: " << timed_impl;
  force_cached_tactic("sgemm");
  expect_matches(run(c, true, forced_impl), c.expected);
  EXPECT_EQ(forced_impl, "onednn:sgemm (tactic 2 of 2, cached)");
}

INSTANTIATE_TEST_SUITE_P(Products, NativeGemmTactics, ::testing::Values(0, 1, 2),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return std::string(info.param == 0   ? "GemmTransBAlphaBetaRelu"
                                              : info.param == 1 ? "GemmTransANoBias"
                                                                : "MatMul3dBiasResidualRelu");
                         });

}  // namespace
}  // namespace inferlab::native
