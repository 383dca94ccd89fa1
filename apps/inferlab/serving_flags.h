#pragma once
// Flags of the serving scenarios and the dynamic batcher, shared by `bench
// --scenario server|multi-stream` and `serve`.

#include <CLI/CLI.hpp>
#include <string>

#include "inferlab/serving.h"

namespace inferlab::cli {

struct ServingFlags {
  ServingSettings settings;
  std::string batch_shapes = "exact";
  CLI::Option* max_batch_option = nullptr;  ///< set when add_batcher_to() registered --max-batch
  CLI::Option* target_qps_option = nullptr;

  /// --max-batch (when `with_max_batch`), --max-queue-delay-us, --instances,
  /// --batch-shapes, --max-queue.
  void add_batcher_to(CLI::App& sub, bool with_max_batch);
  /// --target-qps, --find-max-qps, --latency-bound-ms, --max-probes,
  /// --search-tolerance, --seed, --samples-per-query, --interval-ms, --url,
  /// --connections.
  void add_load_to(CLI::App& sub);
  /// The settings with --batch-shapes parsed; throws Error naming a bad flag.
  ServingSettings resolved() const;
};

}  // namespace inferlab::cli
