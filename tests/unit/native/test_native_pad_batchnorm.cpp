// Coverage ops torchvision exports need: Pad in constant, reflect and edge
// modes (values checked against indices computed here), and a standalone
// BatchNormalization after a Concat (DenseNet's pre-activation BN, which
// the graph passes cannot fold into a Conv) with the Relu after it fused.
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

onnx::ModelProto model_with(const std::vector<std::int64_t>& in_dims, const std::vector<std::int64_t>& out_dims) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  auto& g = *m.mutable_graph();
  g.set_name("coverage");
  set_value_info(g.add_input(), "x", in_dims);
  set_value_info(g.add_output(), "y", out_dims);
  return m;
}

// x [1, 2, 3, 4] = 0 .. 23, padded by (top 2, left 3, bottom 1, right 2).
std::vector<float> pad_reference(const std::string& mode, float value) {
  const int h = 3, w = 4, top = 2, left = 3, oh = h + top + 1, ow = w + left + 2;
  auto index = [&](int i, int size) {
    if (i >= 0 && i < size) return i;
    if (mode == "edge") return i < 0 ? 0 : size - 1;
    if (mode == "reflect") return i < 0 ? -i : 2 * (size - 1) - i;
    return -1;
  };
  std::vector<float> y;
  for (int c = 0; c < 2; ++c) {
    for (int r = 0; r < oh; ++r) {
      for (int k = 0; k < ow; ++k) {
        const int sr = index(r - top, h), sk = index(k - left, w);
        y.push_back(sr < 0 || sk < 0 ? value : static_cast<float>(c * h * w + sr * w + sk));
      }
    }
  }
  return y;
}

TEST(NativePad, ConstantReflectAndEdgeModes) {
  std::vector<float> x(24);
  for (int i = 0; i < 24; ++i) x[i] = static_cast<float>(i);
  const Tensor input = test::float_tensor({1, 2, 3, 4}, x);
  for (const std::string mode : {"constant", "reflect", "edge"}) {
    SCOPED_TRACE(mode);
    auto m = model_with({1, 2, 3, 4}, {1, 2, 6, 9});
    auto& g = *m.mutable_graph();
    // ONNX order: all begins (N, C, H, W), then all ends.
    const std::vector<std::int64_t> pads{0, 0, 2, 3, 0, 0, 1, 2};
    auto* pads_t = g.add_initializer();
    pads_t->set_name("pads");
    pads_t->set_data_type(onnx::TensorProto::INT64);
    pads_t->add_dims(8);
    pads_t->set_raw_data(test::raw_bytes(pads));
    std::vector<std::string> inputs{"x", "pads"};
    if (mode == "constant") {
      graph_edit::add_float_initializer(g, "value", {}, {-7.5F});
      inputs.push_back("value");
    }
    auto* pad = add_node(g, "Pad", inputs, {"y"});
    auto* a = pad->add_attribute();
    a->set_name("mode");
    a->set_type(onnx::AttributeProto::STRING);
    a->set_s(mode);
    const auto ran = test::run_engine(m, {&input});
    EXPECT_EQ(ran.outputs[0].shape(), (Shape{1, 2, 6, 9}));
    EXPECT_EQ(ran.floats(), pad_reference(mode, mode == "constant" ? -7.5F : 0.0F));
  }
}

// Concat(Conv(x), x) -> BatchNormalization -> Relu: the BN reads a Concat,
// so it stays standalone, and takes the Relu.
TEST(NativeBatchNorm, StandaloneAfterConcatWithFusedRelu) {
  auto m = model_with({1, 4, 5, 5}, {1, 8, 5, 5});
  auto& g = *m.mutable_graph();
  add_initializer(g, "w", {4, 4, 3, 3}, 11);
  auto* conv = add_node(g, "Conv", {"x", "w"}, {"c"});
  add_int_attribute(conv, "pads", {1, 1, 1, 1}, true);
  add_int_attribute(add_node(g, "Concat", {"c", "x"}, {"cat"}), "axis", {1}, false);
  const std::vector<float> scale{0.5F, 1.5F, -1.0F, 2.0F, 1.0F, 0.25F, 3.0F, -0.5F};
  const std::vector<float> bias{0.1F, -0.2F, 0.3F, 0.0F, -1.0F, 0.5F, 0.05F, 0.2F};
  const std::vector<float> mean{0.0F, 0.1F, -0.2F, 0.3F, 0.4F, -0.5F, 0.6F, 0.0F};
  const std::vector<float> var{1.0F, 0.5F, 2.0F, 0.25F, 1.5F, 4.0F, 0.1F, 1.0F};
  graph_edit::add_float_initializer(g, "scale", {8}, scale);
  graph_edit::add_float_initializer(g, "bias", {8}, bias);
  graph_edit::add_float_initializer(g, "mean", {8}, mean);
  graph_edit::add_float_initializer(g, "var", {8}, var);
  auto* bn = add_node(g, "BatchNormalization", {"cat", "scale", "bias", "mean", "var"}, {"bn"});
  auto* eps = bn->add_attribute();
  eps->set_name("epsilon");
  eps->set_type(onnx::AttributeProto::FLOAT);
  eps->set_f(1e-3F);
  add_node(g, "Relu", {"bn"}, {"y"});

  Tensor input(DType::kFloat32, {1, 4, 5, 5});
  fill_seeded_uniform(input, 5);
  const auto ran = test::run_engine(m, {&input});
  // The concatenated tensor without BN: the same graph cut before it.
  auto cut = model_with({1, 4, 5, 5}, {1, 8, 5, 5});
  auto& cg = *cut.mutable_graph();
  add_initializer(cg, "w", {4, 4, 3, 3}, 11);
  auto* cconv = add_node(cg, "Conv", {"x", "w"}, {"c"});
  add_int_attribute(cconv, "pads", {1, 1, 1, 1}, true);
  add_int_attribute(add_node(cg, "Concat", {"c", "x"}, {"y"}), "axis", {1}, false);
  const auto cat = test::run_engine(cut, {&input}).floats();
  const auto y = ran.floats();
  ASSERT_EQ(y.size(), cat.size());
  for (std::size_t i = 0; i < y.size(); ++i) {
    const std::size_t c = i / 25;
    const float want = std::max(0.0F, (cat[i] - mean[c]) / std::sqrt(var[c] + 1e-3F) * scale[c] + bias[c]);
    EXPECT_NEAR(y[i], want, 1e-5F * (1 + std::abs(want))) << "element " << i;
  }
  // One BatchNormalization step carrying the Relu; no Relu step of its own.
  int bn_steps = 0;
  for (const auto& s : ran.steps) {
    EXPECT_NE(s.op, "Relu");
    if (s.op == "BatchNormalization") {
      ++bn_steps;
      EXPECT_EQ(s.fused, "Relu");
    }
  }
  EXPECT_EQ(bn_steps, 1);
}

}  // namespace
}  // namespace inferlab::native
