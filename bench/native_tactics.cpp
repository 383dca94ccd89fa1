// native_tactics: what tactic selection costs at prepare and gains at run on
// the native engine. For each ONNX model: prepare time with an empty tactic
// cache (cold: every Conv timed), with the cache that run wrote (warm: looked
// up) and with tactics off; then batch-N latency with tactics on and off,
// the runs interleaved in one process with a rotating order so load from
// other processes falls on both alike. The cache is a private temporary
// file: the user's own cache is never read or written. oneDNN's in-process
// primitive cache is off, so each prepare costs what it costs a new process.
// MODEL is an .onnx path or a prepared model name (mobilenet_v2).
// Usage: native_tactics MODEL [MODEL ...] [--batch N] [--threads N] [--runs N] [--prepares N]

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "backends/native/engine.h"
#include "inferlab/error.h"
#include "inferlab/files.h"
#include "inferlab/stats.h"
#include "inferlab/zoo.h"
#include "long_flags.h"

namespace {

using inferlab::native::Engine;
using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

double percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return inferlab::percentile_sorted(v, q);
}

struct Timed {
  std::unique_ptr<Engine> engine;
  std::vector<inferlab::Tensor> outputs;
  std::vector<double> ms;
};

struct ModelResult {
  std::string name;
  std::vector<double> cold_ms, warm_ms, off_ms;
  inferlab::native::TacticStats cold, warm;
  double p50_on = 0, p50_off = 0;
  double max_diff = 0;  // first output, tactics on vs off, relative to max |off|
  int xnnpack = 0;      // Convs that run XNNPACK with tactics on
};

// A fresh engine's prepare (a new session's, loading is not timed), with
// tactics on or off; `stats` gets its tactic counters.
double time_prepare(const std::string& path, const inferlab::Shape& shape, bool tactics,
                    inferlab::native::TacticStats* stats = nullptr) {
  Engine engine(path);
  engine.set_tactics(tactics);
  const auto start = Clock::now();
  engine.prepare({shape});
  const double ms = ms_since(start);
  if (stats) *stats = engine.tactic_stats();
  return ms;
}

int run(int argc, char** argv) {
  int first_flag = 1;
  while (first_flag < argc && std::string(argv[first_flag]).rfind("--", 0) != 0) ++first_flag;
  const std::vector<std::string> paths(argv + 1, argv + first_flag);
  if (paths.empty()) {
    std::cerr << "usage: native_tactics MODEL [MODEL ...] [--batch N] [--threads N] [--runs N] "
                 "[--prepares N]\n";
    return 2;
  }
  std::map<std::string, long> flags{{"batch", 1}, {"threads", 2}, {"runs", 200}, {"prepares", 3}};
  if (!inferlab::bench::parse_long_flags(argc, argv, first_flag, flags, "native_tactics")) return 2;
  const long batch = flags["batch"], threads = flags["threads"], runs = flags["runs"], prepares = flags["prepares"];
  omp_set_num_threads(static_cast<int>(threads));
  // oneDNN keeps created primitives in a process-wide cache: without this,
  // every prepare after the first would skip the JIT compilation that a
  // fresh process (a bench worker, a new session) pays.
  dnnl::set_primitive_cache_capacity(0);
  inferlab::TempDir dir("native-tactics");
  const std::string cache = dir.path() + "/tactics.tsv";
  ::setenv("INFERLAB_TACTIC_CACHE", cache.c_str(), 1);

  std::vector<ModelResult> results;
  for (const auto& argument : paths) {
    const auto model = inferlab::resolve_model(argument, inferlab::model_directory());
    const std::string path = model.source_for(inferlab::ModelFormat::kOnnx).path;
    if (path.empty()) throw inferlab::Error(argument + ": no ONNX file");
    inferlab::Shape shape = model.inputs.at(0).shape;
    shape[0] = batch;
    for (auto d : shape) {
      if (d < 0) throw inferlab::Error(argument + ": input dims other than the batch must be known");
    }
    inferlab::Tensor input(inferlab::DType::kFloat32, shape);
    inferlab::fill_seeded_uniform(input, 20261124);
    ModelResult r;
    r.name = model.name;
    // Prepares interleaved too: cold (cache emptied), warm (what cold wrote), off.
    for (long p = 0; p < prepares; ++p) {
      std::filesystem::remove(cache);
      r.cold_ms.push_back(time_prepare(path, shape, true, &r.cold));
      r.warm_ms.push_back(time_prepare(path, shape, true, &r.warm));
      r.off_ms.push_back(time_prepare(path, shape, false));
    }
    Timed on{std::make_unique<Engine>(path), {}, {}}, off{std::make_unique<Engine>(path), {}, {}};
    off.engine->set_tactics(false);
    on.engine->prepare({shape});  // from the cache the last cold prepare wrote
    off.engine->prepare({shape});
    for (const auto& step : on.engine->steps()) r.xnnpack += step.implementation.rfind("xnnpack", 0) == 0;
    for (auto* t : {&on, &off}) {
      for (const auto& spec : t->engine->output_specs()) t->outputs.emplace_back(spec.dtype, spec.shape);
    }
    auto run_once = [&](Timed& t) {
      std::vector<inferlab::Tensor*> outs;
      for (auto& o : t.outputs) outs.push_back(&o);
      const auto start = Clock::now();
      t.engine->run({&input}, outs);
      return ms_since(start);
    };
    for (int i = 0; i < 5; ++i) {
      run_once(on);
      run_once(off);
    }
    for (long i = 0; i < runs; ++i) {
      Timed& a = i % 2 ? on : off;
      Timed& b = i % 2 ? off : on;
      a.ms.push_back(run_once(a));
      b.ms.push_back(run_once(b));
    }
    // Tactics change the implementation, never the result beyond float rounding.
    if (on.outputs.at(0).dtype() == inferlab::DType::kFloat32) {
      const auto* a = on.outputs[0].data_as<float>();
      const auto* b = off.outputs[0].data_as<float>();
      double peak = 1e-30, worst = 0;
      for (std::int64_t i = 0; i < off.outputs[0].element_count(); ++i) {
        peak = std::max(peak, std::abs(double{b[i]}));
        worst = std::max(worst, std::abs(double{a[i]} - b[i]));
      }
      r.max_diff = worst / peak;
    }
    r.p50_on = percentile(on.ms, 0.5);
    r.p50_off = percentile(off.ms, 0.5);
    results.push_back(std::move(r));
  }

  std::printf("native_tactics: batch %ld, %ld threads; prepare: median of %ld; latency: %ld interleaved runs each\n",
              batch, threads, prepares, runs);
  std::printf("%-18s %10s %10s %10s %9s %9s %6s %6s %7s %10s %10s %8s %9s\n", "model", "cold ms", "warm ms", "off ms",
              "cold/off", "warm/off", "tuned", "hits", "xnnpack", "p50 on", "p50 off", "off/on", "rel diff");
  for (const auto& r : results) {
    const double cold = percentile(r.cold_ms, 0.5), warm = percentile(r.warm_ms, 0.5), off = percentile(r.off_ms, 0.5);
    std::printf("%-18s %10.1f %10.1f %10.1f %8.2fx %8.2fx %6lld %6lld %7d %10.3f %10.3f %7.3fx %9.1e\n", r.name.c_str(),
                cold, warm, off, cold / off, warm / off, static_cast<long long>(r.cold.layers_tuned),
                static_cast<long long>(r.warm.cache_hits), r.xnnpack, r.p50_on, r.p50_off, r.p50_off / r.p50_on,
                r.max_diff);
  }
  std::printf(
      "tuned: Convs timed on the cold prepare (identical layers after the first hit the cache); hits: cache "
      "hits on the warm prepare; xnnpack: Convs that chose XNNPACK's; off/on > 1: tactics made the model faster; rel "
      "diff: max |on - off| / max |off| of "
      "the first output\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return inferlab::bench::main_reporting_errors("native_tactics", run, argc, argv); }
