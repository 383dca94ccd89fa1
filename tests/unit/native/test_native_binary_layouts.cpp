// The broadcasting binary kernel on a blocked operand: a squeeze-excitation
// Mul of an aBcd8b tensor (what RegNet-Y's grouped Convs write) by a
// [1, C, 1, 1] scale has only oneDNN's reference kernel in that layout, so
// the kernel reorders the operand to nhwc and runs a jit one. Checked on
// the kernel itself, with the operand laid out in aBcd8b here.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "backends/native/kernel.h"
#include "backends/native/onednn_context.h"

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

}  // namespace
}  // namespace inferlab::native
