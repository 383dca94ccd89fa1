// The optimizer's model rewrites: float16 bits, FP16 conversion (run on the
// native engine against the FP32 model; OpenCV DNN 4.6 refuses FLOAT16), the calibrators on
// distributions whose answer is known, and the QDQ rewrite's structure.
#ifndef ONNX_ML
#define ONNX_ML 1
#endif
#include <onnx/onnx_pb.h>

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "inferlab/backend.h"
#include "inferlab/error.h"
#include "inferlab/files.h"
#include "inferlab/float16.h"
#include "inferlab/fp16.h"
#include "inferlab/graph_passes.h"
#include "inferlab/quantize.h"
#include "inferlab/registry.h"
#include "onnx_builder.h"

namespace inferlab {
namespace {

using namespace test_onnx;

std::map<std::string, int> op_counts(const OnnxGraph& g) {
  std::map<std::string, int> counts;
  for (const auto& n : g.proto().graph().node()) ++counts[n.op_type()];
  return counts;
}

const onnx::TensorProto* initializer(const OnnxGraph& g, const std::string& name) {
  for (const auto& t : g.proto().graph().initializer()) {
    if (t.name() == name) return &t;
  }
  return nullptr;
}

TEST(HalfFloat, KnownBitPatterns) {
  EXPECT_EQ(float_to_float16_bits(1.0F), 0x3C00);
  EXPECT_EQ(float_to_float16_bits(-2.0F), 0xC000);
  EXPECT_EQ(float_to_float16_bits(65504.0F), 0x7BFF);
  EXPECT_EQ(float_to_float16_bits(65520.0F), 0x7C00);  // rounds past the largest finite half
  EXPECT_EQ(float_to_float16_bits(0.1F), 0x2E66);
  EXPECT_EQ(float_to_float16_bits(std::ldexp(1.0F, -24)), 0x0001);         // smallest subnormal
  EXPECT_EQ(float_to_float16_bits(std::ldexp(1.0F, -25)), 0x0000);         // a tie: to even (zero)
  EXPECT_EQ(float_to_float16_bits(std::ldexp(3.0F, -25)), 0x0002);         // 1.5 ulp: tie to even (2)
  EXPECT_EQ(float_to_float16_bits(1.0F + std::ldexp(1.0F, -11)), 0x3C00);  // tie at 1: to even
  EXPECT_EQ(float_to_float16_bits(1.0F + std::ldexp(3.0F, -11)), 0x3C02);  // tie above odd: up
  EXPECT_TRUE(std::isnan(float16_bits_to_float(float_to_float16_bits(std::nanf("")))));
}

TEST(HalfFloat, EveryFiniteHalfRoundTripsExactly) {
  for (std::uint32_t bits = 0; bits < 0x10000; ++bits) {
    const auto h = static_cast<std::uint16_t>(bits);
    if ((h & 0x7C00) == 0x7C00) continue;  // inf / NaN
    ASSERT_EQ(float_to_float16_bits(float16_bits_to_float(h)), h) << std::hex << bits;
  }
}

bool backend_compiled_in(const std::string& name) {
  for (const auto& b : known_backends()) {
    if (b.name == name) return b.compiled_in;
  }
  return false;
}

// OpenCV DNN 4.6 refuses FLOAT16 tensors at import ("Unsupported data
// type: FLOAT16"), so the FP16 model runs on the native engine.
TEST(Fp16, ConvertedModelRunsOnNativeCloseToFp32) {
  if (!backend_compiled_in("native")) GTEST_SKIP() << "the native backend is not built";
  OnnxGraph fp32 = build_test_model();
  run_graph_passes(fp32);
  OnnxGraph fp16 = fp32;
  const PassReport report = convert_to_fp16(fp16);
  EXPECT_GT(report.changed, 0);
  int half_initializers = 0;
  for (const auto& t : fp16.proto().graph().initializer())
    half_initializers += t.data_type() == onnx::TensorProto::FLOAT16;
  EXPECT_EQ(half_initializers, 4);  // conv and gemm weights and biases (BN folded in)
  // The interface stays float32: Casts at the boundary.
  EXPECT_EQ(fp16.proto().graph().input(0).type().tensor_type().elem_type(), onnx::TensorProto::FLOAT);
  EXPECT_EQ(fp16.proto().graph().output(0).type().tensor_type().elem_type(), onnx::TensorProto::FLOAT);
  EXPECT_EQ(op_counts(fp16)["Cast"], 2);
  const auto reference = run_on_backend("native", fp32);
  const auto converted = run_on_backend("native", fp16);
  ASSERT_EQ(reference.size(), converted.size());
  double max_abs = 0, max_ref = 0;
  for (std::size_t i = 0; i < reference.size(); ++i) {
    max_abs = std::max<double>(max_abs, std::fabs(reference[i] - converted[i]));
    max_ref = std::max<double>(max_ref, std::fabs(reference[i]));
  }
  EXPECT_GT(max_abs, 0.0) << "float16 weights must change the result a little";
  EXPECT_LT(max_abs, 1e-2 * std::max(1.0, max_ref));
}

TEST(Fp16, KeptOpsGetCastsAroundThem) {
  OnnxGraph g = build_test_model();  // BatchNormalization is on the default keep list
  const PassReport report = convert_to_fp16(g);
  int kept = 0;
  for (const auto& d : report.details) kept += d.rfind("kept in fp32: BatchNormalization", 0) == 0;
  EXPECT_EQ(kept, 2);
  // BN statistics stay float32.
  EXPECT_EQ(initializer(g, "bn_var")->data_type(), onnx::TensorProto::FLOAT);
  EXPECT_GT(op_counts(g)["Cast"], 2);
}

ActivationHistogram histogram_of(const std::vector<float>& values) {
  ActivationHistogram h;
  h.observe_range(values.data(), values.size());
  h.observe_histogram(values.data(), values.size());
  return h;
}

TEST(Calibration, ThresholdsOnKnownDistributions) {
  std::vector<float> uniform(100000);
  for (std::size_t i = 0; i < uniform.size(); ++i) uniform[i] = static_cast<float>(i) / uniform.size();
  const auto h = histogram_of(uniform);
  EXPECT_NEAR(calibration_threshold(h, Calibrator::kMinMax, 0, true), uniform.back(), 1e-6);
  EXPECT_NEAR(calibration_threshold(h, Calibrator::kPercentile, 50, true), 0.5, 1e-3);
  // Uniform data has no tail to clip: entropy keeps (nearly) the full range.
  EXPECT_GT(calibration_threshold(h, Calibrator::kEntropy, 0, true), 0.9);

  // A Gaussian-like bulk plus one huge outlier: minmax follows the outlier,
  // entropy and percentile clip it.
  std::vector<float> peaked;
  std::uint64_t state = 7;
  for (int i = 0; i < 200000; ++i) {
    double sum = 0;
    for (int k = 0; k < 4; ++k) sum += static_cast<double>(splitmix64_next(state) >> 11) / 9007199254740992.0 - 0.5;
    peaked.push_back(static_cast<float>(sum));
  }
  peaked.push_back(50.0F);
  const auto p = histogram_of(peaked);
  EXPECT_FLOAT_EQ(static_cast<float>(calibration_threshold(p, Calibrator::kMinMax, 0, false)), 50.0F);
  EXPECT_LT(calibration_threshold(p, Calibrator::kEntropy, 0, false), 5.0);
  EXPECT_LT(calibration_threshold(p, Calibrator::kPercentile, 99.99, false), 5.0);
  EXPECT_THROW(calibration_threshold(p, Calibrator::kPercentile, 0, false), Error);
  EXPECT_THROW(calibrator_from_name("kl"), Error);
  // auto is a measurement over the model, never a histogram rule.
  EXPECT_EQ(calibrator_from_name("auto"), Calibrator::kAuto);
  EXPECT_EQ(calibrator_name(Calibrator::kAuto), "auto");
  EXPECT_THROW(calibration_threshold(p, Calibrator::kAuto, 0, false), Error);
}

QuantizeOptions ranges_for(const OnnxGraph& g) {
  QuantizeOptions q;
  for (const auto& a : activation_inputs(g, {})) q.activations[a] = ActivationRange{2.0, false};
  return q;
}

TEST(Quantize, QdqStructurePerChannelWeights) {
  OnnxGraph g = build_test_model();
  run_graph_passes(g);
  const auto activations = activation_inputs(g, {});
  ASSERT_EQ(activations.size(), 2U);  // the Conv input and the Gemm input
  const QuantizeReport report = quantize_qdq(g, ranges_for(g));
  ASSERT_EQ(report.layers.size(), 2U);
  const auto counts = op_counts(g);
  EXPECT_EQ(counts.at("QuantizeLinear"), 2);
  EXPECT_EQ(counts.at("DequantizeLinear"), 4);  // two activations, two weights
  for (const auto& layer : report.layers) {
    EXPECT_TRUE(layer.per_channel);
    EXPECT_GT(layer.weight_sqnr_db, 30.0) << layer.node;  // 8-bit symmetric: about 40 dB on uniform weights
  }
  // The int8 weight replaced the float one (which the dead-node pass removed).
  int int8_initializers = 0;
  for (const auto& t : g.proto().graph().initializer()) int8_initializers += t.data_type() == onnx::TensorProto::INT8;
  EXPECT_GE(int8_initializers, 2);
  EXPECT_EQ(initializer(g, "w"), nullptr);
  EXPECT_NO_THROW(g.check());
}

// The structure above is only worth something if the graph computes the same
// function: run the QDQ model on native (int8 Conv and Gemm kernels) against
// the FP32 model it came from.
TEST(Quantize, QdqModelRunsOnNativeCloseToFp32) {
  if (!backend_compiled_in("native")) GTEST_SKIP() << "the native backend is not built";
  OnnxGraph fp32 = build_test_model();
  run_graph_passes(fp32);
  OnnxGraph qdq = fp32;
  quantize_qdq(qdq, ranges_for(qdq));
  const auto reference = run_on_backend("native", fp32);
  const auto quantized = run_on_backend("native", qdq);
  ASSERT_EQ(reference.size(), quantized.size());
  double max_abs = 0, max_ref = 0, dot = 0, ref_norm = 0, q_norm = 0;
  for (std::size_t i = 0; i < reference.size(); ++i) {
    max_abs = std::max<double>(max_abs, std::fabs(reference[i] - quantized[i]));
    max_ref = std::max<double>(max_ref, std::fabs(reference[i]));
    dot += double(reference[i]) * quantized[i];
    ref_norm += double(reference[i]) * reference[i];
    q_norm += double(quantized[i]) * quantized[i];
  }
  EXPECT_GT(max_abs, 0.0) << "int8 arithmetic must change the result a little";
  EXPECT_LT(max_abs, 0.05 * std::max(1.0, max_ref));
  EXPECT_GT(dot / std::sqrt(ref_norm * q_norm), 0.999);
}

TEST(Quantize, KeptNodesAndMissingRanges) {
  OnnxGraph g = build_test_model();
  run_graph_passes(g);
  name_unnamed_nodes(g);
  const auto nodes = quantizable_nodes(g);
  ASSERT_EQ(nodes.size(), 2U);
  QuantizeOptions q = ranges_for(g);
  q.keep_fp32_nodes = {nodes[1]};
  OnnxGraph kept = g;
  const auto report = quantize_qdq(kept, q);
  EXPECT_EQ(report.layers.size(), 1U);
  EXPECT_EQ(op_counts(kept).at("QuantizeLinear"), 1);
  QuantizeOptions missing;
  OnnxGraph bad = g;
  try {
    quantize_qdq(bad, missing);
    FAIL() << "a missing range must be an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kBadInput);
  }
}

TEST(Quantize, OpsetBelow13QuantizesWeightsPerTensor) {
  OnnxGraph g = build_test_model();
  run_graph_passes(g);
  g.proto().mutable_opset_import(0)->set_version(11);
  const auto report = quantize_qdq(g, ranges_for(g));
  for (const auto& layer : report.layers) EXPECT_FALSE(layer.per_channel);
  g.proto().mutable_opset_import(0)->set_version(9);
  OnnxGraph old = build_test_model();
  old.proto().mutable_opset_import(0)->set_version(9);
  EXPECT_THROW(quantize_qdq(old, ranges_for(old)), Error);
}

}  // namespace
}  // namespace inferlab
