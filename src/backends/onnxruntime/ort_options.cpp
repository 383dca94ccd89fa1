#include "ort_options.h"

#include "inferlab/engine_options.h"

namespace inferlab::ort {

OrtSettings settings_from(const SessionOptions& options) {
  OrtSettings settings;
  settings.intra_op_threads = options.intra_op_threads;
  for (const auto& [key, value] : options.engine_options) {
    if (key.rfind("onnxruntime.", 0) != 0) continue;  // another engine's option
    check_engine_option(key, value);                  // the same table the CLI checks flags against
    if (key == "onnxruntime.graph_optimization") {
      settings.optimization_name = value;
      settings.optimization = value == "all"        ? ORT_ENABLE_ALL
                              : value == "extended" ? ORT_ENABLE_EXTENDED
                              : value == "basic"    ? ORT_ENABLE_BASIC
                                                    : ORT_DISABLE_ALL;
    } else if (key == "onnxruntime.spinning") {
      settings.spinning = value == "on";
    }
  }
  return settings;
}

Ort::SessionOptions make_session_options(const OrtSettings& settings) {
  Ort::SessionOptions options;
  options.SetIntraOpNumThreads(settings.intra_op_threads);
  options.SetInterOpNumThreads(1);
  options.SetExecutionMode(ORT_SEQUENTIAL);
  options.SetGraphOptimizationLevel(settings.optimization);
  options.AddConfigEntry("session.intra_op.allow_spinning", settings.spinning ? "1" : "0");
  options.AddConfigEntry("session.inter_op.allow_spinning", "0");
  return options;
}

Ort::Env& process_env() {
  // One Env per process is what ONNX Runtime expects; it owns the logger.
  static Ort::Env env(ORT_LOGGING_LEVEL_ERROR, "inferlab");
  return env;
}

std::string describe(const OrtSettings& settings) {
  return std::to_string(settings.intra_op_threads) + " intra-op thread(s) (spinning " +
         (settings.spinning ? "on" : "off") + "), 1 inter-op, sequential execution, graph optimization " +
         settings.optimization_name;
}

}  // namespace inferlab::ort
