#pragma once
/// @file profile_report.h
/// How `inferlab bench --profile` shows a per-layer profile (profile.h): a
/// text table with each layer's share and totals per op type, and the
/// timeline as a Chrome trace (chrome://tracing, Perfetto).

#include <string>

#include <nlohmann/json.hpp>

#include "inferlab/profile.h"

namespace inferlab {

/// The per-layer table in execution order (time per run, share of the
/// layers' total, implementation), then totals per op type, as text.
std::string render_profile_text(const SessionProfile& profile);

/// The timeline as a Chrome trace document ("traceEvents", complete "X"
/// events in microseconds, one track per profiled run's layers); `title`
/// names the process track (e.g. "mobilenet_v2 native fp32 batch 1").
nlohmann::json chrome_trace(const SessionProfile& profile, const std::string& title);

}  // namespace inferlab
