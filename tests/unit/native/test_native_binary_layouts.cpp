// The broadcasting binary kernel on a blocked operand: a squeeze-excitation
// Mul of an aBcd8b tensor (what RegNet-Y's grouped Convs write) by a
// [1, C, 1, 1] scale has only oneDNN's reference kernel in that layout, so
// the kernel reorders the operand to nhwc and runs a jit one. Checked on
// the kernel itself, with the operand laid out in aBcd8b here. And
// ConvNeXt's block: NHWC <-> NCHW Transposes that are only layout changes
// (run as views) around a layer-scale Mul by a [C, 1, 1] constant, which
// oneDNN's binary takes on the nhwc tensor as it is.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "../onnx_builder.h"
#include "backends/native/kernel.h"
#include "backends/native/onednn_context.h"
#include "optimize/graph_edit.h"
#include "run_engine.h"

namespace inferlab::native {
namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

TEST(NativeBinaryLayouts, BlockedOperandWithBroadcastAvoidsTheReferenceKernel) {
  const memory::dims dims{1, 16, 5, 5};
  onnx::NodeProto node;
  node.set_op_type("Mul");
  node.set_name("se_mul");
  node.add_input("x");
  node.add_input("s");
  node.add_output("y");
  auto kernel = make_binary_primitive_kernel(node);
  const memory::desc blocked(dims, dt::f32, tag::aBcd8b);
  const std::vector<InputDesc> in{{DType::kFloat32, {1, 16, 5, 5}, nullptr, Layout(blocked)},
                                  {DType::kFloat32, {1, 16, 1, 1}, nullptr, Layout()}};
  const auto out = kernel->prepare(in);
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(kernel->implementation().rfind("onednn:ref", 0), std::string::npos) << kernel->implementation();

  // x[c][p] = c + p / 100 in nchw, laid out in aBcd8b; s[c] = c - 7.5.
  std::vector<float> x_nchw(16 * 25), s(16), x_blocked(blocked.get_size() / sizeof(float));
  for (int c = 0; c < 16; ++c) {
    s[c] = static_cast<float>(c) - 7.5F;
    for (int p = 0; p < 25; ++p) x_nchw[c * 25 + p] = static_cast<float>(c) + static_cast<float>(p) / 100;
  }
  auto& eng = cpu_engine();
  memory nchw_in({dims, dt::f32, tag::abcd}, eng, x_nchw.data()), blocked_in(blocked, eng, x_blocked.data());
  dnnl::reorder(nchw_in, blocked_in).execute(cpu_stream(), nchw_in, blocked_in);
  cpu_stream().wait();

  const memory::desc out_md = is_blocked(out[0].layout) ? out[0].layout : memory::desc(dims, dt::f32, tag::abcd);
  std::vector<float> y_raw(out_md.get_size() / sizeof(float)), y(16 * 25);
  kernel->run({View{DType::kFloat32, {1, 16, 5, 5}, x_blocked.data()}, View{DType::kFloat32, {1, 16, 1, 1}, s.data()}},
              {View{DType::kFloat32, {1, 16, 5, 5}, y_raw.data()}});
  memory raw_out(out_md, eng, y_raw.data()), nchw_out({dims, dt::f32, tag::abcd}, eng, y.data());
  dnnl::reorder(raw_out, nchw_out).execute(cpu_stream(), raw_out, nchw_out);
  cpu_stream().wait();
  for (int c = 0; c < 16; ++c) {
    for (int p = 0; p < 25; ++p) EXPECT_FLOAT_EQ(y[c * 25 + p], x_nchw[c * 25 + p] * s[c]) << "c " << c << " p " << p;
  }
}

// x [1, 5, 5, 4] (NHWC) -> Transpose(0, 3, 1, 2) -> Mul gamma [4, 1, 1] ->
// Transpose(0, 2, 3, 1) -> y [1, 5, 5, 4]: y[..., c] = x[..., c] * gamma[c].
TEST(NativeBinaryLayouts, LayoutTransposesAreViewsAroundALayerScale) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  auto& g = *m.mutable_graph();
  g.set_name("layer_scale");
  test_onnx::set_value_info(g.add_input(), "x", {1, 5, 5, 4});
  test_onnx::set_value_info(g.add_output(), "y", {1, 5, 5, 4});
  const std::vector<float> gamma{0.5F, -2.0F, 3.0F, 0.25F};
  graph_edit::add_float_initializer(g, "gamma", {4, 1, 1}, gamma);
  test_onnx::add_int_attribute(test_onnx::add_node(g, "Transpose", {"x"}, {"t"}), "perm", {0, 3, 1, 2}, true);
  test_onnx::add_node(g, "Mul", {"t", "gamma"}, {"s"});
  test_onnx::add_int_attribute(test_onnx::add_node(g, "Transpose", {"s"}, {"y"}), "perm", {0, 2, 3, 1}, true);
  std::vector<float> x(100);
  for (int i = 0; i < 100; ++i) x[i] = static_cast<float>(i) / 10 - 3;
  const Tensor input = test::float_tensor({1, 5, 5, 4}, x);
  const auto ran = test::run_engine(m, {&input});
  const auto y = ran.floats();
  ASSERT_EQ(y.size(), x.size());
  for (int i = 0; i < 100; ++i) EXPECT_FLOAT_EQ(y[i], x[i] * gamma[i % 4]) << "element " << i;
  for (const auto& step : ran.steps) {
    if (step.op == "Transpose") {
      EXPECT_EQ(step.implementation, "layout view");
    }
    if (step.op == "Mul") {
      // oneDNN's binary, or the per-channel pass for an nhwc operand (channel_ops.h).
      EXPECT_TRUE(step.implementation.rfind("onednn:", 0) == 0U || step.implementation == "channel_scale_nhwc")
          << step.implementation;
    }
    EXPECT_NE(step.op, "Reorder") << "the nhwc bytes are NHWC already";
  }
}

// Concat(Conv(x), x) with an identity 1x1 Conv: one input in the Conv's
// layout (nhwc or blocked), the other plain. oneDNN 2.6 has only its
// reference concat for mixed layouts; the kernel reorders the inputs to
// nhwc and runs its simple one, and y is x twice over.
TEST(NativeBinaryLayouts, ConcatOfMixedLayoutsAvoidsTheReferenceKernel) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  auto& g = *m.mutable_graph();
  g.set_name("mixed_concat");
  test_onnx::set_value_info(g.add_input(), "x", {1, 16, 5, 5});
  test_onnx::set_value_info(g.add_output(), "y", {1, 32, 5, 5});
  std::vector<float> identity(16 * 16, 0.0F);
  for (int c = 0; c < 16; ++c) identity[c * 16 + c] = 1.0F;
  graph_edit::add_float_initializer(g, "w", {16, 16, 1, 1}, identity);
  test_onnx::add_node(g, "Conv", {"x", "w"}, {"c"});
  test_onnx::add_int_attribute(test_onnx::add_node(g, "Concat", {"c", "x"}, {"y"}), "axis", {1}, false);
  std::vector<float> x(16 * 25);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i) / 7;
  const Tensor input = test::float_tensor({1, 16, 5, 5}, x);
  const auto ran = test::run_engine(m, {&input});
  const auto y = ran.floats();
  ASSERT_EQ(y.size(), 2 * x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    EXPECT_FLOAT_EQ(y[i], x[i]) << "element " << i;
    EXPECT_FLOAT_EQ(y[x.size() + i], x[i]) << "element " << x.size() + i;
  }
  for (const auto& step : ran.steps) {
    if (step.op == "Concat") {
      EXPECT_EQ(step.implementation.find("ref"), std::string::npos) << step.implementation;
    }
  }
}

}  // namespace
}  // namespace inferlab::native
