#pragma once
// The Timing Monitor of `inferlab live`: drives a running pipeline from the
// main thread, shows it (tui, plain or none), and turns SIGUSR1 / the 'b' key
// into backend switches and SIGINT / SIGTERM / 'q' into a clean stop.

#include <string>

#include "inferlab/live.h"

namespace inferlab::cli {

enum class MonitorMode { kTui, kPlain, kNone };

/// Parses --monitor; throws Error naming the flag.
MonitorMode monitor_mode_from_name(const std::string& name);

/// Runs until the pipeline finishes; returns when every stage has ended.
/// A tui request without a terminal falls back to plain (and says so).
void run_monitor(LivePipeline& pipeline, MonitorMode mode);

}  // namespace inferlab::cli
