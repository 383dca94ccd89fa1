// native_profile: where does the native engine spend its time on a model?
// Prints time per op type and implementation, the slowest layers, and the
// memory plan, from N profiled runs after a warm-up (each layer timed with
// two clock reads, so the total is slightly above an unprofiled run's).
// Usage: native_profile MODEL [--batch N] [--threads N] [--runs N] [--top N]

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <string>

#include "backends/native/engine.h"
#include "inferlab/error.h"
#include "inferlab/zoo.h"
#include "long_flags.h"

namespace {

int run(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: native_profile MODEL [--batch N] [--threads N] [--runs N] [--top N]\n";
    return 2;
  }
  std::string model_arg = argv[1];
  std::map<std::string, long> flags{{"batch", 1}, {"threads", 2}, {"runs", 20}, {"top", 12}};
  if (!inferlab::bench::parse_long_flags(argc, argv, 2, flags, "native_profile")) return 2;
  const long batch = flags["batch"], threads = flags["threads"], runs = flags["runs"], top = flags["top"];
  const auto model = inferlab::resolve_model(model_arg, inferlab::model_directory());
  const std::string path = model.source_for(inferlab::ModelFormat::kOnnx).path;
  if (path.empty()) throw inferlab::Error(model_arg + ": no ONNX file");
  omp_set_num_threads(static_cast<int>(threads));
  inferlab::native::Engine engine(path);
  inferlab::Shape shape = model.inputs.at(0).shape;
  shape[0] = batch;
  const auto prepare_start = std::chrono::steady_clock::now();
  engine.prepare({shape});
  const double prepare_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - prepare_start).count();
  inferlab::Tensor input(inferlab::DType::kFloat32, shape);
  inferlab::fill_seeded_uniform(input, 20261124);
  std::vector<inferlab::Tensor> outputs;
  std::vector<inferlab::Tensor*> out_ptrs;
  for (const auto& spec : engine.output_specs()) outputs.emplace_back(spec.dtype, spec.shape);
  for (auto& t : outputs) out_ptrs.push_back(&t);
  for (int i = 0; i < 3; ++i) engine.run({&input}, out_ptrs);
  engine.set_profiling(true);
  const auto start = std::chrono::steady_clock::now();
  for (long i = 0; i < runs; ++i) engine.run({&input}, out_ptrs);
  const double wall_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count() / runs;

  const auto steps = engine.steps();
  double total = 0;
  std::map<std::string, std::pair<double, int>> by_kind;
  for (const auto& s : steps) {
    const double ms = s.total_ms / std::max<std::int64_t>(s.runs, 1);
    total += ms;
    auto& k = by_kind[s.op + (s.fused.empty() ? "" : "+" + s.fused) + " [" + s.implementation + "]"];
    k.first += ms;
    ++k.second;
  }
  std::printf(
      "native_profile: %s batch %ld, %ld threads, %ld runs: %.3f ms per run (layers sum %.3f ms); prepare %.0f ms\n",
      model.name.c_str(), batch, threads, runs, wall_ms, total, prepare_ms);
  const auto& plan = engine.memory_plan();
  std::printf(
      "memory plan: arena %.2f MB for %lld tensors of %.2f MB in total (%.1f%%), %lld aliased; %lld nodes folded\n",
      plan.arena_bytes / 1e6, static_cast<long long>(plan.tensors), plan.tensor_bytes_total / 1e6,
      plan.tensor_bytes_total ? 100.0 * plan.arena_bytes / plan.tensor_bytes_total : 0.0,
      static_cast<long long>(plan.aliased), static_cast<long long>(engine.folded_nodes()));
  std::vector<std::pair<std::string, std::pair<double, int>>> kinds(by_kind.begin(), by_kind.end());
  std::sort(kinds.begin(), kinds.end(), [](const auto& a, const auto& b) { return a.second.first > b.second.first; });
  std::printf("%-60s %6s %10s %7s\n", "op [implementation]", "layers", "ms", "share");
  for (const auto& [name, v] : kinds) {
    std::printf("%-60s %6d %10.3f %6.1f%%\n", name.c_str(), v.second, v.first, 100.0 * v.first / total);
  }
  std::vector<inferlab::native::StepInfo> slowest = steps;
  std::sort(slowest.begin(), slowest.end(), [](const auto& a, const auto& b) { return a.total_ms > b.total_ms; });
  std::printf("slowest layers:\n");
  for (long i = 0; i < top && i < static_cast<long>(slowest.size()); ++i) {
    const auto& s = slowest[i];
    std::printf("  %-40s %-22s %-10s %9.3f ms  %s\n", s.node.substr(0, 40).c_str(), s.implementation.c_str(),
                s.fused.c_str(), s.total_ms / std::max<std::int64_t>(s.runs, 1),
                inferlab::shape_to_string(s.output_shape).c_str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return inferlab::bench::main_reporting_errors("native_profile", run, argc, argv); }
