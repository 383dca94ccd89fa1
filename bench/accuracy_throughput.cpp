// accuracy_throughput: is the data loader or the engine the bottleneck of
// `inferlab accuracy`, and does the acceptance run fit its budget?
//  (a) the loader alone (decode + preprocess, no inference) at 1 and 2
//      threads, wall-clock samples/s;
//  (b) the whole accuracy run (every backend, the same process as the CLI),
//      with each row's inference vs loader throughput and the time inference
//      waited for data — target: digits_cnn on digits with opencv,torch in < 20 s.
// Prints PASS/MISS but exits 0 either way: benchmarks never gate CI on speed.
// Usage: accuracy_throughput [--quick] [--model NAME] [--dataset SPEC] [--backends a,b]

#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "inferlab/accuracy.h"
#include "inferlab/batch_loader.h"
#include "inferlab/error.h"
#include "inferlab/zoo.h"

namespace {

using Clock = std::chrono::steady_clock;
constexpr double kTargetWallS = 20.0;

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto comma = text.find(',', start);
    out.push_back(text.substr(start, comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

int run(int argc, char** argv) {
  std::string model_name = "digits_cnn", dataset_spec = "digits", backends = "opencv,torch";
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--quick") {
      quick = true;
    } else if ((arg == "--model" || arg == "--dataset" || arg == "--backends") && i + 1 < argc) {
      (arg == "--model" ? model_name : arg == "--dataset" ? dataset_spec : backends) = argv[++i];
    } else {
      std::cerr << "accuracy_throughput: unknown argument " << arg << '\n';
      return 2;
    }
  }
  inferlab::AccuracyOptions options;
  options.model = inferlab::resolve_model(model_name, inferlab::model_directory());
  options.dataset = dataset_spec;
  options.backends = split(backends);
  options.threads = 2;
  options.limit = quick ? 200 : 0;
  options.preprocess = options.model.manifest && options.model.manifest->preprocess
                           ? *options.model.manifest->preprocess
                           : inferlab::default_preprocess_for(options.model.inputs.at(0), options.model.name);
  const auto dataset = inferlab::open_checked_dataset(options);

  std::printf("accuracy_throughput: %s on %s%s\n", options.model.name.c_str(), dataset->name().c_str(),
              quick ? " (--quick: first 200 samples)" : "");
  std::printf("(a) loader alone, batch %lld:\n", static_cast<long long>(options.batch));
  for (int threads : {1, 2}) {
    inferlab::LoaderOptions loader_options;
    loader_options.batch = options.batch;
    loader_options.threads = threads;
    loader_options.limit = options.limit;
    const auto start = Clock::now();
    inferlab::BatchLoader loader(*dataset, options.preprocess, loader_options);
    while (loader.next()) {
    }
    const double wall_s = std::chrono::duration<double>(Clock::now() - start).count();
    const auto stats = loader.stats();
    std::printf("    %d thread(s): %9.0f samples/s wall (%zu samples in %.3f s; %.0f samples/s per busy thread)\n",
                threads, stats.samples / wall_s, stats.samples, wall_s,
                stats.busy_ms > 0 ? stats.samples * 1000.0 / stats.busy_ms : 0.0);
  }

  std::printf("(b) the accuracy run, %s, %d engine threads, 1 loader thread:\n", backends.c_str(), options.threads);
  const auto start = Clock::now();
  const auto rows = inferlab::run_accuracy(options, *dataset, {}).rows;
  const double wall_s = std::chrono::duration<double>(Clock::now() - start).count();
  for (const auto& r : rows) {
    if (!r.accuracy) {
      std::printf("    %-8s %s: %s\n", r.backend.c_str(), result_status_name(r.status), r.reason.c_str());
      continue;
    }
    const auto& a = *r.accuracy;
    std::printf(
        "    %-8s top-1 %.4f  inference %8.0f samples/s  loader %9.0f samples/s (x%.0f)  waited for data %.1f ms of "
        "%.2f s\n",
        r.backend.c_str(), a.top1, a.inference_samples_per_s, a.loader.samples_per_s,
        a.inference_samples_per_s > 0 ? a.loader.samples_per_s / a.inference_samples_per_s : 0.0,
        a.loader.consumer_wait_ms, a.wall_s);
  }
  std::printf("    whole run (engines loaded, every row): %.2f s; target < %.0f s: %s\n", wall_s, kTargetWallS,
              quick                   ? "n/a (--quick)"
              : wall_s < kTargetWallS ? "PASS"
                                      : "MISS");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const inferlab::Error& e) {
    std::cerr << "accuracy_throughput: " << e.what() << '\n';
    return 2;
  }
}
