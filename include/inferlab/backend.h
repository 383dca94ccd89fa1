#pragma once
/// @file backend.h
/// The backend contract: an adapter over an existing inference engine.
/// Lifecycle: Backend::supports() -> Backend::load() -> Session::prepare() ->
/// Session::run() (the only timed call) -> Session destroyed. The value types
/// it shares with every layer (ModelFormat, ModelSource, Precision,
/// TimingBoundary) are contract_types.h's.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "inferlab/contract_types.h"
#include "inferlab/profile.h"
#include "inferlab/tensor.h"

namespace inferlab {

/// Options applied when a session is created.
struct SessionOptions {
  Precision precision = Precision::kFp32;
  int intra_op_threads = 1;  ///< threads an engine may use inside one run (>= 1)
  /// Whether prepare() may time the implementations that fit each layer on
  /// the actual shapes and keep the fastest, remembering the choices in an
  /// on-disk timing cache (`native`: docs/native.md). Off: the engine's
  /// default choice, nothing timed. Backends without such a choice ignore it.
  bool tactic_selection = true;
  /// Engine-specific settings, keyed "<backend>.<setting>"; each backend reads
  /// its own keys, rejects an unknown key of its own with Error, and ignores
  /// the others. Known: "onnxruntime.graph_optimization" (all | extended |
  /// basic | disable), "onnxruntime.spinning" (on | off), "openvino.hint" (latency |
  /// throughput), "tvm.trials" (a whole number >= 0; engine_options.h lists them all).
  std::map<std::string, std::string> engine_options;
};

/// One loaded model. Not thread-safe: one thread drives a session.
class Session {
 public:
  virtual ~Session() = default;

  /// Fixes the input shapes (batch included) and does all allocation. Output
  /// specs are valid afterwards. Throws Error when the engine rejects the shapes.
  virtual void prepare(const std::vector<Shape>& input_shapes) = 0;

  /// Output specs after prepare() (shapes fully known).
  virtual std::vector<TensorSpec> output_specs() const = 0;

  /// Runs the model once. `inputs` follow the model's input order; `outputs`
  /// are pre-allocated by the caller with output_specs(). The only timed call.
  /// It may come from another thread than prepare() (one at a time): the
  /// session applies SessionOptions::intra_op_threads on the calling thread,
  /// since engines' thread settings (OpenMP's) are per thread.
  virtual void run(const std::vector<const Tensor*>& inputs, std::vector<Tensor*>& outputs) = 0;

  /// Starts (true) or stops (false) the per-layer profile of the following
  /// run() calls; starting clears what was collected. Call after prepare().
  /// Returns false when this engine has no per-layer profile. Profiling adds
  /// clock reads per layer, so it is never on while latency is measured.
  virtual bool set_profiling(bool on) {
    (void)on;
    return false;
  }
  /// What was collected since set_profiling(true); empty when unsupported.
  virtual SessionProfile profile() const { return {}; }

  /// What the timed region of run() contains, in words and as a category.
  virtual TimingBoundary timing_boundary() const = 0;
  virtual std::string timed_region_description() const = 0;
};

/// An answer to Backend::supports(): yes, or no with a reason.
struct SupportAnswer {
  bool supported = false;
  std::string reason;  ///< why not; empty when supported
  static SupportAnswer yes() { return {true, {}}; }
  static SupportAnswer no(std::string why) { return {false, std::move(why)}; }
};

/// An inference engine adapter. Implementations are stateless apart from
/// engine-global settings; create sessions with load(). Not thread-safe.
class Backend {
 public:
  virtual ~Backend() = default;

  /// Registry name, e.g. "opencv".
  virtual std::string name() const = 0;
  /// Engine version string, e.g. "4.6.0".
  virtual std::string version() const = 0;
  /// Devices this backend can run on, e.g. {"cpu"}.
  virtual std::vector<std::string> devices() const = 0;
  /// Build facts shown by `inferlab info` (BLAS, oneDNN, ISA, ...).
  virtual std::map<std::string, std::string> build_info() const = 0;
  /// How the engine is configured for `threads` intra-op threads, in words.
  virtual std::string threading_description(int threads) const = 0;

  /// The format this backend reads.
  virtual ModelFormat format() const = 0;
  /// Whether this backend can run `model` at `precision`; a reason when not.
  virtual SupportAnswer supports(const ModelSource& model, Precision precision) const = 0;
  /// Loads the model file. Throws Error with the engine's message on failure.
  virtual std::unique_ptr<Session> load(const ModelSource& model, const SessionOptions& options) = 0;
};

/// The checks every Backend::load() starts with: the model file exists (for
/// backends that read one), threads >= 1, and backend.supports() says yes.
/// Throws Error prefixed with the backend's name otherwise.
void check_load_preconditions(const Backend& backend, const ModelSource& model, const SessionOptions& options);

}  // namespace inferlab
