#pragma once
// The engine's private state, shared by import (engine.cpp) and the run
// loop (engine_run.cpp).

#include <chrono>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine.h"

namespace inferlab::native {

struct Engine::Impl {
  enum class Kind { kConstant, kInput, kOutput, kArena };
  struct Value {
    std::string name;
    Kind kind = Kind::kArena;
    DType dtype = DType::kFloat32;
    Shape shape;
    const Constant* constant = nullptr;  // kConstant: an initializer or `owned_view`
    std::unique_ptr<Tensor> owned;       // folded at prepare
    std::unique_ptr<Constant> owned_view;
    bool read_at_run = false;  // a kernel reads this constant in run()
    Layout layout;             // empty: plain
    int io_index = -1;         // kInput / kOutput position
    int root = -1;             // alias target (self when -1)
    std::int64_t offset = 0;
    int defined_at = -1, last_use = -1;
  };
  struct Step {
    const onnx::NodeProto* node = nullptr;  // null: a step the engine inserted (`label` says which)
    std::string label;
    std::unique_ptr<Kernel> kernel;
    std::vector<int> inputs, outputs;
    std::vector<View> in_views, out_views;
    std::string fused;
    std::string note;  // why the step runs as it does, when not as one would expect (appended to its implementation)
    double total_ms = 0;
    std::int64_t runs = 0;
  };

  const onnx::GraphProto& graph;
  int opset = 13;
  std::vector<Value> values;
  std::unordered_map<std::string, int> index_of;
  std::vector<int> graph_inputs, graph_outputs;
  std::vector<Step> steps;
  std::vector<TensorSpec> output_specs;
  Tensor arena;
  std::vector<void*> pointer;  // per value, refreshed each run
  bool profiling = false;
  // The profile's timeline: one event per step for the first kTraceRuns
  // profiled runs (enough to see run-to-run variation without unbounded growth).
  static constexpr std::int64_t kTraceRuns = 20;
  std::vector<TraceEvent> trace;
  std::int64_t profiled_runs = 0;
  std::chrono::steady_clock::time_point profile_start;

  Impl(const onnx::GraphProto& g, int graph_opset) : graph(g), opset(graph_opset) {}

  int value(const std::string& name) {
    auto [it, added] = index_of.emplace(name, static_cast<int>(values.size()));
    if (added) {
      Value v;
      v.name = name;
      values.push_back(std::move(v));
    }
    return it->second;
  }
  int root_of(int v) const {
    while (values[v].root >= 0) v = values[v].root;
    return v;
  }
};

}  // namespace inferlab::native
