// `inferlab models prepare|list|show`. Preparation runs models/prepare.py
// with Debian's /usr/bin/python3 (the interpreter that has python3-torch).
#include <spawn.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "commands.h"
#include "inferlab/error.h"
#include "inferlab/onnx_graph.h"
#include "inferlab/zoo.h"
#include "models_add.h"

#include <nlohmann/json.hpp>

extern char** environ;

namespace inferlab::cli {

namespace {

std::string env_or(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : fallback;
}

int run_prepare(const std::string& zoo, const std::string& dir_flag, bool force) {
  zoo_model_names(zoo);  // validates the zoo name
  const std::string dir = model_directory(dir_flag);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw Error("--dir " + dir + ": cannot create (" + ec.message() + ")");
  const std::string python = env_or("INFERLAB_PYTHON", "/usr/bin/python3");
  const std::string script = env_or("INFERLAB_PREPARE_SCRIPT", std::string(INFERLAB_SOURCE_DIR) + "/models/prepare.py");
  if (!std::filesystem::exists(script)) throw Error("model preparation script not found: " + script);
  if (!std::filesystem::exists(python)) {
    throw Error(python + " not found: install Debian's python3 with python3-torch (scripts/install-deps.sh)");
  }
  std::vector<std::string> args{python, script, "--zoo", zoo, "--dir", dir};
  if (force) args.push_back("--force");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  if (posix_spawn(&pid, python.c_str(), nullptr, nullptr, argv.data(), environ) != 0) {
    throw Error("cannot start " + python, ErrorKind::kRuntime);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw Error("model preparation failed (" + script + "); see the messages above", ErrorKind::kRuntime);
  }
  std::cout << "models in " << dir << '\n';
  return 0;
}

std::string formats_of(const ModelManifest& m) {
  std::string text;
  for (const auto& [format, file] : m.files) text += (text.empty() ? "" : ",") + format;
  return text;
}

int run_list(const std::string& dir_flag, bool as_json, const std::string& zoo) {
  if (!zoo.empty()) {
    // A zoo's members, prepared or not: what `models prepare --zoo` makes
    // and what the Makefile benches (one name per line).
    for (const auto& name : zoo_model_names(zoo)) std::cout << name << '\n';
    return 0;
  }
  const std::string dir = model_directory(dir_flag);
  auto models = list_prepared_models(dir);
  if (as_json) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& m : models) {
      list.push_back({{"name", m.name},
                      {"directory", m.directory},
                      {"files", m.files},
                      {"parameters", m.parameter_count},
                      {"flops_per_sample", m.flops_per_sample},
                      {"input_shape", m.inputs.empty() ? Shape{} : m.inputs[0].shape},
                      {"weights", m.weights},
                      {"zoos", m.zoos}});
    }
    std::cout << nlohmann::json{{"model_dir", dir}, {"models", list}}.dump(2) << '\n';
    return 0;
  }
  std::cout << "prepared models in " << dir
            << (models.empty() ? " (none: run inferlab models prepare --zoo quick)" : "") << '\n';
  for (const auto& m : models) {
    char line[256];
    std::snprintf(line, sizeof line, "  %-16s %-18s %8.2f M params %8.2f GFLOPs  input %s", m.name.c_str(),
                  formats_of(m).c_str(), m.parameter_count / 1e6, m.flops_per_sample / 1e9,
                  m.inputs.empty() ? "?" : shape_to_string(m.inputs[0].shape).c_str());
    std::cout << line << '\n';
  }
  if (!models.empty()) std::cout << "weights: " << models.front().weights << '\n';
  return 0;
}

void print_specs(const char* title, const std::vector<TensorSpec>& specs) {
  for (const auto& t : specs) {
    std::cout << "  " << title << ' ' << t.name << ": " << dtype_name(t.dtype) << ' ' << shape_to_string(t.shape)
              << (t.layout.empty() ? "" : " " + t.layout) << '\n';
  }
}

int run_show(const std::string& argument, const std::string& dir_flag) {
  ResolvedModel model = resolve_model(argument, model_directory(dir_flag));
  std::cout << model.name << '\n';
  for (const auto& [format, path] : model.paths) std::cout << "  " << model_format_name(format) << ": " << path << '\n';
  print_specs("input ", model.inputs);
  print_specs("output", model.outputs);
  if (model.manifest) {
    std::cout << "  parameters: " << model.manifest->parameter_count
              << "\n  FLOPs per sample: " << model.manifest->flops_per_sample
              << "\n  weights: " << model.manifest->weights << '\n';
  }
  if (!model.inputs.empty()) {
    try {
      const ModelPreprocess p = preprocess_of_model(model);
      std::cout << "  preprocessing (" << p.source << "): " << p.preprocess.describe() << '\n';
    } catch (const Error&) {
      std::cout << "  preprocessing: none (the input is not an image)\n";
    }
  }
  const ModelMetadata& m = model.file_metadata;
  if (!m.source_model.empty())
    std::cout << "  made from: " << m.source_model << " (sha256 " << m.source_sha256 << ")\n";
  if (!m.optimization.empty()) std::cout << "  optimization: " << m.optimization << '\n';
  if (!m.labels.empty()) std::cout << "  labels: " << m.labels.size() << " (first: " << m.labels.front() << ")\n";
  if (auto it = model.paths.find(ModelFormat::kOnnx); it != model.paths.end()) {
    const GraphSummary summary = OnnxGraph::load(it->second).summarize();
    std::printf("  onnx: opset %lld, %lld nodes, %lld parameters (%.2f MB), file %.2f MB, producer %s\n",
                static_cast<long long>(summary.opset), static_cast<long long>(summary.node_count),
                static_cast<long long>(summary.parameter_count), summary.parameter_bytes / 1e6,
                summary.serialized_bytes / 1e6, summary.producer.c_str());
    std::printf("  FLOPs per sample (ONNX shapes at batch 1): %.4g G\n", summary.flops_per_sample / 1e9);
    std::printf("  %-22s %6s %12s %7s\n", "op", "nodes", "MFLOPs", "share");
    for (const auto& [op, stats] : summary.ops) {
      const double share = summary.flops_per_sample > 0 ? 100.0 * stats.flops / summary.flops_per_sample : 0;
      std::printf("  %-22s %6lld %12.3f %6.1f%%\n", op.c_str(), static_cast<long long>(stats.nodes), stats.flops / 1e6,
                  share);
    }
    if (!summary.ops_without_shapes.empty()) {
      std::cout << "  FLOPs unknown (shape inference left outputs open) for:";
      for (const auto& op : summary.ops_without_shapes) std::cout << ' ' << op;
      std::cout << '\n';
    }
  }
  return 0;
}

}  // namespace

void add_models(CLI::App& app, int* exit_code) {
  auto* models = app.add_subcommand("models", "Prepare, list and inspect reference models");
  models->require_subcommand(1);
  auto dir = std::make_shared<std::string>();

  auto* prepare = models->add_subcommand("prepare", "Export a zoo to ONNX and frozen TorchScript (seeded weights)");
  auto zoo = std::make_shared<std::string>();
  auto force = std::make_shared<bool>(false);
  prepare->add_option("--zoo", *zoo, "quick | paper | digits | rppg")->required();
  prepare->add_option("--dir", *dir, "Model directory (default $INFERLAB_MODEL_DIR or ~/.cache/inferlab/models)");
  prepare->add_flag("--force", *force, "Re-export even when cached");
  prepare->callback([=] { *exit_code = run_prepare(*zoo, *dir, *force); });

  auto* list = models->add_subcommand("list", "List prepared models");
  auto as_json = std::make_shared<bool>(false);
  list->add_option("--dir", *dir, "Model directory");
  list->add_flag("--json", *as_json, "Print JSON");
  auto list_zoo = std::make_shared<std::string>();
  list->add_option("--zoo", *list_zoo, "Print the names of this zoo's models (prepared or not), one per line");
  list->callback([=] { *exit_code = run_list(*dir, *as_json, *list_zoo); });

  auto* show = models->add_subcommand("show", "Show a model's inputs, outputs, parameters and ops");
  auto argument = std::make_shared<std::string>();
  show->add_option("MODEL", *argument, "Path or prepared model name")->required();
  show->add_option("--dir", *dir, "Model directory");
  show->callback([=] { *exit_code = run_show(*argument, *dir); });

  add_models_add(*models, exit_code);
}

}  // namespace inferlab::cli
