// live_rss_slope: runs `inferlab live`'s pipeline for a long time and prints
// the slope of the resident set size over the run (least squares over samples
// taken every second, the first 20% skipped as warm-up). A pipeline that keeps
// nothing per frame shows a slope near zero; a leak shows a steady climb.
//
//   live_rss_slope [--seconds S (default 300)] [--method pos|...] [--pace source|max]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "inferlab/error.h"
#include "inferlab/live.h"
#include "inferlab/memory.h"

namespace {

// RSS growth below this over the run counts as flat (allocator noise).
constexpr double kFlatMbPerMinute = 0.5;

}  // namespace

int main(int argc, char** argv) {
  double seconds = 300;
  std::string method = "pos", pace = "source";
  for (int i = 1; i < argc; ++i) {
    const bool has_value = i + 1 < argc;
    if (std::strcmp(argv[i], "--seconds") == 0 && has_value) {
      seconds = std::atof(argv[++i]);
    } else if (std::strcmp(argv[i], "--method") == 0 && has_value) {
      method = argv[++i];
    } else if (std::strcmp(argv[i], "--pace") == 0 && has_value) {
      pace = argv[++i];
    } else {
      std::fprintf(stderr,
                   "usage: live_rss_slope [--seconds S] [--method pos|chrom|green|neural] [--pace source|max]\n");
      return 2;
    }
  }
  if (!(seconds >= 2) || (pace != "source" && pace != "max")) {
    std::fprintf(stderr, "live_rss_slope: --seconds must be >= 2 and --pace source or max\n");
    return 2;
  }
  try {
    inferlab::LiveOptions options;
    options.source = "synthetic:bpm=72,noise=2,motion=0.5,light=0.3";
    options.method = inferlab::pulse_method_from_name(method);
    options.duration_s = seconds;
    options.paced = pace == "source";
    inferlab::LivePipeline pipeline(options);
    const auto start = std::chrono::steady_clock::now();
    pipeline.start();
    std::vector<double> t_s, rss_mb;
    while (!pipeline.finished()) {
      std::this_thread::sleep_for(std::chrono::seconds(1));
      t_s.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      rss_mb.push_back(static_cast<double>(inferlab::current_rss_bytes()) / 1e6);
    }
    const inferlab::LiveReport r = pipeline.wait();
    const std::size_t skip = t_s.size() / 5;
    double n = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (std::size_t i = skip; i < t_s.size(); ++i) {
      n += 1;
      sx += t_s[i];
      sy += rss_mb[i];
      sxx += t_s[i] * t_s[i];
      sxy += t_s[i] * rss_mb[i];
    }
    std::printf("live_rss_slope: %s, method %s, pace %s, %.1f s, %lld frames (%.1f FPS), %lld dropped\n",
                r.source.c_str(), r.method.c_str(), pace.c_str(), r.duration_s, static_cast<long long>(r.frames),
                r.fps_avg, static_cast<long long>(r.dropped_frames));
    if (n < 2 || n * sxx - sx * sx <= 0) {
      std::printf("too few RSS samples for a slope (run longer)\n");
      return 0;
    }
    const double slope_mb_per_s = (n * sxy - sx * sy) / (n * sxx - sx * sx);
    std::printf("RSS: start %.1f MB, end %.1f MB, max %.1f MB; %d samples after %zu s warm-up\n", rss_mb.front(),
                rss_mb.back(), r.rss_mb_max, static_cast<int>(n), skip);
    std::printf("RSS slope: %+.4f MB/min (%s: flat means |slope| < %.1f MB/min)\n", slope_mb_per_s * 60,
                std::abs(slope_mb_per_s * 60) < kFlatMbPerMinute ? "flat" : "GROWING", kFlatMbPerMinute);
  } catch (const inferlab::Error& e) {
    std::fprintf(stderr, "live_rss_slope: %s\n", e.what());
    return 2;
  }
  return 0;
}
