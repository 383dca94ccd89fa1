#include "bench_flags.h"

#include <algorithm>

#include "cli_util.h"
#include "inferlab/engine_options.h"
#include "inferlab/error.h"
#include "inferlab/registry.h"

namespace inferlab::cli {

void EngineFlags::add_to(CLI::App& sub) {
  sub.add_option("--ort-opt", ort_opt,
                 "onnxruntime graph optimization level: all (default), extended, basic or disable");
  sub.add_option("--ort-spinning", ort_spinning,
                 "on | off: whether onnxruntime's idle intra-op threads spin (default off: on is faster only on an "
                 "idle machine; docs/onnxruntime.md)");
  sub.add_option("--ov-hint", ov_hint, "latency | throughput: openvino's CPU performance hint (default latency)");
  sub.add_option(
      "--tvm-trials", tvm_trials,
      "N: tvm tunes the model with MetaSchedule, N measured candidates in all, before it is measured "
      "(records cached in $INFERLAB_TVM_TUNING_DIR, else $XDG_CACHE_HOME or ~/.cache, then inferlab/tvm-tuning/; "
      "default 0: untuned)");
}

std::map<std::string, std::string> EngineFlags::engine_options() const {
  std::map<std::string, std::string> options;
  set_engine_option(options, "onnxruntime.graph_optimization", ort_opt);
  set_engine_option(options, "onnxruntime.spinning", ort_spinning);
  set_engine_option(options, "openvino.hint", ov_hint);
  set_engine_option(options, "tvm.trials", tvm_trials);
  return options;
}

void ModelBackendFlags::add_to(CLI::App& sub) {
  engine.add_to(sub);
  sub.add_option("MODEL", models, "Model paths (.onnx, TorchScript .pt) or prepared model names")->required();
  sub.add_option("--backends", backends, "Comma list of backends; the first is the reference by default")
      ->capture_default_str();
  sub.add_option("--threads", threads, "Intra-op threads for every engine (default: online CPUs)");
  sub.add_option("--tactics", tactics,
                 "on | off: engines that can (native) time each layer's implementations at prepare and keep the "
                 "fastest, cached on disk ($INFERLAB_TACTIC_CACHE, else $XDG_CACHE_HOME or ~/.cache, then "
                 "inferlab/tactics.tsv; docs/native.md)")
      ->capture_default_str();
  sub.add_option("--shape", shapes, "Input shape NAME=1x3x224x224 (or just the dims for one input); repeatable");
  sub.add_option("--model-dir", model_dir,
                 "Prepared model directory (default $INFERLAB_MODEL_DIR or ~/.cache/inferlab/models)");
  sub.add_option("--reference", reference, "Backend whose outputs are the reference (default: first of --backends)");
  sub.add_option("--tolerance", tolerance,
                 "Allowed max |diff| relative to max |reference| (absolute when the reference is all zeros)")
      ->capture_default_str();
  sub.add_option("--min-cosine", min_cosine, "Required cosine similarity with the reference")->capture_default_str();
  sub.add_option("--timeout-s", timeout_s, "Kill a configuration's worker after this many seconds")
      ->capture_default_str();
}

void ModelBackendFlags::fill(BenchOptions& options) const {
  if (threads != kThreadsNotGiven && threads < 1)
    throw Error("--threads " + std::to_string(threads) + ": must be >= 1");
  options.threads = threads == kThreadsNotGiven ? default_thread_count() : threads;
  if (tactics != "on" && tactics != "off") throw Error("--tactics " + tactics + ": expected on or off");
  options.tactic_selection = tactics == "on";
  options.engine_options = engine.engine_options();
  options.backends = split_list(backends);
  if (options.backends.empty()) throw Error("--backends: give at least one backend");
  for (const auto& name : options.backends) check_backend_available(name);  // unknown names fail before any work
  options.reference = reference;
  if (!reference.empty() &&
      std::find(options.backends.begin(), options.backends.end(), reference) == options.backends.end()) {
    throw Error("--reference " + reference + ": not among --backends " + backends);
  }
  if (reference == "null") throw Error("--reference null: the null backend computes nothing and cannot be a reference");
  if (!(tolerance >= 0)) throw Error("--tolerance: must be >= 0");
  if (!(min_cosine >= -1 && min_cosine <= 1)) throw Error("--min-cosine: must be in [-1, 1]");
  if (!(timeout_s > 0)) throw Error("--timeout-s: must be > 0");
  options.tolerance = tolerance;
  options.min_cosine = min_cosine;
  options.worker_timeout_s = timeout_s;
  options.shape_overrides = parse_shapes(shapes);
  const std::string dir = model_directory(model_dir);
  for (const auto& argument : models) {
    options.models.push_back(resolve_model(argument, dir));
    declare_inputs_from_shapes(options.models.back(), options.shape_overrides);
  }
}

void declare_inputs_from_shapes(ResolvedModel& model, const std::map<std::string, Shape>& shapes) {
  // A bare TorchScript file carries no input declaration; --shape is then the
  // declaration. Positional inputs cannot be ordered from named flags, so one.
  if (!model.inputs.empty() || shapes.empty()) return;
  if (shapes.size() > 1) {
    throw Error(model.argument +
                ": a bare TorchScript file declares no input order, so --shape can name one input "
                "only; for several, add it with `inferlab models add NAME --onnx F --torchscript F`");
  }
  const auto& [name, shape] = *shapes.begin();
  model.inputs.push_back(TensorSpec{name.empty() ? "input" : name, DType::kFloat32, shape, {}});
}

}  // namespace inferlab::cli
