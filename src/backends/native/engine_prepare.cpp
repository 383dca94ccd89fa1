// Engine::prepare()'s phases: inputs bound, kernels created with their
// fused epilogues, conversions and layout reorders inserted, constants
// folded, lifetimes and the arena planned, weights released.
#include "engine_prepare.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include <oneapi/dnnl/dnnl.hpp>

#include "int8_operands.h"
#include "model/onnx_util.h"
#include "model_store.h"
#include "onednn_util.h"

namespace inferlab::native {

// Initializers are constants every later phase can read.
void Engine::Preparer::bind_initializers() {
  for (const auto& t : m_.graph.initializer()) {
    auto& v = m_.values[m_.value(t.name())];
    v.kind = Impl::Kind::kConstant;
    v.constant = engine_.store_->initializer(t.name());
    v.dtype = v.constant->dtype();
    v.shape = v.constant->shape();
  }
}

// The caller's shapes fix the graph's inputs: every shape after this follows from them.
void Engine::Preparer::bind_graph_inputs(const std::vector<Shape>& input_shapes) {
  for (const auto& input : m_.graph.input()) {
    int id = m_.value(input.name());
    if (m_.values[id].kind == Impl::Kind::kConstant) continue;  // IR<4 lists initializers as inputs
    const int io_index = static_cast<int>(m_.graph_inputs.size());
    if (io_index >= static_cast<int>(input_shapes.size())) {
      throw Error("native: the model has more inputs than the " + std::to_string(input_shapes.size()) +
                  " shape(s) given");
    }
    if (!shape_is_static(input_shapes[io_index]))
      throw Error("native: input shape " + shape_to_string(input_shapes[io_index]) + " must be fully known");
    const int elem_type = input.type().tensor_type().elem_type();
    const DType dtype = onnx_util::dtype_from_onnx(elem_type);
    if (dtype == DType::kUnknown || dtype == DType::kBFloat16) {
      throw Error("native: input '" + input.name() + "': element type " +
                      onnx::TensorProto::DataType_Name(static_cast<onnx::TensorProto::DataType>(elem_type)) +
                      " is not supported (float32, float16, int64, int32, int8, uint8 and bool are)",
                  ErrorKind::kUnsupported);
    }
    // float16 graph inputs are widened by a first step: the engine computes
    // in float32 (see widen_float16()).
    if (dtype == DType::kFloat16) {
      const int widened = id;
      id = m_.value(input.name() + "#float16");
      half_inputs_.emplace_back(id, widened);
    }
    auto& v = m_.values[id];
    v.kind = Impl::Kind::kInput;
    v.io_index = io_index;
    v.shape = input_shapes[io_index];
    v.dtype = dtype;
    m_.graph_inputs.push_back(id);
  }
  if (m_.graph_inputs.size() != input_shapes.size()) {
    throw Error("native: the model has " + std::to_string(m_.graph_inputs.size()) + " input(s) but " +
                std::to_string(input_shapes.size()) + " shape(s) were given");
  }
}

// Which nodes run inside another's kernel (epilogues, QDQ layers) decides
// what every kernel reads, so it comes before any kernel is made.
void Engine::Preparer::find_fusions() {
  fusions_ =
      plan_fusions(m_.graph, engine_.int8_kernels_, cpu_has_vnni() ? Int8Weights::kAny : Int8Weights::kSevenBitOnly);
}

// Weights are freed as soon as their last reader has prepared (Conv and
// MatMul keep reordered copies), so peak memory holds one copy plus the
// layer being converted, not two copies of the model.
void Engine::Preparer::count_weight_readers() {
  for (const auto& node : m_.graph.node()) {
    if (fusions_.absorbed.count(&node)) continue;
    for (const auto& name : kernel_inputs(node)) {
      if (!name.empty() && engine_.store_->initializer(name)) ++pending_readers_[m_.value(name)];
    }
  }
}

// Kernels with candidates time them through one Tuner, which reads the
// on-disk cache now and saves it in finish_tactics().
void Engine::Preparer::start_tactics() {
  if (engine_.tactics_) tuner_ = std::make_unique<Tuner>(default_tactic_cache_path());
}

// Constant nodes first: they read nothing, and exporters (and opset
// converters) may list one after a node that fuses its value (Clip bounds).
void Engine::Preparer::define_constant_nodes() {
  for (const auto& node : m_.graph.node()) {
    if (node.op_type() != "Constant") continue;
    const int out = m_.value(node.output(0));
    for (const auto& a : node.attribute()) {
      if (a.name() != "value")
        throw Error("native: Constant '" + node.output(0) + "' uses attribute '" + a.name() + "'");
      auto& v = m_.values[out];
      v.kind = Impl::Kind::kConstant;
      v.owned = std::make_unique<Tensor>(
          widen_float16(onnx_util::tensor_from_proto(a.t(), "native: Constant '" + node.output(0) + "'")));
      v.owned_view = std::make_unique<Constant>(*v.owned);
      v.constant = v.owned_view.get();
      v.dtype = v.constant->dtype();
      v.shape = v.constant->shape();
    }
    ++engine_.folded_;
  }
}

// The first steps: float16 graph inputs converted to the float32 the
// kernels compute in.
void Engine::Preparer::widen_float16_inputs() {
  for (const auto& [raw, widened] : half_inputs_) {
    add_internal(make_float16_conversion_kernel(false), "Cast (float16 input)", raw, widened);
  }
}

// One step per node that still runs on its own, in graph order, each kernel
// prepared on what the steps before it define; a node whose inputs are all
// known runs now instead (constant folding).
void Engine::Preparer::create_steps() {
  for (const auto& node : m_.graph.node()) {
    if (fusions_.absorbed.count(&node)) continue;
    std::vector<int> ins, outs;
    for (const auto& name : kernel_inputs(node)) ins.push_back(name.empty() ? -1 : m_.value(name));
    for (int k = 0; k < node.output_size(); ++k) outs.push_back(m_.value(output_name(node, k)));
    if (node.op_type() == "Constant") continue;  // defined by define_constant_nodes()
    Impl::Step step = create_kernel(node, ins);
    const bool constant_inputs = all_constant(ins);
    const std::vector<InputDesc> descs = insert_input_conversions(*step.kernel, ins);
    const bool blocked_output = prepare_kernel(step, descs, outs);
    // Constant folding: inputs all known (or only their shape matters).
    if ((constant_inputs || node.op_type() == "Shape") && !blocked_output && !output_names_.count(node.output(0))) {
      fold_constant(*step.kernel, ins, outs);
      continue;
    }
    append_step(std::move(step), std::move(ins), std::move(outs));
  }
}

// What a node's kernel reads: an int8 Conv reads past the Q/DQ nodes; a
// MatMul that absorbed its bias Add reads the bias third, as Gemm reads C;
// a fused epilogue's own operands (a QuantizeLinear's scale and zero point) follow.
std::vector<std::string> Engine::Preparer::kernel_inputs(const onnx::NodeProto& node) const {
  auto it = fusions_.int8_by_node.find(&node);
  const bool int8 = it != fusions_.int8_by_node.end();
  std::vector<std::string> names =
      int8 ? it->second.inputs : std::vector<std::string>(node.input().begin(), node.input().end());
  auto fused = fusions_.by_node.find(&node);
  if (fused == fusions_.by_node.end()) return names;
  if (!fused->second.bias.empty()) {
    if (int8) {
      names[Int8Operand::kBias] = fused->second.bias;
    } else {
      names.push_back(fused->second.bias);
    }
  }
  names.insert(names.end(), fused->second.operands.begin(), fused->second.operands.end());
  return names;
}

// A fused node writes the activation's output (or the Q after an int8 Conv) directly.
std::string Engine::Preparer::output_name(const onnx::NodeProto& node, int k) const {
  if (k == 0) {
    const auto int8 = fusions_.int8_by_node.find(&node);
    if (int8 != fusions_.int8_by_node.end() && !int8->second.output.empty()) return int8->second.output;
    const auto fused = fusions_.by_node.find(&node);
    if (fused != fusions_.by_node.end()) return fused->second.output;
  }
  return node.output(k);
}

// The node's kernel (the registry's, or the int8 Conv or MatMul of a QDQ
// layer) with its fused epilogue; a fused residual becomes its last input.
Engine::Impl::Step Engine::Preparer::create_kernel(const onnx::NodeProto& node, std::vector<int>& ins) {
  Impl::Step step;
  step.node = &node;
  const bool int8 = fusions_.int8_by_node.count(&node) != 0;
  step.kernel = !int8                      ? kernel_registry().at(node.op_type())(node, m_.opset)
                : node.op_type() == "Conv" ? make_int8_conv_kernel(node)
                                           : make_int8_matmul_kernel(node);
  step.kernel->set_bf16(engine_.bf16_);
  if (engine_.bf16_ && !int8 && (node.op_type() == "MatMul" || node.op_type() == "Gemm"))
    step.kernel->allow_bf16_output(read_only_by_bf16_products(output_name(node, 0)));
  if (const auto refused = fusions_.int8_refused.find(&node); refused != fusions_.int8_refused.end())
    step.note = refused->second;
  const auto fusion = fusions_.by_node.find(&node);
  if (fusion == fusions_.by_node.end()) return step;
  const Fusion& fused = fusion->second;
  const auto [lo, hi] = epilogue_bounds(fused);
  if (!fused.residual.empty()) ins.push_back(m_.value(fused.residual));  // the post-op's operand, last
  if (!fused.op.empty() && !step.kernel->fuse_epilogue(fused.op, lo, hi)) {
    throw Error("native: cannot fuse " + fused.op + " into " + node_prefix(node));
  }
  step.fused = fused.bias.empty() ? fused.op : fused.op.empty() ? "Bias" : "Bias+" + fused.op;
  return step;
}

// Whether every reader of `value` is a float Gemm or MatMul that reads it
// as A against constant 2-D weights: in a bf16 session such a product
// reads bf16 A as it is, so the product writing `value` may write bf16
// (a transformer's MLP: fc1 + Gelu -> fc2 then skips a float32 round trip).
// Weights folded later at prepare do not count: the answer errs towards
// float32, which any reader takes.
bool Engine::Preparer::read_only_by_bf16_products(const std::string& value) {
  if (output_names_.count(value)) return false;
  if (!readers_indexed_) {
    for (const auto& node : m_.graph.node()) {
      if (fusions_.absorbed.count(&node)) continue;
      auto names = kernel_inputs(node);
      // A fused residual is read too: create_kernel() appends it, last.
      if (const auto fused = fusions_.by_node.find(&node); fused != fusions_.by_node.end())
        names.push_back(fused->second.residual);
      for (std::size_t k = 0; k < names.size(); ++k) {
        if (!names[k].empty()) readers_[names[k]].emplace_back(&node, k);
      }
    }
    readers_indexed_ = true;
  }
  const auto it = readers_.find(value);
  if (it == readers_.end()) return false;
  for (const auto& [reader, position] : it->second) {
    if (position != 0 || (reader->op_type() != "MatMul" && reader->op_type() != "Gemm") ||
        fusions_.int8_by_node.count(reader) || reader->input_size() < 2)
      return false;
    const Constant* weights = engine_.store_->initializer(reader->input(1));
    if (!weights || weights->dtype() != DType::kFloat32 || weights->shape().size() != 2) return false;
  }
  return true;
}

// The two numbers a fused epilogue takes: Clip's bounds (attributes below
// opset 11, constant inputs since), HardSigmoid's alpha and beta; unbounded otherwise.
std::pair<float, float> Engine::Preparer::epilogue_bounds(const Fusion& fused) {
  const onnx::NodeProto* act = fused.activation;
  float lo = -INFINITY, hi = INFINITY;
  if (fused.op == "HardSigmoid") {
    Attributes a(*act);
    lo = a.f("alpha", 0.2F);
    hi = a.f("beta", 0.5F);
  }
  if (fused.op == "Clip") {
    Attributes a(*act);
    lo = a.f("min", lo);
    hi = a.f("max", hi);
    for (int k = 1; k < act->input_size() && k < 3; ++k) {
      if (act->input(k).empty()) continue;
      const int id = m_.value(act->input(k));
      if (m_.values[id].kind != Impl::Kind::kConstant)
        throw Error("native: Clip with non-constant bounds is not supported", ErrorKind::kUnsupported);
      (k == 1 ? lo : hi) = m_.values[id].constant->data_as<float>()[0];
    }
  }
  return {lo, hi};
}

// Whether every input present is a constant (at least one being there).
bool Engine::Preparer::all_constant(const std::vector<int>& ins) const {
  return !ins.empty() && std::all_of(ins.begin(), ins.end(),
                                     [&](int id) { return id < 0 || m_.values[id].kind == Impl::Kind::kConstant; });
}

// The kernel's input descriptions, with conversions inserted where it cannot
// read a value as it is: bf16 activations meeting a float32-only kernel
// become float32 (in their layout when the kernel takes it, else plain), and
// blocked values meeting a plain-only kernel are reordered to plain.
std::vector<InputDesc> Engine::Preparer::insert_input_conversions(const Kernel& kernel, std::vector<int>& ins) {
  std::vector<InputDesc> descs;
  for (int id : ins) {
    if (id < 0) {
      descs.push_back({});
      continue;
    }
    const auto& v = m_.values[id];
    descs.push_back({v.dtype, v.shape, v.kind == Impl::Kind::kConstant ? v.constant : nullptr, v.layout});
  }
  const bool any_bf16 = std::any_of(descs.begin(), descs.end(), [](const InputDesc& d) {
    return d.dtype == DType::kBFloat16 && d.constant == nullptr;
  });
  if (any_bf16 && !kernel.accepts_bf16(descs)) {
    std::vector<InputDesc> as_float32 = descs;
    for (auto& d : as_float32) {
      if (d.dtype != DType::kBFloat16) continue;
      d.dtype = DType::kFloat32;
      if (is_blocked(d.layout)) d.layout.data.data_type = dnnl_f32;
    }
    const bool plain = !kernel.accepts_layouts(as_float32);
    for (std::size_t k = 0; k < ins.size(); ++k) {
      if (ins[k] < 0 || descs[k].dtype != DType::kBFloat16) continue;
      ins[k] = float32_copy_of(ins[k], plain);
      descs[k] = {m_.values[ins[k]].dtype, m_.values[ins[k]].shape, nullptr, m_.values[ins[k]].layout};
    }
  }
  if (!kernel.accepts_layouts(descs)) {
    for (std::size_t k = 0; k < ins.size(); ++k) {
      if (ins[k] < 0 || !is_blocked(m_.values[ins[k]].layout)) continue;
      ins[k] = plain_copy_of(ins[k]);
      descs[k].layout = Layout();
    }
  }
  return descs;
}

// The kernel's own prepare (layouts, primitives, tactics, weight prepacking)
// fixes its outputs' types, shapes and layouts. Returns whether one is blocked.
bool Engine::Preparer::prepare_kernel(Impl::Step& step, const std::vector<InputDesc>& descs,
                                      const std::vector<int>& outs) {
  step.kernel->set_tuner(tuner_.get());
  std::vector<OutputDesc> out_descs;
  try {
    out_descs = step.kernel->prepare(descs);
  } catch (const dnnl::error& e) {
    throw Error("native: " + node_prefix(*step.node) + "oneDNN: " + e.what(), ErrorKind::kRuntime);
  }
  bool blocked_output = false;
  for (std::size_t k = 0; k < outs.size() && k < out_descs.size(); ++k) {
    m_.values[outs[k]].dtype = out_descs[k].dtype;
    m_.values[outs[k]].shape = out_descs[k].shape;
    m_.values[outs[k]].layout = out_descs[k].layout;
    blocked_output = blocked_output || is_blocked(out_descs[k].layout);
  }
  return blocked_output;
}

// Runs the kernel once now: its outputs become constants and no step is kept.
void Engine::Preparer::fold_constant(Kernel& kernel, const std::vector<int>& ins, const std::vector<int>& outs) {
  std::vector<View> in_views, out_views;
  for (int id : ins) {
    if (id < 0) {
      in_views.push_back({});
      continue;
    }
    auto& v = m_.values[id];
    in_views.push_back(
        {v.dtype, v.shape, v.kind == Impl::Kind::kConstant ? const_cast<void*>(v.constant->data()) : nullptr});
  }
  for (int id : outs) {
    auto& v = m_.values[id];
    v.kind = Impl::Kind::kConstant;
    v.owned = std::make_unique<Tensor>(v.dtype, v.shape);
    v.owned_view = std::make_unique<Constant>(*v.owned);
    v.constant = v.owned_view.get();
    out_views.push_back({v.dtype, v.shape, v.owned->data()});
  }
  kernel.run(in_views, out_views);
  done_reading(ins, nullptr);
  ++engine_.folded_;
}

// Keeps the step. Graph outputs are plain float32: a blocked or bf16 result
// goes through a reorder after it.
void Engine::Preparer::append_step(Impl::Step step, std::vector<int> ins, std::vector<int> outs) {
  std::vector<std::pair<int, int>> output_reorders;
  for (auto& id : outs) {
    const bool bf16_value = m_.values[id].dtype == DType::kBFloat16;
    if (!output_names_.count(m_.values[id].name) || (!is_blocked(m_.values[id].layout) && !bf16_value)) continue;
    const int blocked = m_.value(m_.values[id].name + "#blocked");
    m_.values[blocked].dtype = m_.values[id].dtype;
    m_.values[blocked].shape = m_.values[id].shape;
    m_.values[blocked].layout = m_.values[id].layout;
    m_.values[id].layout = Layout();
    output_reorders.emplace_back(blocked, id);
    id = blocked;
  }
  step.inputs = std::move(ins);
  step.outputs = std::move(outs);
  done_reading(step.inputs, step.kernel.get());
  m_.steps.push_back(std::move(step));
  for (const auto& [from, to] : output_reorders) {
    if (m_.values[from].dtype == DType::kBFloat16) {
      add_internal(make_float32_conversion_kernel(Layout()), "Reorder (bf16 output to float32)", from, to);
    } else {
      add_internal(make_reorder_kernel(Layout()), "Reorder (layout)", from, to);
    }
  }
}

// A weight's last reader has prepared: it is released unless a kernel
// reads it at run time or it is a graph output (see count_weight_readers()).
void Engine::Preparer::done_reading(const std::vector<int>& ins, const Kernel* kernel) {
  for (std::size_t k = 0; k < ins.size(); ++k) {
    auto it = pending_readers_.find(ins[k]);
    if (it == pending_readers_.end()) continue;
    auto& v = m_.values[ins[k]];
    if (kernel && kernel->reads_input_at_run(k)) v.read_at_run = true;
    if (--it->second == 0 && !v.read_at_run && !output_names_.count(v.name)) {
      engine_.store_->release(v.name);
      v.constant = nullptr;
    }
  }
}

// Steps no node names: layout reorders and float16 conversions at the graph's edges.
void Engine::Preparer::add_internal(std::unique_ptr<Kernel> kernel, std::string label, int from, int to) {
  Impl::Step step;
  step.label = std::move(label);
  step.kernel = std::move(kernel);
  const auto& v = m_.values[from];
  const auto out = step.kernel->prepare({{v.dtype, v.shape, v.constant, v.layout}});
  m_.values[to].dtype = out[0].dtype;
  m_.values[to].shape = out[0].shape;
  m_.values[to].layout = out[0].layout;
  step.inputs = {from};
  step.outputs = {to};
  m_.steps.push_back(std::move(step));
}

// A plain copy of a blocked value, made once for all plain-only readers.
int Engine::Preparer::plain_copy_of(int from) {
  auto [it, added] = plain_copy_.emplace(from, 0);
  if (added) {
    it->second = m_.value(m_.values[from].name + "#plain");
    add_internal(make_reorder_kernel(Layout()), "Reorder (layout)", from, it->second);
  }
  return it->second;
}

// A float32 copy of a bf16 value, made once for all float32-only readers
// that want it plain, and once for those that take its layout.
int Engine::Preparer::float32_copy_of(int from, bool plain) {
  auto [it, added] = float32_copy_.emplace(std::pair(from, plain), 0);
  if (added) {
    it->second = m_.value(m_.values[from].name + (plain ? "#float32" : "#float32-blocked"));
    const Layout layout = plain ? Layout() : m_.values[from].layout;
    add_internal(make_float32_conversion_kernel(layout), "Reorder (bf16 to float32)", from, it->second);
  }
  return it->second;
}

// The caller's outputs, in the graph's order; a float16 output was computed
// in float32, so a last step narrows it.
void Engine::Preparer::bind_graph_outputs() {
  for (const auto& o : m_.graph.output()) {
    int id = m_.value(o.name());
    if (o.type().tensor_type().elem_type() == onnx::TensorProto::FLOAT16 && m_.values[id].dtype == DType::kFloat32) {
      const int narrowed = m_.value(o.name() + "#float16");
      add_internal(make_float16_conversion_kernel(true), "Cast (float16 output)", id, narrowed);
      id = narrowed;
    }
    auto& v = m_.values[id];
    if (v.kind == Impl::Kind::kArena) {
      v.kind = Impl::Kind::kOutput;
      v.io_index = static_cast<int>(m_.graph_outputs.size());
    }
    m_.graph_outputs.push_back(id);
    m_.output_specs.push_back({o.name(), v.dtype, v.shape, ""});
  }
}

// Each arena value's first and last step, and which ones alias their input
// (reshape-like outputs), so that the arena can reuse bytes no one reads again.
void Engine::Preparer::plan_lifetimes() {
  for (int s = 0; s < static_cast<int>(m_.steps.size()); ++s) {
    auto& step = m_.steps[s];
    for (int id : step.inputs) {
      if (id >= 0) m_.values[id].last_use = s;
    }
    for (int id : step.outputs) m_.values[id].defined_at = s;
    const int in0 = step.inputs.empty() ? -1 : step.inputs[0];
    if (step.kernel->output_aliases_input() && in0 >= 0 && m_.values[step.outputs[0]].kind == Impl::Kind::kArena) {
      m_.values[step.outputs[0]].root = in0;
    }
  }
  std::map<int, std::size_t> lifetime_of_root;
  engine_.plan_ = MemoryPlan{};
  for (int id = 0; id < static_cast<int>(m_.values.size()); ++id) {
    auto& v = m_.values[id];
    if (v.kind != Impl::Kind::kArena || v.defined_at < 0) continue;
    const int root = m_.root_of(id);
    if (root != id) {
      ++engine_.plan_.aliased;
      auto it = lifetime_of_root.find(root);
      if (it != lifetime_of_root.end()) lifetimes_[it->second].last = std::max(lifetimes_[it->second].last, v.last_use);
      // A root outside the arena (input, constant, output) needs no placement;
      // its pointer simply outlives the graph run.
      continue;
    }
    // Blocked layouts pad channels: their buffers can exceed the logical size.
    const std::int64_t bytes =
        is_blocked(v.layout) ? static_cast<std::int64_t>(v.layout.get_size())
                             : static_cast<std::int64_t>(shape_element_count(v.shape) * dtype_size_bytes(v.dtype));
    lifetime_of_root[id] = lifetimes_.size();
    lifetimes_.push_back({id, v.defined_at, std::max(v.last_use, v.defined_at), bytes});
    engine_.plan_.tensor_bytes_total += bytes;
    ++engine_.plan_.tensors;
  }
  // An alias whose root is itself an alias of an arena value extends that
  // root: walk once more with resolved roots.
  for (int id = 0; id < static_cast<int>(m_.values.size()); ++id) {
    const auto& v = m_.values[id];
    if (v.kind != Impl::Kind::kArena || v.root < 0) continue;
    auto it = lifetime_of_root.find(m_.root_of(id));
    if (it != lifetime_of_root.end()) lifetimes_[it->second].last = std::max(lifetimes_[it->second].last, v.last_use);
  }
}

// One buffer for every intermediate tensor, allocated now: run() allocates nothing.
void Engine::Preparer::plan_arena() {
  engine_.plan_.arena_bytes = place_in_arena(lifetimes_);
  for (const auto& l : lifetimes_) m_.values[l.value].offset = l.offset;
  m_.arena = Tensor(DType::kUInt8, {std::max<std::int64_t>(engine_.plan_.arena_bytes, 1)});
  m_.pointer.assign(m_.values.size(), nullptr);
}

// Each step's views, types and shapes fixed now; run() only sets their pointers.
void Engine::Preparer::describe_step_views() {
  for (auto& step : m_.steps) {
    for (int id : step.inputs) {
      step.in_views.push_back(id < 0 ? View{} : View{m_.values[id].dtype, m_.values[id].shape, nullptr});
    }
    for (int id : step.outputs) step.out_views.push_back({m_.values[id].dtype, m_.values[id].shape, nullptr});
  }
}

// Constants a kernel reads while running stay; the rest (weights the
// kernels copied into their own layouts, shape operands) are freed.
void Engine::Preparer::release_weights() {
  std::set<std::string> keep;
  for (auto& step : m_.steps) {
    for (std::size_t k = 0; k < step.inputs.size(); ++k) {
      const int id = step.inputs[k];
      if (id < 0 || m_.values[id].kind != Impl::Kind::kConstant || !step.kernel->reads_input_at_run(k)) continue;
      m_.values[id].read_at_run = true;
      keep.insert(m_.values[id].name);
    }
  }
  for (int id : m_.graph_outputs) {
    if (m_.values[id].kind != Impl::Kind::kConstant) continue;
    m_.values[id].read_at_run = true;
    keep.insert(m_.values[id].name);
  }
  for (auto& v : m_.values) {
    if (v.kind == Impl::Kind::kConstant && !v.read_at_run) {
      v.owned.reset();
      v.owned_view.reset();
      v.constant = nullptr;
    }
  }
  engine_.store_->release_all_but(keep);
}

// What was timed is saved for the next prepare(), and counted for tactic_stats().
void Engine::Preparer::finish_tactics() {
  if (!tuner_) return;
  tuner_->finish();
  engine_.tactic_stats_ = tuner_->stats();
}

}  // namespace inferlab::native
