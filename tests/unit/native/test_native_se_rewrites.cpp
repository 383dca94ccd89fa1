// Squeeze-excitation and MobileNetV3 patterns: HardSigmoid (alone, and in
// torch's x * HardSigmoid(x) HardSwish export) fused into the Conv before
// it, and prepare.py's batch fold around a broadcasting Mul undone, each
// computing the values the graph as written computes.
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

void float_attribute(onnx::NodeProto* n, const std::string& name, float value) {
  graph_edit::set_float_attribute(*n, name, value);
}

onnx::ModelProto empty_model(const std::string& name) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  m.mutable_graph()->set_name(name);
  return m;
}

std::vector<float> ramp(std::size_t n, float from, float step) {
  std::vector<float> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = from + step * static_cast<float>(i);
  return v;
}

// x [1, 2, 3, 3] -> 1x1 Conv (weights w, no bias) -> HardSigmoid(alpha, beta)
// -> y; with `swish`, y = conv * HardSigmoid(conv) instead.
onnx::ModelProto conv_hardsigmoid(float alpha, float beta, bool swish, const std::vector<float>& w) {
  auto m = empty_model("hardsigmoid");
  auto& g = *m.mutable_graph();
  set_value_info(g.add_input(), "x", {1, 2, 3, 3});
  set_value_info(g.add_output(), "y", {1, 2, 3, 3});
  graph_edit::add_float_initializer(g, "w", {2, 2, 1, 1}, w);
  add_node(g, "Conv", {"x", "w"}, {"c"});
  auto* hs = add_node(g, "HardSigmoid", {"c"}, {swish ? "h" : "y"});
  float_attribute(hs, "alpha", alpha);
  float_attribute(hs, "beta", beta);
  if (swish) add_node(g, "Mul", {"c", "h"}, {"y"});
  return m;
}

// The expected values, computed here as ONNX defines the ops.
std::vector<float> expected_hardsigmoid(const std::vector<float>& x, const std::vector<float>& w, float alpha,
                                        float beta, bool swish) {
  std::vector<float> y(18);
  for (int oc = 0; oc < 2; ++oc) {
    for (int p = 0; p < 9; ++p) {
      const float c = w[oc * 2] * x[p] + w[oc * 2 + 1] * x[9 + p];
      const float h = std::max(0.0F, std::min(1.0F, alpha * c + beta));
      y[oc * 9 + p] = swish ? c * h : h;
    }
  }
  return y;
}

// The steps that compute: the engine's layout reorders (e.g. the graph
// output's back to plain) left out.
std::vector<std::string> computing_steps(const test::EngineRun& ran, bool with_fused = false) {
  auto ops = ran.ops(with_fused);
  std::erase(ops, "Reorder");
  return ops;
}

TEST(NativeSeRewrites, HardSigmoidAndTorchsHardSwishRunInsideTheConv) {
  const std::vector<float> w{0.5F, -1.0F, 2.0F, 0.25F};
  const auto x = ramp(18, -4.0F, 0.45F);
  const Tensor input = test::float_tensor({1, 2, 3, 3}, x);
  struct Case {
    float alpha, beta;
    bool swish;
    std::string fused;
  };
  for (const Case& c : {Case{0.2F, 0.5F, false, "HardSigmoid"}, Case{1.0F / 6.0F, 0.5F, false, "HardSigmoid"},
                        Case{1.0F / 6.0F, 0.5F, true, "HardSwish"}}) {
    const auto ran = test::run_engine(conv_hardsigmoid(c.alpha, c.beta, c.swish, w), {&input});
    EXPECT_EQ(computing_steps(ran, true), std::vector<std::string>{"Conv+" + c.fused})
        << c.fused << " alpha " << c.alpha;
    const auto want = expected_hardsigmoid(x, w, c.alpha, c.beta, c.swish);
    const auto got = ran.floats();
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-5F) << c.fused << " at " << i;
  }
}

TEST(NativeSeRewrites, HardSwishNeedsTorchsConstants) {
  // alpha 0.2 is no hardswish: the HardSigmoid fuses, the Mul runs as written.
  const std::vector<float> w{0.5F, -1.0F, 2.0F, 0.25F};
  const auto x = ramp(18, -4.0F, 0.45F);
  const Tensor input = test::float_tensor({1, 2, 3, 3}, x);
  const auto ran = test::run_engine(conv_hardsigmoid(0.2F, 0.5F, true, w), {&input});
  EXPECT_EQ(computing_steps(ran), (std::vector<std::string>{"Conv", "HardSigmoid", "Mul"}));
  const auto want = expected_hardsigmoid(x, w, 0.2F, 0.5F, true);
  const auto got = ran.floats();
  for (std::size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-5F) << i;
}

// x [2, 3, 4, 4] * s [2, 3, 1, 1] written the way models/prepare.py folds it
// for OpenCV (the batch into axis 1 around the Mul); `prefix` names the nodes.
onnx::ModelProto folded_mul(const std::string& prefix) {
  auto m = empty_model("fold");
  auto& g = *m.mutable_graph();
  set_value_info(g.add_input(), "x", {2, 3, 4, 4});
  set_value_info(g.add_input(), "s", {2, 3, 1, 1});
  set_value_info(g.add_output(), "y", {2, 3, 4, 4});
  auto shape = [&](const std::string& name, std::vector<std::int64_t> v) {
    graph_edit::add_raw_initializer(g, name, onnx::TensorProto::INT64, {static_cast<std::int64_t>(v.size())},
                                    test::raw_bytes(v));
  };
  shape("sa", {1, -1, 4, 4});
  shape("sb", {1, -1, 1, 1});
  shape("sy", {-1, 3, 4, 4});
  add_node(g, "Reshape", {"x", "sa"}, {"xa"})->set_name(prefix + "_ra");
  add_node(g, "Reshape", {"s", "sb"}, {"sb_"})->set_name(prefix + "_rb");
  add_node(g, "Mul", {"xa", "sb_"}, {"m"})->set_name(prefix);
  add_node(g, "Reshape", {"m", "sy"}, {"y"})->set_name(prefix + "_ry");
  return m;
}

TEST(NativeSeRewrites, PreparesBatchFoldRunsAsOneBroadcastingMul) {
  const auto x = ramp(96, -3.0F, 0.1F);
  const auto s = ramp(6, 0.5F, 0.25F);
  const Tensor tx = test::float_tensor({2, 3, 4, 4}, x);
  const Tensor ts = test::float_tensor({2, 3, 1, 1}, s);
  std::vector<float> want(96);
  for (int i = 0; i < 96; ++i) want[i] = x[i] * s[i / 16];

  const auto unfolded = test::run_engine(folded_mul("inferlab_fix/1/batch_folded_mul"), {&tx, &ts});
  EXPECT_EQ(computing_steps(unfolded), std::vector<std::string>{"Mul"});
  EXPECT_EQ(unfolded.floats(), want);
  // The same nodes under other names are someone else's Reshapes: as written.
  const auto as_written = test::run_engine(folded_mul("user/mul"), {&tx, &ts});
  EXPECT_EQ(computing_steps(as_written), (std::vector<std::string>{"Reshape", "Reshape", "Mul", "Reshape"}));
  EXPECT_EQ(as_written.floats(), want);
}

}  // namespace
}  // namespace inferlab::native
