// The XNNPACK Conv tactic candidate (src/backends/native/xnnpack_conv.h):
// the operator alone against the engine's oneDNN Conv on seeded data (plain,
// strided, depthwise, grouped, 1x1, dilated; Relu and Clip epilogues; batch
// 2; 1 and 2 threads), and the engine running it when the tactic cache names
// it. Where XNNPACK is not built in, only the stand-in's refusal is checked.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "../onnx_builder.h"
#include "backends/native/engine.h"
#include "backends/native/xnnpack_conv.h"
#include "inferlab/files.h"

namespace inferlab::native {
namespace {

using namespace test_onnx;

std::vector<float> seeded(std::int64_t n, std::uint64_t seed) {
  std::vector<float> v(static_cast<std::size_t>(n));
  std::uint64_t state = seed;
  for (auto& x : v) x = static_cast<float>((splitmix64_next(state) >> 40) / double(1 << 24)) - 0.5F;
  return v;
}

void raw_initializer(onnx::GraphProto& g, const std::string& name, const Shape& dims, const std::vector<float>& v) {
  auto* t = g.add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::FLOAT);
  for (auto d : dims) t->add_dims(d);
  t->set_raw_data(std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float)));
}

struct ConvCase {
  std::string label;
  Shape x;  // NCHW
  std::int64_t out_channels, groups, kernel, stride, dilation;
  std::vector<std::int64_t> pads;  // top, left, bottom, right
  std::string activation;          // "", "Relu" or "Clip" (bounds -0.3, 0.4)
  bool bias = true;
};

Shape weight_shape(const ConvCase& c) { return {c.out_channels, c.x[1] / c.groups, c.kernel, c.kernel}; }

Shape output_shape(const ConvCase& c) {
  auto out = [&](std::int64_t in, std::int64_t begin, std::int64_t end) {
    return (in + begin + end - c.dilation * (c.kernel - 1) - 1) / c.stride + 1;
  };
  return {c.x[0], c.out_channels, out(c.x[2], c.pads[0], c.pads[2]), out(c.x[3], c.pads[1], c.pads[3])};
}

// One Conv (and its activation, which the engine fuses) as a model file.
std::string write_conv_model(const std::string& dir, const ConvCase& c) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  auto& g = *m.mutable_graph();
  g.set_name("conv");
  set_value_info(g.add_input(), "x", c.x);
  set_value_info(g.add_output(), "y", output_shape(c));
  const Shape w = weight_shape(c);
  raw_initializer(g, "w", w, seeded(shape_element_count(w), 11));
  std::vector<std::string> inputs{"x", "w"};
  if (c.bias) {
    raw_initializer(g, "b", {c.out_channels}, seeded(c.out_channels, 12));
    inputs.push_back("b");
  }
  auto* conv = add_node(g, "Conv", inputs, {c.activation.empty() ? "y" : "c"});
  add_int_attribute(conv, "group", {c.groups}, false);
  add_int_attribute(conv, "strides", {c.stride, c.stride}, true);
  add_int_attribute(conv, "dilations", {c.dilation, c.dilation}, true);
  add_int_attribute(conv, "pads", {c.pads[0], c.pads[1], c.pads[2], c.pads[3]}, true);
  if (c.activation == "Relu") add_node(g, "Relu", {"c"}, {"y"});
  if (c.activation == "Clip") {
    raw_initializer(g, "lo", {}, {-0.3F});
    raw_initializer(g, "hi", {}, {0.4F});
    add_node(g, "Clip", {"c", "lo", "hi"}, {"y"});
  }
  const std::string path = dir + "/" + c.label + ".onnx";
  write_file_atomically(path, m.SerializeAsString());
  return path;
}

Tensor seeded_input(const Shape& shape) {
  Tensor input(DType::kFloat32, shape);
  fill_seeded_uniform(input, 42);
  return input;
}

// The engine's output with tactics off: oneDNN's own convolution.
std::vector<float> onednn_output(const std::string& model, const Shape& shape, std::vector<StepInfo>* steps = nullptr,
                                 bool tactics = false) {
  Engine engine(model);
  engine.set_tactics(tactics);
  engine.prepare({shape});
  if (steps) *steps = engine.steps();
  const Tensor input = seeded_input(shape);
  Tensor out(DType::kFloat32, engine.output_specs().at(0).shape);
  std::vector<Tensor*> outs{&out};
  engine.run({&input}, outs);
  return {out.data_as<float>(), out.data_as<float>() + out.element_count()};
}

// NCHW <-> NHWC of a 4-D float buffer.
std::vector<float> to_nhwc(const float* src, const Shape& s) {
  std::vector<float> out(static_cast<std::size_t>(shape_element_count(s)));
  for (std::int64_t n = 0; n < s[0]; ++n)
    for (std::int64_t c = 0; c < s[1]; ++c)
      for (std::int64_t hw = 0; hw < s[2] * s[3]; ++hw) out[(n * s[2] * s[3] + hw) * s[1] + c] = *src++;
  return out;
}
std::vector<float> to_nchw(const std::vector<float>& src, const Shape& s) {
  std::vector<float> out(src.size());
  for (std::int64_t n = 0; n < s[0]; ++n)
    for (std::int64_t c = 0; c < s[1]; ++c)
      for (std::int64_t hw = 0; hw < s[2] * s[3]; ++hw)
        out[(n * s[1] + c) * s[2] * s[3] + hw] = src[(n * s[2] * s[3] + hw) * s[1] + c];
  return out;
}

// Within 1e-4 of the larger of 1 and the reference's magnitude: the two
// libraries sum in different orders, so float32 rounding differs.
void expect_close(const std::vector<float>& got, const std::vector<float>& want) {
  ASSERT_EQ(got.size(), want.size());
  float peak = 1;
  for (float v : want) peak = std::max(peak, std::abs(v));
  int bad = 0;
  for (std::size_t i = 0; i < got.size() && bad < 10; ++i) {
    const bool ok = std::abs(got[i] - want[i]) <= 1e-4F * peak;
    EXPECT_TRUE(ok) << "element " << i << ": xnnpack " << got[i] << ", onednn " << want[i];
    bad += !ok;
  }
}

const std::vector<ConvCase> kCases{
    {"3x3_pad1_stride2", {2, 8, 13, 11}, 16, 1, 3, 2, 1, {1, 1, 1, 1}, ""},
    {"3x3_stride2_negative_end_pad", {2, 3, 16, 15}, 8, 1, 3, 2, 1, {0, 0, 0, 0}, ""},
    {"3x3_asymmetric_pads", {2, 5, 9, 9}, 7, 1, 3, 1, 1, {0, 1, 2, 1}, ""},
    {"depthwise_3x3", {2, 16, 10, 10}, 16, 16, 3, 1, 1, {1, 1, 1, 1}, ""},
    {"depthwise_3x3_stride2_relu", {2, 24, 15, 15}, 24, 24, 3, 2, 1, {1, 1, 1, 1}, "Relu"},
    {"depthwise_multiplier2", {2, 8, 9, 9}, 16, 8, 3, 1, 1, {1, 1, 1, 1}, ""},
    {"grouped_3x3", {2, 12, 8, 8}, 18, 3, 3, 1, 1, {1, 1, 1, 1}, ""},
    {"1x1", {2, 24, 7, 7}, 40, 1, 1, 1, 1, {0, 0, 0, 0}, ""},
    {"1x1_no_bias", {2, 24, 7, 7}, 40, 1, 1, 1, 1, {0, 0, 0, 0}, "", false},
    {"dilation2", {2, 6, 12, 12}, 10, 1, 3, 1, 2, {2, 2, 2, 2}, ""},
    {"3x3_relu", {2, 8, 10, 10}, 12, 1, 3, 1, 1, {1, 1, 1, 1}, "Relu"},
    {"3x3_clip", {2, 8, 10, 10}, 12, 1, 3, 1, 1, {1, 1, 1, 1}, "Clip"},
};

class NativeXnnpack : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!xnnpack_built()) GTEST_SKIP() << "XNNPACK is not built in (INFERLAB_WITH_XNNPACK)";
  }
  void TearDown() override { omp_set_num_threads(threads_); }
  TempDir dir_{"inferlab-xnnpack"};
  int threads_ = omp_get_max_threads();
};

TEST_F(NativeXnnpack, OperatorMatchesOneDnnConv) {
  for (int threads : {1, 2}) {
    omp_set_num_threads(threads);  // the candidate takes its pool size from the session's OpenMP setting
    for (const auto& c : kCases) {
      SCOPED_TRACE(c.label + " threads=" + std::to_string(threads));
      const auto want = onednn_output(write_conv_model(dir_.path(), c), c.x);
      const Shape w = weight_shape(c), y = output_shape(c);
      const auto weights = seeded(shape_element_count(w), 11), bias = seeded(c.out_channels, 12);
      // The end padding in oneDNN's exact form, as the Conv kernel has it
      // (spatial_padding()): smaller than ONNX's, or negative.
      auto exact_end = [&](int axis) {
        return (y[2 + axis] - 1) * c.stride + (c.kernel - 1) * c.dilation + 1 - c.x[2 + axis] - c.pads[axis];
      };
      XnnpackConvParams p = xnnpack_conv_params(c.x, w, y, c.groups, {c.stride, c.stride}, {c.dilation, c.dilation},
                                                {c.pads[0], c.pads[1]}, {exact_end(0), exact_end(1)});
      p.weights = weights.data();
      p.bias = c.bias ? bias.data() : nullptr;
      if (c.activation == "Relu") p.output_min = 0;
      if (c.activation == "Clip") p.output_min = -0.3F, p.output_max = 0.4F;
      auto conv = make_xnnpack_conv(p);
      const Tensor input = seeded_input(c.x);
      const auto in = to_nhwc(input.data_as<float>(), c.x);
      std::vector<float> out(static_cast<std::size_t>(shape_element_count(y)), std::nanf(""));
      conv->run(in.data(), out.data());
      const auto got = to_nchw(out, y);
      expect_close(got, want);
      // A second run into another buffer: setup binds the new pointers.
      std::vector<float> again(out.size(), std::nanf(""));
      conv->run(in.data(), again.data());
      EXPECT_EQ(again, out);
      // The comparison means something: outputs vary, epilogues clamp.
      const auto [lo, hi] = std::minmax_element(want.begin(), want.end());
      EXPECT_GT(*hi - *lo, 0.5F);
      if (c.activation == "Relu") {
        EXPECT_EQ(*lo, 0.0F);
      } else if (c.activation == "Clip") {
        EXPECT_EQ(*lo, -0.3F);
        EXPECT_EQ(*hi, 0.4F);
      }
    }
  }
}

TEST_F(NativeXnnpack, RejectedParametersThrow) {
  const std::vector<float> weights(8 * 3 * 3 * 3, 0.5F);
  XnnpackConvParams p =
      xnnpack_conv_params({1, 3, 8, 8}, {8, 3, 3, 3}, {1, 8, 8, 8}, 1, {1, 1}, {1, 1}, {1, 1}, {1, 1});
  p.weights = weights.data();
  EXPECT_NO_THROW(make_xnnpack_conv(p));
  p.stride_w = 0;
  EXPECT_THROW(make_xnnpack_conv(p), Error) << "stride 0";
  p.stride_w = 1;
  p.out_height = 9;
  EXPECT_THROW(make_xnnpack_conv(p), Error) << "XNNPACK would write 8 rows where 9 are expected";
  p.out_height = 8;
  p.groups = 2;
  EXPECT_THROW(make_xnnpack_conv(p), Error) << "2 groups do not divide 3 input channels";
}

// input [2,16,12,12] -> Conv 3x3 (32) + Relu -> depthwise 3x3 stride 2 +
// Clip -> Conv 1x1 (24) -> y: one layer of each kind the candidate takes.
std::string write_three_conv_model(const std::string& dir) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  auto& g = *m.mutable_graph();
  g.set_name("xnn_convs");
  set_value_info(g.add_input(), "x", {2, 16, 12, 12});
  set_value_info(g.add_output(), "y", {2, 24, 6, 6});
  raw_initializer(g, "w1", {32, 16, 3, 3}, seeded(32 * 16 * 9, 1));
  raw_initializer(g, "b1", {32}, seeded(32, 2));
  raw_initializer(g, "w2", {32, 1, 3, 3}, seeded(32 * 9, 3));
  raw_initializer(g, "w3", {24, 32, 1, 1}, seeded(24 * 32, 4));
  raw_initializer(g, "lo", {}, {0.0F});
  raw_initializer(g, "hi", {}, {0.5F});
  add_int_attribute(add_node(g, "Conv", {"x", "w1", "b1"}, {"c1"}), "pads", {1, 1, 1, 1}, true);
  add_node(g, "Relu", {"c1"}, {"r1"});
  auto* dw = add_node(g, "Conv", {"r1", "w2"}, {"c2"});
  add_int_attribute(dw, "group", {32}, false);
  add_int_attribute(dw, "pads", {1, 1, 1, 1}, true);
  add_int_attribute(dw, "strides", {2, 2}, true);
  add_node(g, "Clip", {"c2", "lo", "hi"}, {"r2"});
  add_node(g, "Conv", {"r2", "w3"}, {"y"});
  const std::string path = dir + "/three_convs.onnx";
  write_file_atomically(path, m.SerializeAsString());
  return path;
}

class NativeXnnpackTactic : public NativeXnnpack {
 protected:
  void SetUp() override {
    NativeXnnpack::SetUp();
    if (IsSkipped()) return;
    if (const char* old = std::getenv("INFERLAB_TACTIC_CACHE")) saved_ = old;
    cache_ = dir_.path() + "/tactics.tsv";
    ::setenv("INFERLAB_TACTIC_CACHE", cache_.c_str(), 1);
  }
  void TearDown() override {
    NativeXnnpack::TearDown();
    if (saved_.empty()) {
      ::unsetenv("INFERLAB_TACTIC_CACHE");
    } else {
      ::setenv("INFERLAB_TACTIC_CACHE", saved_.c_str(), 1);
    }
  }
  // Rewrites every cached layer's tactic to `tactic` (header and machine
  // lines kept), the test's way to pick a tactic by name.
  void force_cached_tactic(const std::string& tactic) const {
    std::istringstream in(read_file(cache_));
    std::string text;
    int n = 0;
    for (std::string line; std::getline(in, line); ++n) {
      if (n >= 2) {
        const auto first_tab = line.find('\t'), last_tab = line.rfind('\t');
        line = line.substr(0, first_tab + 1) + tactic + line.substr(last_tab);
      }
      text += line + "\n";
    }
    write_file_atomically(cache_, text);
  }
  std::string saved_, cache_;
};

TEST_F(NativeXnnpackTactic, EngineRunsTheCachedXnnpackTacticWithTheSameOutputs) {
  const std::string model = write_three_conv_model(dir_.path());
  const Shape shape{2, 16, 12, 12};
  const auto untuned = onednn_output(model, shape);
  std::vector<StepInfo> steps;
  const auto tuned = onednn_output(model, shape, &steps, true);
  expect_close(tuned, untuned);
  for (const auto& s : steps) {
    if (s.op != "Conv") continue;
    EXPECT_NE(s.implementation.find("timed)"), std::string::npos) << s.implementation;
  }
  // Forcing layer 1 changes the layout layer 2 is given, hence its
  // signature: edit again after each prepare until all three are forced.
  int forced = 0;
  for (int pass = 0; pass < 3 && forced < 3; ++pass) {
    force_cached_tactic(kXnnpackConvTactic);
    const auto y = onednn_output(model, shape, &steps, true);
    expect_close(y, untuned);
    forced = 0;
    for (const auto& s : steps) forced += s.implementation.rfind("xnnpack:f32 acdb>acdb", 0) == 0;
  }
  EXPECT_EQ(forced, 3) << "every Conv ran XNNPACK";
}

TEST_F(NativeXnnpackTactic, ConvWithAnEpilogueXnnpackLacksNeverRunsIt) {
  ConvCase c{"sigmoid", {1, 8, 10, 10}, 8, 1, 3, 1, 1, {1, 1, 1, 1}, ""};
  const std::string model = write_conv_model(dir_.path(), c);
  // The same model with a Sigmoid after the Conv (fused as a oneDNN post-op).
  onnx::ModelProto m;
  ASSERT_TRUE(m.ParseFromString(read_file(model)));
  auto& g = *m.mutable_graph();
  g.mutable_node(0)->set_output(0, "c");
  add_node(g, "Sigmoid", {"c"}, {"y"});
  write_file_atomically(model, m.SerializeAsString());
  std::vector<StepInfo> steps;
  const auto untuned = onednn_output(model, c.x);
  onednn_output(model, c.x, &steps, true);
  force_cached_tactic(kXnnpackConvTactic);
  expect_close(onednn_output(model, c.x, &steps, true), untuned);
  bool conv = false;
  for (const auto& s : steps) {
    if (s.op != "Conv") continue;
    conv = true;
    EXPECT_EQ(s.implementation.find("xnnpack"), std::string::npos) << s.implementation;
    EXPECT_NE(s.implementation.find("timed)"), std::string::npos) << "the unusable cached tactic is timed again";
  }
  EXPECT_TRUE(conv);
}

TEST(NativeXnnpackAbsent, StandInRefusesWithAReason) {
  if (xnnpack_built()) GTEST_SKIP() << "XNNPACK is built in: NativeXnnpack tests it";
  EXPECT_FALSE(xnnpack_status().empty());
  try {
    make_xnnpack_conv({});
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("libxnnpack-dev"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace inferlab::native
