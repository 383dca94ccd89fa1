#pragma once
/// @file serving.h
/// The server and multi-stream scenarios (after MLPerf LoadGen): their
/// settings, what a result row carries about them, seeded Poisson arrivals,
/// and the bisection that finds the highest QPS whose p99 meets a bound.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "inferlab/batcher.h"

namespace inferlab {

/// The default p99 bound of the server scenario, in ms: generous enough for
/// mobilenet-class models on a small CPU (a batch of 8 takes tens of ms on
/// two cores), tight enough that an overloaded queue fails it within a probe.
inline constexpr double kDefaultLatencyBoundMs = 100.0;

/// Settings of the server and multi-stream scenarios. Field names carry units.
struct ServingSettings {
  double target_qps = 0;      ///< server: queries per second (> 0; with find_max_qps: the first probe, 0 = estimate)
  bool find_max_qps = false;  ///< server: search for the highest QPS whose p99 <= latency_bound_ms
  double latency_bound_ms = kDefaultLatencyBoundMs;  ///< server: the p99 bound
  std::uint64_t seed = 20261124;                     ///< Poisson arrivals' seed
  std::int64_t samples_per_query = 1;                ///< multi-stream: N samples per query
  double interval_ms = 50;                           ///< multi-stream: a query is issued every this many ms
  double search_tolerance = 0.05;                    ///< bisection stops when hi / lo <= 1 + this
  int max_probes = 12;                               ///< ... or after this many probes
  BatcherSettings batcher;
  std::string url;       ///< server over HTTP (bench --url): the server's base URL; empty: in-process
  int connections = 16;  ///< --url: concurrent HTTP connections the client keeps
};

/// Throws Error naming the flag when a setting is out of range (e.g.
/// "--target-qps 0: must be > 0"). `scenario` is "server" or "multi-stream".
void validate_serving_settings(const ServingSettings& settings, const std::string& scenario);

nlohmann::json to_json(const ServingSettings& settings);
/// Parses to_json(ServingSettings)'s output; throws Error when malformed.
ServingSettings serving_settings_from_json(const nlohmann::json& json);

/// One probe of the QPS search (or the single run at --target-qps).
struct QpsProbe {
  double target_qps = 0;
  double achieved_qps = 0;  ///< completed queries / (first arrival .. last completion)
  double p99_ms = 0;        ///< p99 of completed queries' latency (queueing included)
  bool met = false;         ///< p99 <= bound and every issued query completed
  std::int64_t issued = 0, completed = 0, dropped = 0, cancelled = 0;
  bool early_stopped = false;  ///< stopped once more than 1% of its queries had passed the bound
  bool operator==(const QpsProbe&) const = default;
};

/// p50/p99/mean of one component of latency, in ms.
struct LatencySummary {
  double p50_ms = 0, p99_ms = 0, mean_ms = 0;
  bool operator==(const LatencySummary&) const = default;
};

/// What a server or multi-stream row carries beyond BenchResult's latency
/// statistics (which are those of the reported run: the highest QPS that
/// met the bound under --find-max-qps). Value type.
struct ServingResult {
  double target_qps = 0;
  double achieved_qps = 0;
  double latency_bound_ms = 0;  ///< server: --latency-bound-ms; multi-stream: the interval
  bool bound_met = false;       ///< the reported run's p99 <= latency_bound_ms with nothing dropped or cancelled
  bool find_max_qps = false;
  std::int64_t samples_per_query = 1;
  double interval_ms = 0;  ///< multi-stream only
  std::int64_t issued = 0, completed = 0;
  std::int64_t dropped = 0;          ///< refused because the queue was full (overload)
  std::int64_t cancelled = 0;        ///< still queued when the run's time ran out (overload)
  std::int64_t max_queue_depth = 0;  ///< most samples queued at once
  std::vector<QpsProbe> search;      ///< every probe, in order (--find-max-qps), else the one run
  std::string search_stop;           ///< why the search ended
  // The batcher (in-process, or the server's as it reported it).
  std::int64_t max_batch = 1;
  double max_queue_delay_us = 0;
  int instances = 1;
  std::string batch_shapes;                     ///< "exact" | "padded"
  std::string batching;                         ///< DynamicBatcher::describe()
  double mean_batch = 0;                        ///< real samples per engine run
  std::vector<std::int64_t> batch_size_counts;  ///< index n: engine runs with n real samples
  /// Where time went, per query: "queue" and "engine" (server side),
  /// and with --url "round_trip" (send to response) and
  /// "network_and_serialisation" (round trip minus queue and engine).
  std::map<std::string, LatencySummary> split_ms;
  std::string url;  ///< --url: the server driven
  bool operator==(const ServingResult&) const = default;
};

nlohmann::json to_json(const ServingResult& result);
/// Parses to_json(ServingResult)'s output; throws Error when malformed.
ServingResult serving_result_from_json(const nlohmann::json& json);

/// Arrival offsets in ms from the start of a run: `count` arrivals of a
/// Poisson process at `qps` (exponential gaps from splitmix64 seeded with
/// `seed`, so a run is reproducible). The first arrival is at 0.
std::vector<double> poisson_arrivals_ms(double qps, std::int64_t count, std::uint64_t seed);

/// The bisection over QPS behind --find-max-qps. Starts at `start_qps`,
/// doubles while probes meet the bound and halves while they fail, then
/// bisects between the highest met and the lowest failed QPS until
/// hi / lo <= 1 + tolerance or `max_probes` probes were made. Every probe
/// it proposes lies strictly between the best met and the lowest failed
/// QPS so far. Value type, not thread-safe.
class QpsSearch {
 public:
  /// Throws Error when start_qps <= 0, tolerance <= 0 or max_probes < 1.
  QpsSearch(double start_qps, double tolerance, int max_probes);
  /// The next QPS to probe, or nullopt once the search has ended.
  std::optional<double> next() const;
  /// Records the outcome of probing `qps`.
  void record(double qps, bool met);
  /// The highest QPS that met the bound; 0 when none did.
  double best_met_qps() const { return lo_; }
  /// The lowest QPS that failed; 0 when none did.
  double lowest_failed_qps() const { return hi_; }
  /// Why next() returned nullopt (empty while the search goes on).
  std::string stop_reason() const;

 private:
  double start_, tolerance_;
  int max_probes_;
  int probes_ = 0;
  double lo_ = 0;  // best met
  double hi_ = 0;  // lowest failed (0: none)
};

/// The lowest QPS the search probes before concluding no rate meets the bound.
inline constexpr double kMinSearchQps = 0.5;

}  // namespace inferlab
