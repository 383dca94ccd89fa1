// Server / multi-stream settings and results: validation, JSON, Poisson
// arrivals and the QPS bisection.
#include "inferlab/serving.h"

#include <cmath>
#include <cstdio>

#include "inferlab/error.h"

namespace inferlab {

namespace {

using nlohmann::json;

std::string number(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%g", value);
  return buffer;
}

json to_json(const LatencySummary& s) { return json{{"p50", s.p50_ms}, {"p99", s.p99_ms}, {"mean", s.mean_ms}}; }

}  // namespace

std::string batch_shapes_name(BatchShapes shapes) { return shapes == BatchShapes::kPadded ? "padded" : "exact"; }

BatchShapes batch_shapes_from_name(const std::string& name) {
  if (name == "exact") return BatchShapes::kExact;
  if (name == "padded") return BatchShapes::kPadded;
  throw Error("--batch-shapes " + name + ": expected exact (a session per batch size) or padded (one at --max-batch)");
}

void validate_batcher_settings(const BatcherSettings& s) {
  if (s.max_batch < 1 || s.max_batch > 256)
    throw Error("--max-batch " + std::to_string(s.max_batch) + ": must be in 1..256");
  if (!(s.max_queue_delay_us >= 0 && s.max_queue_delay_us <= 10e6))
    throw Error("--max-queue-delay-us: must be a number of microseconds in [0, 10000000]");
  if (s.instances < 1 || s.instances > 64)
    throw Error("--instances " + std::to_string(s.instances) + ": must be in 1..64");
  if (s.max_queue_samples < s.max_batch)
    throw Error("--max-queue " + std::to_string(s.max_queue_samples) + ": must hold at least --max-batch samples");
}

void validate_serving_settings(const ServingSettings& s, const std::string& scenario) {
  if (scenario == "server") {
    if (!s.find_max_qps && !(std::isfinite(s.target_qps) && s.target_qps > 0))
      throw Error("--target-qps " + number(s.target_qps) + ": must be > 0 (or give --find-max-qps)");
    if (s.find_max_qps && !(std::isfinite(s.target_qps) && s.target_qps >= 0))
      throw Error("--target-qps " + number(s.target_qps) + ": must be > 0 (the first probe of --find-max-qps)");
    if (!(std::isfinite(s.latency_bound_ms) && s.latency_bound_ms > 0))
      throw Error("--latency-bound-ms " + number(s.latency_bound_ms) + ": must be > 0");
    if (!(s.search_tolerance > 0 && s.search_tolerance < 1))
      throw Error("--search-tolerance " + number(s.search_tolerance) + ": must be in (0, 1)");
    if (s.max_probes < 1) throw Error("--max-probes " + std::to_string(s.max_probes) + ": must be >= 1");
  } else if (scenario == "multi-stream") {
    if (s.samples_per_query < 1)
      throw Error("--samples-per-query " + std::to_string(s.samples_per_query) + ": must be >= 1");
    if (s.samples_per_query > s.batcher.max_queue_samples)
      throw Error("--samples-per-query " + std::to_string(s.samples_per_query) + ": more than --max-queue holds");
    if (!(std::isfinite(s.interval_ms) && s.interval_ms > 0))
      throw Error("--interval-ms " + number(s.interval_ms) + ": must be > 0");
  } else {
    throw Error("scenario " + scenario + ": not a serving scenario (server, multi-stream)", ErrorKind::kRuntime);
  }
  if (s.connections < 1 || s.connections > 1024)
    throw Error("--connections " + std::to_string(s.connections) + ": must be in 1..1024");
  validate_batcher_settings(s.batcher);
}

json to_json(const ServingSettings& s) {
  return json{{"target_qps", s.target_qps},
              {"find_max_qps", s.find_max_qps},
              {"latency_bound_ms", s.latency_bound_ms},
              {"seed", s.seed},
              {"samples_per_query", s.samples_per_query},
              {"interval_ms", s.interval_ms},
              {"search_tolerance", s.search_tolerance},
              {"max_probes", s.max_probes},
              {"max_batch", s.batcher.max_batch},
              {"max_queue_delay_us", s.batcher.max_queue_delay_us},
              {"instances", s.batcher.instances},
              {"batch_shapes", batch_shapes_name(s.batcher.batch_shapes)},
              {"max_queue_samples", s.batcher.max_queue_samples},
              {"url", s.url},
              {"connections", s.connections}};
}

ServingSettings serving_settings_from_json(const json& j) {
  try {
    ServingSettings s;
    s.target_qps = j.at("target_qps");
    s.find_max_qps = j.at("find_max_qps");
    s.latency_bound_ms = j.at("latency_bound_ms");
    s.seed = j.at("seed");
    s.samples_per_query = j.at("samples_per_query");
    s.interval_ms = j.at("interval_ms");
    s.search_tolerance = j.at("search_tolerance");
    s.max_probes = j.at("max_probes");
    s.batcher.max_batch = j.at("max_batch");
    s.batcher.max_queue_delay_us = j.at("max_queue_delay_us");
    s.batcher.instances = j.at("instances");
    s.batcher.batch_shapes = batch_shapes_from_name(j.at("batch_shapes"));
    s.batcher.max_queue_samples = j.at("max_queue_samples");
    s.url = j.value("url", "");
    s.connections = j.value("connections", 16);
    return s;
  } catch (const json::exception& e) {
    throw Error(std::string("malformed serving settings: ") + e.what(), ErrorKind::kRuntime);
  }
}

json to_json(const ServingResult& r) {
  json search = json::array();
  for (const QpsProbe& p : r.search) {
    search.push_back({{"target_qps", p.target_qps},
                      {"achieved_qps", p.achieved_qps},
                      {"p99_ms", p.p99_ms},
                      {"met", p.met},
                      {"issued", p.issued},
                      {"completed", p.completed},
                      {"dropped", p.dropped},
                      {"cancelled", p.cancelled},
                      {"early_stopped", p.early_stopped}});
  }
  json split = json::object();
  for (const auto& [name, s] : r.split_ms) split[name] = to_json(s);
  return json{{"target_qps", r.target_qps},
              {"achieved_qps", r.achieved_qps},
              {"latency_bound_ms", r.latency_bound_ms},
              {"bound_met", r.bound_met},
              {"find_max_qps", r.find_max_qps},
              {"samples_per_query", r.samples_per_query},
              {"interval_ms", r.interval_ms},
              {"queries",
               {{"issued", r.issued},
                {"completed", r.completed},
                {"dropped", r.dropped},
                {"cancelled", r.cancelled},
                {"max_queue_depth", r.max_queue_depth}}},
              {"search", search},
              {"search_stop", r.search_stop},
              {"batcher",
               {{"max_batch", r.max_batch},
                {"max_queue_delay_us", r.max_queue_delay_us},
                {"instances", r.instances},
                {"batch_shapes", r.batch_shapes},
                {"description", r.batching},
                {"mean_batch", r.mean_batch},
                {"batch_size_counts", r.batch_size_counts}}},
              {"split_ms", split},
              {"url", r.url}};
}

ServingResult serving_result_from_json(const json& j) {
  try {
    ServingResult r;
    r.target_qps = j.at("target_qps");
    r.achieved_qps = j.at("achieved_qps");
    r.latency_bound_ms = j.at("latency_bound_ms");
    r.bound_met = j.at("bound_met");
    r.find_max_qps = j.value("find_max_qps", false);
    r.samples_per_query = j.value("samples_per_query", std::int64_t{1});
    r.interval_ms = j.value("interval_ms", 0.0);
    const json& q = j.at("queries");
    r.issued = q.at("issued");
    r.completed = q.at("completed");
    r.dropped = q.at("dropped");
    r.cancelled = q.at("cancelled");
    r.max_queue_depth = q.at("max_queue_depth");
    for (const json& p : j.at("search")) {
      QpsProbe probe;
      probe.target_qps = p.at("target_qps");
      probe.achieved_qps = p.at("achieved_qps");
      probe.p99_ms = p.at("p99_ms");
      probe.met = p.at("met");
      probe.issued = p.at("issued");
      probe.completed = p.at("completed");
      probe.dropped = p.at("dropped");
      probe.cancelled = p.at("cancelled");
      probe.early_stopped = p.at("early_stopped");
      r.search.push_back(probe);
    }
    r.search_stop = j.value("search_stop", "");
    const json& b = j.at("batcher");
    r.max_batch = b.at("max_batch");
    r.max_queue_delay_us = b.at("max_queue_delay_us");
    r.instances = b.at("instances");
    r.batch_shapes = b.at("batch_shapes");
    r.batching = b.value("description", "");
    r.mean_batch = b.value("mean_batch", 0.0);
    r.batch_size_counts = b.value("batch_size_counts", std::vector<std::int64_t>{});
    const json split = j.value("split_ms", json::object());
    for (const auto& [name, s] : split.items()) {
      r.split_ms[name] = LatencySummary{s.at("p50"), s.at("p99"), s.at("mean")};
    }
    r.url = j.value("url", "");
    return r;
  } catch (const json::exception& e) {
    throw Error(std::string("malformed serving result: ") + e.what(), ErrorKind::kRuntime);
  }
}

std::vector<double> poisson_arrivals_ms(double qps, std::int64_t count, std::uint64_t seed) {
  if (!(qps > 0) || count < 0) throw Error("poisson_arrivals_ms: needs qps > 0 and count >= 0", ErrorKind::kRuntime);
  std::vector<double> arrivals(static_cast<std::size_t>(count));
  std::uint64_t state = seed;
  double t = 0;
  for (std::int64_t i = 0; i < count; ++i) {
    arrivals[static_cast<std::size_t>(i)] = t;
    // Uniform in (0, 1] from the top 53 bits; exponential gap by inversion.
    const double u = (static_cast<double>(splitmix64_next(state) >> 11) + 1.0) / 9007199254740992.0;
    t += -std::log(u) * 1000.0 / qps;
  }
  return arrivals;
}

QpsSearch::QpsSearch(double start_qps, double tolerance, int max_probes)
    : start_(start_qps), tolerance_(tolerance), max_probes_(max_probes) {
  if (!(start_qps > 0) || !(tolerance > 0) || max_probes < 1)
    throw Error("QpsSearch: needs start_qps > 0, tolerance > 0 and max_probes >= 1", ErrorKind::kRuntime);
}

std::optional<double> QpsSearch::next() const {
  if (!stop_reason().empty()) return std::nullopt;
  if (probes_ == 0) return start_;
  if (hi_ == 0) return lo_ * 2;  // only met so far: double
  if (lo_ == 0) return hi_ / 2;  // only failed so far: halve
  return (lo_ + hi_) / 2;
}

void QpsSearch::record(double qps, bool met) {
  ++probes_;
  if (met) {
    lo_ = std::max(lo_, qps);
  } else if (hi_ == 0 || qps < hi_) {
    hi_ = qps;
  }
}

std::string QpsSearch::stop_reason() const {
  if (lo_ > 0 && hi_ > 0 && hi_ <= lo_ * (1 + tolerance_)) {
    return "converged: the lowest failing QPS " + number(hi_) + " is within " + number(tolerance_ * 100) +
           "% of the highest passing " + number(lo_);
  }
  if (lo_ == 0 && hi_ > 0 && hi_ / 2 < kMinSearchQps) {
    return "no QPS met the bound down to " + number(hi_);
  }
  if (probes_ >= max_probes_) return "--max-probes " + std::to_string(max_probes_) + " reached";
  return "";
}

}  // namespace inferlab
