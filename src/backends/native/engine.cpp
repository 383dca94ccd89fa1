// Import, constant folding, fusion and memory planning of the native engine.
#include "engine.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <set>
#include <unordered_map>

#include <oneapi/dnnl/dnnl.hpp>

#include "engine_impl.h"
#include "fusion.h"
#include "int8_operands.h"
#include "memory_plan.h"
#include "model/onnx_util.h"
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
  Impl& m = *fresh;
  const auto& graph = m.graph;
  for (const auto& t : graph.initializer()) {
    auto& v = m.values[m.value(t.name())];
    v.kind = Impl::Kind::kConstant;
    v.constant = store_->initializer(t.name());
    v.dtype = v.constant->dtype();
    v.shape = v.constant->shape();
  }
  // float16 graph inputs are widened by a first step: the engine computes
  // in float32 (see widen_float16()).
  std::vector<std::pair<int, int>> half_inputs;
  for (const auto& input : graph.input()) {
    int id = m.value(input.name());
    if (m.values[id].kind == Impl::Kind::kConstant) continue;  // IR<4 lists initializers as inputs
    const int io_index = static_cast<int>(m.graph_inputs.size());
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
    if (dtype == DType::kFloat16) {
      const int widened = id;
      id = m.value(input.name() + "#float16");
      half_inputs.emplace_back(id, widened);
    }
    auto& v = m.values[id];
    v.kind = Impl::Kind::kInput;
    v.io_index = io_index;
    v.shape = input_shapes[io_index];
    v.dtype = dtype;
    m.graph_inputs.push_back(id);
  }
  if (m.graph_inputs.size() != input_shapes.size()) {
    throw Error("native: the model has " + std::to_string(m.graph_inputs.size()) + " input(s) but " +
                std::to_string(input_shapes.size()) + " shape(s) were given");
  }
  std::set<std::string> output_names;
  for (const auto& o : graph.output()) output_names.insert(o.name());

  const FusionPlan fusions = plan_fusions(graph, int8_kernels_);
  // What a node's kernel reads: an int8 Conv reads past the Q/DQ nodes; a
  // MatMul that absorbed its bias Add reads the bias third, as Gemm reads C.
  auto inputs_of = [&](const onnx::NodeProto& node) {
    auto it = fusions.int8_by_node.find(&node);
    const bool int8 = it != fusions.int8_by_node.end();
    std::vector<std::string> names =
        int8 ? it->second.inputs : std::vector<std::string>(node.input().begin(), node.input().end());
    auto fused = fusions.by_node.find(&node);
    if (fused != fusions.by_node.end() && !fused->second.bias.empty()) {
      if (int8) {
        names[Int8Operand::kBias] = fused->second.bias;
      } else {
        names.push_back(fused->second.bias);
      }
    }
    return names;
  };

  // Weights are freed as soon as their last reader has prepared (Conv and
  // MatMul keep reordered copies), so peak memory holds one copy plus the
  // layer being converted, not two copies of the model.
  std::unordered_map<int, int> pending_readers;
  for (const auto& node : graph.node()) {
    if (fusions.absorbed.count(&node)) continue;
    for (const auto& name : inputs_of(node)) {
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
  tactic_stats_ = TacticStats{};
  std::unique_ptr<Tuner> tuner = tactics_ ? std::make_unique<Tuner>(default_tactic_cache_path()) : nullptr;
  // Plain copies of blocked values, made once for all plain-only consumers.
  std::unordered_map<int, int> plain_copy;
  // Steps no node names: layout reorders and float16 conversions at the graph's edges.
  auto add_internal = [&](std::unique_ptr<Kernel> kernel, std::string label, int from, int to) {
    Impl::Step step;
    step.label = std::move(label);
    step.kernel = std::move(kernel);
    const auto& v = m.values[from];
    const auto out = step.kernel->prepare({{v.dtype, v.shape, v.constant, v.layout}});
    m.values[to].dtype = out[0].dtype;
    m.values[to].shape = out[0].shape;
    m.values[to].layout = out[0].layout;
    step.inputs = {from};
    step.outputs = {to};
    m.steps.push_back(std::move(step));
  };
  auto add_reorder = [&](int from, int to, const Layout& layout) {
    add_internal(make_reorder_kernel(layout), "Reorder (layout)", from, to);
  };
  // float32 copies of bf16 values, made once for all float32-only readers:
  // keyed by value and whether the copy is plain (else in the value's layout).
  std::map<std::pair<int, bool>, int> float32_copy;
  auto to_float32 = [&](int from, bool plain) {
    auto [it, added] = float32_copy.emplace(std::pair(from, plain), 0);
    if (added) {
      it->second = m.value(m.values[from].name + (plain ? "#float32" : "#float32-blocked"));
      const Layout layout = plain ? Layout() : m.values[from].layout;
      add_internal(make_float32_conversion_kernel(layout), "Reorder (bf16 to float32)", from, it->second);
    }
    return it->second;
  };
  // Constant nodes first: they read nothing, and exporters (and opset
  // converters) may list one after a node that fuses its value (Clip bounds).
  for (const auto& node : graph.node()) {
    if (node.op_type() != "Constant") continue;
    const int out = m.value(node.output(0));
    for (const auto& a : node.attribute()) {
      if (a.name() != "value")
        throw Error("native: Constant '" + node.output(0) + "' uses attribute '" + a.name() + "'");
      auto& v = m.values[out];
      v.kind = Impl::Kind::kConstant;
      v.owned = std::make_unique<Tensor>(
          widen_float16(onnx_util::tensor_from_proto(a.t(), "native: Constant '" + node.output(0) + "'")));
      v.owned_view = std::make_unique<Constant>(*v.owned);
      v.constant = v.owned_view.get();
      v.dtype = v.constant->dtype();
      v.shape = v.constant->shape();
    }
    ++folded_;
  }
  for (const auto& [raw, widened] : half_inputs) {
    add_internal(make_float16_conversion_kernel(false), "Cast (float16 input)", raw, widened);
  }
  for (const auto& node : graph.node()) {
    if (fusions.absorbed.count(&node)) continue;
    std::vector<int> ins, outs;
    for (const auto& name : inputs_of(node)) ins.push_back(name.empty() ? -1 : m.value(name));
    const auto fusion = fusions.by_node.find(&node);
    const Fusion* fused = fusion == fusions.by_node.end() ? nullptr : &fusion->second;
    const auto int8 = fusions.int8_by_node.find(&node);
    const bool requantized = int8 != fusions.int8_by_node.end() && !int8->second.output.empty();
    for (int k = 0; k < node.output_size(); ++k) {
      // A fused Conv writes the activation's output (or the Q after it) directly.
      outs.push_back(m.value(k == 0 && requantized ? int8->second.output
                             : k == 0 && fused     ? fused->output
                                                   : node.output(k)));
    }
    if (node.op_type() == "Constant") continue;  // defined above
    Impl::Step step;
    step.node = &node;
    step.kernel = int8 == fusions.int8_by_node.end() ? registry.at(node.op_type())(node, m.opset)
                  : node.op_type() == "Conv"         ? make_int8_conv_kernel(node)
                                                     : make_int8_matmul_kernel(node);
    step.kernel->set_bf16(bf16_);
    if (fused) {
      const onnx::NodeProto* act = fused->activation;
      float lo = -INFINITY, hi = INFINITY;
      if (fused->op == "HardSigmoid") {
        Attributes a(*act);
        lo = a.f("alpha", 0.2F);
        hi = a.f("beta", 0.5F);
      }
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
      if (!fused->op.empty() && !step.kernel->fuse_epilogue(fused->op, lo, hi)) {
        throw Error("native: cannot fuse " + fused->op + " into " + node_prefix(node));
      }
      step.fused = fused->bias.empty() ? fused->op : fused->op.empty() ? "Bias" : "Bias+" + fused->op;
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
    // bf16 activations meet a float32-only kernel: converted, in their
    // layout when the kernel takes it, else plain.
    const bool any_bf16 = std::any_of(descs.begin(), descs.end(), [](const InputDesc& d) {
      return d.dtype == DType::kBFloat16 && d.constant == nullptr;
    });
    if (any_bf16 && !step.kernel->accepts_bf16(descs)) {
      std::vector<InputDesc> as_float32 = descs;
      for (auto& d : as_float32) {
        if (d.dtype != DType::kBFloat16) continue;
        d.dtype = DType::kFloat32;
        if (is_blocked(d.layout)) d.layout.data.data_type = dnnl_f32;
      }
      const bool plain = !step.kernel->accepts_layouts(as_float32);
      for (std::size_t k = 0; k < ins.size(); ++k) {
        if (ins[k] < 0 || descs[k].dtype != DType::kBFloat16) continue;
        ins[k] = to_float32(ins[k], plain);
        descs[k] = {m.values[ins[k]].dtype, m.values[ins[k]].shape, nullptr, m.values[ins[k]].layout};
      }
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
    step.kernel->set_tuner(tuner.get());
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
    // Graph outputs are plain float32: a blocked or bf16 result goes
    // through a reorder.
    std::vector<std::pair<int, int>> output_reorders;
    for (auto& id : outs) {
      const bool bf16_value = m.values[id].dtype == DType::kBFloat16;
      if (!output_names.count(m.values[id].name) || (!is_blocked(m.values[id].layout) && !bf16_value)) continue;
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
    for (const auto& [from, to] : output_reorders) {
      if (m.values[from].dtype == DType::kBFloat16) {
        add_internal(make_float32_conversion_kernel(Layout()), "Reorder (bf16 output to float32)", from, to);
      } else {
        add_reorder(from, to, Layout());
      }
    }
  }

  for (const auto& o : graph.output()) {
    int id = m.value(o.name());
    // A float16 output was computed in float32: a last step narrows it.
    if (o.type().tensor_type().elem_type() == onnx::TensorProto::FLOAT16 && m.values[id].dtype == DType::kFloat32) {
      const int narrowed = m.value(o.name() + "#float16");
      add_internal(make_float16_conversion_kernel(true), "Cast (float16 output)", id, narrowed);
      id = narrowed;
    }
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
  if (tuner) {
    tuner->finish();
    tactic_stats_ = tuner->stats();
  }
  impl_ = std::move(fresh);
}

}  // namespace inferlab::native
