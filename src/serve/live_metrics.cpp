#include "serve/live_metrics.h"

#include <limits>

namespace inferlab {

namespace {

constexpr const char* kStageHelp =
    "Time a frame spent in each stage of the live pipeline (end_to_end: capture to display), in seconds";

// Counters mirror the pipeline's own totals: add what is new since the last update.
void raise_to(MetricCounter& counter, double total) { counter.add(total - counter.value()); }

}  // namespace

std::vector<double> live_latency_buckets_s() {
  std::vector<double> buckets{0.00001, 0.000025, 0.00005};
  for (double b : default_latency_buckets_s()) buckets.push_back(b);
  return buckets;
}

LiveMetrics::LiveMetrics()
    : captured_(registry_.counter("inferlab_live_frames_captured_total",
                                  "Frames the source delivered (processed + dropped + in flight)")),
      processed_(registry_.counter("inferlab_live_frames_processed_total", "Frames that went through every stage")),
      dropped_(registry_.counter("inferlab_live_frames_dropped_total",
                                 "Frames dropped at the pipeline's entry because the first queue was full")),
      cpu_seconds_(registry_.counter("process_cpu_seconds_total", "User and system CPU time of the process, seconds")),
      switches_ok_(
          registry_.counter("inferlab_live_backend_switches_total", "Backend switches by result", {{"result", "ok"}})),
      switches_failed_(registry_.counter("inferlab_live_backend_switches_total", "Backend switches by result",
                                         {{"result", "failed"}})),
      switch_seconds_(registry_.histogram("inferlab_live_backend_switch_seconds",
                                          "Time from a switch request to the first frame the new backend served",
                                          default_latency_buckets_s())),
      face_(registry_.gauge("inferlab_live_face_detected", "1 while the latest frame had a face, else 0")),
      switching_(registry_.gauge("inferlab_live_backend_switching", "1 while a new backend is loading, else 0")),
      rss_(registry_.gauge("process_resident_memory_bytes", "Resident set size of the process, bytes")),
      cpu_utilisation_(registry_.gauge("inferlab_process_cpu_utilisation_ratio",
                                       "CPU seconds per wall second over the last sampling interval (1 = one core)")) {
  for (const auto& stage : live_stage_names()) {
    stages_.emplace_back(stage, &registry_.histogram("inferlab_live_stage_latency_seconds", kStageHelp,
                                                     live_latency_buckets_s(), {{"stage", stage}}));
  }
}

void LiveMetrics::observe_stage(std::string_view stage, double latency_ms) {
  for (auto& [name, histogram] : stages_) {
    if (name == stage) {
      histogram->observe(latency_ms / 1000.0);
      return;
    }
  }
}

void LiveMetrics::update(const LiveSnapshot& s, const ProcessUsage& usage) {
  std::lock_guard lock(update_mutex_);
  raise_to(captured_, static_cast<double>(s.frames_captured));
  raise_to(processed_, static_cast<double>(s.frames_processed));
  raise_to(dropped_, static_cast<double>(s.dropped_frames));
  raise_to(cpu_seconds_, usage.cpu_seconds);
  if (usage.cpu_utilisation) cpu_utilisation_.set(*usage.cpu_utilisation);
  rss_.set(static_cast<double>(s.rss_bytes));
  face_.set(s.face ? 1 : 0);
  switching_.set(s.switching ? 1 : 0);
  for (const auto& q : s.queues) {
    registry_
        .gauge("inferlab_live_queue_depth_frames", "Frames waiting in the queue in front of a stage",
               {{"queue", q.name}})
        .set(static_cast<double>(q.depth));
    registry_
        .gauge("inferlab_live_queue_capacity_frames", "Frames the queue in front of a stage holds at most",
               {{"queue", q.name}})
        .set(static_cast<double>(q.capacity));
  }
  // Absent until the first reading; NaN (no value) while the latest
  // analysis window gave none, so a stale reading is never shown as current.
  if ((s.bpm && s.bpm->bpm) || bpm_seen_) {
    const bool reading = s.bpm && s.bpm->bpm;
    const double nan = std::numeric_limits<double>::quiet_NaN();
    registry_
        .gauge("inferlab_live_bpm", "Latest heart-rate reading, beats per minute (NaN: the latest window gave none)")
        .set(reading ? *s.bpm->bpm : nan);
    registry_.gauge("inferlab_live_bpm_snr_db", "Signal-to-noise ratio of the latest reading, dB")
        .set(reading && s.bpm->snr_db ? *s.bpm->snr_db : nan);
    bpm_seen_ = true;
  }
  if (s.backend != backend_ || s.method != method_) {
    const char* help = "The backend running the inference stage (1) and the ones that ran before (0)";
    if (!backend_.empty())
      registry_.gauge("inferlab_live_backend_info", help, {{"backend", backend_}, {"method", method_}}).set(0);
    registry_.gauge("inferlab_live_backend_info", help, {{"backend", s.backend}, {"method", s.method}}).set(1);
    backend_ = s.backend;
    method_ = s.method;
  }
  for (; switches_seen_ < s.switches.size(); ++switches_seen_) {
    const SwitchRecord& r = s.switches[switches_seen_];
    (r.error.empty() ? switches_ok_ : switches_failed_).add();
    if (r.error.empty()) switch_seconds_.observe(r.switch_ms / 1000.0);
  }
  if (s.power_w) {
    registry_.gauge("inferlab_power_watts", "Average power since the run started, from a real sensor, watts")
        .set(*s.power_w);
  } else {
    registry_
        .gauge("inferlab_power_unavailable_info", "1: no power sensor is readable; the reason label says why",
               {{"reason", s.power_note}})
        .set(1);
  }
}

std::vector<LiveMetrics::StageTotals> LiveMetrics::stage_totals() const {
  std::vector<StageTotals> out;
  for (const auto& [name, histogram] : stages_) out.push_back({name, histogram->sum(), histogram->count()});
  return out;
}

}  // namespace inferlab
