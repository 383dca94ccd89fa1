// The native engine's construction and its prepare(), a list of phases
// (engine_prepare.cpp), after XNNPACK's create/reshape/setup and ONNX
// Runtime's kernel-create / prepack / plan / execute.
#include "engine.h"

#include "engine_prepare.h"
#include "model_store.h"
#include "onednn_util.h"

namespace inferlab::native {

Engine::Engine(const std::string& onnx_path)
    : store_(std::make_unique<ModelStore>(onnx_path)), passes_(store_->passes()) {}

Engine::~Engine() = default;

void Engine::prepare(const std::vector<Shape>& input_shapes) {
  // Kernels keep references into the graph: the old plan goes first, then
  // weights released by the last prepare() are read back from the file.
  impl_.reset();
  if (bf16_ && !cpu_has_bf16()) throw Error("native: " + bf16_unsupported_reason(), ErrorKind::kUnsupported);
  if (store_->released()) store_->reload();
  auto fresh = std::make_unique<Impl>(store_->graph(), store_->opset());
  Preparer p(*this, *fresh);
  p.bind_initializers();
  p.bind_graph_inputs(input_shapes);
  p.find_fusions();
  p.count_weight_readers();
  folded_ = 0;  // this prepare()'s counts start here
  tactic_stats_ = TacticStats{};
  p.start_tactics();
  p.define_constant_nodes();
  p.widen_float16_inputs();
  p.create_steps();
  p.bind_graph_outputs();
  p.plan_lifetimes();
  p.plan_arena();
  p.describe_step_views();
  p.release_weights();
  p.finish_tactics();
  impl_ = std::move(fresh);
}

}  // namespace inferlab::native
