// Import, constant folding, fusion and the run loop of the native engine.
#include "engine.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <map>
#include <set>
#include <unordered_map>

#include <oneapi/dnnl/dnnl.hpp>

#include "fusion.h"
#include "memory_plan.h"
#include "model/onnx_util.h"
#include "model_store.h"

namespace inferlab::native {

namespace {}  // namespace

std::vector<std::string> unsupported_ops(const std::vector<OpType>& ops) {
  std::set<std::string> missing;
  const auto& registry = kernel_registry();
  for (const auto& [domain, op] : ops) {
    if (!domain.empty() && domain != "ai.onnx") {
      missing.insert(domain + "." + op);
    } else if (op != "Constant" && !registry.count(op)) {
      missing.insert(op);
    }
  }
  return {missing.begin(), missing.end()};
}

std::vector<std::string> unsupported_ops(const OnnxGraph& graph) {
  std::vector<OpType> ops;
  for (const auto& node : graph.proto().graph().node()) ops.push_back({node.domain(), node.op_type()});
  return unsupported_ops(ops);
}

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
    const onnx::NodeProto* node = nullptr;
    std::unique_ptr<Kernel> kernel;
    std::vector<int> inputs, outputs;
    std::vector<View> in_views, out_views;
    std::string fused;
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

Engine::Engine(const std::string& onnx_path)
    : store_(std::make_unique<ModelStore>(onnx_path)), passes_(store_->passes()) {}

Engine::~Engine() = default;

void Engine::prepare(const std::vector<Shape>& input_shapes) {
  // Kernels keep references into the graph: the old plan goes first, then
  // weights released by the last prepare() are read back from the file.
  impl_.reset();
  if (store_->released()) store_->reload();
  auto fresh = std::make_unique<Impl>(store_->graph(), store_->opset());
  Impl& m = *fresh;
  const auto& graph = m.graph;
  for (const auto& t : graph.initializer()) {
    auto& v = m.values[m.value(t.name())];
    v.kind = Impl::Kind::kConstant;
    v.constant = store_->initializer(t.name());
    v.dtype = v.constant->dtype();
    v.shape = v.constant->shape();
  }
  for (const auto& input : graph.input()) {
    const int id = m.value(input.name());
    if (m.values[id].kind == Impl::Kind::kConstant) continue;  // IR<4 lists initializers as inputs
    auto& v = m.values[id];
    v.kind = Impl::Kind::kInput;
    v.io_index = static_cast<int>(m.graph_inputs.size());
    if (v.io_index >= static_cast<int>(input_shapes.size())) {
      throw Error("native: the model has more inputs than the " + std::to_string(input_shapes.size()) +
                  " shape(s) given");
    }
    v.shape = input_shapes[v.io_index];
    if (!shape_is_static(v.shape))
      throw Error("native: input shape " + shape_to_string(v.shape) + " must be fully known");
    if (input.type().tensor_type().elem_type() != onnx::TensorProto::FLOAT) {
      throw Error("native: input '" + input.name() + "': non-float32 graph inputs are not supported",
                  ErrorKind::kUnsupported);
    }
    v.dtype = DType::kFloat32;
    m.graph_inputs.push_back(id);
  }
  if (m.graph_inputs.size() != input_shapes.size()) {
    throw Error("native: the model has " + std::to_string(m.graph_inputs.size()) + " input(s) but " +
                std::to_string(input_shapes.size()) + " shape(s) were given");
  }
  std::set<std::string> output_names;
  for (const auto& o : graph.output()) output_names.insert(o.name());

  const FusionPlan fusions = plan_fusions(graph);

  // Weights are freed as soon as their last reader has prepared (Conv and
  // MatMul keep reordered copies), so peak memory holds one copy plus the
  // layer being converted, not two copies of the model.
  std::unordered_map<int, int> pending_readers;
  for (const auto& node : graph.node()) {
    if (fusions.absorbed.count(&node)) continue;
    for (const auto& name : node.input()) {
      if (!name.empty() && store_->initializer(name)) ++pending_readers[m.value(name)];
    }
  }
  auto done_reading = [&](const std::vector<int>& ins, const Kernel* kernel) {
    for (std::size_t k = 0; k < ins.size(); ++k) {
      auto it = pending_readers.find(ins[k]);
      if (it == pending_readers.end()) continue;
      auto& v = m.values[ins[k]];
      if (kernel && kernel->reads_input_at_run(k)) v.read_at_run = true;
      if (--it->second == 0 && !v.read_at_run && !output_names.count(v.name)) {
        store_->release(v.name);
        v.constant = nullptr;
      }
    }
  };

  const auto& registry = kernel_registry();
  folded_ = 0;
  // Plain copies of blocked values, made once for all plain-only consumers.
  std::unordered_map<int, int> plain_copy;
  auto add_reorder = [&](int from, int to, const Layout& layout) {
    Impl::Step step;
    step.node = nullptr;
    step.kernel = make_reorder_kernel(layout);
    const auto& v = m.values[from];
    const auto out = step.kernel->prepare({{v.dtype, v.shape, nullptr, v.layout}});
    m.values[to].dtype = v.dtype;
    m.values[to].shape = v.shape;
    m.values[to].layout = out[0].layout;
    step.inputs = {from};
    step.outputs = {to};
    m.steps.push_back(std::move(step));
  };
  for (const auto& node : graph.node()) {
    if (fusions.absorbed.count(&node)) continue;
    std::vector<int> ins, outs;
    for (const auto& name : node.input()) ins.push_back(name.empty() ? -1 : m.value(name));
    const auto fusion = fusions.by_conv.find(&node);
    const Fusion* fused = fusion == fusions.by_conv.end() ? nullptr : &fusion->second;
    for (int k = 0; k < node.output_size(); ++k) {
      // A fused Conv writes the activation's output directly.
      outs.push_back(m.value(k == 0 && fused ? fused->output : node.output(k)));
    }
    if (node.op_type() == "Constant") {
      for (const auto& a : node.attribute()) {
        if (a.name() != "value")
          throw Error("native: Constant '" + node.output(0) + "' uses attribute '" + a.name() + "'");
        auto& v = m.values[outs[0]];
        v.kind = Impl::Kind::kConstant;
        v.owned =
            std::make_unique<Tensor>(onnx_util::tensor_from_proto(a.t(), "native: Constant '" + node.output(0) + "'"));
        v.owned_view = std::make_unique<Constant>(*v.owned);
        v.constant = v.owned_view.get();
        v.dtype = v.constant->dtype();
        v.shape = v.constant->shape();
      }
      ++folded_;
      continue;
    }
    Impl::Step step;
    step.node = &node;
    step.kernel = registry.at(node.op_type())(node, m.opset);
    if (fused) {
      const onnx::NodeProto* act = fused->activation;
      float lo = -INFINITY, hi = INFINITY;
      if (fused->op == "Clip") {
        Attributes a(*act);
        lo = a.f("min", lo);
        hi = a.f("max", hi);
        for (int k = 1; k < act->input_size() && k < 3; ++k) {
          if (act->input(k).empty()) continue;
          const int id = m.value(act->input(k));
          if (m.values[id].kind != Impl::Kind::kConstant)
            throw Error("native: Clip with non-constant bounds is not supported", ErrorKind::kUnsupported);
          (k == 1 ? lo : hi) = m.values[id].constant->data_as<float>()[0];
        }
      }
      if (!fused->residual.empty()) ins.push_back(m.value(fused->residual));  // the post-op's operand, last
      if (!fuse_conv_activation(*step.kernel, fused->op, lo, hi)) {
        throw Error("native: cannot fuse " + fused->op + " into " + node_prefix(node));
      }
      step.fused = fused->op;
    }
    std::vector<InputDesc> descs;
    bool all_constant = !ins.empty();
    for (int id : ins) {
      if (id < 0) {
        descs.push_back({});
        continue;
      }
      const auto& v = m.values[id];
      if (v.kind != Impl::Kind::kConstant) all_constant = false;
      descs.push_back({v.dtype, v.shape, v.kind == Impl::Kind::kConstant ? v.constant : nullptr, v.layout});
    }
    if (!step.kernel->accepts_layouts(descs)) {
      for (std::size_t k = 0; k < ins.size(); ++k) {
        if (ins[k] < 0 || !is_blocked(m.values[ins[k]].layout)) continue;
        auto [it, added] = plain_copy.emplace(ins[k], 0);
        if (added) {
          it->second = m.value(m.values[ins[k]].name + "#plain");
          add_reorder(ins[k], it->second, Layout());
        }
        ins[k] = it->second;
        descs[k].layout = Layout();
      }
    }
    std::vector<OutputDesc> out_descs;
    try {
      out_descs = step.kernel->prepare(descs);
    } catch (const dnnl::error& e) {
      throw Error("native: " + node_prefix(node) + "oneDNN: " + e.what(), ErrorKind::kRuntime);
    }
    bool blocked_output = false;
    for (std::size_t k = 0; k < outs.size() && k < out_descs.size(); ++k) {
      m.values[outs[k]].dtype = out_descs[k].dtype;
      m.values[outs[k]].shape = out_descs[k].shape;
      m.values[outs[k]].layout = out_descs[k].layout;
      blocked_output = blocked_output || is_blocked(out_descs[k].layout);
    }
    // Constant folding: inputs all known (or only their shape matters).
    if ((all_constant || node.op_type() == "Shape") && !blocked_output && !output_names.count(node.output(0))) {
      std::vector<View> in_views, out_views;
      for (int id : ins) {
        if (id < 0) {
          in_views.push_back({});
          continue;
        }
        auto& v = m.values[id];
        in_views.push_back(
            {v.dtype, v.shape, v.kind == Impl::Kind::kConstant ? const_cast<void*>(v.constant->data()) : nullptr});
      }
      for (int id : outs) {
        auto& v = m.values[id];
        v.kind = Impl::Kind::kConstant;
        v.owned = std::make_unique<Tensor>(v.dtype, v.shape);
        v.owned_view = std::make_unique<Constant>(*v.owned);
        v.constant = v.owned_view.get();
        out_views.push_back({v.dtype, v.shape, v.owned->data()});
      }
      step.kernel->run(in_views, out_views);
      done_reading(ins, nullptr);
      ++folded_;
      continue;
    }
    // Graph outputs are plain: a blocked result goes through a reorder.
    std::vector<std::pair<int, int>> output_reorders;
    for (auto& id : outs) {
      if (!output_names.count(m.values[id].name) || !is_blocked(m.values[id].layout)) continue;
      const int blocked = m.value(m.values[id].name + "#blocked");
      m.values[blocked].dtype = m.values[id].dtype;
      m.values[blocked].shape = m.values[id].shape;
      m.values[blocked].layout = m.values[id].layout;
      m.values[id].layout = Layout();
      output_reorders.emplace_back(blocked, id);
      id = blocked;
    }
    step.inputs = std::move(ins);
    step.outputs = std::move(outs);
    done_reading(step.inputs, step.kernel.get());
    m.steps.push_back(std::move(step));
    for (const auto& [from, to] : output_reorders) add_reorder(from, to, Layout());
  }

  for (const auto& o : graph.output()) {
    const int id = m.value(o.name());
    auto& v = m.values[id];
    if (v.kind == Impl::Kind::kArena) {
      v.kind = Impl::Kind::kOutput;
      v.io_index = static_cast<int>(m.graph_outputs.size());
    }
    m.graph_outputs.push_back(id);
    m.output_specs.push_back({o.name(), v.dtype, v.shape, ""});
  }

  // Lifetimes and aliases, then one arena for everything intermediate.
  for (int s = 0; s < static_cast<int>(m.steps.size()); ++s) {
    auto& step = m.steps[s];
    for (int id : step.inputs) {
      if (id >= 0) m.values[id].last_use = s;
    }
    for (int id : step.outputs) m.values[id].defined_at = s;
    const int in0 = step.inputs.empty() ? -1 : step.inputs[0];
    if (step.kernel->output_aliases_input() && in0 >= 0 && m.values[step.outputs[0]].kind == Impl::Kind::kArena) {
      m.values[step.outputs[0]].root = in0;
    }
  }
  std::vector<Lifetime> lifetimes;
  std::map<int, std::size_t> lifetime_of_root;
  plan_ = MemoryPlan{};
  for (int id = 0; id < static_cast<int>(m.values.size()); ++id) {
    auto& v = m.values[id];
    if (v.kind != Impl::Kind::kArena || v.defined_at < 0) continue;
    const int root = m.root_of(id);
    if (root != id) {
      ++plan_.aliased;
      auto it = lifetime_of_root.find(root);
      if (it != lifetime_of_root.end()) lifetimes[it->second].last = std::max(lifetimes[it->second].last, v.last_use);
      // A root outside the arena (input, constant, output) needs no placement;
      // its pointer simply outlives the graph run.
      continue;
    }
    // Blocked layouts pad channels: their buffers can exceed the logical size.
    const std::int64_t bytes =
        is_blocked(v.layout) ? static_cast<std::int64_t>(v.layout.get_size())
                             : static_cast<std::int64_t>(shape_element_count(v.shape) * dtype_size_bytes(v.dtype));
    lifetime_of_root[id] = lifetimes.size();
    lifetimes.push_back({id, v.defined_at, std::max(v.last_use, v.defined_at), bytes});
    plan_.tensor_bytes_total += bytes;
    ++plan_.tensors;
  }
  // An alias whose root is itself an alias of an arena value extends that
  // root: walk once more with resolved roots.
  for (int id = 0; id < static_cast<int>(m.values.size()); ++id) {
    const auto& v = m.values[id];
    if (v.kind != Impl::Kind::kArena || v.root < 0) continue;
    auto it = lifetime_of_root.find(m.root_of(id));
    if (it != lifetime_of_root.end()) lifetimes[it->second].last = std::max(lifetimes[it->second].last, v.last_use);
  }
  plan_.arena_bytes = place_in_arena(lifetimes);
  for (const auto& l : lifetimes) m.values[l.value].offset = l.offset;
  m.arena = Tensor(DType::kUInt8, {std::max<std::int64_t>(plan_.arena_bytes, 1)});
  m.pointer.assign(m.values.size(), nullptr);
  for (auto& step : m.steps) {
    for (int id : step.inputs) {
      step.in_views.push_back(id < 0 ? View{} : View{m.values[id].dtype, m.values[id].shape, nullptr});
    }
    for (int id : step.outputs) step.out_views.push_back({m.values[id].dtype, m.values[id].shape, nullptr});
  }
  // Constants a kernel reads while running stay; the rest (weights the
  // kernels copied into their own layouts, shape operands) are freed.
  std::set<std::string> keep;
  for (auto& step : m.steps) {
    for (std::size_t k = 0; k < step.inputs.size(); ++k) {
      const int id = step.inputs[k];
      if (id < 0 || m.values[id].kind != Impl::Kind::kConstant || !step.kernel->reads_input_at_run(k)) continue;
      m.values[id].read_at_run = true;
      keep.insert(m.values[id].name);
    }
  }
  for (int id : m.graph_outputs) {
    if (m.values[id].kind != Impl::Kind::kConstant) continue;
    m.values[id].read_at_run = true;
    keep.insert(m.values[id].name);
  }
  for (auto& v : m.values) {
    if (v.kind == Impl::Kind::kConstant && !v.read_at_run) {
      v.owned.reset();
      v.owned_view.reset();
      v.constant = nullptr;
    }
  }
  store_->release_all_but(keep);
  impl_ = std::move(fresh);
}

std::vector<TensorSpec> Engine::output_specs() const { return impl_->output_specs; }

void Engine::run(const std::vector<const Tensor*>& inputs, std::vector<Tensor*>& outputs) {
  Impl& m = *impl_;
  if (inputs.size() != m.graph_inputs.size() || outputs.size() != m.graph_outputs.size()) {
    throw Error("native: run() got " + std::to_string(inputs.size()) + " inputs and " + std::to_string(outputs.size()) +
                " outputs, prepared for " + std::to_string(m.graph_inputs.size()) + " and " +
                std::to_string(m.graph_outputs.size()));
  }
  auto* arena = static_cast<char*>(m.arena.data());
  for (std::size_t id = 0; id < m.values.size(); ++id) {
    auto& v = m.values[id];
    switch (v.kind) {
      case Impl::Kind::kConstant:
        m.pointer[id] = v.read_at_run ? const_cast<void*>(v.constant->data()) : nullptr;
        break;
      case Impl::Kind::kInput:
        m.pointer[id] = const_cast<void*>(inputs[v.io_index]->data());
        break;
      case Impl::Kind::kOutput:
        m.pointer[id] = outputs[v.io_index]->data();
        break;
      case Impl::Kind::kArena:
        m.pointer[id] = v.root < 0 ? arena + v.offset : nullptr;
        break;
    }
  }
  for (std::size_t id = 0; id < m.values.size(); ++id) {
    if (m.values[id].kind == Impl::Kind::kArena && m.values[id].root >= 0)
      m.pointer[id] = m.pointer[m.root_of(static_cast<int>(id))];
  }
  for (auto& step : m.steps) {
    for (std::size_t k = 0; k < step.inputs.size(); ++k) {
      if (step.inputs[k] >= 0) step.in_views[k].data = m.pointer[step.inputs[k]];
    }
    for (std::size_t k = 0; k < step.outputs.size(); ++k) step.out_views[k].data = m.pointer[step.outputs[k]];
    if (!m.profiling) {
      step.kernel->run(step.in_views, step.out_views);
      continue;
    }
    const auto start = std::chrono::steady_clock::now();
    step.kernel->run(step.in_views, step.out_views);
    step.total_ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    ++step.runs;
  }
  // Outputs that no step writes (a constant or an input passed through).
  for (std::size_t k = 0; k < m.graph_outputs.size(); ++k) {
    const auto& v = m.values[m.graph_outputs[k]];
    if (v.kind == Impl::Kind::kConstant || v.kind == Impl::Kind::kInput) {
      std::memcpy(outputs[k]->data(), m.pointer[m.graph_outputs[k]], outputs[k]->size_bytes());
    }
  }
}

std::vector<StepInfo> Engine::steps() const {
  std::vector<StepInfo> out;
  for (const auto& s : impl_->steps) {
    if (!s.node) {
      out.push_back({"Reorder (layout)", "Reorder", s.kernel->implementation(), "",
                     s.out_views.empty() ? Shape{} : s.out_views[0].shape, s.total_ms, s.runs});
      continue;
    }
    out.push_back({s.node->op_type() + " " + (s.node->name().empty() ? s.node->output(0) : s.node->name()),
                   s.node->op_type(), s.kernel->implementation(), s.fused,
                   s.out_views.empty() ? Shape{} : s.out_views[0].shape, s.total_ms, s.runs});
  }
  return out;
}

void Engine::set_profiling(bool on) {
  impl_->profiling = on;
  for (auto& s : impl_->steps) {
    s.total_ms = 0;
    s.runs = 0;
  }
}

const std::map<std::string, KernelFactory>& kernel_registry() {
  static const std::map<std::string, KernelFactory> registry = [] {
    std::map<std::string, KernelFactory> r;
    register_elementwise_kernels(r);
    register_shape_kernels(r);
    register_reduce_kernels(r);
    register_onednn_kernels(r);
    return r;
  }();
  return registry;
}

}  // namespace inferlab::native
