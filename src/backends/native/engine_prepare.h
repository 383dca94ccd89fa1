#pragma once
// Engine::prepare()'s phases (engine_prepare.cpp), as a class that carries
// what one phase hands the next; Engine::prepare() (engine.cpp) lists them.

#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "engine_impl.h"
#include "fusion.h"
#include "memory_plan.h"

namespace inferlab::native {

// prepare()'s working state, handed from one phase to the next; it ends
// with prepare(). Phases run in the order Engine::prepare() lists them.
class Engine::Preparer {
 public:
  Preparer(Engine& engine, Impl& m) : engine_(engine), m_(m) {
    for (const auto& o : m.graph.output()) output_names_.insert(o.name());
  }

  void bind_initializers();
  void bind_graph_inputs(const std::vector<Shape>& input_shapes);
  void find_fusions();
  void count_weight_readers();
  void start_tactics();
  void define_constant_nodes();
  void widen_float16_inputs();
  void create_steps();
  void bind_graph_outputs();
  void plan_lifetimes();
  void plan_arena();
  void describe_step_views();
  void release_weights();
  void finish_tactics();

 private:
  // A node's part in create_steps(), in order.
  std::vector<std::string> kernel_inputs(const onnx::NodeProto& node) const;
  std::string output_name(const onnx::NodeProto& node, int k) const;
  Impl::Step create_kernel(const onnx::NodeProto& node, std::vector<int>& ins);
  std::pair<float, float> epilogue_bounds(const Fusion& fused);
  bool read_only_by_bf16_products(const std::string& value);
  bool all_constant(const std::vector<int>& ins) const;
  std::vector<InputDesc> insert_input_conversions(const Kernel& kernel, std::vector<int>& ins);
  bool prepare_kernel(Impl::Step& step, const std::vector<InputDesc>& descs, const std::vector<int>& outs);
  void fold_constant(Kernel& kernel, const std::vector<int>& ins, const std::vector<int>& outs);
  void append_step(Impl::Step step, std::vector<int> ins, std::vector<int> outs);
  void done_reading(const std::vector<int>& ins, const Kernel* kernel);
  // Steps no node names.
  void add_internal(std::unique_ptr<Kernel> kernel, std::string label, int from, int to);
  int plain_copy_of(int from);
  int float32_copy_of(int from, bool plain);

  Engine& engine_;
  Impl& m_;
  std::set<std::string> output_names_;
  std::vector<std::pair<int, int>> half_inputs_;  // float16 graph inputs: {raw value, widened value}
  FusionPlan fusions_;
  std::unordered_map<int, int> pending_readers_;  // initializer value -> readers not yet prepared
  std::unique_ptr<Tuner> tuner_;
  std::unordered_map<int, int> plain_copy_;  // blocked value -> its plain copy
  // bf16 value and whether the copy is plain (else in the value's layout) -> its float32 copy.
  std::map<std::pair<int, bool>, int> float32_copy_;
  // Value name -> the running nodes that read it, with the input position (read_only_by_bf16_products).
  std::unordered_map<std::string, std::vector<std::pair<const onnx::NodeProto*, std::size_t>>> readers_;
  bool readers_indexed_ = false;
  std::vector<Lifetime> lifetimes_;  // arena values, by plan_lifetimes() for plan_arena()
};

}  // namespace inferlab::native
