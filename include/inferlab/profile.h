#pragma once
/// @file profile.h
/// Per-layer profiles (`inferlab bench --profile`): each layer's time and the
/// kernel or tactic that ran it, as trtexec's per-layer profile and
/// benchmark_app's performance counters show, plus a timeline of the
/// profiled runs. Part of the backend contract (Session::profile()); the
/// table and the Chrome trace made from a profile are in profile_report.h.

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace inferlab {

/// One layer (an executed step: a node, a fused group, or a layout
/// conversion the engine inserted) summed over the profiled runs.
struct LayerProfile {
  std::string name;            ///< e.g. "Conv features.0.0" or the engine's label
  std::string op;              ///< op type, e.g. "Conv"
  std::string implementation;  ///< kernel or tactic, e.g. "onednn:jit:avx2 nhwc"
  std::string fused;           ///< ops fused into this layer, e.g. "Relu"; empty: none
  double total_ms = 0;         ///< summed over `runs`
  std::int64_t runs = 0;       ///< profiled runs this layer ran in
  double mean_ms() const { return runs > 0 ? total_ms / static_cast<double>(runs) : 0; }
  bool operator==(const LayerProfile&) const = default;
};

/// One layer's execution in one profiled run, for the trace.
struct LayerEvent {
  std::int32_t layer = 0;  ///< index into SessionProfile::layers
  std::int32_t run = 0;    ///< profiled run, from 0
  double start_us = 0;     ///< from the start of the first profiled run
  double duration_us = 0;
  bool operator==(const LayerEvent&) const = default;
};

/// What a session measured while profiling was on. Value type.
struct SessionProfile {
  std::vector<LayerProfile> layers;  ///< in execution order
  std::vector<LayerEvent> events;    ///< the timeline; may cover only the first runs
  std::int64_t runs = 0;             ///< profiled runs
  std::string note;                  ///< how the engine timed its layers, in words
  /// Sum of every layer's total_ms divided by runs: the profiled run's time.
  double layers_ms_per_run() const;
  bool operator==(const SessionProfile&) const = default;
};

/// Profiles travel from the worker process as JSON.
nlohmann::json to_json(const SessionProfile& profile);
/// Throws Error on a malformed document.
SessionProfile session_profile_from_json(const nlohmann::json& json);

}  // namespace inferlab
