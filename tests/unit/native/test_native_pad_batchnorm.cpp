// Coverage ops torchvision exports need: Pad in constant, reflect and edge
// modes (values checked against indices computed here), and a
// BatchNormalization after a Concat (DenseNet's pre-activation BN, which
// the graph passes cannot fold into a Conv) run with the Concat and the
// Relu after it as one step.
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

// Pad(value v, spatial 1) -> AveragePool 3x3 stride 1, as torch <= 1.13
// exports avg_pool2d(padding=1, count_include_pad=True). With v = 0 the
// pair runs as one AveragePool with pads and count_include_pad
// (pad_pool_rewrite.h); any other value keeps the Pad. Both compute the
// average over the padded window, divided by 9.
void expect_padded_average(float value, bool folded) {
  SCOPED_TRACE("pad value " + std::to_string(value));
  auto m = model_with({1, 2, 4, 4}, {1, 2, 4, 4});
  auto& g = *m.mutable_graph();
  const std::vector<std::int64_t> pads{0, 0, 1, 1, 0, 0, 1, 1};
  auto* pads_t = g.add_initializer();
  pads_t->set_name("pads");
  pads_t->set_data_type(onnx::TensorProto::INT64);
  pads_t->add_dims(8);
  pads_t->set_raw_data(test::raw_bytes(pads));
  graph_edit::add_float_initializer(g, "value", {}, {value});
  add_node(g, "Pad", {"x", "pads", "value"}, {"p"});
  auto* pool = add_node(g, "AveragePool", {"p"}, {"y"});
  add_int_attribute(pool, "kernel_shape", {3, 3}, true);
  std::vector<float> x(32);
  for (int i = 0; i < 32; ++i) x[i] = static_cast<float>(i % 7) - 2.5F;
  const Tensor input = test::float_tensor({1, 2, 4, 4}, x);
  const auto ran = test::run_engine(m, {&input});
  const auto y = ran.floats();
  ASSERT_EQ(y.size(), 32U);
  for (int c = 0; c < 2; ++c) {
    for (int r = 0; r < 4; ++r) {
      for (int k = 0; k < 4; ++k) {
        double sum = 0;
        for (int dr = -1; dr <= 1; ++dr) {
          for (int dk = -1; dk <= 1; ++dk) {
            const int rr = r + dr, kk = k + dk;
            sum += (rr < 0 || rr >= 4 || kk < 0 || kk >= 4) ? value : x[c * 16 + rr * 4 + kk];
          }
        }
        EXPECT_NEAR(y[c * 16 + r * 4 + k], sum / 9, 1e-6) << "c " << c << " r " << r << " k " << k;
      }
    }
  }
  const auto ops = ran.ops();
  EXPECT_EQ(std::count(ops.begin(), ops.end(), "Pad"), folded ? 0 : 1);
  EXPECT_EQ(std::count(ops.begin(), ops.end(), "AveragePool"), 1);
}

TEST(NativePad, ZeroPadBeforeAveragePoolBecomesItsPadding) {
  expect_padded_average(0.0F, true);
  expect_padded_average(1.5F, false);
}

// Concat(a, b) -> BatchNormalization -> Relu, DenseNet's pre-activation:
// the engine runs the three as one ConcatBatchNormalization step
// (concat_batchnorm_rewrite.h). Its paths: both inputs plain (Neg writes
// plain) in one pass; both from Convs (nhwc here, or blocked: either path);
// one of each, which only oneDNN's concat and BN in place take.
enum class Inputs { kPlainPlain, kConvConv, kConvPlain };

// The graph: x [1, 4, 5, 5] -> a, b (per `inputs`) -> Concat [1, 8, 5, 5]
// (-> BN -> Relu unless `cut`). `extra_reader`: the Concat's output is
// also a second graph output, so it must stay a Concat.
onnx::ModelProto concat_bn_model(Inputs inputs, bool cut, bool extra_reader = false) {
  auto m = model_with({1, 4, 5, 5}, {1, 8, 5, 5});
  auto& g = *m.mutable_graph();
  add_initializer(g, "w", {4, 4, 3, 3}, 11);
  add_initializer(g, "w2", {4, 4, 1, 1}, 12);
  auto* conv = add_node(g, "Conv", {"x", "w"}, {"c"});
  add_int_attribute(conv, "pads", {1, 1, 1, 1}, true);
  add_node(g, "Neg", {"x"}, {"neg"});
  add_node(g, "Conv", {"x", "w2"}, {"c2"});
  const std::vector<std::string> operands = inputs == Inputs::kPlainPlain ? std::vector<std::string>{"neg", "x"}
                                            : inputs == Inputs::kConvConv ? std::vector<std::string>{"c", "c2"}
                                                                          : std::vector<std::string>{"c", "x"};
  add_int_attribute(add_node(g, "Concat", operands, {cut ? "y" : "cat"}), "axis", {1}, false);
  if (cut) return m;
  if (extra_reader) set_value_info(g.add_output(), "cat", {1, 8, 5, 5});
  graph_edit::add_float_initializer(g, "scale", {8}, {0.5F, 1.5F, -1.0F, 2.0F, 1.0F, 0.25F, 3.0F, -0.5F});
  graph_edit::add_float_initializer(g, "bias", {8}, {0.1F, -0.2F, 0.3F, 0.0F, -1.0F, 0.5F, 0.05F, 0.2F});
  graph_edit::add_float_initializer(g, "mean", {8}, {0.0F, 0.1F, -0.2F, 0.3F, 0.4F, -0.5F, 0.6F, 0.0F});
  graph_edit::add_float_initializer(g, "var", {8}, {1.0F, 0.5F, 2.0F, 0.25F, 1.5F, 4.0F, 0.1F, 1.0F});
  auto* bn = add_node(g, "BatchNormalization", {"cat", "scale", "bias", "mean", "var"}, {"bn"});
  auto* eps = bn->add_attribute();
  eps->set_name("epsilon");
  eps->set_type(onnx::AttributeProto::FLOAT);
  eps->set_f(1e-3F);
  add_node(g, "Relu", {"bn"}, {"y"});
  return m;
}

// y = Relu(BN(cat)) per ONNX, from the cut graph's concatenation.
void expect_normalised(const std::vector<float>& y, const std::vector<float>& cat) {
  const float scale[] = {0.5F, 1.5F, -1.0F, 2.0F, 1.0F, 0.25F, 3.0F, -0.5F};
  const float bias[] = {0.1F, -0.2F, 0.3F, 0.0F, -1.0F, 0.5F, 0.05F, 0.2F};
  const float mean[] = {0.0F, 0.1F, -0.2F, 0.3F, 0.4F, -0.5F, 0.6F, 0.0F};
  const float var[] = {1.0F, 0.5F, 2.0F, 0.25F, 1.5F, 4.0F, 0.1F, 1.0F};
  ASSERT_EQ(y.size(), cat.size());
  for (std::size_t i = 0; i < y.size(); ++i) {
    const std::size_t c = i / 25;
    const float want = std::max(0.0F, (cat[i] - mean[c]) / std::sqrt(var[c] + 1e-3F) * scale[c] + bias[c]);
    EXPECT_NEAR(y[i], want, 1e-5F * (1 + std::abs(want))) << "element " << i;
  }
}

class NativeConcatBatchNorm : public ::testing::TestWithParam<Inputs> {};

TEST_P(NativeConcatBatchNorm, OneStepComputesConcatBatchNormRelu) {
  Tensor input(DType::kFloat32, {1, 4, 5, 5});
  fill_seeded_uniform(input, 5);
  const auto ran = test::run_engine(concat_bn_model(GetParam(), false), {&input});
  const auto cat = test::run_engine(concat_bn_model(GetParam(), true), {&input}).floats();
  expect_normalised(ran.floats(), cat);
  // One ConcatBatchNormalization step carrying the Relu; no Concat, BN or Relu step.
  int fused_steps = 0;
  std::string implementation;
  bool conv_writes_nhwc = false;  // the 3x3 Conv's output layout, as its step names it
  for (const auto& s : ran.steps) {
    EXPECT_TRUE(s.op != "Relu" && s.op != "Concat" && s.op != "BatchNormalization") << s.op;
    const std::string suffix = "Conv_c";
    if (s.op == "Conv" && s.node.size() >= suffix.size() &&
        s.node.compare(s.node.size() - suffix.size(), suffix.size(), suffix) == 0) {
      conv_writes_nhwc = s.implementation.find(">acdb") != std::string::npos;
    }
    if (s.op == "ConcatBatchNormalization") {
      ++fused_steps;
      EXPECT_EQ(s.fused, "Relu");
      implementation = s.implementation;
    }
  }
  EXPECT_EQ(fused_steps, 1);
  if (GetParam() == Inputs::kPlainPlain) {
    EXPECT_EQ(implementation, "fused concat+bnorm (nchw)");
  }
  // A blocked (nChw16c) Conv output takes oneDNN's concat and BN instead.
  if (GetParam() == Inputs::kConvPlain) {
    if (conv_writes_nhwc) {
      EXPECT_EQ(implementation, "fused concat+bnorm (nchw+nhwc to nhwc)");
    } else {
      EXPECT_EQ(implementation.rfind("onednn:", 0), 0U) << implementation;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Layouts, NativeConcatBatchNorm,
                         ::testing::Values(Inputs::kPlainPlain, Inputs::kConvConv, Inputs::kConvPlain),
                         [](const ::testing::TestParamInfo<Inputs>& info) {
                           return std::string(info.param == Inputs::kPlainPlain ? "PlainInputs"
                                              : info.param == Inputs::kConvConv ? "ConvInputs"
                                                                                : "MixedLayouts");
                         });

// A Concat read by more than the BN stays a Concat, and the BN (with its
// Relu) a step of its own.
TEST(NativeConcatBatchNorm, ConcatReadTwiceIsNotFused) {
  Tensor input(DType::kFloat32, {1, 4, 5, 5});
  fill_seeded_uniform(input, 5);
  const auto ran = test::run_engine(concat_bn_model(Inputs::kPlainPlain, false, true), {&input});
  const auto cat = test::run_engine(concat_bn_model(Inputs::kPlainPlain, true), {&input}).floats();
  expect_normalised(ran.floats(0), cat);
  EXPECT_EQ(ran.floats(1), cat);
  const auto ops = ran.ops(true);
  EXPECT_NE(std::find(ops.begin(), ops.end(), "Concat"), ops.end());
  EXPECT_NE(std::find(ops.begin(), ops.end(), "BatchNormalization+Relu"), ops.end());
  EXPECT_EQ(std::find(ops.begin(), ops.end(), "ConcatBatchNormalization+Relu"), ops.end());
}

}  // namespace
}  // namespace inferlab::native
