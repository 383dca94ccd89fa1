// The native engine's SiLU pass (backends/native/swish.h): milliseconds for
// --values values in float32 (computed) and in bfloat16 (looked up in the
// 65536-entry table), on each instruction-set path this CPU has, split
// across --threads OpenMP threads as in a Conv step.
// Rounds interleave every configuration; the best round of each is printed,
// with bf16's time over f32's. The default is the largest SiLU output of
// efficientnet_b0 at 224x224 (96 x 112 x 112 values; its 49 Conv + SiLU
// outputs hold 6.16 M), written just before the pass as a Conv would.
//
//   native_swish [--values N] [--threads N] [--rounds N]
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "backends/native/swish.h"
#include "long_flags.h"

namespace {

using inferlab::DType;
using inferlab::native::SimdPath;

const char* path_name(SimdPath path) {
  switch (path) {
    case SimdPath::kAvx512:
      return "AVX-512";
    case SimdPath::kAvx2:
      return "AVX2+FMA";
    default:
      return "scalar";
  }
}

// Seconds of one pass over `count` values: swish_in_place splits it across
// the OpenMP team itself, as it does inside a Conv step.
double time_pass(void* data, std::int64_t count, DType dtype, SimdPath path) {
  const auto start = std::chrono::steady_clock::now();
  inferlab::native::swish_in_place(data, count, dtype, path);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

int run(int argc, char** argv) {
  std::map<std::string, long> flags{{"values", 96 * 112 * 112}, {"threads", 2}, {"rounds", 20}};
  if (!inferlab::bench::parse_long_flags(argc, argv, 1, flags, "native_swish")) return 2;
  const std::int64_t count = flags["values"];
  const int threads = static_cast<int>(flags["threads"]);
  omp_set_num_threads(threads);
  // The bf16 table is built once per process, before any pass: its cost, once.
  const auto table_start = std::chrono::steady_clock::now();
  inferlab::native::swish_prepare(DType::kBFloat16);
  std::printf("bf16 table built in %.3f ms (once per process)\n",
              std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - table_start).count());
  // Inputs across swish's shape (the activations a Conv writes are mostly in [-10, 10]).
  std::vector<float> source(static_cast<std::size_t>(count));
  for (std::int64_t i = 0; i < count; ++i) source[i] = static_cast<float>(i % 2000 - 1000) * 0.0101F;
  std::vector<std::uint16_t> source_bf16(source.size());
  for (std::size_t i = 0; i < source.size(); ++i) {
    std::uint32_t bits;
    std::memcpy(&bits, &source[i], sizeof bits);
    source_bf16[i] = static_cast<std::uint16_t>(bits >> 16);
  }
  struct Config {
    SimdPath path;
    DType dtype;
    double best_s = std::numeric_limits<double>::infinity();
  };
  std::vector<Config> configs;
  for (SimdPath path : {SimdPath::kAvx512, SimdPath::kAvx2, SimdPath::kScalar}) {
    if (!inferlab::native::simd_path_supported(path)) {
      std::printf("%s: not on this CPU\n", path_name(path));
      continue;
    }
    configs.push_back({path, DType::kFloat32});
    configs.push_back({path, DType::kBFloat16});
  }
  std::vector<float> f32;
  std::vector<std::uint16_t> bf16;
  for (long round = 0; round < flags["rounds"]; ++round) {
    for (auto& c : configs) {
      // Fresh inputs every pass (swish applied twice would time other
      // values), written just before it as a Conv writes its output.
      void* data = nullptr;
      if (c.dtype == DType::kFloat32) {
        f32 = source;
        data = f32.data();
      } else {
        bf16 = source_bf16;
        data = bf16.data();
      }
      c.best_s = std::min(c.best_s, time_pass(data, count, c.dtype, c.path));
    }
  }
  std::printf("swish pass over %lld values, %d thread(s), best of %ld interleaved rounds\n",
              static_cast<long long>(count), threads, flags["rounds"]);
  std::printf("%-9s %10s %10s %10s %12s\n", "path", "f32 ms", "bf16 ms", "bf16/f32", "f32 ns/value/core");
  for (std::size_t k = 0; k + 1 < configs.size(); k += 2) {
    const double f = configs[k].best_s * 1e3, b = configs[k + 1].best_s * 1e3;
    std::printf("%-9s %10.3f %10.3f %10.2f %12.3f\n", path_name(configs[k].path), f, b, b / f,
                f * 1e6 / static_cast<double>(count) * threads);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return inferlab::bench::main_reporting_errors("native_swish", run, argc, argv); }
