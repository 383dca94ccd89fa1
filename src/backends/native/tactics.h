#pragma once
// Tactic selection: where several implementations fit one layer (oneDNN's
// kernels for different layouts, ...), the kernel lists them and the Tuner
// times them on the real shapes at prepare(), keeps the fastest, and
// remembers the choice in the on-disk TacticCache, so the next prepare() of
// the same layer on this machine only looks it up. Kernels own the
// candidates (kernels_conv.cpp: the Conv's); this file owns timing and the
// cache, so every kernel that grows candidates times them the same way.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "tactic_cache.h"

namespace inferlab::native {

/// What tactic selection did in one Engine::prepare().
struct TacticStats {
  std::int64_t layers_tuned = 0;      ///< layers whose candidates were timed (no usable cache entry)
  std::int64_t cache_hits = 0;        ///< layers whose choice came from the cache
  std::int64_t candidates_timed = 0;  ///< candidate implementations built and timed, over all layers
  double tuning_ms = 0;               ///< wall time spent choosing: building, timing, reading and saving the cache
};

/// The tactic name of an int8 layer's QDQ float form (kernels_matmul_int8.cpp,
/// kernels_conv.cpp): without its oneDNN implementation, so that a cache
/// names it on any CPU.
inline constexpr const char* kDequantizedFloatTactic = "dequantized f32";

class Tuner {
 public:
  /// Reads the cache at `cache_path` (see default_tactic_cache_path()).
  explicit Tuner(const std::string& cache_path);

  struct Choice {
    std::size_t index = 0;    ///< into the names given to choose()
    bool from_cache = false;  ///< the cache named it: nothing was timed
    double ms = 0;            ///< its fastest timed run (measured now or when cached)
  };
  /// Builds one candidate (primitive, scratch buffers) and returns a function
  /// that runs it once, as the kernel's run() would, input reorder included.
  using CandidateFactory = std::function<std::function<void()>(std::size_t index)>;

  /// Picks one of `names` (unique; index 0 is what the kernel does without
  /// tactics) for the layer `signature` (which must hold no tab or newline):
  /// the cached tactic when it is still among `names`, else the fastest
  /// (by its fastest run), all candidates run in interleaved rounds so that
  /// load from other processes falls on all of them alike. `time_weights`
  /// (empty, or one per name) scales each candidate's time before the
  /// comparison: a candidate that holds more memory can be made to win only
  /// by a margin (Winograd convolutions, conv_candidates.h).
  Choice choose(const std::string& signature, const std::vector<std::string>& names, const CandidateFactory& build,
                const std::vector<double>& time_weights = {});

  /// The tactic cached for `signature` ("" when none), so that a kernel
  /// whose candidates are costly to list can stop listing at that one; it
  /// then reports the hit with count_hit(). choose() does both itself.
  std::string cached_tactic(const std::string& signature) const;
  void count_hit() { ++stats_.cache_hits; }

  /// Saves what was learned (call once, after the last layer's prepare()).
  void finish();

  const TacticStats& stats() const { return stats_; }

 private:
  TacticStats stats_;  // first: the cache's constructor already adds its read time
  TacticCache cache_;
  std::string threads_;
};

}  // namespace inferlab::native
