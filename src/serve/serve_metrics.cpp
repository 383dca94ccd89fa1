#include "serve/serve_metrics.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "inferlab/memory.h"

namespace inferlab {

namespace {

// utime + stime of this process in seconds (/proc/self/stat fields 14, 15); < 0 when unreadable.
double process_cpu_seconds() {
  std::ifstream in("/proc/self/stat");
  std::string line;
  if (!std::getline(in, line)) return -1;
  // The command name (field 2) may hold spaces: fields are counted after its ')'.
  const auto close = line.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  const long ticks = sysconf(_SC_CLK_TCK);
  return ticks > 0 ? static_cast<double>(utime + stime) / static_cast<double>(ticks) : -1;
}

double wall_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::vector<double> batch_buckets() { return {1, 2, 4, 8, 16, 32, 64, 128, 256}; }

}  // namespace

ServeMetrics::ServeMetrics(MetricsRegistry& registry, const std::string& model, const std::string& backend)
    : registry_(registry),
      model_(model),
      total_s_(registry.histogram("inferlab_serve_request_duration_seconds",
                                  "Infer request latency by stage: total (handler entry to response), queue, engine",
                                  default_latency_buckets_s(), {{"model", model}, {"stage", "total"}})),
      queue_s_(registry.histogram("inferlab_serve_request_duration_seconds",
                                  "Infer request latency by stage: total (handler entry to response), queue, engine",
                                  default_latency_buckets_s(), {{"model", model}, {"stage", "queue"}})),
      engine_s_(registry.histogram("inferlab_serve_request_duration_seconds",
                                   "Infer request latency by stage: total (handler entry to response), queue, engine",
                                   default_latency_buckets_s(), {{"model", model}, {"stage", "engine"}})),
      batch_size_(registry.histogram("inferlab_serve_batch_size", "Real samples per engine run (padding excluded)",
                                     batch_buckets(), {{"model", model}})),
      queue_depth_(
          registry.gauge("inferlab_serve_queue_depth", "Samples waiting in the batcher queue", {{"model", model}})),
      rss_bytes_(registry.gauge("process_resident_memory_bytes", "Resident set size of the serve process in bytes")),
      cpu_utilisation_(registry.gauge(
          "inferlab_process_cpu_utilisation",
          "CPU time of the serve process over wall time since the previous scrape, as a fraction of all online CPUs")),
      cpu_seconds_(registry.counter("process_cpu_seconds_total", "User and system CPU time of the serve process")) {
  registry
      .gauge("inferlab_serve_info", "The model served and the backend serving it (always 1)",
             {{"model", model}, {"backend", backend}})
      .set(1);
  // Every status family exists from the start, so a scrape shows zeros.
  for (const char* code : {"200", "400", "404", "500", "503"}) {
    registry.counter("inferlab_serve_requests_total", "Infer requests answered, by HTTP status",
                     {{"model", model}, {"code", code}});
  }
  requests_ok_ = &registry.counter("inferlab_serve_requests_total", "Infer requests answered, by HTTP status",
                                   {{"model", model}, {"code", "200"}});
  refresh_process();
}

void ServeMetrics::request_done(int status, double total_ms, double queue_ms, double engine_ms) {
  if (status != 200) {
    // Errors are rare: looked up by their code (registry lock, label map).
    registry_
        .counter("inferlab_serve_requests_total", "Infer requests answered, by HTTP status",
                 {{"model", model_}, {"code", std::to_string(status)}})
        .add();
    return;
  }
  requests_ok_->add();
  total_s_.observe(total_ms / 1000.0);
  queue_s_.observe(queue_ms / 1000.0);
  engine_s_.observe(engine_ms / 1000.0);
}

void ServeMetrics::batch_done(std::int64_t samples) { batch_size_.observe(static_cast<double>(samples)); }

void ServeMetrics::refresh_process() {
  std::lock_guard lock(process_mutex_);
  rss_bytes_.set(static_cast<double>(current_rss_bytes()));
  const double cpu = process_cpu_seconds();
  const double wall = wall_seconds();
  if (cpu < 0) return;
  if (last_cpu_s_ >= 0) {
    cpu_seconds_.add(cpu - last_cpu_s_);
    const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (wall > last_wall_s_ && cpus > 0) {
      cpu_utilisation_.set((cpu - last_cpu_s_) / (wall - last_wall_s_) / static_cast<double>(cpus));
    }
  } else {
    cpu_seconds_.add(cpu);
  }
  last_cpu_s_ = cpu;
  last_wall_s_ = wall;
}

}  // namespace inferlab
