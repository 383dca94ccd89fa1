// The run loop of the native engine, its profile, and the op registry.
#include <chrono>
#include <cstring>
#include <set>

#include "concat_batchnorm_rewrite.h"
#include "engine_impl.h"

namespace inferlab::native {

std::vector<std::string> unsupported_ops(const std::vector<OpType>& ops) {
  std::set<std::string> missing;
  const auto& registry = kernel_registry();
  for (const auto& [domain, op] : ops) {
    if (domain == kNativeDomain) {
      if (!registry.count(op)) missing.insert(domain + "." + op);
    } else if (!domain.empty() && domain != "ai.onnx") {
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
  const bool record = m.profiling && m.profiled_runs < Impl::kTraceRuns;
  for (std::size_t index = 0; index < m.steps.size(); ++index) {
    auto& step = m.steps[index];
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
    const auto end = std::chrono::steady_clock::now();
    step.total_ms += std::chrono::duration<double, std::milli>(end - start).count();
    ++step.runs;
    if (record) {
      using us = std::chrono::duration<double, std::micro>;
      m.trace.push_back({static_cast<std::int32_t>(index), static_cast<std::int32_t>(m.profiled_runs),
                         us(start - m.profile_start).count(), us(end - start).count()});
    }
  }
  if (m.profiling) ++m.profiled_runs;
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
      out.push_back({s.label, s.label.substr(0, s.label.find(' ')), s.kernel->implementation(), "",
                     s.out_views.empty() ? Shape{} : s.out_views[0].shape, s.total_ms, s.runs});
      continue;
    }
    out.push_back({s.node->op_type() + " " + (s.node->name().empty() ? s.node->output(0) : s.node->name()),
                   s.node->op_type(), s.kernel->implementation() + (s.note.empty() ? "" : " (" + s.note + ")"), s.fused,
                   s.out_views.empty() ? Shape{} : s.out_views[0].shape, s.total_ms, s.runs});
  }
  return out;
}

const std::vector<TraceEvent>& Engine::trace() const {
  static const std::vector<TraceEvent> none;
  return impl_ ? impl_->trace : none;
}
std::int64_t Engine::profiled_runs() const { return impl_ ? impl_->profiled_runs : 0; }

void Engine::set_profiling(bool on) {
  if (!impl_) throw Error("native: set_profiling() before prepare()");
  impl_->profiling = on;
  impl_->trace.clear();
  impl_->profiled_runs = 0;
  impl_->profile_start = std::chrono::steady_clock::now();
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
    register_conv_kernels(r);
    register_matmul_kernels(r);
    register_layernorm_kernels(r);
    register_quantize_kernels(r);
    register_pad_kernels(r);
    register_concat_batchnorm_kernel(r);
    return r;
  }();
  return registry;
}

}  // namespace inferlab::native
