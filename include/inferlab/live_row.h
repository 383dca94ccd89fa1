#pragma once
/// @file live_row.h
/// A finished `inferlab live` run as a results-store row (scenario "live"),
/// so live runs are listed, exported and reported beside bench rows.

#include <string>

#include "inferlab/live.h"
#include "inferlab/result.h"

namespace inferlab {

/// The stored row of `report`, run with `threads` engine threads. The model is
/// the neural model's name, else "rppg-<method>" (as `rppg-eval` names it);
/// the backend is the one that served the run, or each backend in the order
/// they served it ("opencv>torch") when it was switched, since the stage
/// figures then mix them; backend_version likewise. count is the frames that
/// went through every stage, throughput_per_s their rate, and `latency` is
/// left empty: the stage figures are in `live` (LiveFields). Creates each
/// named backend to ask its version (create_backend: throws Error for a name
/// not compiled in). Pure apart from that; safe to call from any thread.
BenchResult live_result_row(const LiveReport& report, int threads);

/// The row of a compared backend whose run failed: status "failed" and
/// `reason`, no figures. `model` is the neural model's name or empty.
BenchResult failed_live_row(const std::string& backend, const std::string& method, const std::string& model,
                            int threads, const std::string& reason);

}  // namespace inferlab
