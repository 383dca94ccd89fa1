#pragma once
// Flags shared by `bench` and `validate`: which models, which backends, how
// they are fed, and how outputs are compared.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "inferlab/bench.h"

namespace inferlab::cli {

/// Engine-specific flags (SessionOptions::engine_options), shared by every
/// verb that creates sessions. Empty: the engine's default.
struct EngineFlags {
  std::string ort_opt;
  std::string ort_spinning;
  std::string ov_hint;
  std::string tvm_trials;

  /// Registers --ort-opt, --ort-spinning, --ov-hint and --tvm-trials on `sub`.
  void add_to(CLI::App& sub);
  /// The engine_options map; throws Error naming the flag on a bad value.
  std::map<std::string, std::string> engine_options() const;
};

struct ModelBackendFlags {
  EngineFlags engine;
  std::vector<std::string> models;
  std::string backends = "opencv,torch";
  int threads = kThreadsNotGiven;
  std::string tactics = "on";
  static constexpr int kThreadsNotGiven = -1;  // use the online CPUs
  std::vector<std::string> shapes;
  std::string model_dir;
  std::string reference;
  double tolerance = 1e-3;
  double min_cosine = 0.9999;
  double timeout_s = 600;

  /// Registers the flags on `sub`.
  void add_to(CLI::App& sub);
  /// Resolves models and backends into `options` (throws Error on bad input).
  void fill(BenchOptions& options) const;
};

/// Declares `model`'s input from --shape when the file declares none (a bare
/// TorchScript .pt); throws Error when several shapes leave the order open.
void declare_inputs_from_shapes(ResolvedModel& model, const std::map<std::string, Shape>& shapes);

}  // namespace inferlab::cli
