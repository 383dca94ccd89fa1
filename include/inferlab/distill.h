#pragma once
/// @file distill.h
/// `inferlab optimize TEACHER --distill`: knowledge distillation. A student
/// architecture is trained on the teacher's temperature-softened outputs plus
/// the labels, and, in the same seeded run, the same student on the labels
/// alone; teacher, distilled student and label-only student are then measured
/// like every optimize result (size, parameters, FLOPs, Top-1/Top-5 per
/// backend, batch-1 latency). Training runs in models/train.py (training.h).

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "inferlab/result.h"
#include "inferlab/run_rules.h"
#include "inferlab/zoo.h"

namespace inferlab {

/// What to distil. Field names carry units.
struct DistillOptions {
  ResolvedModel teacher;     ///< needs an ONNX file; its TorchScript file, when present, computes the soft targets
  std::string student;       ///< an architecture name (models/digits_small.py STUDENTS) or a .onnx file
  std::string dataset;       ///< training set, e.g. "digits:train"
  std::string eval_dataset;  ///< held-out set measured at the end (and per epoch)
  std::string output_path;   ///< the distilled student's .onnx; the label-only one goes to <stem>.labels-only.onnx
  double temperature = 4;    ///< softmax temperature of the soft targets
  double alpha = 0.9;        ///< weight of the soft-target loss; 1 - alpha weighs the label loss
  int epochs = 12;
  double lr = 3e-3;  ///< AdamW peak learning rate (cosine decay to 0)
  int seed = 0;      ///< seeds both students' initialisation, batches and augmentation
  std::vector<std::string> backends{"opencv", "torch", "native"};
  int threads = 1;
  std::size_t eval_limit = 0;  ///< first N evaluation samples; 0: all
  bool measure_latency = true;
  RunSettings latency_run;
};

/// One of the three models compared.
struct DistilledModel {
  std::string role;  ///< "teacher" | "distilled" | "labels-only"
  std::string onnx_path, torchscript_path;
  std::int64_t parameters = 0;  ///< of the ONNX file (BatchNorm folded)
  std::int64_t size_bytes = 0;  ///< of the ONNX file
  std::int64_t flops_per_sample = 0;
  double train_seconds = 0;           ///< 0 for the teacher
  std::vector<BenchResult> accuracy;  ///< one row per backend
};

/// Everything the distillation reports.
struct DistillReport {
  std::string teacher, student, dataset, eval_dataset;
  double temperature = 0, alpha = 0;
  int epochs = 0, seed = 0;
  std::vector<DistilledModel> models;  ///< teacher, distilled, labels-only
  std::vector<BenchResult> latency;    ///< batch 1, every model on every backend
  nlohmann::json training;             ///< what models/train.py returned (per-epoch loss and held-out top-1)
  double training_seconds = 0;         ///< wall time of the training worker
  std::vector<std::string> notes;
};

/// The checks run_distill() makes before any work; throws Error (kBadInput).
void check_distill_options(const DistillOptions& options);

/// Runs the distillation and writes the students (ONNX with the teacher's
/// preprocessing metadata, and TorchScript beside them). Throws
/// Error(kBadInput) for bad input: a student whose output classes differ
/// from the teacher's, a dataset whose input shape differs from the
/// teacher's (naming both), an unknown student, a teacher with no form
/// torch can run.
DistillReport run_distill(const DistillOptions& options, const std::function<void(const std::string&)>& progress);

/// The report as JSON (schema "inferlab.distill/1").
nlohmann::json to_json(const DistillReport& report);
/// The report as terminal tables.
std::string render_distill_report(const DistillReport& report);

}  // namespace inferlab
