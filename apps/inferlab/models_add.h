#pragma once
// `inferlab models add`: registered by `inferlab models` (cmd_models.cpp).

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace inferlab::cli {

struct ModelsAddFlags {
  std::string name, onnx, torchscript, preprocess, dir;
  std::vector<std::string> shapes;
  double tolerance = 1e-3;
  double min_cosine = 0.9999;
  bool force = false;
};

/// Writes the model folder; 1 when the ONNX/TorchScript pair disagrees.
int run_models_add(const ModelsAddFlags& flags);
/// Registers `add` on the `models` subcommand.
void add_models_add(CLI::App& models, int* exit_code);

}  // namespace inferlab::cli
