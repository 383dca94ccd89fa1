#pragma once
// The torch backend's per-layer profile: libtorch's own (legacy) profiler
// around each profiled forward, reduced to the operators the TorchScript
// graph calls directly (nested aten calls are part of their caller's time).

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "inferlab/profile.h"

namespace inferlab::torch_backend {

/// Collects the top-level operator calls of profiled forwards. The n-th call
/// of every run is one "layer" (a TorchScript graph calls the same operators
/// in the same order each run). Not thread-safe: the session's thread drives it.
class OpProfiler {
 public:
  /// Clears what was collected and starts the clock of the timeline.
  void reset();
  /// Runs `forward` under libtorch's profiler and records its top-level ops.
  void profile_run(const std::function<void()>& forward);
  SessionProfile profile() const;

 private:
  std::vector<LayerProfile> layers_;
  std::vector<LayerEvent> events_;
  std::int64_t runs_ = 0;
  std::chrono::steady_clock::time_point start_;
  std::string mismatch_;  // set when a run's op sequence differed from the first
};

}  // namespace inferlab::torch_backend
