// Output comparison and input shapes: the pieces of the bench orchestrator
// that decide what a user sees, checked without an engine (the result JSON's
// round trip is in test_result_fields.cpp).
#include <gtest/gtest.h>

#include <cmath>

#include "inferlab/bench.h"
#include "inferlab/error.h"
#include "inferlab/registry.h"
#include "inferlab/result.h"

namespace inferlab {
namespace {

TEST(CompareOutputs, IdenticalOutputsAgreeExactly) {
  std::vector<float> a{1.f, -2.f, 3.5f};
  ValidationResult v = compare_outputs(a, a, "ref", 1e-3, 0.9999);
  EXPECT_EQ(v.max_abs_diff, 0.0);
  EXPECT_NEAR(v.cosine, 1.0, 1e-12);
  EXPECT_TRUE(v.within_tolerance);
  EXPECT_EQ(v.reference, "ref");
}

TEST(CompareOutputs, ToleranceIsRelativeToTheLargestReferenceMagnitude) {
  std::vector<float> reference{100.f, 0.f, -50.f};
  std::vector<float> close{100.05f, 0.f, -50.f};  // diff 0.05 <= 1e-3 * 100
  std::vector<float> far{100.2f, 0.f, -50.f};     // diff 0.2 > 0.1
  EXPECT_TRUE(compare_outputs(reference, close, "r", 1e-3, 0.99).within_tolerance);
  ValidationResult v = compare_outputs(reference, far, "r", 1e-3, 0.99);
  EXPECT_FALSE(v.within_tolerance);
  EXPECT_NEAR(v.max_abs_diff, 0.2, 1e-4);
}

TEST(CompareOutputs, TinyOutputsAreComparedRelativeToTheirOwnScale) {
  // Seeded models can have logits around 1e-9: an absolute tolerance would
  // accept anything there.
  std::vector<float> reference{1e-9f, 2e-9f};
  std::vector<float> close{1.0005e-9f, 2e-9f};
  std::vector<float> far{1.5e-9f, 2e-9f};
  EXPECT_TRUE(compare_outputs(reference, close, "r", 1e-3, -1.0).within_tolerance);
  EXPECT_FALSE(compare_outputs(reference, far, "r", 1e-3, -1.0).within_tolerance);
  EXPECT_TRUE(compare_outputs({0.f, 0.f}, {1e-4f, 0.f}, "r", 1e-3, -1.0).within_tolerance);
}

TEST(CompareOutputs, LowCosineFailsEvenWithinAbsoluteTolerance) {
  std::vector<float> reference{0.01f, 0.f};
  std::vector<float> candidate{0.f, 0.01f};  // orthogonal
  ValidationResult v = compare_outputs(reference, candidate, "r", 1.0, 0.9999);
  EXPECT_NEAR(v.cosine, 0.0, 1e-9);
  EXPECT_FALSE(v.within_tolerance);
}

TEST(CompareOutputs, SizeMismatchAndNonFiniteNeverAgree) {
  EXPECT_FALSE(compare_outputs({1.f, 2.f}, {1.f}, "r", 1.0, -1.0).within_tolerance);
  EXPECT_FALSE(compare_outputs({1.f, 2.f}, {1.f, NAN}, "r", 1.0, -1.0).within_tolerance);
  EXPECT_FALSE(compare_outputs({}, {}, "r", 1.0, -1.0).within_tolerance);
}

ResolvedModel model_with_input(DType dtype, Shape shape) {
  ResolvedModel m;
  m.name = m.argument = "m.onnx";
  m.inputs.push_back(TensorSpec{"input", dtype, std::move(shape), "NCHW"});
  return m;
}

TEST(InputShapes, BatchReplacesDimensionZero) {
  auto shapes = input_shapes_for(model_with_input(DType::kFloat32, {-1, 3, 224, 224}), 8, {});
  ASSERT_EQ(shapes.size(), 1u);
  EXPECT_EQ(shapes[0], (Shape{8, 3, 224, 224}));
}

TEST(InputShapes, OverrideByNameOrUnnamedForOneInput) {
  auto model = model_with_input(DType::kFloat32, {-1, 3, -1, -1});
  EXPECT_EQ(input_shapes_for(model, 2, {{"input", {1, 3, 32, 32}}})[0], (Shape{2, 3, 32, 32}));
  EXPECT_EQ(input_shapes_for(model, 1, {{"", {1, 3, 16, 16}}})[0], (Shape{1, 3, 16, 16}));
}

TEST(InputShapes, UnknownDimensionsNameTheInputAndTheFlag) {
  try {
    input_shapes_for(model_with_input(DType::kFloat32, {-1, 3, -1, -1}), 1, {});
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("input 'input'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("--shape"), std::string::npos) << e.what();
    EXPECT_EQ(e.kind(), ErrorKind::kBadInput);
  }
}

TEST(InputShapes, NonFloatInputsAndMissingDeclarationsAreBadInput) {
  EXPECT_THROW(input_shapes_for(model_with_input(DType::kInt64, {1, 16}), 1, {}), Error);
  ResolvedModel no_inputs;
  no_inputs.argument = "m.pt";
  EXPECT_THROW(input_shapes_for(no_inputs, 1, {}), Error);
}

TEST(CheckBenchOptions, ChecksRunSettingsBackendsAndShapesOnce) {
  BenchOptions options;
  options.backends = {"null"};
  options.run.min_count = 0;
  EXPECT_THROW(check_bench_options(options), Error);
  options.run.min_count = 1;
  options.backends.clear();
  EXPECT_THROW(check_bench_options(options), Error);
  options.backends = {"null"};
  ResolvedModel unknown_dims;
  unknown_dims.argument = "m.onnx";
  unknown_dims.inputs = {TensorSpec{"x", DType::kFloat32, {-1, 3, -1, -1}, {}}};
  options.models = {unknown_dims};
  EXPECT_THROW(check_bench_options(options), Error);
  options.shape_overrides[""] = {1, 3, 8, 8};
  CheckedBenchOptions checked = check_bench_options(options);
  checked.set_int8_models({{"m", "m.int8.onnx"}}, "made here");
  EXPECT_EQ(checked.options().int8_onnx_paths.at("m"), "m.int8.onnx");
  EXPECT_EQ(checked.options().int8_onnx_form, "made here");
}

TEST(SharedBackend, OneInstancePerNameAndNoneForUnknownNames) {
  EXPECT_EQ(&shared_backend("null"), &shared_backend("null"));
  EXPECT_EQ(shared_backend("null").name(), "null");
  EXPECT_NO_THROW(check_backend_available("null"));
  EXPECT_THROW(check_backend_available("no-such-engine"), Error);
  EXPECT_THROW(shared_backend("no-such-engine"), Error);
}

TEST(ReferenceBackend, FirstNonNullUnlessGiven) {
  BenchOptions options;
  options.backends = {"null", "torch", "opencv"};
  EXPECT_EQ(reference_backend(options), "torch");
  options.reference = "opencv";
  EXPECT_EQ(reference_backend(options), "opencv");
}

}  // namespace
}  // namespace inferlab
