// The GELU rewrite: torch's five-node export becomes one Gelu step computing
// the same values; near misses are left as written.
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

void scalar(onnx::GraphProto& g, const std::string& name, float value) {
  graph_edit::add_float_initializer(g, name, {}, {value});
}

// x [2, 8] -> torch's GELU export -> y; `half` is the last Mul's constant
// (0.5 in the real pattern) and `extra_reader` adds a second reader of Erf.
onnx::ModelProto torch_gelu(float half, bool extra_reader) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  auto& g = *m.mutable_graph();
  g.set_name("gelu");
  set_value_info(g.add_input(), "x", {2, 8});
  set_value_info(g.add_output(), "y", {2, 8});
  scalar(g, "sqrt2", 1.4142135F);
  scalar(g, "one", 1.0F);
  scalar(g, "half", half);
  add_node(g, "Div", {"x", "sqrt2"}, {"d"});
  add_node(g, "Erf", {"d"}, {"e"});
  add_node(g, "Add", {"e", "one"}, {"a"});
  add_node(g, "Mul", {"x", "a"}, {"m"});
  add_node(g, "Mul", {"m", "half"}, {"y"});
  if (extra_reader) {
    set_value_info(g.add_output(), "e_copy", {2, 8});
    add_node(g, "Relu", {"e"}, {"e_copy"});
  }
  return m;
}

struct Ran {
  std::vector<float> y;
  std::vector<std::string> ops;
};

Ran run(const onnx::ModelProto& model) {
  std::vector<float> x(16);
  for (int i = 0; i < 16; ++i) x[i] = -4.0F + 0.5F * static_cast<float>(i);
  const Tensor input = test::float_tensor({2, 8}, x);
  const auto ran = test::run_engine(model, {&input});
  return {ran.floats(), ran.ops()};
}

float gelu(float x) { return 0.5F * x * (1.0F + std::erf(x / std::sqrt(2.0F))); }

TEST(NativeGelu, TorchsFiveNodeExportRunsAsOneGeluStep) {
  const Ran r = run(torch_gelu(0.5F, false));
  EXPECT_EQ(r.ops, std::vector<std::string>{"Gelu"});
  for (int i = 0; i < 16; ++i) {
    const float x = -4.0F + 0.5F * static_cast<float>(i);
    EXPECT_NEAR(r.y[i], gelu(x), 1e-5F * std::max(1.0F, std::abs(gelu(x)))) << "x = " << x;
  }
}

TEST(NativeGelu, NearMissesStayAsWritten) {
  // Another constant: not GELU, so five steps computing exactly what is written.
  const Ran other_constant = run(torch_gelu(0.6F, false));
  EXPECT_EQ(other_constant.ops.size(), 5U);
  for (int i = 0; i < 16; ++i) {
    const float x = -4.0F + 0.5F * static_cast<float>(i);
    EXPECT_NEAR(other_constant.y[i], gelu(x) * 1.2F, 1e-4F) << "x = " << x;
  }
  // Erf's result is read elsewhere too: fusing would lose it.
  const Ran shared = run(torch_gelu(0.5F, true));
  EXPECT_EQ(std::count(shared.ops.begin(), shared.ops.end(), "Gelu"), 0);
  EXPECT_EQ(std::count(shared.ops.begin(), shared.ops.end(), "Erf"), 1);
}

}  // namespace
}  // namespace inferlab::native
