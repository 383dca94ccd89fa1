#include "serve/live_telemetry.h"

#include <sys/resource.h>

namespace inferlab {

namespace {

nlohmann::json optional_number(const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(); }

}  // namespace

double process_cpu_seconds() {
  rusage usage{};
  if (::getrusage(RUSAGE_SELF, &usage) != 0) return 0;
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

nlohmann::json live_sample_json(const LiveSnapshot& s, double fps, const std::vector<IntervalLatency>& stage_ms,
                                const ProcessUsage& usage, bool finished) {
  nlohmann::json j = {{"t_s", s.elapsed_s},
                      {"fps", fps},
                      {"frames", s.frames_processed},
                      {"frames_captured", s.frames_captured},
                      {"dropped_frames", s.dropped_frames},
                      {"backend", s.backend},
                      {"backend_cycle", s.backend_cycle},
                      {"switching", s.switching},
                      {"method", s.method},
                      {"source", s.source},
                      {"face", s.face},
                      {"rss_mb", static_cast<double>(s.rss_bytes) / 1e6},
                      {"cpu_utilisation", optional_number(usage.cpu_utilisation)},
                      {"power_w", optional_number(s.power_w)},
                      {"power_note", s.power_w ? "" : s.power_note},
                      {"finished", finished}};
  const bool reading = s.bpm && s.bpm->bpm;
  j["bpm"] = reading ? nlohmann::json(*s.bpm->bpm) : nlohmann::json();
  j["bpm_snr_db"] = reading ? optional_number(s.bpm->snr_db) : nlohmann::json();
  j["bpm_note"] =
      reading ? "" : (s.bpm ? s.bpm->unavailable_reason : "warming up: the first analysis window is filling");
  nlohmann::json interval = nlohmann::json::array();  // an array keeps the pipeline's order
  for (const auto& st : stage_ms) interval.push_back({{"stage", st.stage}, {"mean_ms", optional_number(st.mean_ms)}});
  j["stage_ms"] = interval;
  nlohmann::json stages = nlohmann::json::array();
  for (const auto& st : s.stages) {
    stages.push_back({{"name", st.name}, {"p50_ms", st.p50_ms}, {"p99_ms", st.p99_ms}, {"count", st.count}});
  }
  j["stages"] = stages;
  nlohmann::json queues = nlohmann::json::object();
  for (const auto& q : s.queues) queues[q.name] = q.depth;
  j["queues"] = queues;
  nlohmann::json switches = nlohmann::json::array();
  for (const auto& sw : s.switches) {
    switches.push_back(
        {{"at_s", sw.at_s}, {"from", sw.from}, {"to", sw.to}, {"switch_ms", sw.switch_ms}, {"error", sw.error}});
  }
  j["switches"] = switches;
  return j;
}

LiveTelemetry::LiveTelemetry(const LivePipeline& pipeline, LiveMetrics& metrics, std::chrono::milliseconds interval)
    : pipeline_(pipeline), metrics_(metrics), interval_(interval) {}

LiveTelemetry::~LiveTelemetry() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  events_.close();
}

void LiveTelemetry::start() {
  last_at_ = std::chrono::steady_clock::now();
  last_cpu_s_ = process_cpu_seconds();
  last_totals_ = metrics_.stage_totals();
  sample(false);
  thread_ = std::thread([this] {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      if (wake_.wait_for(lock, interval_, [this] { return stopping_; })) break;
      lock.unlock();
      sample(false);
      lock.lock();
    }
  });
}

void LiveTelemetry::finish() {
  {
    std::lock_guard lock(mutex_);
    if (finished_) return;
    finished_ = stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  sample(true);
  events_.close();
}

std::string LiveTelemetry::latest() const {
  std::lock_guard lock(mutex_);
  return latest_;
}

void LiveTelemetry::sample(bool finished) {
  const LiveSnapshot snapshot = pipeline_.snapshot();
  const auto now = std::chrono::steady_clock::now();
  const double seconds = std::chrono::duration<double>(now - last_at_).count();
  ProcessUsage usage;
  usage.cpu_seconds = process_cpu_seconds();
  const auto totals = metrics_.stage_totals();
  std::vector<IntervalLatency> interval;
  double fps = 0;
  if (samples_ > 0 && seconds > 0) {
    usage.cpu_utilisation = (usage.cpu_seconds - last_cpu_s_) / seconds;
    fps = static_cast<double>(snapshot.frames_processed - last_frames_) / seconds;
  }
  for (std::size_t i = 0; i < totals.size(); ++i) {
    IntervalLatency st{totals[i].stage, std::nullopt};
    const auto before = i < last_totals_.size() ? last_totals_[i] : LiveMetrics::StageTotals{};
    if (totals[i].count > before.count) {
      st.mean_ms = (totals[i].sum_s - before.sum_s) * 1000.0 / static_cast<double>(totals[i].count - before.count);
    }
    interval.push_back(st);
  }
  metrics_.update(snapshot, usage);
  const std::string json = live_sample_json(snapshot, fps, interval, usage, finished).dump();
  last_at_ = now;
  last_frames_ = snapshot.frames_processed;
  last_cpu_s_ = usage.cpu_seconds;
  last_totals_ = totals;
  {
    std::lock_guard lock(mutex_);
    latest_ = json;
  }
  ++samples_;
  events_.publish("sample", json);
}

}  // namespace inferlab
