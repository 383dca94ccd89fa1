// MatMul and Gemm epilogue fusion: nn.Linear's MatMul + bias Add, GELU and
// a residual Add become one step whose values match a plain computation;
// a broadcast residual (attention's position bias) runs after the product.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "../onnx_builder.h"
#include "optimize/graph_edit.h"
#include "run_engine.h"

namespace inferlab::native {
namespace {

using namespace test_onnx;

// Values in [-1, 1) from a fixed sequence, so the test computes the reference itself.
std::vector<float> values(std::size_t n, std::uint64_t seed) {
  std::vector<float> v(n);
  std::uint64_t state = seed;
  for (auto& x : v) x = static_cast<float>((splitmix64_next(state) >> 40) / double(1 << 23)) - 1.0F;
  return v;
}

void constant(onnx::GraphProto& g, const std::string& name, const std::vector<std::int64_t>& dims,
              const std::vector<float>& v) {
  graph_edit::add_float_initializer(g, name, dims, v);
}

// torch's five-node GELU export of `x` into `y` (rewrite_gelu() makes it one Gelu).
void torch_gelu(onnx::GraphProto& g, const std::string& x, const std::string& y) {
  const float sqrt2 = 1.4142135F, one = 1.0F, half = 0.5F;
  constant(g, x + "_sqrt2", {}, {sqrt2});
  constant(g, x + "_one", {}, {one});
  constant(g, x + "_half", {}, {half});
  add_node(g, "Div", {x, x + "_sqrt2"}, {x + "_d"});
  add_node(g, "Erf", {x + "_d"}, {x + "_e"});
  add_node(g, "Add", {x + "_e", x + "_one"}, {x + "_a"});
  add_node(g, "Mul", {x, x + "_a"}, {x + "_m"});
  add_node(g, "Mul", {x + "_m", x + "_half"}, {y});
}

struct Ran {
  std::vector<std::vector<float>> outputs;
  std::vector<std::string> ops, fused;
};

Ran run(const onnx::ModelProto& model, const std::vector<Shape>& shapes,
        const std::vector<std::vector<float>>& inputs) {
  std::vector<Tensor> ins;
  for (std::size_t i = 0; i < shapes.size(); ++i) ins.push_back(test::float_tensor(shapes[i], inputs[i]));
  std::vector<const Tensor*> in_ptrs;
  for (const auto& t : ins) in_ptrs.push_back(&t);
  const auto ran = test::run_engine(model, in_ptrs);
  Ran r;
  for (std::size_t k = 0; k < ran.outputs.size(); ++k) r.outputs.push_back(ran.floats(k));
  r.ops = ran.ops();
  for (const auto& s : ran.steps) r.fused.push_back(s.fused);
  return r;
}

// rows x k times k x n (row-major), plus bias[n] when given.
std::vector<float> matmul(const std::vector<float>& a, const std::vector<float>& b, int rows, int k, int n,
                          const std::vector<float>& bias = {}) {
  std::vector<float> y(static_cast<std::size_t>(rows) * n);
  for (int r = 0; r < rows; ++r) {
    for (int j = 0; j < n; ++j) {
      double sum = bias.empty() ? 0.0 : bias[j];
      for (int i = 0; i < k; ++i) sum += static_cast<double>(a[r * k + i]) * b[i * n + j];
      y[r * n + j] = static_cast<float>(sum);
    }
  }
  return y;
}

float gelu(float x) { return 0.5F * x * (1.0F + std::erf(x / std::sqrt(2.0F))); }

void expect_near(const std::vector<float>& got, const std::vector<float>& want, const char* what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (std::size_t i = 0; i < got.size(); ++i)
    EXPECT_NEAR(got[i], want[i], 1e-4F * std::max(1.0F, std::abs(want[i]))) << what << " at " << i;
}

TEST(NativeMatMulFusion, SwinMlpBlockRunsAsTwoFusedMatMuls) {
  // x [2, 3, 8] -> MatMul W1 [8, 16] -> Add b1 -> GELU -> MatMul W2 [16, 8]
  // -> Add b2 -> Add x (the residual) -> y, as torch exports Swin's MLP.
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  auto& g = *m.mutable_graph();
  g.set_name("mlp");
  set_value_info(g.add_input(), "x", {2, 3, 8});
  set_value_info(g.add_output(), "y", {2, 3, 8});
  const auto w1 = values(8 * 16, 1), b1 = values(16, 2), w2 = values(16 * 8, 3), b2 = values(8, 4);
  constant(g, "w1", {8, 16}, w1);
  constant(g, "b1", {16}, b1);
  constant(g, "w2", {16, 8}, w2);
  constant(g, "b2", {1, 8}, b2);
  add_node(g, "MatMul", {"x", "w1"}, {"h"});
  add_node(g, "Add", {"b1", "h"}, {"hb"});  // bias first: torch writes either order
  torch_gelu(g, "hb", "act");
  add_node(g, "MatMul", {"act", "w2"}, {"o"});
  add_node(g, "Add", {"o", "b2"}, {"ob"});
  add_node(g, "Add", {"ob", "x"}, {"y"});

  const auto x = values(2 * 3 * 8, 5);
  const Ran r = run(m, {{2, 3, 8}}, {x});
  EXPECT_EQ(r.ops, (std::vector<std::string>{"MatMul", "MatMul"}));
  EXPECT_EQ(r.fused, (std::vector<std::string>{"Bias+Gelu", "Bias+Add"}));
  auto hidden = matmul(x, w1, 6, 8, 16, b1);
  for (auto& v : hidden) v = gelu(v);
  auto want = matmul(hidden, w2, 6, 16, 8, b2);
  for (std::size_t i = 0; i < want.size(); ++i) want[i] += x[i];
  expect_near(r.outputs[0], want, "y");
}

TEST(NativeMatMulFusion, BroadcastResidualsAndGemmRelu) {
  // s = MatMul(q [2, 3, 4], kt [2, 4, 3]) + pos [1, 3, 3] (broadcast into s),
  // t = MatMul(z [1, 3, 4], w [4, 3]) + big [2, 3, 3] (s is the larger: t
  // broadcasts), u = Relu(Gemm(f [2, 4], w, c)).
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  auto& g = *m.mutable_graph();
  g.set_name("broadcast");
  set_value_info(g.add_input(), "q", {2, 3, 4});
  set_value_info(g.add_input(), "kt", {2, 4, 3});
  set_value_info(g.add_input(), "z", {1, 3, 4});
  set_value_info(g.add_input(), "big", {2, 3, 3});
  set_value_info(g.add_input(), "f", {2, 4});
  set_value_info(g.add_output(), "s", {2, 3, 3});
  set_value_info(g.add_output(), "t", {2, 3, 3});
  set_value_info(g.add_output(), "u", {2, 3});
  const auto pos = values(9, 6), w = values(12, 7), c = values(3, 8);
  constant(g, "pos", {1, 3, 3}, pos);
  constant(g, "w", {4, 3}, w);
  constant(g, "c", {3}, c);
  add_node(g, "MatMul", {"q", "kt"}, {"qk"});
  add_node(g, "Add", {"qk", "pos"}, {"s"});
  add_node(g, "MatMul", {"z", "w"}, {"zw"});
  add_node(g, "Add", {"big", "zw"}, {"t"});
  add_node(g, "Gemm", {"f", "w", "c"}, {"fc"});
  add_node(g, "Relu", {"fc"}, {"u"});

  const auto q = values(24, 9), kt = values(24, 10), z = values(12, 11), big = values(18, 12), f = values(8, 13);
  const Ran r = run(m, {{2, 3, 4}, {2, 4, 3}, {1, 3, 4}, {2, 3, 3}, {2, 4}}, {q, kt, z, big, f});
  EXPECT_EQ(r.ops, (std::vector<std::string>{"MatMul", "MatMul", "Gemm"}));
  // z w + big: a graph input is no bias, even after a MatMul by constant weights.
  EXPECT_EQ(r.fused, (std::vector<std::string>{"Add", "Add", "Relu"}));

  std::vector<float> s;
  for (int b = 0; b < 2; ++b) {
    const std::vector<float> qb(q.begin() + b * 12, q.begin() + (b + 1) * 12);
    const std::vector<float> kb(kt.begin() + b * 12, kt.begin() + (b + 1) * 12);
    const auto p = matmul(qb, kb, 3, 4, 3);
    for (int i = 0; i < 9; ++i) s.push_back(p[i] + pos[i]);
  }
  expect_near(r.outputs[0], s, "s");
  const auto zw = matmul(z, w, 3, 4, 3);
  std::vector<float> t(18);
  for (int i = 0; i < 18; ++i) t[i] = big[i] + zw[i % 9];
  expect_near(r.outputs[1], t, "t");
  auto u = matmul(f, w, 2, 4, 3, c);
  for (auto& v : u) v = std::max(v, 0.0F);
  expect_near(r.outputs[2], u, "u");
}

TEST(NativeMatMulFusion, ValuesOthersReadAreNotFusedAway) {
  // The bias Add's result is a graph output too: the MatMul keeps its bias,
  // but the Relu after it stays a step of its own.
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  auto& g = *m.mutable_graph();
  g.set_name("shared");
  set_value_info(g.add_input(), "x", {3, 4});
  set_value_info(g.add_output(), "hb", {3, 4});
  set_value_info(g.add_output(), "y", {3, 4});
  const auto w = values(16, 14), b = values(4, 15);
  constant(g, "w", {4, 4}, w);
  constant(g, "b", {4}, b);
  add_node(g, "MatMul", {"x", "w"}, {"h"});
  add_node(g, "Add", {"h", "b"}, {"hb"});
  add_node(g, "Relu", {"hb"}, {"y"});
  const auto x = values(12, 16);
  const Ran r = run(m, {{3, 4}}, {x});
  EXPECT_EQ(r.ops, (std::vector<std::string>{"MatMul", "Relu"}));
  EXPECT_EQ(r.fused[0], "Bias");
  const auto hb = matmul(x, w, 3, 4, 4, b);
  expect_near(r.outputs[0], hb, "hb");
  std::vector<float> y = hb;
  for (auto& v : y) v = std::max(v, 0.0F);
  expect_near(r.outputs[1], y, "y");
}

TEST(NativeMatMulFusion, ConvTakesHardSwishAsAPostOp) {
  // x [1, 2, 5, 5] -> Conv W [3, 2, 3, 3] (pads 1) + b -> HardSwish -> y.
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(14);
  auto& g = *m.mutable_graph();
  g.set_name("hardswish");
  set_value_info(g.add_input(), "x", {1, 2, 5, 5});
  set_value_info(g.add_output(), "y", {1, 3, 5, 5});
  auto w = values(54, 17), b = values(3, 18);
  for (auto& v : w) v *= 3.0F;  // reach both of HardSwish's bends (-3 and 3)
  constant(g, "w", {3, 2, 3, 3}, w);
  constant(g, "b", {3}, b);
  add_int_attribute(add_node(g, "Conv", {"x", "w", "b"}, {"c"}), "pads", {1, 1, 1, 1}, true);
  add_node(g, "HardSwish", {"c"}, {"y"});
  const auto x = values(50, 19);
  const Ran r = run(m, {{1, 2, 5, 5}}, {x});
  ASSERT_FALSE(r.ops.empty());  // then the Reorder back to the plain graph output
  EXPECT_EQ(r.ops[0], "Conv");
  EXPECT_EQ(r.fused[0], "HardSwish");
  std::vector<float> want;
  int below = 0, above = 0;
  for (int o = 0; o < 3; ++o) {
    for (int i = 0; i < 5; ++i) {
      for (int j = 0; j < 5; ++j) {
        double sum = b[o];
        for (int c = 0; c < 2; ++c) {
          for (int ki = 0; ki < 3; ++ki) {
            for (int kj = 0; kj < 3; ++kj) {
              const int yi = i + ki - 1, xj = j + kj - 1;
              if (yi < 0 || yi >= 5 || xj < 0 || xj >= 5) continue;
              sum += static_cast<double>(w[((o * 2 + c) * 3 + ki) * 3 + kj]) * x[(c * 5 + yi) * 5 + xj];
            }
          }
        }
        const float v = static_cast<float>(sum);
        below += v < -3.0F;
        above += v > 3.0F;
        want.push_back(v * std::max(0.0F, std::min(1.0F, v / 6.0F + 0.5F)));
      }
    }
  }
  EXPECT_GT(below, 0);
  EXPECT_GT(above, 0);
  expect_near(r.outputs[0], want, "y");
}

}  // namespace
}  // namespace inferlab::native
