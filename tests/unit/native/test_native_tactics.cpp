// Tactic selection of the native engine: tuned Convs compute what untuned
// ones do, the timing cache turns a second prepare into look-ups, and a
// corrupt, foreign or stale cache file costs a re-timing, never a failure.
// Every test uses its own cache file (INFERLAB_TACTIC_CACHE); nothing here
// asserts on time, only on the engine's counters and outputs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "../onnx_builder.h"
#include "backends/native/engine.h"
#include "backends/native/onednn_util.h"
#include "inferlab/files.h"

namespace inferlab::native {
namespace {

using namespace test_onnx;

const Shape kInput{1, 16, 20, 20};

// input [1,16,20,20] -> Conv 3x3 (24) + Relu -> Conv 1x1 (16) -> Conv 3x3
// stride 2 (8) -> y: three different signatures, each with several oneDNN
// implementations (jit blocked, jit nhwc, 1x1, gemm) on any x86 CPU.
std::string write_conv_model(const std::string& dir) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  auto& g = *m.mutable_graph();
  g.set_name("convs");
  set_value_info(g.add_input(), "x", kInput);
  set_value_info(g.add_output(), "y", {1, 8, 10, 10});
  add_initializer(g, "w1", {24, 16, 3, 3}, 1);
  add_initializer(g, "b1", {24}, 2);
  add_initializer(g, "w2", {16, 24, 1, 1}, 3);
  add_initializer(g, "w3", {8, 16, 3, 3}, 4);
  auto* c1 = add_node(g, "Conv", {"x", "w1", "b1"}, {"c1"});
  add_int_attribute(c1, "pads", {1, 1, 1, 1}, true);
  add_node(g, "Relu", {"c1"}, {"r1"});
  add_node(g, "Conv", {"r1", "w2"}, {"c2"});
  auto* c3 = add_node(g, "Conv", {"c2", "w3"}, {"y"});
  add_int_attribute(c3, "pads", {1, 1, 1, 1}, true);
  add_int_attribute(c3, "strides", {2, 2}, true);
  const std::string path = dir + "/convs.onnx";
  write_file_atomically(path, m.SerializeAsString());
  return path;
}

void raw_tensor(onnx::GraphProto& g, const std::string& name, int type, const Shape& dims, const void* data,
                std::size_t bytes) {
  auto* t = g.add_initializer();
  t->set_name(name);
  t->set_data_type(type);
  for (auto d : dims) t->add_dims(d);
  t->set_raw_data(std::string(static_cast<const char*>(data), bytes));
}

// The optimizer's int8 pattern on a 1x1 Conv (which has a 1x1 and a
// general int8 kernel): x [1,16,8,8] -> Q(1/64, 0) -> DQ -> Conv(.,
// DQ(W_q int8, s_w[16], 0, axis 0), bias) -> y.
std::string write_int8_conv_model(const std::string& dir) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  auto& g = *m.mutable_graph();
  g.set_name("int8_conv");
  set_value_info(g.add_input(), "x", {1, 16, 8, 8});
  set_value_info(g.add_output(), "y", {1, 16, 8, 8});
  const float s_x = 1.0F / 64;
  const std::int8_t zero = 0;
  std::vector<std::int8_t> w_q(16 * 16), w_zp(16, 0);
  std::vector<float> s_w(16, 1.0F / 128), bias(16);
  std::uint64_t state = 5;
  // 7-bit weights, what `inferlab optimize --int8` writes: an int8 kernel
  // on every ISA (8-bit ones run in float32 without VNNI).
  for (auto& w : w_q) w = static_cast<std::int8_t>(static_cast<int>(splitmix64_next(state) % 127) - 63);
  for (auto& b : bias) b = static_cast<float>(splitmix64_next(state) % 100) / 100.0F;
  raw_tensor(g, "x_scale", onnx::TensorProto::FLOAT, {}, &s_x, sizeof s_x);
  raw_tensor(g, "x_zp", onnx::TensorProto::INT8, {}, &zero, 1);
  raw_tensor(g, "w_q", onnx::TensorProto::INT8, {16, 16, 1, 1}, w_q.data(), w_q.size());
  raw_tensor(g, "w_scale", onnx::TensorProto::FLOAT, {16}, s_w.data(), s_w.size() * sizeof(float));
  raw_tensor(g, "w_zp", onnx::TensorProto::INT8, {16}, w_zp.data(), w_zp.size());
  raw_tensor(g, "b", onnx::TensorProto::FLOAT, {16}, bias.data(), bias.size() * sizeof(float));
  add_node(g, "QuantizeLinear", {"x", "x_scale", "x_zp"}, {"x_q"});
  add_node(g, "DequantizeLinear", {"x_q", "x_scale", "x_zp"}, {"x_dq"});
  add_int_attribute(add_node(g, "DequantizeLinear", {"w_q", "w_scale", "w_zp"}, {"w"}), "axis", {0}, false);
  add_node(g, "Conv", {"x_dq", "w", "b"}, {"y"});
  const std::string path = dir + "/int8_conv.onnx";
  write_file_atomically(path, m.SerializeAsString());
  return path;
}

class NativeTactics : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const char* old = std::getenv("INFERLAB_TACTIC_CACHE")) saved_ = old;
    cache_ = dir_.path() + "/cache/tactics.tsv";  // in a directory save() must create
    ::setenv("INFERLAB_TACTIC_CACHE", cache_.c_str(), 1);
    model_ = write_conv_model(dir_.path());
  }
  void TearDown() override {
    if (saved_.empty()) {
      ::unsetenv("INFERLAB_TACTIC_CACHE");
    } else {
      ::setenv("INFERLAB_TACTIC_CACHE", saved_.c_str(), 1);
    }
  }

  // Prepares a fresh engine (tactics on or off) and runs the seeded input.
  std::vector<float> run(bool tactics, TacticStats* stats = nullptr, std::vector<StepInfo>* steps = nullptr,
                         const std::string& model = "", const Shape& shape = kInput) {
    Engine engine(model.empty() ? model_ : model);
    engine.set_tactics(tactics);
    engine.prepare({shape});
    if (stats) *stats = engine.tactic_stats();
    if (steps) *steps = engine.steps();
    Tensor input(DType::kFloat32, shape);
    fill_seeded_uniform(input, 42);
    const TensorSpec spec = engine.output_specs().at(0);
    Tensor out(DType::kFloat32, spec.shape);
    std::vector<Tensor*> outs{&out};
    engine.run({&input}, outs);
    return {out.data_as<float>(), out.data_as<float>() + out.element_count()};
  }

  // The cache file's lines, or {} when there is none.
  std::vector<std::string> cache_lines() const {
    std::vector<std::string> lines;
    if (!std::filesystem::exists(cache_)) return lines;
    std::istringstream in(read_file(cache_));
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }
  void write_cache(const std::vector<std::string>& lines, bool final_newline = true) const {
    std::string text;
    for (std::size_t i = 0; i < lines.size(); ++i)
      text += lines[i] + (i + 1 < lines.size() || final_newline ? "\n" : "");
    write_file_atomically(cache_, text);
  }

  TempDir dir_{"inferlab-tactics"};
  std::string saved_, cache_, model_;
};

// Equal within 1e-5 of the outputs' magnitude (|y| reaches ~20 here): the
// implementations sum in different orders, so float32 rounding differs.
void expect_close(const std::vector<float>& a, const std::vector<float>& b) {
  ASSERT_EQ(a.size(), b.size());
  float peak = 1;
  for (float v : b) peak = std::max(peak, std::abs(v));
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-5 * peak) << "element " << i;
}

TEST_F(NativeTactics, TunedOutputsEqualUntunedOnes) {
  TacticStats stats;
  std::vector<StepInfo> steps;
  const auto tuned = run(true, &stats, &steps);
  const auto untuned = run(false);
  expect_close(tuned, untuned);
  EXPECT_EQ(stats.layers_tuned, 3) << "every Conv has several implementations";
  EXPECT_GE(stats.candidates_timed, 6);
  for (const auto& s : steps) {
    if (s.op != "Conv") continue;
    EXPECT_NE(s.implementation.find("(tactic "), std::string::npos) << s.implementation;
  }
}

TEST_F(NativeTactics, ForcedNhwcTacticComputesTheSameAsUntuned) {
  // The timing winner may well be oneDNN's own pick (blocked layouts), so
  // another tactic is forced through the cache: gemm on nhwc, which exists
  // for every layer on any x86 CPU. Forcing layer 1 changes the layout
  // layer 2 is given, hence its signature: the file is edited again after
  // each prepare until every layer runs the forced tactic.
  const std::string tactic = "x64:gemm:jit acdb>acdb";
  const auto untuned = run(false);
  run(true);
  int forced = 0;
  for (int pass = 0; pass < 3; ++pass) {
    auto lines = cache_lines();
    ASSERT_GE(lines.size(), 5U) << "header, machine line, three layers";
    for (std::size_t i = 2; i < lines.size(); ++i) {
      const auto first_tab = lines[i].find('\t'), last_tab = lines[i].rfind('\t');
      lines[i] = lines[i].substr(0, first_tab + 1) + tactic + lines[i].substr(last_tab);
    }
    write_cache(lines);
    TacticStats stats;
    std::vector<StepInfo> steps;
    expect_close(run(true, &stats, &steps), untuned);
    EXPECT_EQ(stats.cache_hits + stats.layers_tuned, 3);
    forced = 0;
    for (const auto& s : steps) {
      forced += s.implementation.find("onednn:" + tactic) != std::string::npos;
    }
  }
  EXPECT_EQ(forced, 3) << "every Conv ran the forced tactic";
}

TEST_F(NativeTactics, TunedInt8ConvEqualsUntuned) {
  const std::string model = write_int8_conv_model(dir_.path());
  TacticStats stats;
  std::vector<StepInfo> steps;
  const auto tuned = run(true, &stats, &steps, model, {1, 16, 8, 8});
  expect_close(tuned, run(false, nullptr, nullptr, model, {1, 16, 8, 8}));
  // Without VNNI the int8 layer is also timed against its float form, whose
  // float Conv picks its own tactic: three choices.
  EXPECT_EQ(stats.layers_tuned, cpu_has_vnni() ? 1 : 3);
  EXPECT_GE(stats.candidates_timed, 2);
  // Run as an int8 convolution, the Conv reads the quantized input itself:
  // no DequantizeLinear step is left (implementation names need not say
  // "int8": brgconv_1x1:avx512_core_vnni, x64:gemm_s8s8s32:jit).
  bool conv = false, dequantize = false;
  for (const auto& s : steps) {
    conv = conv || s.op == "Conv";
    dequantize = dequantize || s.op == "DequantizeLinear";
  }
  EXPECT_TRUE(conv);
  EXPECT_FALSE(dequantize) << "the QDQ Conv did not run as an int8 convolution";
}

// Without VNNI an int8 Conv is timed against the QDQ graph's float form
// (conv_float_form.h); the cache is edited to force that form, which must
// compute what the untuned int8 layer does (to float rounding: both are the
// QDQ graph's values). unit_native_int8_without_vnni runs this capped to
// AVX2 on any x86 CPU.
TEST_F(NativeTactics, Int8ConvFloatFormEqualsUntuned) {
  if (cpu_has_vnni())
    GTEST_SKIP() << "with VNNI the int8 Conv is not timed against its float form (unit_native_int8_without_vnni "
                    "runs this test capped to AVX2)";
  const std::string model = write_int8_conv_model(dir_.path());
  const auto untuned = run(false, nullptr, nullptr, model, {1, 16, 8, 8});
  run(true, nullptr, nullptr, model, {1, 16, 8, 8});
  auto lines = cache_lines();
  int forced = 0;
  for (auto& line : lines) {
    if (line.rfind("Conv int8-or-f32 ", 0) != 0) continue;
    const auto first_tab = line.find('\t'), last_tab = line.rfind('\t');
    line = line.substr(0, first_tab + 1) + "dequantized f32" + line.substr(last_tab);
    ++forced;
  }
  ASSERT_EQ(forced, 1) << "no int8-or-float choice was cached";
  write_cache(lines);
  std::vector<StepInfo> steps;
  expect_close(run(true, nullptr, &steps, model, {1, 16, 8, 8}), untuned);
  bool float_form = false;
  for (const auto& s : steps) float_form = float_form || s.implementation.rfind("dequantized to f32", 0) == 0;
  EXPECT_TRUE(float_form) << "the forced float form did not run";
}

// ResNet's residual block tail: x [1,64,28,28] -> Conv 3x3 (64) + Add(x) +
// Relu -> y, with x first moved into nhwc by a 1x1 Conv so that the
// residual Conv is given nhwc and adds an nhwc residual (resnet18's layer).
std::string write_residual_model(const std::string& dir) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  auto& g = *m.mutable_graph();
  g.set_name("residual");
  set_value_info(g.add_input(), "x", {1, 64, 28, 28});
  set_value_info(g.add_output(), "y", {1, 64, 28, 28});
  add_initializer(g, "w0", {64, 64, 1, 1}, 1);
  add_initializer(g, "w1", {64, 64, 3, 3}, 2);
  add_initializer(g, "b1", {64}, 3);
  add_node(g, "Conv", {"x", "w0"}, {"a"});
  auto* c1 = add_node(g, "Conv", {"a", "w1", "b1"}, {"c1"});
  add_int_attribute(c1, "pads", {1, 1, 1, 1}, true);
  add_node(g, "Add", {"c1", "a"}, {"sum"});
  add_node(g, "Relu", {"sum"}, {"y"});
  const std::string path = dir + "/residual.onnx";
  write_file_atomically(path, m.SerializeAsString());
  return path;
}

TEST_F(NativeTactics, ResidualConvNeverRunsGemmOnNhwc) {
  // oneDNN 2.6's gemm convolution on nhwc with a binary (residual) post-op
  // computed wrong sums on avx512_core (resnet18 at 112x112: cosine 0.96
  // against ONNX Runtime when timing picked it), so it is no candidate for
  // a Conv with a fused residual: forced through the cache, it is timed
  // again and something else runs, computing what the untuned layer does.
  const std::string model = write_residual_model(dir_.path());
  const Shape shape{1, 64, 28, 28};
  const auto untuned = run(false, nullptr, nullptr, model, shape);
  std::vector<StepInfo> steps;
  expect_close(run(true, nullptr, &steps, model, shape), untuned);
  // Both Convs are forced: the 1x1 one so that the residual Conv is given
  // nhwc and adds an nhwc residual (its signature changes, hence a second pass).
  for (int pass = 0; pass < 2; ++pass) {
    auto lines = cache_lines();
    for (std::size_t i = 2; i < lines.size(); ++i) {
      const auto first_tab = lines[i].find('\t'), last_tab = lines[i].rfind('\t');
      lines[i] = lines[i].substr(0, first_tab + 1) + "x64:gemm:jit acdb>acdb" + lines[i].substr(last_tab);
    }
    write_cache(lines);
    expect_close(run(true, nullptr, &steps, model, shape), untuned);
    for (const auto& s : steps) {
      // Only gemm on nhwc (acdb) is excluded; timing on a loaded machine may
      // fairly pick gemm on another layout (it failed once in a parallel
      // `make test` asserting "no gemm at all").
      if (s.fused == "Add+Relu") {
        const bool gemm_on_nhwc =
            s.implementation.find("gemm") != std::string::npos && s.implementation.find("acdb") != std::string::npos;
        EXPECT_FALSE(gemm_on_nhwc) << s.implementation;
      }
    }
  }
}

TEST_F(NativeTactics, SecondPrepareOnlyLooksUp) {
  TacticStats first, second;
  run(true, &first);
  ASSERT_GT(first.layers_tuned, 0);
  ASSERT_TRUE(std::filesystem::exists(cache_));
  std::vector<StepInfo> steps;
  run(true, &second, &steps);
  EXPECT_EQ(second.layers_tuned, 0);
  EXPECT_EQ(second.candidates_timed, 0);
  EXPECT_EQ(second.cache_hits, first.layers_tuned + first.cache_hits);
  for (const auto& s : steps) {
    if (s.op != "Conv") continue;
    EXPECT_NE(s.implementation.find("cached)"), std::string::npos) << s.implementation;
  }
}

TEST_F(NativeTactics, CachedTacticThatNoLongerExistsIsTimedAgain) {
  run(true);
  auto lines = cache_lines();
  ASSERT_EQ(lines.size(), 5U);
  const auto tab = lines[2].find('\t');
  lines[2] = lines[2].substr(0, tab) + "\tno-such-impl:avx9 abcd>abcd\t0.5";
  write_cache(lines);
  TacticStats stats;
  run(true, &stats);
  // The stale layer is timed again. Usually the other two are hits, but
  // under load the re-timed layer may pick another output layout, which
  // changes the next layer's signature (it is keyed by its given layout).
  EXPECT_GE(stats.layers_tuned, 1);
  EXPECT_GE(stats.cache_hits, 1);
  EXPECT_EQ(stats.layers_tuned + stats.cache_hits, 3);
  EXPECT_EQ(read_file(cache_).find("no-such-impl"), std::string::npos) << "the stale entry is overwritten";
}

TEST_F(NativeTactics, CorruptCacheWarnsOnceIsIgnoredAndRewritten) {
  run(true);
  const auto good = cache_lines();
  ASSERT_EQ(good.size(), 5U);
  auto bad_ms = good;
  bad_ms[3] = bad_ms[3].substr(0, bad_ms[3].rfind('\t')) + "\tfast";
  auto missing_field = good;
  missing_field[4] = missing_field[4].substr(0, missing_field[4].rfind('\t'));
  const std::vector<std::pair<std::string, std::string>> cases{
      {"garbage", "\x01\x02not a cache at all\n"},
      {"empty", ""},
      {"truncated", read_file(cache_).substr(0, read_file(cache_).size() - 7)},
      {"bad ms",
       [&] {
         write_cache(bad_ms);
         return read_file(cache_);
       }()},
      {"missing field",
       [&] {
         write_cache(missing_field);
         return read_file(cache_);
       }()},
  };
  const auto expected = run(false);
  for (const auto& [label, text] : cases) {
    SCOPED_TRACE(label);
    write_file_atomically(cache_, text);
    TacticStats stats;
    ::testing::internal::CaptureStderr();
    const auto y = run(true, &stats);
    const std::string err = ::testing::internal::GetCapturedStderr();
    expect_close(y, expected);
    EXPECT_NE(err.find("warning: tactic cache " + cache_ + ": "), std::string::npos) << err;
    EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << "one warning line: " << err;
    EXPECT_EQ(stats.layers_tuned, 3) << "nothing of a corrupt file is used";
    const auto rewritten = cache_lines();
    ASSERT_EQ(rewritten.size(), 5U);
    EXPECT_EQ(rewritten[0], good[0]);
    EXPECT_EQ(rewritten[1], good[1]);
    // ... and the rewritten file is used as is.
    ::testing::internal::CaptureStderr();
    TacticStats again;
    run(true, &again);
    EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
    EXPECT_EQ(again.cache_hits, 3);
  }
}

TEST_F(NativeTactics, AnotherMachinesCacheIsRetimedAndReplaced) {
  run(true);
  auto lines = cache_lines();
  ASSERT_EQ(lines.size(), 5U);
  ASSERT_EQ(lines[1].rfind("machine\tcpu=", 0), 0U) << lines[1];
  const std::string ours = lines[1];
  lines[1] = "machine\tcpu=Some Other CPU\tisa=avx512_core\tonednn=2.6.3 (N/A)";
  write_cache(lines);
  TacticStats stats;
  ::testing::internal::CaptureStderr();
  run(true, &stats);
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "") << "another machine's file is not corrupt";
  EXPECT_EQ(stats.layers_tuned, 3);
  EXPECT_EQ(stats.cache_hits, 0);
  EXPECT_EQ(cache_lines().at(1), ours) << "rewritten for this machine";
}

TEST_F(NativeTactics, OffTimesNothingAndWritesNoFile) {
  TacticStats stats;
  std::vector<StepInfo> steps;
  run(false, &stats, &steps);
  EXPECT_FALSE(std::filesystem::exists(cache_));
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::path(cache_).parent_path()));
  EXPECT_EQ(stats.layers_tuned + stats.cache_hits + stats.candidates_timed, 0);
  for (const auto& s : steps) EXPECT_EQ(s.implementation.find("tactic"), std::string::npos) << s.implementation;
}

}  // namespace
}  // namespace inferlab::native
