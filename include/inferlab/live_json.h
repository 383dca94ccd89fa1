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
/// duration_s, power_w, paced. Thread-safe (pure function).
nlohmann::json live_report_json(const LiveReport& report);

/// One line of the plain Timing Monitor (FPS, stages, RSS, power, BPM).
/// `fps_now` is measured by the caller between two snapshots.
std::string monitor_line(const LiveSnapshot& snapshot, double fps_now);

/// The reference demonstrator's comparison table: one row per run with
/// average FPS, average and peak memory, per-stage p50 latency, BPM median.
std::string comparison_table(const std::vector<LiveReport>& runs);

}  // namespace inferlab
