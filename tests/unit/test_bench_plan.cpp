// Output comparison, input shapes and result JSON: the pieces of the bench
// orchestrator that decide what a user sees, checked without an engine.
#include <gtest/gtest.h>

#include <cmath>

#include "inferlab/bench.h"
#include "inferlab/error.h"
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

TEST(ReferenceBackend, FirstNonNullUnlessGiven) {
  BenchOptions options;
  options.backends = {"null", "torch", "opencv"};
  EXPECT_EQ(reference_backend(options), "torch");
  options.reference = "opencv";
  EXPECT_EQ(reference_backend(options), "opencv");
}

// Every field set to a distinct value and compared with the original struct,
// not with a second to_json(): a field dropped from both the writer and the
// parser must fail here.
BenchResult every_field_set() {
  BenchResult r;
  r.model = "mobilenet_v2";
  r.backend = "torch";
  r.backend_version = "1.13.1";
  r.precision = "fp16";
  r.scenario = "offline";
  r.batch = 4;
  r.threads = 2;
  r.status = "ok";
  r.reason = "a reason";
  r.latency = LatencyStats{10, 1.5, 0.1, 1.2, 2.5, 1.4, 1.8, 1.9, 2.2, 2.4, 1.38, 1.45};
  r.throughput_per_s = 2666.5;
  r.count = 10;
  r.duration_ms = 15;
  r.memory = MemoryResult{300.5, 120.25, 0.5};
  r.power_w_avg = 12.5;
  r.energy_mj_per_inference = 4.75;
  r.validation = ValidationResult{"opencv", 1e-5, 0.99999, true, 1e-3};
  r.timing_boundary = "with-copies";
  r.timed_region = "copy in, forward, copy out";
  r.model_format = "torchscript";
  r.model_form = "frozen TorchScript";
  r.stop_reason = "min duration and count met";
  r.threading = "at::set_num_threads(2)";
  r.power_note = "RAPL package-0";
  r.sweep_best = true;
  r.sweep_stop = "reached --max-batch 4";
  AccuracyFields a;
  a.dataset = "digits:test";
  a.preprocess = "crop 20x20, GRAY, x0.00392157, mean [0.5], std [0.5], NCHW";
  a.preprocess_source = "file metadata";
  a.samples = 1000;
  a.corrupt_skipped = 3;
  a.top1 = 0.985;
  a.top5 = 0.999;
  a.agreement_top1 = 0.995;
  a.agreement_reference = "opencv fp32";
  a.misclassified = 15;
  a.contact_sheet = "out/sheet.png";
  a.loader = LoaderResult{2, 5000.5, 400.25, 12.5};
  a.inference_samples_per_s = 8000.5;
  a.wall_s = 1.25;
  r.accuracy = a;
  HeartRateFields h;
  h.set = "synthetic";
  h.clip = "motion";
  h.readings = 21;
  h.unavailable = 2;
  h.mae_bpm = 1.25;
  h.rmse_bpm = 1.75;
  h.mape_pct = 1.5;
  h.pearson = 0.875;
  r.heart_rate = h;
  SessionProfile p;
  p.runs = 4;
  p.note = "oneDNN verbose timing";
  p.layers = {{"Conv conv1", "Conv", "onednn:jit:avx2", "Relu", 2.0, 4},
              {"Gemm fc", "Gemm", "onednn:gemm", "", 1.0, 4}};
  r.profile = p;
  r.profile_trace_path = "out/trace.json";
  return r;
}

TEST(ResultJson, RoundTripKeepsEveryField) {
  const BenchResult r = every_field_set();
  const nlohmann::json j = to_json(r);
  EXPECT_EQ(j["latency_ms"]["ci95_p50"][1], 1.45);
  const BenchResult b = bench_result_from_json(j);
  EXPECT_EQ(b.model, r.model);
  EXPECT_EQ(b.backend, r.backend);
  EXPECT_EQ(b.backend_version, r.backend_version);
  EXPECT_EQ(b.precision, r.precision);
  EXPECT_EQ(b.scenario, r.scenario);
  EXPECT_EQ(b.batch, r.batch);
  EXPECT_EQ(b.threads, r.threads);
  EXPECT_EQ(b.status, r.status);
  EXPECT_EQ(b.reason, r.reason);
  ASSERT_TRUE(b.latency);
  const LatencyStats &l = *b.latency, &rl = *r.latency;
  EXPECT_EQ(l.count, rl.count);
  for (auto field : {&LatencyStats::mean_ms, &LatencyStats::stddev_ms, &LatencyStats::min_ms, &LatencyStats::max_ms,
                     &LatencyStats::p50_ms, &LatencyStats::p90_ms, &LatencyStats::p95_ms, &LatencyStats::p99_ms,
                     &LatencyStats::p999_ms, &LatencyStats::ci95_p50_lo_ms, &LatencyStats::ci95_p50_hi_ms}) {
    EXPECT_DOUBLE_EQ(l.*field, rl.*field);
  }
  EXPECT_DOUBLE_EQ(b.throughput_per_s, r.throughput_per_s);
  EXPECT_EQ(b.count, r.count);
  EXPECT_DOUBLE_EQ(b.duration_ms, r.duration_ms);
  ASSERT_TRUE(b.memory);
  EXPECT_DOUBLE_EQ(b.memory->peak_rss_mb, r.memory->peak_rss_mb);
  EXPECT_DOUBLE_EQ(b.memory->load_delta_mb, r.memory->load_delta_mb);
  EXPECT_DOUBLE_EQ(b.memory->run_delta_mb, r.memory->run_delta_mb);
  EXPECT_EQ(b.power_w_avg, r.power_w_avg);
  EXPECT_EQ(b.energy_mj_per_inference, r.energy_mj_per_inference);
  ASSERT_TRUE(b.validation);
  EXPECT_EQ(b.validation->reference, r.validation->reference);
  EXPECT_DOUBLE_EQ(b.validation->max_abs_diff, r.validation->max_abs_diff);
  EXPECT_DOUBLE_EQ(b.validation->cosine, r.validation->cosine);
  EXPECT_EQ(b.validation->within_tolerance, r.validation->within_tolerance);
  EXPECT_DOUBLE_EQ(b.validation->tolerance, r.validation->tolerance);
  EXPECT_EQ(b.timing_boundary, r.timing_boundary);
  EXPECT_EQ(b.timed_region, r.timed_region);
  EXPECT_EQ(b.model_format, r.model_format);
  EXPECT_EQ(b.model_form, r.model_form);
  EXPECT_EQ(b.stop_reason, r.stop_reason);
  EXPECT_EQ(b.threading, r.threading);
  EXPECT_EQ(b.power_note, r.power_note);
  EXPECT_EQ(b.sweep_best, r.sweep_best);
  EXPECT_EQ(b.sweep_stop, r.sweep_stop);
  ASSERT_TRUE(b.accuracy);
  const AccuracyFields &a = *b.accuracy, &ra = *r.accuracy;
  EXPECT_EQ(a.dataset, ra.dataset);
  EXPECT_EQ(a.preprocess, ra.preprocess);
  EXPECT_EQ(a.preprocess_source, ra.preprocess_source);
  EXPECT_EQ(a.samples, ra.samples);
  EXPECT_EQ(a.corrupt_skipped, ra.corrupt_skipped);
  EXPECT_DOUBLE_EQ(a.top1, ra.top1);
  EXPECT_DOUBLE_EQ(a.top5, ra.top5);
  EXPECT_EQ(a.agreement_top1, ra.agreement_top1);
  EXPECT_EQ(a.agreement_reference, ra.agreement_reference);
  EXPECT_EQ(a.misclassified, ra.misclassified);
  EXPECT_EQ(a.contact_sheet, ra.contact_sheet);
  EXPECT_EQ(a.loader.threads, ra.loader.threads);
  EXPECT_DOUBLE_EQ(a.loader.samples_per_s, ra.loader.samples_per_s);
  EXPECT_DOUBLE_EQ(a.loader.busy_ms, ra.loader.busy_ms);
  EXPECT_DOUBLE_EQ(a.loader.consumer_wait_ms, ra.loader.consumer_wait_ms);
  EXPECT_DOUBLE_EQ(a.inference_samples_per_s, ra.inference_samples_per_s);
  EXPECT_DOUBLE_EQ(a.wall_s, ra.wall_s);
  ASSERT_TRUE(b.heart_rate);
  EXPECT_EQ(b.heart_rate->set, r.heart_rate->set);
  EXPECT_EQ(b.heart_rate->clip, r.heart_rate->clip);
  EXPECT_EQ(b.heart_rate->readings, r.heart_rate->readings);
  EXPECT_EQ(b.heart_rate->unavailable, r.heart_rate->unavailable);
  EXPECT_DOUBLE_EQ(b.heart_rate->mae_bpm, r.heart_rate->mae_bpm);
  EXPECT_DOUBLE_EQ(b.heart_rate->rmse_bpm, r.heart_rate->rmse_bpm);
  EXPECT_DOUBLE_EQ(b.heart_rate->mape_pct, r.heart_rate->mape_pct);
  EXPECT_EQ(b.heart_rate->pearson, r.heart_rate->pearson);
  ASSERT_TRUE(b.profile);
  EXPECT_EQ(b.profile->runs, r.profile->runs);
  EXPECT_EQ(b.profile->note, r.profile->note);
  EXPECT_EQ(b.profile_trace_path, r.profile_trace_path);
  ASSERT_EQ(b.profile->layers.size(), r.profile->layers.size());
  for (std::size_t i = 0; i < r.profile->layers.size(); ++i) {
    const LayerProfile &bl = b.profile->layers[i], &rl2 = r.profile->layers[i];
    EXPECT_EQ(bl.name, rl2.name);
    EXPECT_EQ(bl.op, rl2.op);
    EXPECT_EQ(bl.implementation, rl2.implementation);
    EXPECT_EQ(bl.fused, rl2.fused);
    EXPECT_DOUBLE_EQ(bl.mean_ms(), rl2.mean_ms());
  }
  EXPECT_EQ(to_json(b), j);
}

TEST(ResultJson, AbsentOptionalFieldsStayAbsent) {
  BenchResult r;
  r.model = "m";
  r.backend = "null";
  r.profile_unavailable = "null has no per-layer profile";
  const nlohmann::json j = to_json(r);
  EXPECT_TRUE(j["power_w"].is_null());
  EXPECT_TRUE(j["energy_mj_per_inference"].is_null());
  const BenchResult b = bench_result_from_json(j);
  EXPECT_FALSE(b.power_w_avg || b.energy_mj_per_inference || b.accuracy || b.profile || b.latency || b.memory);
  EXPECT_EQ(b.profile_unavailable, r.profile_unavailable);
}

TEST(ResultJson, MalformedDocumentThrowsError) {
  EXPECT_THROW(bench_result_from_json(nlohmann::json{{"model", "x"}}), Error);
}

}  // namespace
}  // namespace inferlab
