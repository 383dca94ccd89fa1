// native_int8: an fp32 ONNX model against its QDQ INT8 form on the native
// engine, timed in one process with the runs interleaved (fp32, int8, and
// the QDQ model run as written: Q/DQ kernels and fp32 convolutions), so load
// from other processes falls on all three alike. Prints the median and p90
// of each, the int8/fp32 speed ratio, the outputs' agreement, and which
// oneDNN implementations ran the Convs.
// Several pairs are interleaved in one process too.
// Usage: native_int8 FP32.onnx INT8.onnx [FP32.onnx INT8.onnx ...] [--batch N] [--threads N] [--runs N]

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "backends/native/engine.h"
#include "inferlab/error.h"
#include "inferlab/onnx_graph.h"
#include "inferlab/stats.h"
#include "long_flags.h"

namespace {

using inferlab::native::Engine;

struct Timed {
  std::string label;
  std::unique_ptr<Engine> engine;
  const inferlab::Tensor* input = nullptr;
  std::vector<inferlab::Tensor> outputs;
  std::vector<double> ms;
};

double percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return inferlab::percentile_sorted(v, q);
}

// One model pair: its fp32 engine, its int8 engine, its QDQ graph as written.
struct Pair {
  std::string fp32_path;
  inferlab::Tensor input;
  std::size_t first = 0;  // index of its fp32 engine
};

int run(int argc, char** argv) {
  int first_flag = 1;
  while (first_flag < argc && std::string(argv[first_flag]).rfind("--", 0) != 0) ++first_flag;
  const std::vector<std::string> paths(argv + 1, argv + first_flag);
  if (paths.empty() || paths.size() % 2 != 0) {
    std::cerr << "usage: native_int8 FP32.onnx INT8.onnx [FP32.onnx INT8.onnx ...] [--batch N] [--threads N] "
                 "[--runs N]\n";
    return 2;
  }
  std::map<std::string, long> flags{{"batch", 1}, {"threads", 2}, {"runs", 200}};
  if (!inferlab::bench::parse_long_flags(argc, argv, first_flag, flags, "native_int8")) return 2;
  const long batch = flags["batch"], threads = flags["threads"], runs = flags["runs"];
  omp_set_num_threads(static_cast<int>(threads));
  std::vector<Pair> pairs(paths.size() / 2);
  std::vector<Timed> engines;
  for (std::size_t p = 0; p < pairs.size(); ++p) {
    const std::string& fp32 = paths[2 * p];
    const std::string& int8 = paths[2 * p + 1];
    // The input: the fp32 model's first input with the batch set, seeded values.
    inferlab::Shape shape = inferlab::OnnxGraph::load(fp32).summarize().inputs.at(0).shape;
    shape[0] = batch;
    for (auto d : shape) {
      if (d < 0) throw inferlab::Error(fp32 + ": input dims other than the batch must be known");
    }
    pairs[p] = {fp32, inferlab::Tensor(inferlab::DType::kFloat32, shape), engines.size()};
    inferlab::fill_seeded_uniform(pairs[p].input, 20261124);
    const std::string name = std::filesystem::path(fp32).stem().string();
    engines.push_back({name + " fp32", std::make_unique<Engine>(fp32), nullptr, {}, {}});
    engines.push_back({name + " int8", std::make_unique<Engine>(int8), nullptr, {}, {}});
    engines.push_back({name + " qdq-as-written", std::make_unique<Engine>(int8), nullptr, {}, {}});
    engines.back().engine->set_int8_kernels(false);
  }
  for (std::size_t k = 0; k < engines.size(); ++k) {
    auto& e = engines[k];
    e.input = &pairs[k / 3].input;
    e.engine->prepare({e.input->shape()});
    for (const auto& spec : e.engine->output_specs()) e.outputs.emplace_back(spec.dtype, spec.shape);
  }
  auto run_once = [&](Timed& e) {
    std::vector<inferlab::Tensor*> outs;
    for (auto& t : e.outputs) outs.push_back(&t);
    const auto start = std::chrono::steady_clock::now();
    e.engine->run({e.input}, outs);
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  };
  for (int i = 0; i < 5; ++i) {
    for (auto& e : engines) run_once(e);
  }
  // Interleaved, the order rotating each round so no engine always follows another.
  for (long r = 0; r < runs; ++r) {
    for (std::size_t k = 0; k < engines.size(); ++k) {
      auto& e = engines[(k + static_cast<std::size_t>(r)) % engines.size()];
      e.ms.push_back(run_once(e));
    }
  }
  std::printf("native_int8: batch %ld, %ld threads, %ld interleaved runs each\n", batch, threads, runs);
  for (const auto& pair : pairs) {
    const Timed& base = engines[pair.first];
    const double fp32_p50 = percentile(base.ms, 0.5);
    for (std::size_t k = pair.first; k < pair.first + 3; ++k) {
      const auto& e = engines[k];
      const double p50 = percentile(e.ms, 0.5);
      std::printf("  %-32s p50 %8.3f ms  p90 %8.3f ms  min %8.3f ms  (%.2fx fp32)\n", e.label.c_str(), p50,
                  percentile(e.ms, 0.9), percentile(e.ms, 0.0), fp32_p50 / p50);
    }
    // Agreement of the first output with fp32's.
    const auto* ref = base.outputs.at(0).data_as<float>();
    for (std::size_t k = pair.first + 1; k < pair.first + 3; ++k) {
      const auto* y = engines[k].outputs.at(0).data_as<float>();
      double worst = 0, dot = 0, na = 0, nb = 0, peak = 0;
      for (std::int64_t i = 0; i < base.outputs[0].element_count(); ++i) {
        worst = std::max(worst, std::abs(double{y[i]} - ref[i]));
        peak = std::max(peak, std::abs(double{ref[i]}));
        dot += double{y[i]} * ref[i];
        na += double{y[i]} * y[i];
        nb += double{ref[i]} * ref[i];
      }
      std::printf("  %-32s vs fp32: max |diff| %.4g (fp32 max |y| %.4g), cosine %.6f\n", engines[k].label.c_str(),
                  worst, peak, dot / std::sqrt(na * nb));
    }
    std::map<std::string, int> impls;
    for (const auto& s : engines[pair.first + 1].engine->steps()) ++impls[s.op + " [" + s.implementation + "]"];
    std::printf("  int8 steps:");
    for (const auto& [name, n] : impls) std::printf(" %dx %s;", n, name.c_str());
    std::printf("\n");
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return inferlab::bench::main_reporting_errors("native_int8", run, argc, argv); }
