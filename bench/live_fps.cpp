// live_fps: the end-to-end frame rate of `inferlab live` with nothing pacing
// it (synthetic 640x480 video delivered as fast as the pipeline takes it), and
// where the time goes, stage by stage. Never gates on speed: it prints the
// target (200 FPS with pos on two cores, issue 4) next to the measurement.
//
//   live_fps [--seconds S] [--method pos|chrom|green|neural] [--backend NAME] [--size WxH]
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "inferlab/error.h"
#include "inferlab/live.h"

namespace {

constexpr double kTargetFps = 200;

void usage() {
  std::fprintf(stderr,
               "usage: live_fps [--seconds S] [--method pos|chrom|green|neural] [--backend NAME] [--size WxH]\n");
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 10;
  std::string method = "pos", backend = "opencv", size = "640x480";
  for (int i = 1; i < argc; ++i) {
    const bool has_value = i + 1 < argc;
    if (std::strcmp(argv[i], "--seconds") == 0 && has_value) {
      seconds = std::atof(argv[++i]);
    } else if (std::strcmp(argv[i], "--method") == 0 && has_value) {
      method = argv[++i];
    } else if (std::strcmp(argv[i], "--backend") == 0 && has_value) {
      backend = argv[++i];
    } else if (std::strcmp(argv[i], "--size") == 0 && has_value) {
      size = argv[++i];
    } else {
      usage();
      return 2;
    }
  }
  if (!(seconds > 0)) {
    std::fprintf(stderr, "live_fps: --seconds must be > 0\n");
    return 2;
  }
  try {
    inferlab::LiveOptions options;
    options.source = "synthetic:bpm=72,noise=2,size=" + size;
    options.method = inferlab::pulse_method_from_name(method);
    options.backend = backend;
    options.duration_s = seconds;
    options.paced = false;
    inferlab::LivePipeline pipeline(options);
    pipeline.start();
    const inferlab::LiveReport r = pipeline.wait();
    std::printf("live_fps: %s, method %s, backend %s, unpaced, %.1f s on %u hardware threads\n", r.source.c_str(),
                r.method.c_str(), r.backend.c_str(), r.duration_s, std::thread::hardware_concurrency());
    std::printf("end-to-end: %lld frames, %.1f FPS (target >= %.0f FPS: %s), %lld dropped\n",
                static_cast<long long>(r.frames), r.fps_avg, kTargetFps, r.fps_avg >= kTargetFps ? "met" : "NOT met",
                static_cast<long long>(r.dropped_frames));
    std::printf("%-12s %10s %10s %10s %12s %10s\n", "stage", "p50 ms", "p99 ms", "mean ms", "count", "share");
    double busy_ms = 0;
    for (const auto& s : r.stages) {
      if (s.name != "end_to_end") busy_ms += s.mean_ms * static_cast<double>(s.count);
    }
    for (const auto& s : r.stages) {
      const double share = s.name == "end_to_end" ? 0 : 100.0 * s.mean_ms * static_cast<double>(s.count) / busy_ms;
      std::printf("%-12s %10.3f %10.3f %10.3f %12lld %9.1f%%\n", s.name.c_str(), s.p50_ms, s.p99_ms, s.mean_ms,
                  static_cast<long long>(s.count), share);
    }
    std::printf(
        "stage work per frame: %.3f ms (stages run concurrently on their own threads; end_to_end includes "
        "queueing)\n",
        busy_ms / static_cast<double>(r.frames > 0 ? r.frames : 1));
    if (r.bpm_median) std::printf("BPM median %.1f (truth 72)\n", *r.bpm_median);
  } catch (const inferlab::Error& e) {
    std::fprintf(stderr, "live_fps: %s\n", e.what());
    return 2;
  }
  return 0;
}
