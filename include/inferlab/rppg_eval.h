#pragma once
/// @file rppg_eval.h
/// `inferlab rppg-eval`: heart-rate accuracy of each rPPG method on a fixed,
/// seeded set of synthetic clips and, when given, the UBFC-rPPG dataset.
/// Every clip is read once (face tracking and skin colour, the live
/// pipeline's own code); each method then runs the live pipeline's pulse
/// extraction and Welch estimate on the same frames, reading every second.

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "inferlab/result.h"
#include "inferlab/rppg.h"

namespace inferlab {

/// One clip of an evaluation set.
struct EvalClip {
  std::string name;    ///< e.g. "still", "motion", "ubfc/subject1"
  std::string source;  ///< frame_source.h spec
};

/// The synthetic set: still, motion, light, bpm45, bpm150, drift; each
/// `clip_s` seconds at 640x480, 30 fps, sensor noise 2 grey levels, fixed seeds.
std::vector<EvalClip> synthetic_eval_set(double clip_s = 30);

/// Every sub-folder of `dir` holding vid.avi and ground_truth.txt (UBFC-rPPG
/// DATASET_2 layout). Throws Error naming `--set` when there is none.
std::vector<EvalClip> ubfc_eval_set(const std::string& dir);

/// Settings of an evaluation.
struct EvalOptions {
  std::vector<PulseMethod> methods{PulseMethod::kGreen, PulseMethod::kChrom, PulseMethod::kPos, PulseMethod::kNeural};
  std::string backend = "opencv";  ///< runs the neural model
  std::string model = "rppg_net";  ///< neural: MODEL argument
  std::string model_dir;
  double window_s = 10;
};

/// Errors of one group of readings (a clip, or all clips of a method).
struct EvalMetrics {
  int readings = 0;                    ///< heart-rate readings compared with ground truth
  int unavailable = 0;                 ///< readings the method could not give
  double mae = 0, rmse = 0, mape = 0;  ///< BPM, BPM, percent
  std::optional<double> pearson;       ///< needs >= 3 readings and spread in both series
};

/// One method on one clip, or why it could not run there.
struct ClipResult {
  std::string clip, method;
  ResultStatus status = ResultStatus::kOk;  ///< ok or failed
  std::string reason;
  EvalMetrics metrics;
  double truth_bpm_mean = 0;
};

/// The whole evaluation.
struct EvalReport {
  std::vector<ClipResult> clips;
  std::vector<std::pair<std::string, EvalMetrics>> methods;  ///< pooled over clips, per method
  std::string neural_status;                                 ///< "ok", or why the neural method did not run
};

/// Runs the evaluation. Throws Error for a source that cannot be opened; a
/// neural model that cannot be loaded is recorded (every neural row failed
/// with the reason), not thrown. Not thread-safe.
EvalReport evaluate_rppg(const std::vector<EvalClip>& clips, const EvalOptions& options);

/// The report as JSON (schema "inferlab.rppg-eval/1" is added by the CLI).
nlohmann::json eval_report_json(const EvalReport& report);

}  // namespace inferlab
