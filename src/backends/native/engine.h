#pragma once
// The native engine: an ONNX graph imported into a list of kernels over one
// memory arena. Import runs the shared graph passes, fuses Conv+activation,
// folds every node whose inputs are constants (and Shape) at prepare time,
// and places every intermediate tensor in the arena by liveness.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "inferlab/graph_passes.h"
#include "inferlab/onnx_graph.h"
#include "inferlab/tensor.h"
#include "kernel.h"
#include "tactics.h"

namespace inferlab::native {

/// Arena placement, measured at prepare.
struct MemoryPlan {
  std::int64_t arena_bytes = 0;         ///< one buffer for every intermediate tensor
  std::int64_t tensor_bytes_total = 0;  ///< what one buffer per tensor would take
  std::int64_t tensors = 0;             ///< intermediate tensors placed (aliases not counted)
  std::int64_t aliased = 0;             ///< reshape-like outputs that share their input's buffer
};

/// One executed layer, for profiles and tests.
struct StepInfo {
  std::string node;            ///< op and name
  std::string op;              ///< op type
  std::string implementation;  ///< e.g. "onednn:jit:avx2" or "reference"
  std::string fused;           ///< fused epilogue ("Relu", "Add+Relu", "Bias+Gelu", ...), empty if none
  Shape output_shape;
  double total_ms = 0;  ///< summed over profiled runs (0 unless profiling is on)
  std::int64_t runs = 0;
};

/// One step's execution in one profiled run (Engine::trace()).
struct TraceEvent {
  std::int32_t step = 0;  ///< index into steps()
  std::int32_t run = 0;   ///< profiled run, from 0
  double start_us = 0;    ///< from set_profiling(true)
  double duration_us = 0;
};

/// Operators among `ops` that the engine has no kernel for (sorted, unique;
/// other domains as "domain.op").
std::vector<std::string> unsupported_ops(const std::vector<OpType>& ops);
/// The same for every top-level node of `graph`.
std::vector<std::string> unsupported_ops(const OnnxGraph& graph);

/// One model ready to run. Not thread-safe: one thread drives it.
class ModelStore;

class Engine {
 public:
  /// Loads and imports `onnx_path`. Throws Error when the file is not a valid
  /// model or uses ops without a kernel (all of them named).
  explicit Engine(const std::string& onnx_path);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  /// Fixes input shapes, prepares every kernel, folds constants, plans memory.
  void prepare(const std::vector<Shape>& input_shapes);
  std::vector<TensorSpec> output_specs() const;
  /// Runs the prepared graph; inputs/outputs must match prepare()'s shapes.
  void run(const std::vector<const Tensor*>& inputs, std::vector<Tensor*>& outputs);

  /// Whether QDQ Convs, Gemms and MatMuls run as oneDNN int8 primitives
  /// (default) or as written (QuantizeLinear, DequantizeLinear, float32 op).
  /// Takes effect at the next prepare().
  void set_int8_kernels(bool on) { int8_kernels_ = on; }

  /// Whether float Convs, and Gemms/MatMuls by constant weights, compute in
  /// bfloat16 with float32 accumulation (weights converted once at prepare;
  /// Conv outputs, and pooling, concat and binary ops on them, stay bf16
  /// between such layers; float32 wherever another kernel reads and at the
  /// graph's outputs). Default off. prepare() throws Error (kUnsupported)
  /// on a CPU without avx512_bf16 or AMX. Takes effect at the next prepare().
  void set_bf16(bool on) { bf16_ = on; }

  /// Whether prepare() times the implementations that fit each Conv on the
  /// actual shapes and keeps the fastest (default on), remembering choices
  /// in the on-disk cache (default_tactic_cache_path(), read at every
  /// prepare()). Off: oneDNN's first choice, nothing timed, no file touched.
  /// Takes effect at the next prepare().
  void set_tactics(bool on) { tactics_ = on; }
  /// What tactic selection did in the last prepare() (zeros when off).
  const TacticStats& tactic_stats() const { return tactic_stats_; }

  /// Times every step of every run() from now on (adds two clock reads per
  /// step); steps() then carries the totals and trace() the timeline of the
  /// first 20 profiled runs. Turning it on clears both. Off by default.
  void set_profiling(bool on);
  /// The timeline recorded since set_profiling(true).
  const std::vector<TraceEvent>& trace() const;
  /// run() calls profiled since set_profiling(true).
  std::int64_t profiled_runs() const;

  const MemoryPlan& memory_plan() const { return plan_; }
  const std::vector<PassReport>& pass_reports() const { return passes_; }
  std::vector<StepInfo> steps() const;
  std::int64_t folded_nodes() const { return folded_; }

 private:
  struct Impl;
  class Preparer;  // prepare()'s phases (engine_prepare.h)
  std::unique_ptr<ModelStore> store_;
  std::unique_ptr<Impl> impl_;
  MemoryPlan plan_;
  std::vector<PassReport> passes_;
  std::int64_t folded_ = 0;
  bool int8_kernels_ = true;
  bool bf16_ = false;
  bool tactics_ = true;
  TacticStats tactic_stats_;
};

}  // namespace inferlab::native
