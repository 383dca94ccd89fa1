#pragma once
// ONNX Runtime's profiling JSON (SessionOptions::EnableProfiling) turned into
// the common per-layer profile of `bench --profile`.

#include <string>

#include <nlohmann/json.hpp>

#include "inferlab/profile.h"

namespace inferlab::ort {

/// Builds a SessionProfile from ORT's profile document (an array of Chrome
/// trace events): one layer per executed node ("<node>_kernel_time" events of
/// category "Node"), op from args.op_name, implementation from args.provider;
/// runs are the "model_run" events. The first `skip_runs` runs (warm-up) and
/// every node event inside them are left out. Throws Error on a document
/// that is not such an array.
SessionProfile profile_from_ort_json(const nlohmann::json& events, int skip_runs);

}  // namespace inferlab::ort
