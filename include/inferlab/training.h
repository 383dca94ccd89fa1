#pragma once
/// @file training.h
/// Training for `inferlab optimize` (fine-tuning after pruning, distillation):
/// models/train.py run by Debian's /usr/bin/python3 with python3-torch, the
/// interpreter `models prepare` uses. Training is seeded and single-threaded
/// in the worker, so the weights do not depend on the core count.

#include <functional>
#include <string>

#include <nlohmann/json.hpp>

namespace inferlab {

/// One line of worker progress: "train: fine-tune epoch 2/5 loss 0.06 held-out
/// top-1 98.4% (8.0 s)" at each epoch's end, and, about 25 times an epoch,
/// "progress: LABEL EPOCH/EPOCHS STEP/STEPS LOSS" for a progress bar.
using TrainingProgressFn = std::function<void(const std::string& line)>;

/// Runs models/train.py with `request` (its fields are documented in that
/// script; "result" is filled in here with a file in a scratch folder) and
/// returns the JSON it wrote, with "wall_seconds" added. The interpreter is
/// $INFERLAB_PYTHON or /usr/bin/python3; the script $INFERLAB_TRAIN_SCRIPT or
/// the source tree's models/train.py. Every line the worker writes to stderr
/// or stdout goes to `progress`. Throws Error(kBadInput) with the worker's
/// one-line reason when it rejects its input (exit 3), Error(kRuntime) naming
/// its last line for any other failure.
nlohmann::json run_training_worker(nlohmann::json request, const TrainingProgressFn& progress);

}  // namespace inferlab
