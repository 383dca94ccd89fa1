// swish_in_place (backends/native/swish.h): against x * sigmoid(x) in
// double precision, bit-identical across the instruction-set paths this CPU
// has (the result must not depend on the ISA), bfloat16 rounded to nearest
// even, and a Conv + Swish equal to the graph run as written.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "../onnx_builder.h"
#include "backends/native/swish.h"
#include "inferlab/float16.h"
#include "run_engine.h"

namespace inferlab::native {
namespace {

using namespace test_onnx;

// Values across swish's whole shape: the negative tail, the bend, the
// linear part, the clamp's edges, exact zeros, and a ragged length (the
// vector paths' tails).
std::vector<float> probe_values() {
  std::vector<float> v;
  for (int i = -2000; i <= 2000; ++i) v.push_back(static_cast<float>(i) * 0.0137F);
  for (float x : {-200.0F, -100.0F, -88.5F, -87.3F, -87.0F, -30.0F, 30.0F, 87.0F, 88.0F, 100.0F, 1e-30F, -1e-30F, 0.0F})
    v.push_back(x);
  return v;
}

double reference_swish(double x) { return x / (1.0 + std::exp(-x)); }

TEST(NativeSwish, Float32WithinFourUlpOfTheExactValue) {
  const std::vector<float> x = probe_values();
  std::vector<float> y = x;
  swish_in_place(y.data(), static_cast<std::int64_t>(y.size()), DType::kFloat32);
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double want = reference_swish(x[i]);
    // 4 ulp of the result; below -87 swish.cpp clamps e^-x at e^88, so the
    // result is |x| / e^88 (|x| x 6e-39) there, not the even smaller exact value.
    const double tiny = x[i] < -87.0F ? std::abs(x[i]) * 1e-38 : 1e-38;
    const double ulp = std::max(std::abs(want) * 4 * 1.1920929e-7, tiny);
    EXPECT_NEAR(y[i], want, ulp) << "x = " << x[i];
  }
}

TEST(NativeSwish, EveryInstructionSetGivesTheSameBits) {
  const std::vector<float> x = probe_values();
  std::vector<float> scalar = x;
  swish_in_place(scalar.data(), static_cast<std::int64_t>(scalar.size()), DType::kFloat32, SimdPath::kScalar);
  int compared = 0;
  for (SimdPath path : {SimdPath::kAvx2, SimdPath::kAvx512}) {
    if (!simd_path_supported(path)) {
      std::printf("skipped: this CPU lacks %s\n", path == SimdPath::kAvx2 ? "AVX2 + FMA" : "AVX-512F");
      continue;
    }
    std::vector<float> y = x;
    swish_in_place(y.data(), static_cast<std::int64_t>(y.size()), DType::kFloat32, path);
    EXPECT_EQ(0, std::memcmp(y.data(), scalar.data(), y.size() * sizeof(float)))
        << "path " << static_cast<int>(path) << " differs from the scalar path";
    std::vector<std::uint16_t> b(x.size()), b_scalar(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) b[i] = b_scalar[i] = float_to_bfloat16_bits(x[i]);
    swish_in_place(b.data(), static_cast<std::int64_t>(b.size()), DType::kBFloat16, path);
    swish_in_place(b_scalar.data(), static_cast<std::int64_t>(b.size()), DType::kBFloat16, SimdPath::kScalar);
    EXPECT_EQ(b, b_scalar) << "bf16, path " << static_cast<int>(path);
    ++compared;
  }
  if (compared == 0) GTEST_SKIP() << "this CPU has neither AVX2 + FMA nor AVX-512F: only the scalar path runs";
}

TEST(NativeSwish, Bfloat16IsTheFloat32ResultRoundedToNearestEven) {
  // All 65536 bfloat16 values, NaNs and infinities included, on every path
  // this CPU has, against the scalar float32 path rounded.
  std::vector<std::uint16_t> every(65536);
  std::vector<float> widened(every.size());
  for (std::size_t v = 0; v < every.size(); ++v) {
    every[v] = static_cast<std::uint16_t>(v);
    widened[v] = bfloat16_bits_to_float(every[v]);
  }
  swish_in_place(widened.data(), static_cast<std::int64_t>(widened.size()), DType::kFloat32, SimdPath::kScalar);
  for (SimdPath path : {SimdPath::kScalar, SimdPath::kAvx2, SimdPath::kAvx512}) {
    if (!simd_path_supported(path)) continue;
    std::vector<std::uint16_t> b = every;
    swish_in_place(b.data(), static_cast<std::int64_t>(b.size()), DType::kBFloat16, path);
    int mismatches = 0;
    for (std::size_t v = 0; v < every.size(); ++v) {
      const std::uint16_t expected = float_to_bfloat16_bits(widened[v]);
      if (b[v] != expected && mismatches++ < 5)
        ADD_FAILURE() << "path " << static_cast<int>(path) << ": bf16 0x" << std::hex << v << " gave 0x" << b[v]
                      << ", expected 0x" << expected;
    }
    EXPECT_EQ(0, mismatches) << "path " << static_cast<int>(path);
  }
}

TEST(NativeSwish, QuantizedIsTheNearestStepSaturatedOnEveryInstructionSet) {
  const std::vector<float> x = probe_values();
  const auto n = static_cast<std::int64_t>(x.size());
  for (DType type : {DType::kUInt8, DType::kInt8}) {
    SCOPED_TRACE(dtype_name(type));
    const float inverse_scale = 1.0F / 0.05F;
    std::vector<std::int8_t> scalar(x.size());
    swish_quantize(x.data(), scalar.data(), n, inverse_scale, type, SimdPath::kScalar);
    const double lo = type == DType::kInt8 ? -128 : 0, hi = type == DType::kInt8 ? 127 : 255;
    for (std::size_t i = 0; i < x.size(); ++i) {
      const double got = type == DType::kInt8 ? scalar[i] : static_cast<std::uint8_t>(scalar[i]);
      const double want = std::clamp(reference_swish(x[i]) * inverse_scale, lo, hi);
      // Within half a step of the exact value, plus float rounding at a tie.
      EXPECT_LE(std::abs(got - want), 0.5 + 1e-4) << "x = " << x[i];
    }
    for (SimdPath path : {SimdPath::kAvx2, SimdPath::kAvx512}) {
      if (!simd_path_supported(path)) continue;
      std::vector<std::int8_t> y(x.size());
      swish_quantize(x.data(), y.data(), n, inverse_scale, type, path);
      EXPECT_EQ(y, scalar) << "path " << static_cast<int>(path) << " differs from the scalar path";
    }
  }
}

TEST(NativeSwish, RejectsOtherTypes) {
  std::int32_t v[4] = {};
  EXPECT_THROW(swish_in_place(v, 4, DType::kInt32), Error);
  const float f[4] = {};
  EXPECT_THROW(swish_quantize(f, v, 4, 1.0F, DType::kInt32), Error);
}

// Conv + Sigmoid + Mul (the Swish fusion.h plans) at a size split across
// threads: the Conv step runs the swish pass, and equals the graph as
// written (Sigmoid and Mul as their own steps) to float rounding.
TEST(NativeSwish, ConvWithSwishEqualsTheGraphAsWritten) {
  auto model = [](bool fusable) {
    auto m = new_model("swish");
    auto& g = *m.mutable_graph();
    set_value_info(g.add_input(), "x", {1, 16, 40, 40});
    set_value_info(g.add_output(), "y", {1, 48, 40, 40});
    add_initializer(g, "w", {48, 16, 1, 1}, 3);
    add_initializer(g, "b", {48}, 4);
    add_node(g, "Conv", {"x", "w", "b"}, {"c"});
    add_node(g, "Sigmoid", {"c"}, {"s"});
    // As written: the Mul also reads a second copy of c, so nothing fuses.
    if (fusable) {
      add_node(g, "Mul", {"c", "s"}, {"y"});
    } else {
      set_value_info(g.add_output(), "c_too", {1, 48, 40, 40});
      add_node(g, "Identity", {"c"}, {"c_too"});
      add_node(g, "Mul", {"c_too", "s"}, {"y"});
    }
    return m;
  };
  Tensor input(DType::kFloat32, {1, 16, 40, 40});
  fill_seeded_uniform(input, 11);
  const auto fused = test::run_engine(model(true), {&input});
  const auto written = test::run_engine(model(false), {&input});
  bool pass = false;
  for (const auto& s : fused.steps) pass = pass || s.implementation.find("+swish pass") != std::string::npos;
  if (simd_path_supported(SimdPath::kAvx2) || simd_path_supported(SimdPath::kAvx512)) {
    EXPECT_TRUE(pass) << "the Conv did not run its Swish as the vectorised pass";
  }
  const auto a = fused.floats(0), b = written.floats(0);
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], 1e-5F * (1.0F + std::abs(b[i]))) << i;
}

}  // namespace
}  // namespace inferlab::native
