// Backend registry, the null backend, tensor/name helpers, and a real model
// through each compiled-in engine when a prepared model is present.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "inferlab/backend.h"
#include "inferlab/engine_options.h"
#include "inferlab/error.h"
#include "inferlab/registry.h"
#include "inferlab/tensor.h"
#include "inferlab/zoo.h"

namespace inferlab {
namespace {

bool compiled_in(const std::string& name) {
  for (const BackendEntry& entry : known_backends()) {
    if (entry.name == name) return entry.compiled_in;
  }
  return false;
}

// splitmix64 from seed 0, top 24 bits mapped to [-1, 1): exact in binary.
constexpr float kPinnedSeed0[3] = {0x1.8882ap-1f, -0x1.18762p-3f, -0x1.e4ee8cp-1f};

std::string thrown_message(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& e) {
    return e.what();
  }
  return "(nothing thrown)";
}

TEST(Registry, ListsEveryKnownBackendInDisplayOrder) {
  const std::vector<BackendEntry> entries = known_backends();
  std::vector<std::string> names;
  for (const BackendEntry& entry : entries) names.push_back(entry.name);
  EXPECT_EQ(names, (std::vector<std::string>{"opencv", "torch", "native", "onnxruntime", "jax", "openvino", "tvm",
                                             "null", "tensorrt"}));
  for (const BackendEntry& entry : entries) {
    if (entry.compiled_in) {
      EXPECT_TRUE(entry.reason_missing.empty()) << entry.name;
    } else {
      EXPECT_FALSE(entry.reason_missing.empty()) << entry.name;
    }
  }
  EXPECT_TRUE(compiled_in("null"));
  // No adapter source exists for this engine, whatever configure found.
  EXPECT_FALSE(compiled_in("tensorrt"));
}

TEST(Registry, UnknownBackendNamesTheChoices) {
  EXPECT_THROW(create_backend("tflite"), Error);
  EXPECT_EQ(thrown_message([] { create_backend("tflite"); }),
            "unknown backend 'tflite' (known: opencv, torch, native, onnxruntime, jax, openvino, tvm, null, tensorrt)");
}

TEST(EngineOptions, TvmTrialsTakesAWholeNumber) {
  std::map<std::string, std::string> options;
  set_engine_option(options, "tvm.trials", "64");
  EXPECT_EQ(options.at("tvm.trials"), "64");
  set_engine_option(options, "tvm.trials", "0");
  EXPECT_EQ(options.at("tvm.trials"), "0");
  EXPECT_EQ(thrown_message([&] { set_engine_option(options, "tvm.trials", "-3"); }),
            "--tvm-trials -3: expected a whole number >= 0 (at most 9 digits)");
  EXPECT_THROW(set_engine_option(options, "tvm.trials", "12x"), Error);
  EXPECT_THROW(set_engine_option(options, "tvm.trials", "1234567890"), Error);
}

TEST(Registry, MissingBackendSaysWhy) {
  const std::string message = thrown_message([] { create_backend("tensorrt"); });
  EXPECT_EQ(message.rfind("backend 'tensorrt' is not available in this build: ", 0), 0u) << message;
}

TEST(Registry, CreatesEachCompiledInBackendUnderItsName) {
  for (const BackendEntry& entry : known_backends()) {
    if (!entry.compiled_in) continue;
    auto backend = create_backend(entry.name);
    ASSERT_NE(backend, nullptr);
    EXPECT_EQ(backend->name(), entry.name);
    EXPECT_FALSE(backend->version().empty());
    EXPECT_FALSE(backend->devices().empty());
    EXPECT_FALSE(backend->build_info().empty());
    EXPECT_FALSE(backend->threading_description(2).empty());
  }
}

TEST(NullBackend, RoundTripUsesDeclaredOutputsWithBatch) {
  auto backend = create_backend("null");
  EXPECT_EQ(backend->format(), ModelFormat::kNone);
  ModelSource model;
  model.name = "declared";
  model.inputs = {{"input", DType::kFloat32, {-1, 3, 8, 8}, "NCHW"}};
  model.outputs = {{"logits", DType::kFloat32, {-1, 10}, {}}, {"extra", DType::kInt64, {-1, 2, -1}, {}}};
  for (const Precision precision : {Precision::kFp32, Precision::kFp16, Precision::kBf16, Precision::kInt8}) {
    EXPECT_TRUE(backend->supports(model, precision).supported);
  }
  auto session = backend->load(model, SessionOptions{});
  session->prepare({{4, 3, 8, 8}});
  const std::vector<TensorSpec> specs = session->output_specs();
  ASSERT_EQ(specs.size(), 2u);
  EXPECT_EQ(specs[0].name, "logits");
  EXPECT_EQ(specs[0].shape, (Shape{4, 10}));
  EXPECT_EQ(specs[1].dtype, DType::kInt64);
  EXPECT_EQ(specs[1].shape, (Shape{4, 2, 1}));
  EXPECT_EQ(session->timing_boundary(), TimingBoundary::kComputeOnly);

  Tensor input(DType::kFloat32, {4, 3, 8, 8});
  Tensor out0(specs[0].dtype, specs[0].shape);
  Tensor out1(specs[1].dtype, specs[1].shape);
  std::vector<Tensor*> outputs{&out0, &out1};
  session->run({&input}, outputs);
  std::vector<Tensor*> too_few{&out0};
  EXPECT_THROW(session->run({&input}, too_few), Error);
}

TEST(NullBackend, WithoutDeclaredOutputsGivesOneFloatPerSample) {
  auto session = create_backend("null")->load(ModelSource{}, SessionOptions{});
  session->prepare({{3, 5}});
  const std::vector<TensorSpec> specs = session->output_specs();
  ASSERT_EQ(specs.size(), 1u);
  EXPECT_EQ(specs[0].dtype, DType::kFloat32);
  EXPECT_EQ(specs[0].shape, (Shape{3, 1}));
}

TEST(Tensor, IsAlignedZeroedAndClonable) {
  Tensor tensor(DType::kFloat32, {3, 5});
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(tensor.data()) % 64, 0u);
  EXPECT_EQ(tensor.size_bytes(), 60u);
  for (int i = 0; i < 15; ++i) EXPECT_EQ(tensor.data_as<float>()[i], 0.0f);
  fill_seeded_uniform(tensor, 7);
  const Tensor copy = tensor.clone();
  EXPECT_NE(copy.data(), tensor.data());
  EXPECT_EQ(copy.shape(), tensor.shape());
  EXPECT_EQ(std::memcmp(copy.data(), tensor.data(), tensor.size_bytes()), 0);
  EXPECT_THROW(Tensor(DType::kFloat32, {-1, 3}), Error);
  EXPECT_THROW(Tensor(DType::kUnknown, {2}), Error);
}

TEST(Tensor, SeededFillIsDeterministicAndInRange) {
  Tensor a(DType::kFloat32, {1, 3, 32, 32});
  Tensor b(DType::kFloat32, {1, 3, 32, 32});
  Tensor c(DType::kFloat32, {1, 3, 32, 32});
  fill_seeded_uniform(a, 42);
  fill_seeded_uniform(b, 42);
  fill_seeded_uniform(c, 43);
  EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size_bytes()), 0);
  EXPECT_NE(std::memcmp(a.data(), c.data(), a.size_bytes()), 0);
  double sum = 0;
  float low = 1, high = -1;
  for (std::int64_t i = 0; i < a.element_count(); ++i) {
    const float value = a.data_as<float>()[i];
    ASSERT_GE(value, -1.0f);
    ASSERT_LT(value, 1.0f);
    sum += value;
    low = std::min(low, value);
    high = std::max(high, value);
  }
  EXPECT_LT(std::abs(sum / static_cast<double>(a.element_count())), 0.05);
  EXPECT_LT(low, -0.9f);
  EXPECT_GT(high, 0.9f);
  // Pinned values: the generator is part of the result format, since inputs
  // must be identical across processes, machines and releases.
  Tensor pinned(DType::kFloat32, {3});
  fill_seeded_uniform(pinned, 0);
  EXPECT_EQ(pinned.data_as<float>()[0], kPinnedSeed0[0]);
  EXPECT_EQ(pinned.data_as<float>()[1], kPinnedSeed0[1]);
  EXPECT_EQ(pinned.data_as<float>()[2], kPinnedSeed0[2]);
  Tensor ints(DType::kInt32, {2});
  EXPECT_THROW(fill_seeded_uniform(ints, 1), Error);
}

TEST(Shape, StringsRoundTrip) {
  EXPECT_EQ(shape_to_string({1, 3, 224, 224}), "1x3x224x224");
  EXPECT_EQ(shape_to_string({-1, 1000}), "?x1000");
  EXPECT_EQ(shape_from_string("1x3x224x224"), (Shape{1, 3, 224, 224}));
  EXPECT_EQ(shape_from_string("8,3,32,32"), (Shape{8, 3, 32, 32}));
  EXPECT_EQ(shape_from_string("?x1000"), (Shape{-1, 1000}));
  EXPECT_THROW(shape_from_string(""), Error);
  EXPECT_THROW(shape_from_string("1xx3"), Error);
  EXPECT_THROW(shape_from_string("1x3a"), Error);
  EXPECT_EQ(shape_element_count({2, 3, 4}), 24);
  EXPECT_EQ(shape_element_count({-1, 3}), 0);
  EXPECT_TRUE(shape_is_static({2, 3}));
  EXPECT_FALSE(shape_is_static({-1, 3}));
}

TEST(Names, DTypesRoundTrip) {
  for (const DType dtype : {DType::kFloat32, DType::kFloat16, DType::kBFloat16, DType::kInt8, DType::kUInt8,
                            DType::kInt32, DType::kInt64, DType::kBool}) {
    EXPECT_EQ(dtype_from_name(dtype_name(dtype)), dtype);
    EXPECT_GT(dtype_size_bytes(dtype), 0u);
  }
  EXPECT_EQ(dtype_from_name("complex64"), DType::kUnknown);
  EXPECT_EQ(dtype_size_bytes(DType::kFloat16), 2u);
}

TEST(Names, PrecisionsRoundTripAndUnknownThrows) {
  for (const Precision precision : {Precision::kFp32, Precision::kFp16, Precision::kBf16, Precision::kInt8}) {
    EXPECT_EQ(precision_from_name(precision_name(precision)), precision);
  }
  EXPECT_EQ(precision_name(Precision::kBf16), "bf16");
  EXPECT_EQ(thrown_message([] { precision_from_name("fp64"); }),
            "unknown precision 'fp64' (choose fp32, fp16, bf16, int8)");
  EXPECT_EQ(timing_boundary_name(TimingBoundary::kComputeOnly), "compute-only");
  EXPECT_EQ(timing_boundary_name(TimingBoundary::kWithCopies), "with-copies");
  EXPECT_EQ(timing_boundary_name(TimingBoundary::kEndToEnd), "end-to-end");
  EXPECT_EQ(model_format_name(ModelFormat::kOnnx), "onnx");
  EXPECT_EQ(model_format_name(ModelFormat::kTorchScript), "torchscript");
  EXPECT_EQ(model_format_name(ModelFormat::kNone), "none");
}

// A prepared reference model file, or empty when `inferlab models prepare`
// has not been run on this machine.
std::string prepared_file(const std::string& model, const std::string& extension) {
  const std::filesystem::path path = std::filesystem::path(model_directory()) / model / (model + extension);
  return std::filesystem::is_regular_file(path) ? path.string() : std::string();
}

ModelSource image_classifier(const std::string& name, ModelFormat format, const std::string& path) {
  ModelSource model;
  model.name = name;
  model.format = format;
  model.path = path;
  model.inputs = {{"input", DType::kFloat32, {-1, 3, 224, 224}, "NCHW"}};
  model.outputs = {{"logits", DType::kFloat32, {-1, 1000}, {}}};
  return model;
}

// Runs `model` at `batch` on the seeded input and returns the logits.
std::vector<float> run_classifier(const std::string& backend_name, const ModelSource& model, std::int64_t batch) {
  auto backend = create_backend(backend_name);
  EXPECT_TRUE(backend->supports(model, Precision::kFp32).supported);
  SessionOptions options;
  options.intra_op_threads = 1;
  auto session = backend->load(model, options);
  session->prepare({{batch, 3, 224, 224}});
  const std::vector<TensorSpec> specs = session->output_specs();
  EXPECT_EQ(specs.size(), 1u);
  if (specs.size() != 1) return {};
  EXPECT_EQ(specs[0].shape, (Shape{batch, 1000}));
  EXPECT_EQ(session->timing_boundary(), TimingBoundary::kWithCopies);
  Tensor input(DType::kFloat32, {batch, 3, 224, 224});
  fill_seeded_uniform(input, 20261124);
  Tensor output(specs[0].dtype, specs[0].shape);
  std::vector<Tensor*> outputs{&output};
  session->run({&input}, outputs);
  session->run({&input}, outputs);
  const float* values = output.data_as<float>();
  std::vector<float> logits(values, values + output.element_count());
  for (const float value : logits) EXPECT_TRUE(std::isfinite(value));
  return logits;
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double diff = 0;
  for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i) diff = std::max(diff, std::fabs(double(a[i]) - b[i]));
  return diff;
}

TEST(OpenCvBackend, RefusesWhatItCannotRun) {
  if (!compiled_in("opencv")) GTEST_SKIP() << "opencv backend not compiled in";
  auto backend = create_backend("opencv");
  const ModelSource torchscript = image_classifier("m", ModelFormat::kTorchScript, "m.pt");
  const SupportAnswer wrong_format = backend->supports(torchscript, Precision::kFp32);
  EXPECT_FALSE(wrong_format.supported);
  EXPECT_FALSE(wrong_format.reason.empty());
  const SupportAnswer fp16 = backend->supports(image_classifier("m", ModelFormat::kOnnx, "m.onnx"), Precision::kFp16);
  EXPECT_FALSE(fp16.supported);
  EXPECT_NE(fp16.reason.find("FP16"), std::string::npos) << fp16.reason;
  EXPECT_THROW(backend->load(image_classifier("m", ModelFormat::kOnnx, "/nonexistent/m.onnx"), SessionOptions{}),
               Error);
}

TEST(OpenCvBackend, RunsPreparedSqueezenet) {
  if (!compiled_in("opencv")) GTEST_SKIP() << "opencv backend not compiled in";
  const std::string path = prepared_file("squeezenet1_1", ".onnx");
  // A missing model is a failure, not a skip: ctest runs this test after the
  // quick zoo's preparation (tests/unit/CMakeLists.txt), so absent means broken.
  ASSERT_FALSE(path.empty()) << "squeezenet1_1.onnx not prepared in " << model_directory()
                             << " (inferlab models prepare --zoo quick)";
  const std::vector<float> batch1 =
      run_classifier("opencv", image_classifier("squeezenet1_1", ModelFormat::kOnnx, path), 1);
  const std::vector<float> batch2 =
      run_classifier("opencv", image_classifier("squeezenet1_1", ModelFormat::kOnnx, path), 2);
  ASSERT_EQ(batch1.size(), 1000u);
  ASSERT_EQ(batch2.size(), 2000u);
}

TEST(TorchBackend, RefusesWhatItCannotRun) {
  if (!compiled_in("torch")) GTEST_SKIP() << "torch backend not compiled in";
  auto backend = create_backend("torch");
  const SupportAnswer wrong_format =
      backend->supports(image_classifier("m", ModelFormat::kOnnx, "m.onnx"), Precision::kFp32);
  EXPECT_FALSE(wrong_format.supported);
  EXPECT_FALSE(wrong_format.reason.empty());
  const SupportAnswer bf16 =
      backend->supports(image_classifier("m", ModelFormat::kTorchScript, "m.pt"), Precision::kBf16);
  EXPECT_FALSE(bf16.supported);
  EXPECT_FALSE(bf16.reason.empty());
  EXPECT_THROW(backend->load(image_classifier("m", ModelFormat::kTorchScript, "/nonexistent/m.pt"), SessionOptions{}),
               Error);
}

TEST(TorchBackend, RunsPreparedModelsAndAgreesWithOpenCv) {
  if (!compiled_in("torch")) GTEST_SKIP() << "torch backend not compiled in";
  for (const std::string name : {"mobilenet_v2", "squeezenet1_1"}) {
    const std::string path = prepared_file(name, ".pt");
    ASSERT_FALSE(path.empty()) << name << ".pt not prepared in " << model_directory()
                               << " (inferlab models prepare --zoo quick)";
    const ModelSource model = image_classifier(name, ModelFormat::kTorchScript, path);
    const std::vector<float> batch1 = run_classifier("torch", model, 1);
    const std::vector<float> batch2 = run_classifier("torch", model, 2);
    ASSERT_EQ(batch1.size(), 1000u);
    ASSERT_EQ(batch2.size(), 2000u);
    // The same seeded sample heads both batches' inputs only for batch 1, so
    // compare the engines instead: both formats come from one exported model.
    const std::string onnx = prepared_file(name, ".onnx");
    ASSERT_FALSE(onnx.empty()) << name << ".onnx not prepared in " << model_directory();
    if (compiled_in("opencv") && name == "squeezenet1_1") {
      const std::vector<float> reference =
          run_classifier("opencv", image_classifier(name, ModelFormat::kOnnx, onnx), 1);
      EXPECT_LT(max_abs_diff(batch1, reference), 1e-3) << name;
    }
  }
}

}  // namespace
}  // namespace inferlab
