#include "ort_options.h"

#include "inferlab/error.h"

namespace inferlab::ort {

namespace {

constexpr const char* kOptimizationKey = "onnxruntime.graph_optimization";
constexpr const char* kSpinningKey = "onnxruntime.spinning";

GraphOptimizationLevel level_from_name(const std::string& name) {
  if (name == "all") return ORT_ENABLE_ALL;
  if (name == "extended") return ORT_ENABLE_EXTENDED;
  if (name == "basic") return ORT_ENABLE_BASIC;
  if (name == "disable") return ORT_DISABLE_ALL;
  throw Error("--ort-opt " + name + ": expected all, extended, basic or disable");
}

}  // namespace

OrtSettings settings_from(const SessionOptions& options) {
  OrtSettings settings;
  settings.intra_op_threads = options.intra_op_threads;
  for (const auto& [key, value] : options.engine_options) {
    if (key.rfind("onnxruntime.", 0) != 0) continue;  // another engine's option
    if (key == kOptimizationKey) {
      settings.optimization = level_from_name(value);
      settings.optimization_name = value;
    } else if (key == kSpinningKey) {
      if (value != "on" && value != "off") throw Error("--ort-spinning " + value + ": expected on or off");
      settings.spinning = value == "on";
    } else {
      throw Error("onnxruntime: unknown engine option '" + key + "' (known: " + kOptimizationKey + ", " + kSpinningKey +
                  ")");
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
