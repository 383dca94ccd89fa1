#pragma once
// Flags shared by `bench` and `validate`: which models, which backends, how
// they are fed, and how outputs are compared.

#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "inferlab/bench.h"

namespace inferlab::cli {

struct ModelBackendFlags {
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

}  // namespace inferlab::cli
