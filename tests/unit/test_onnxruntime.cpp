// The onnxruntime adapter: what it refuses and why, a real prepared model
// against libtorch, engine options, and its per-layer profile (the adapter's
// own parser on a hand-made document, and ORT's real profiler output).
// Built only where the adapter is (tests/unit/CMakeLists.txt). The suite
// OnnxRuntimeRunsPrepared needs the quick zoo: it runs in the
// unit_backends_run_prepared_models test, after the zoo's preparation.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "backends/onnxruntime/ort_profile.h"
#include "inferlab/bench.h"
#include "inferlab/error.h"
#include "inferlab/registry.h"
#include "inferlab/zoo.h"

namespace inferlab {
namespace {

ModelSource prepared_source(const std::string& name, ModelFormat format) {
  const ResolvedModel model = resolve_model(name, model_directory());
  ModelSource source = model.source_for(format);
  if (source.path.empty()) throw Error(name + " has no " + model_format_name(format) + " file");
  return source;
}

// One seeded batch through `backend`; returns the first output.
std::vector<float> run_once(const std::string& backend_name, const ModelSource& model, const SessionOptions& options,
                            Session** keep = nullptr) {
  static std::vector<std::unique_ptr<Session>> kept;
  auto session = create_backend(backend_name)->load(model, options);
  Shape shape = model.inputs.at(0).shape;
  shape[0] = 1;
  session->prepare({shape});
  Tensor input(DType::kFloat32, shape);
  fill_seeded_uniform(input, 20261124);
  Tensor output(session->output_specs().at(0).dtype, session->output_specs().at(0).shape);
  std::vector<Tensor*> outputs{&output};
  session->run({&input}, outputs);
  const float* values = output.data_as<float>();
  std::vector<float> result(values, values + output.element_count());
  if (keep != nullptr) {
    *keep = session.get();
    kept.push_back(std::move(session));
  }
  return result;
}

TEST(OnnxRuntimeBackend, IsCompiledInAndDescribesItself) {
  auto backend = create_backend("onnxruntime");
  EXPECT_EQ(backend->name(), "onnxruntime");
  EXPECT_EQ(backend->version().rfind("1.", 0), 0u) << backend->version();
  EXPECT_EQ(backend->format(), ModelFormat::kOnnx);
  const auto info = backend->build_info();
  ASSERT_TRUE(info.count("providers (compiled in)"));
  EXPECT_NE(info.at("providers (compiled in)").find("CPUExecutionProvider"), std::string::npos);
}

TEST(OnnxRuntimeRunsPrepared, RefusesWhatItCannotRunWithAReason) {
  auto backend = create_backend("onnxruntime");
  const ModelSource fp32 = prepared_source("squeezenet1_1", ModelFormat::kOnnx);
  ModelSource torchscript = fp32;
  torchscript.format = ModelFormat::kTorchScript;
  EXPECT_FALSE(backend->supports(torchscript, Precision::kFp32).supported);
  const SupportAnswer int8 = backend->supports(fp32, Precision::kInt8);
  EXPECT_FALSE(int8.supported);
  EXPECT_NE(int8.reason.find("QDQ"), std::string::npos) << int8.reason;
  EXPECT_FALSE(backend->supports(fp32, Precision::kBf16).reason.empty());
  EXPECT_TRUE(backend->supports(fp32, Precision::kFp32).supported);
  ModelSource missing = fp32;
  missing.path = "/nonexistent/m.onnx";
  EXPECT_THROW(backend->load(missing, SessionOptions{}), Error);
}

TEST(OnnxRuntimeRunsPrepared, AgreesWithTorchOnPreparedModels) {
  for (const std::string name : {"squeezenet1_1", "mobilenet_v2"}) {
    SessionOptions options;
    options.intra_op_threads = 2;
    const auto ours = run_once("onnxruntime", prepared_source(name, ModelFormat::kOnnx), options);
    const auto reference = run_once("torch", prepared_source(name, ModelFormat::kTorchScript), options);
    const ValidationResult v = compare_outputs(reference, ours, "torch", 1e-3, 0.9999);
    EXPECT_TRUE(v.within_tolerance) << name << ": max |diff| " << v.max_abs_diff << ", cosine " << v.cosine;
  }
}

TEST(OnnxRuntimeRunsPrepared, OptimizationLevelsAgreeAndBadOptionsAreRefused) {
  const ModelSource model = prepared_source("squeezenet1_1", ModelFormat::kOnnx);
  SessionOptions all;
  SessionOptions none;
  none.engine_options["onnxruntime.graph_optimization"] = "disable";
  none.engine_options["onnxruntime.spinning"] = "on";
  none.engine_options["native.ignored"] = "another engine's option";
  const auto a = run_once("onnxruntime", model, all);
  const auto b = run_once("onnxruntime", model, none);
  EXPECT_TRUE(compare_outputs(a, b, "all", 1e-4, 0.99999).within_tolerance);

  SessionOptions bad_level;
  bad_level.engine_options["onnxruntime.graph_optimization"] = "max";
  EXPECT_THROW(create_backend("onnxruntime")->load(model, bad_level), Error);
  SessionOptions bad_key;
  bad_key.engine_options["onnxruntime.turbo"] = "on";
  EXPECT_THROW(create_backend("onnxruntime")->load(model, bad_key), Error);
}

TEST(OnnxRuntimeRunsPrepared, ProfilesEachNodeOfRealRuns) {
  const ModelSource model = prepared_source("squeezenet1_1", ModelFormat::kOnnx);
  Session* session = nullptr;
  run_once("onnxruntime", model, SessionOptions{}, &session);
  ASSERT_TRUE(session->set_profiling(true));
  Shape shape{1, 3, 224, 224};
  Tensor input(DType::kFloat32, shape);
  Tensor output(session->output_specs().at(0).dtype, session->output_specs().at(0).shape);
  std::vector<Tensor*> outputs{&output};
  for (int i = 0; i < 3; ++i) session->run({&input}, outputs);
  const SessionProfile profile = session->profile();
  session->set_profiling(false);
  EXPECT_EQ(profile.runs, 3);
  ASSERT_FALSE(profile.layers.empty());
  bool has_conv = false;
  for (const auto& layer : profile.layers) {
    has_conv = has_conv || layer.op.find("Conv") != std::string::npos;
    EXPECT_EQ(layer.implementation, "CPUExecutionProvider") << layer.name;
    EXPECT_EQ(layer.runs, 3) << layer.name;
  }
  EXPECT_TRUE(has_conv);
  EXPECT_GT(profile.layers_ms_per_run(), 0);
}

TEST(OrtProfileParser, KeepsKernelTimesOfMeasuredRunsOnly) {
  const auto events = nlohmann::json::parse(R"([
    {"cat":"Session","name":"model_run","ts":100,"dur":50},
    {"cat":"Node","name":"conv1_kernel_time","ts":110,"dur":20,"args":{"op_name":"Conv","provider":"CPUExecutionProvider"}},
    {"cat":"Session","name":"model_run","ts":200,"dur":50},
    {"cat":"Node","name":"conv1_fence_before","ts":205,"dur":1,"args":{"op_name":"Conv"}},
    {"cat":"Node","name":"conv1_kernel_time","ts":210,"dur":10,"args":{"op_name":"Conv","provider":"CPUExecutionProvider"}},
    {"cat":"Node","name":"relu_kernel_time","ts":225,"dur":4,"args":{"op_name":"Relu","provider":"CPUExecutionProvider"}},
    {"cat":"Session","name":"model_run","ts":300,"dur":50},
    {"cat":"Node","name":"conv1_kernel_time","ts":310,"dur":30,"args":{"op_name":"Conv","provider":"CPUExecutionProvider"}},
    {"cat":"Node","name":"relu_kernel_time","ts":345,"dur":2,"args":{"op_name":"Relu","provider":"CPUExecutionProvider"}}
  ])");
  const SessionProfile profile = ort::profile_from_ort_json(events, 1);
  EXPECT_EQ(profile.runs, 2);
  ASSERT_EQ(profile.layers.size(), 2u);
  EXPECT_EQ(profile.layers[0].name, "conv1");
  EXPECT_EQ(profile.layers[0].op, "Conv");
  EXPECT_DOUBLE_EQ(profile.layers[0].total_ms, 0.040);
  EXPECT_EQ(profile.layers[0].runs, 2);
  EXPECT_DOUBLE_EQ(profile.layers[1].total_ms, 0.006);
  ASSERT_EQ(profile.events.size(), 4u);
  EXPECT_EQ(profile.events[2].run, 1);
  EXPECT_DOUBLE_EQ(profile.events[2].start_us, 110);
  EXPECT_THROW(ort::profile_from_ort_json(nlohmann::json::object(), 0), Error);
  EXPECT_THROW(ort::profile_from_ort_json(events, 3), Error);
}

}  // namespace
}  // namespace inferlab
