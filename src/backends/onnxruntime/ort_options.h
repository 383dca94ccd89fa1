#pragma once
// How an ONNX Runtime session is configured from inferlab's SessionOptions:
// the engine options this adapter reads (SessionOptions::engine_options keys
// "onnxruntime.*"), parsed and checked once, and turned into Ort settings.

#include <onnxruntime_cxx_api.h>

#include <string>

#include "inferlab/backend.h"

namespace inferlab::ort {

/// The adapter's settings for one session.
struct OrtSettings {
  GraphOptimizationLevel optimization = ORT_ENABLE_ALL;
  std::string optimization_name = "all";  ///< as the user wrote it: all | extended | basic | disable
  /// Whether idle intra-op threads spin between parallel sections
  /// ("session.intra_op.allow_spinning"). Off by default, unlike ORT itself:
  /// on was about 15% faster at batch 1 on an idle 2-core machine, but about
  /// 2x slower whenever other processes competed for the cores
  /// (bench/ort_spinning.sh, docs/onnxruntime.md); off also leaves the cores
  /// to a live pipeline's other stages.
  bool spinning = false;
  int intra_op_threads = 1;
};

/// Reads options.engine_options' "onnxruntime.*" keys; throws Error naming
/// the key and the accepted values for an unknown key or value.
OrtSettings settings_from(const SessionOptions& options);

/// An Ort::SessionOptions for `settings`: intra-op threads, one inter-op
/// thread, sequential execution, the optimization level and spinning.
Ort::SessionOptions make_session_options(const OrtSettings& settings);

/// The one Ort::Env of this process (created on first use; warnings only).
Ort::Env& process_env();

/// "threads N intra-op (spinning on|off), 1 inter-op, sequential, graph optimization all".
std::string describe(const OrtSettings& settings);

}  // namespace inferlab::ort
