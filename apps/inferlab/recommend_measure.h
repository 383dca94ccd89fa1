#pragma once
// `recommend --measure`: the configurations the recommendation asks about
// that this machine has no stored row for are measured (bench) and, with
// --dataset, their Top-1 too (accuracy), recorded like any run, before the
// recommendation reads the store.

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "store_flags.h"

namespace inferlab::cli {

/// The flags of --measure; added to `recommend` by add_to().
struct MeasureFlags {
  bool measure = false;
  std::string backends = "opencv,torch,onnxruntime,native";
  std::string precisions = "fp32";
  std::string batches = "1";
  int threads = -1;  ///< -1: the online CPUs (bench's default)
  std::string dataset;
  double min_duration_ms = 1000;
  std::string model_dir;

  void add_to(CLI::App& app);
};

/// Measures what `models` lack on this machine (rows of this host whose
/// status is ok or unsupported count as present; failed ones are measured
/// again) and records it in `store`. Prints what it measures and why.
/// Throws Error for bad flags before any work.
void measure_missing(const MeasureFlags& flags, const std::vector<std::string>& models, const StoreFlags& store);

}  // namespace inferlab::cli
