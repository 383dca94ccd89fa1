#pragma once
/// @file recommend.h
/// `inferlab recommend`: from stored rows, the configurations (backend x
/// precision x batch x threads) that meet every constraint, the best one by
/// an objective, the Pareto fronts (accuracy vs latency, memory vs
/// throughput), and, when nothing qualifies, which constraint binds. Pure
/// functions over rows; the HTML report draws the same fronts.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "inferlab/store.h"

namespace inferlab {

/// One measured configuration: the newest stored bench row of a (model,
/// backend, precision, batch, threads, scenario), with the Top-1 of the
/// newest stored accuracy row of its (model, backend, precision) joined in.
struct Configuration : ConfigurationId {
  std::int64_t run_id = 0;  ///< the bench row's run
  std::int64_t row_id = 0;  ///< the bench row's id
  double p50_ms = 0, p99_ms = 0;
  double throughput_per_s = 0;                    ///< samples per second
  std::optional<double> peak_rss_mb;              ///< null when the row has no memory figures
  std::optional<double> energy_mj_per_inference;  ///< null: no sensor measured energy
  std::optional<double> top1;                     ///< fraction in [0, 1]; null: no accuracy row
  std::int64_t accuracy_run_id = 0;               ///< the run Top-1 came from; 0: none
  /// "model backend precision batch N threads T".
  std::string label() const;
};

/// Builds configurations from `rows` (bench and accuracy rows of any runs):
/// failed or unsupported rows and rows without latency are left out; for
/// each configuration the newest row (highest run id, then row id) wins.
/// Sorted by model, backend, precision, batch, threads.
std::vector<Configuration> collect_configurations(const std::vector<StoredRow>& rows);

/// What "best" means.
enum class Objective {
  kLatency,     ///< lowest latency (the constrained statistic)
  kThroughput,  ///< highest samples per second
  kEnergy,      ///< lowest energy per inference
};

/// Parses "latency" | "throughput" | "energy"; throws Error naming --objective otherwise.
Objective parse_objective(const std::string& text);

/// The constraints; an empty optional does not constrain.
struct Constraints {
  std::optional<double> max_latency_ms;  ///< on `latency_stat`
  std::optional<double> min_top1;        ///< fraction in [0, 1]; configurations without accuracy fail it
  std::optional<double> max_memory_mb;   ///< on peak RSS; configurations without memory figures fail it
  std::string latency_stat = "p99";      ///< "p50" | "p99": what max_latency_ms and the latency objective use
};

/// One constraint's effect on the configurations.
struct ConstraintReport {
  std::string name;         ///< e.g. "--max-latency-ms 5"
  std::size_t failing = 0;  ///< configurations that fail it
  /// It binds: lifting it alone would let at least one configuration qualify.
  bool binds = false;
  std::string closest;  ///< the best value any configuration reaches, in words
};

/// The answer.
struct Recommendation {
  std::vector<Configuration> configurations;         ///< all considered
  std::vector<std::size_t> qualifying;               ///< indices into configurations, best first by the objective
  std::optional<std::size_t> best;                   ///< index of the best, when something qualifies
  std::vector<std::size_t> front_accuracy_latency;   ///< Pareto front: higher Top-1, lower latency
  std::vector<std::size_t> front_memory_throughput;  ///< Pareto front: lower peak RSS, higher throughput
  std::vector<ConstraintReport> constraints;         ///< one per constraint given
  std::string verdict;                               ///< one sentence: the best, or why nothing qualifies
};

/// Latency of `c` under `stat` ("p50" | "p99").
double latency_of(const Configuration& c, const std::string& stat);

/// Indices of the Pareto-optimal points among `points` (x minimised, y
/// maximised; ties kept once), sorted by x. Points with null coordinates
/// are skipped.
std::vector<std::size_t> pareto_front(const std::vector<std::optional<double>>& x_min,
                                      const std::vector<std::optional<double>>& y_max);

/// Filters, ranks and explains. Throws Error (bad input) when `objective` is
/// energy and no qualifying configuration has an energy figure ("no sensor
/// measured energy"). Pure function.
Recommendation recommend(std::vector<Configuration> configurations, const Constraints& constraints,
                         Objective objective);

/// The recommendation as JSON (schema "inferlab.recommend/1").
nlohmann::json to_json(const Recommendation& recommendation, const Constraints& constraints, Objective objective);

/// A configuration as JSON (every field; nulls for missing figures).
nlohmann::json to_json(const Configuration& configuration);

}  // namespace inferlab
