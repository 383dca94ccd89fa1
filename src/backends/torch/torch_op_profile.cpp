// libtorch's legacy profiler records a push and a pop event per
// RecordFunction on the calling thread; the outermost ranges inside the
// forward are the graph's operators. Kineto is not in Debian's libtorch.
#include "torch_op_profile.h"

#include <torch/csrc/autograd/profiler_legacy.h>

namespace inferlab::torch_backend {

namespace {

namespace profiler = torch::autograd::profiler;

constexpr std::int64_t kTraceRuns = 20;

struct OpCall {
  std::string name;
  double start_us = 0;  // from the profiler's first event
  double duration_us = 0;
};

// The operators of one thread's events, in order. TorchScript wraps the call
// in nested "forward" ranges (module, then method); the ranges directly
// inside the innermost one are the graph's operators. Ops that record no
// range (optimize_for_inference's prepacked MKLDNN convolutions) leave gaps:
// every gap between two operators (and before the forward ends) is returned
// as an "untraced" call, however short, so each run yields the same sequence
// and the layers add up to the forward; profile() leaves out the empty ones.
std::vector<OpCall> top_level_ops(const std::vector<profiler::LegacyEvent>& events) {
  std::vector<OpCall> calls;
  std::vector<const profiler::LegacyEvent*> open;
  std::size_t op_depth = 0;  // open ranges around an operator
  bool in_forward_prefix = true;
  double last_end_us = -1;
  for (const auto& e : events) {
    if (e.kind() == profiler::EventKind::PushRange) {
      const bool is_forward = std::string(e.name()) == "forward";
      if (in_forward_prefix && is_forward && open.size() == op_depth) {
        ++op_depth;
      } else if (open.size() == op_depth) {
        in_forward_prefix = false;
        // The time since the previous operator ended went to unrecorded ops.
        if (last_end_us >= 0) calls.push_back({"untraced", last_end_us, e.cpuUs() - last_end_us});
      }
      open.push_back(&e);
    } else if (e.kind() == profiler::EventKind::PopRange) {
      if (open.empty()) continue;
      const auto* begin = open.back();
      open.pop_back();
      if (open.size() == op_depth && !in_forward_prefix) {
        calls.push_back({begin->name(), begin->cpuUs(), begin->cpuElapsedUs(e)});
        last_end_us = e.cpuUs();
      } else if (open.size() + 1 == op_depth && last_end_us >= 0) {
        calls.push_back({"untraced", last_end_us, e.cpuUs() - last_end_us});  // unrecorded ops at the end
        last_end_us = -1;
      }
    }
  }
  return calls;
}

}  // namespace

void OpProfiler::reset() {
  layers_.clear();
  events_.clear();
  runs_ = 0;
  mismatch_.clear();
  start_ = std::chrono::steady_clock::now();
}

void OpProfiler::profile_run(const std::function<void()>& forward) {
  const double run_start_us =
      std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start_).count();
  profiler::enableProfilerLegacy(torch::profiler::impl::ProfilerConfig(torch::profiler::impl::ProfilerState::CPU));
  try {
    forward();
  } catch (...) {
    profiler::disableProfilerLegacy();
    throw;
  }
  const profiler::thread_event_lists lists = profiler::disableProfilerLegacy();
  // The calling thread's list is the one holding the forward; intra-op
  // worker threads record only the nested kernels' ranges, if any.
  std::vector<OpCall> calls;
  for (const auto& list : lists) {
    auto found = top_level_ops(list);
    if (found.size() > calls.size()) calls = std::move(found);
  }
  if (runs_ == 0 && layers_.empty()) {
    std::string previous = "forward start";
    for (const auto& c : calls) {
      if (c.name == "untraced") {
        layers_.push_back({"untraced after " + previous, "untraced",
                           "ops without a profiler range (e.g. prepacked MKLDNN convolutions)", "", 0.0, 0});
        continue;
      }
      const bool prefixed = c.name.rfind("aten::", 0) == 0 || c.name.rfind("prim::", 0) == 0;
      previous = c.name + " #" + std::to_string(layers_.size());
      layers_.push_back({previous, prefixed ? c.name.substr(6) : c.name, c.name, "", 0.0, 0});
    }
  } else if (calls.size() != layers_.size() && mismatch_.empty()) {
    mismatch_ = "run " + std::to_string(runs_) + " called " + std::to_string(calls.size()) + " ops, the first " +
                std::to_string(layers_.size());
  }
  const double first_us = calls.empty() ? 0 : calls.front().start_us;
  for (std::size_t i = 0; i < calls.size() && i < layers_.size(); ++i) {
    layers_[i].total_ms += calls[i].duration_us / 1000.0;
    ++layers_[i].runs;
    if (runs_ < kTraceRuns) {
      events_.push_back({static_cast<std::int32_t>(i), static_cast<std::int32_t>(runs_),
                         run_start_us + calls[i].start_us - first_us, calls[i].duration_us});
    }
  }
  ++runs_;
}

SessionProfile OpProfiler::profile() const {
  SessionProfile p;
  p.runs = runs_;
  // Gaps that took under a microsecond per run are noise, not ops.
  std::vector<std::int32_t> index_of(layers_.size(), -1);
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    if (layers_[i].op == "untraced" && layers_[i].mean_ms() < 1e-3) continue;
    index_of[i] = static_cast<std::int32_t>(p.layers.size());
    p.layers.push_back(layers_[i]);
  }
  for (const auto& e : events_) {
    if (index_of[static_cast<std::size_t>(e.layer)] >= 0)
      p.events.push_back({index_of[static_cast<std::size_t>(e.layer)], e.run, e.start_us, e.duration_us});
  }
  p.note =
      "torch: libtorch's profiler (legacy, CPU) around each forward; a layer is one top-level operator call "
      "of the TorchScript graph (nested aten calls count in it), timed with the profiler on";
  if (!mismatch_.empty()) p.note += "; op sequences differed between runs (" + mismatch_ + ")";
  return p;
}

}  // namespace inferlab::torch_backend
