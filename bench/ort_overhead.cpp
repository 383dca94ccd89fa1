// ort_overhead: does inferlab's onnxruntime row measure ONNX Runtime, or
// inferlab? [a] the onnxruntime adapter (Session::run) against the minimal
// direct ORT C++ loop a user would write over the same file, with the same
// session settings (the defaults: spinning off), interleaved in rounds in one
// process — target ratio <= 1.03. Spinning on against off is measured by
// bench/ort_spinning.sh in separate processes: two spinning thread pools in
// one process would compete with each other.
// Prints PASS/MISS but exits 0 either way: benchmarks never gate on speed.
#include <onnxruntime_cxx_api.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>

#include "inferlab/backend.h"
#include "inferlab/error.h"
#include "inferlab/registry.h"
#include "inferlab/tensor.h"
#include "inferlab/zoo.h"
#include "interleave.h"
#include "long_flags.h"

namespace {

constexpr double kTargetRatio = 1.03;
constexpr std::uint64_t kInputSeed = 20261124;

struct Adapter {
  std::unique_ptr<inferlab::Session> session;
  std::vector<inferlab::Tensor> outputs;
  std::vector<inferlab::Tensor*> output_ptrs;
  std::vector<const inferlab::Tensor*> input_ptrs;

  Adapter(const inferlab::ModelSource& model, int threads, const std::string& spinning, const inferlab::Tensor& input) {
    inferlab::SessionOptions options;
    options.intra_op_threads = threads;
    options.engine_options["onnxruntime.spinning"] = spinning;
    session = inferlab::create_backend("onnxruntime")->load(model, options);
    session->prepare({input.shape()});
    for (const auto& spec : session->output_specs()) outputs.emplace_back(spec.dtype, spec.shape);
    for (auto& t : outputs) output_ptrs.push_back(&t);
    input_ptrs.push_back(&input);
  }
  void run() { session->run(input_ptrs, output_ptrs); }
};

int run(int argc, char** argv) {
  std::map<std::string, long> flags{{"threads", 2}, {"rounds", 30}, {"per-round", 10}};
  int first_flag = 1;
  std::string path;
  if (argc > 1 && std::string(argv[1]).rfind("--", 0) != 0) {
    path = argv[1];
    first_flag = 2;
  }
  bool quick = false;
  if (argc > first_flag && std::string(argv[argc - 1]) == "--quick") {
    quick = true;
    --argc;
    flags["rounds"] = 3;
    flags["per-round"] = 3;
  }
  if (!inferlab::bench::parse_long_flags(argc, argv, first_flag, flags, "ort_overhead")) return 2;
  const int threads = static_cast<int>(flags["threads"]);
  const int rounds = static_cast<int>(flags["rounds"]);
  const int per_round = static_cast<int>(flags["per-round"]);

  const inferlab::ResolvedModel resolved =
      inferlab::resolve_model(path.empty() ? "mobilenet_v2" : path, inferlab::model_directory());
  inferlab::ModelSource model = resolved.source_for(inferlab::ModelFormat::kOnnx);
  if (model.path.empty()) throw inferlab::Error(resolved.argument + ": has no ONNX file");
  inferlab::Shape shape = model.inputs.at(0).shape;
  shape[0] = 1;
  inferlab::Tensor input(inferlab::DType::kFloat32, shape);
  inferlab::fill_seeded_uniform(input, kInputSeed);
  const double load_before = inferlab::bench::load_average_1min();

  Adapter adapter(model, threads, "off", input);

  // The baseline: what a user writes from ONNX Runtime's C++ API samples,
  // with the adapter's settings (intra-op threads, 1 inter-op, sequential,
  // all optimizations, spinning off); ORT allocates the outputs each call.
  Ort::Env env(ORT_LOGGING_LEVEL_ERROR, "ort_overhead");
  Ort::SessionOptions options;
  options.SetIntraOpNumThreads(threads);
  options.SetInterOpNumThreads(1);
  options.SetExecutionMode(ORT_SEQUENTIAL);
  options.SetGraphOptimizationLevel(ORT_ENABLE_ALL);
  options.AddConfigEntry("session.intra_op.allow_spinning", "0");
  Ort::Session direct(env, model.path.c_str(), options);
  Ort::AllocatorWithDefaultOptions allocator;
  const std::string input_name = direct.GetInputNameAllocated(0, allocator).get();
  const std::string output_name = direct.GetOutputNameAllocated(0, allocator).get();
  const char* input_names[] = {input_name.c_str()};
  const char* output_names[] = {output_name.c_str()};
  const Ort::MemoryInfo memory = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
  Ort::Value direct_input = Ort::Value::CreateTensor<float>(
      memory, input.data_as<float>(), static_cast<std::size_t>(input.element_count()), shape.data(), shape.size());
  std::vector<Ort::Value> direct_outputs;
  auto direct_once = [&] {
    direct_outputs = direct.Run(Ort::RunOptions{nullptr}, input_names, &direct_input, 1, output_names, 1);
  };
  for (int i = 0; i < (quick ? 2 : 10); ++i) {
    adapter.run();
    direct_once();
  }
  const auto a = inferlab::bench::interleave([&] { adapter.run(); }, direct_once, rounds, per_round);

  const float* ours = adapter.outputs.at(0).data_as<float>();
  const float* theirs = direct_outputs.at(0).GetTensorData<float>();
  double max_abs_diff = 0;
  for (std::int64_t i = 0; i < adapter.outputs.at(0).element_count(); ++i)
    max_abs_diff = std::max(max_abs_diff, static_cast<double>(std::abs(ours[i] - theirs[i])));

  std::printf("ONNX Runtime %s, %s, batch 1, %d threads, %d rounds x %d calls interleaved%s\n",
              Ort::GetVersionString().c_str(), model.path.c_str(), threads, rounds, per_round, quick ? " (quick)" : "");
  std::printf("[a] adapter: %s\n", adapter.session->timed_region_description().c_str());
  std::printf("    adapter median %.3f ms, direct ORT loop median %.3f ms (outputs agree to max |diff| %.3g)\n",
              a.a_median_ms(), a.b_median_ms(), max_abs_diff);
  std::printf("    ratio %.3f (median of per-round ratios), target <= %.2f: %s\n", a.ratio(), kTargetRatio,
              a.ratio() <= kTargetRatio ? "PASS" : "MISS");

  if (load_before >= 1.0) {
    std::printf(
        "    note: 1-minute load average was %.2f before this comparison: other processes compete for the "
        "CPU, so the ratio is noisy; rerun on an idle machine\n",
        load_before);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return inferlab::bench::main_reporting_errors("ort_overhead", run, argc, argv); }
