#pragma once
/// @file live_json.h
/// The `live --json` document of CLI.md and the plain-text summaries.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "inferlab/live.h"

namespace inferlab {

/// One run as CLI.md's `live --json` object (backend, method, source, frames,
/// fps_avg, bpm_median, bpm_series [[t_s, bpm, snr]], bpm_mae, bpm_rmse,
/// stages{name: {p50_ms, p99_ms}}, rss_mb_avg, rss_mb_max, dropped_frames,
/// switches[{at_s, from, to, switch_ms}]) plus frames_captured, backend_role,
/// duration_s, power_w, paced, peak_rss_mb, model, model_sha256, each stage's
/// p90_ms, max_ms, mean_ms and count, and stage_percentiles (the note below).
/// Thread-safe (pure function).
nlohmann::json live_report_json(const LiveReport& report);

/// The inverse of live_report_json() (how `live --compare` reads each child's
/// run); bpm_series is left empty. Throws Error (kRuntime) on a malformed
/// document. Thread-safe (pure function).
LiveReport live_report_from_json(const nlohmann::json& json);

/// How the stage figures were obtained, in words (written beside them in the
/// JSON and kept with each stored row): which are histogram percentiles and
/// the histogram's bin width. Thread-safe.
std::string stage_percentiles_note();

/// One line of the plain Timing Monitor (FPS, stages, RSS, power, BPM).
/// `fps_now` is measured by the caller between two snapshots.
std::string monitor_line(const LiveSnapshot& snapshot, double fps_now);

/// The reference demonstrator's comparison table: one row per run with
/// average FPS, average and peak memory, per-stage p50 latency, BPM median.
std::string comparison_table(const std::vector<LiveReport>& runs);

}  // namespace inferlab
