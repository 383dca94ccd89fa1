// `inferlab models add NAME --onnx F [--torchscript F]`: a user's own model
// becomes a prepared model like the zoo's (a folder in the model directory
// with a manifest), so `bench NAME` runs each backend on the format it reads.
// When both formats are given they must compute the same function: both are
// run on one seeded input in worker processes and compared before anything
// is written.
#include <unistd.h>

#include <filesystem>
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli_util.h"
#include "commands.h"
#include "inferlab/bench.h"
#include "inferlab/error.h"
#include "inferlab/files.h"
#include "inferlab/onnx_graph.h"
#include "inferlab/registry.h"
#include "inferlab/zoo.h"
#include "models_add.h"

namespace inferlab::cli {

namespace fs = std::filesystem;

namespace {

void check_model_name(const std::string& name) {
  if (name.empty() || name[0] == '.' || name.size() > 100 ||
      name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") !=
          std::string::npos) {
    throw Error("models add " + name + ": a name is letters, digits, '_', '.' and '-' (not starting with '.')");
  }
}

nlohmann::json specs_json(const std::vector<TensorSpec>& specs) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& s : specs) list.push_back({{"name", s.name}, {"dtype", dtype_name(s.dtype)}, {"shape", s.shape}});
  return list;
}

// Input shapes with --shape applied; the batch dimension stays dynamic (-1).
std::vector<TensorSpec> declared_inputs(const std::vector<TensorSpec>& from_file,
                                        const std::map<std::string, Shape>& overrides, const std::string& onnx) {
  for (const auto& [name, shape] : overrides) {
    const bool known = name.empty() ? from_file.size() == 1
                                    : std::any_of(from_file.begin(), from_file.end(),
                                                  [&](const TensorSpec& s) { return s.name == name; });
    if (!known) {
      throw Error("--shape " + (name.empty() ? std::string("DIMS") : name) + ": " + onnx + " has no such input" +
                  (name.empty() ? " (it has several: name them, NAME=DIMS)" : ""));
    }
  }
  std::vector<TensorSpec> inputs = from_file;
  for (auto& input : inputs) {
    auto it = overrides.find(input.name);
    if (it == overrides.end() && inputs.size() == 1) it = overrides.find("");
    if (it != overrides.end()) {
      if (it->second.size() != input.shape.size()) {
        throw Error("--shape " + input.name + "=" + shape_to_string(it->second) + ": " + onnx + " declares rank " +
                    std::to_string(input.shape.size()) + " " + shape_to_string(input.shape));
      }
      input.shape = it->second;
    }
    if (input.shape.empty()) throw Error(onnx + ": input '" + input.name + "' is a scalar; inferlab feeds batches");
    input.shape[0] = -1;
    for (std::size_t d = 1; d < input.shape.size(); ++d) {
      if (input.shape[d] < 1) {
        throw Error(onnx + ": input '" + input.name + "' has unknown dimension " + std::to_string(d) + " in " +
                    shape_to_string(input.shape) + ": give --shape " + input.name + "=1x...");
      }
    }
  }
  return inputs;
}

// The preprocessing to record: a JSON object (inline or @FILE) checked with
// the manifest's own parser, or none (readers then derive it from the input
// shape and say that it was guessed).
std::optional<nlohmann::json> preprocess_json(const std::string& flag, const TensorSpec& input,
                                              const std::string& name) {
  if (flag.empty() || flag == "default") return std::nullopt;
  const std::string text = flag[0] == '@' ? read_file(flag.substr(1)) : flag;
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error&) {
    throw Error(
        "--preprocess: not a JSON object (give default, a JSON object or @FILE; models/README.md lists fields)");
  }
  check_preprocess_matches(preprocess_from_json(json, "--preprocess"), input, name);
  return json;
}

std::string onnx_reader_backend() {
  for (const char* name : {"onnxruntime", "native", "opencv"}) {
    for (const auto& entry : known_backends()) {
      if (entry.name == name && entry.compiled_in) return name;
    }
  }
  throw Error("models add: no backend that reads ONNX is built into inferlab, so the pair cannot be compared");
}

// Runs both files on one seeded input and returns the torch row's agreement
// with the ONNX reader's output.
ValidationResult compare_pair(const ResolvedModel& staged, const ModelsAddFlags& f) {
  BenchOptions options;
  options.models = {staged};
  options.backends = {onnx_reader_backend(), "torch"};
  options.threads = default_thread_count();
  options.run.warmup_count = 0;
  options.run.warmup_min_duration_ms = 0;
  options.run.min_count = 1;
  options.run.min_duration_ms = 0;
  options.tolerance = f.tolerance;
  options.min_cosine = f.min_cosine;
  const auto rows = run_bench(options, nullptr);
  for (const auto& row : rows) {
    if (!row.ok()) {
      throw Error("models add " + f.name + ": " + row.backend + " could not run its file: " + row.reason,
                  ErrorKind::kRuntime);
    }
  }
  for (const auto& row : rows) {
    if (row.backend == "torch" && row.validation) return *row.validation;
  }
  throw Error("models add " + f.name + ": the outputs were not compared", ErrorKind::kRuntime);
}

}  // namespace

int run_models_add(const ModelsAddFlags& f) {
  check_model_name(f.name);
  const std::string dir = model_directory(f.dir);
  const fs::path target = fs::path(dir) / f.name;
  std::error_code ec;
  if (fs::exists(target, ec) && !f.force) {
    throw Error("models add " + f.name + ": " + target.string() + " exists (--force replaces it)");
  }
  if (f.onnx.empty()) throw Error("models add: --onnx FILE is required");
  const ResolvedModel onnx = resolve_model(f.onnx, dir);
  if (onnx.paths.count(ModelFormat::kOnnx) == 0) throw Error("--onnx " + f.onnx + ": not an .onnx file");
  std::string torchscript;
  if (!f.torchscript.empty()) {
    const ResolvedModel ts = resolve_model(f.torchscript, dir);
    if (ts.paths.count(ModelFormat::kTorchScript) == 0)
      throw Error("--torchscript " + f.torchscript + ": not a TorchScript .pt file");
    torchscript = ts.paths.at(ModelFormat::kTorchScript);
  }
  const std::vector<TensorSpec> inputs = declared_inputs(onnx.inputs, parse_shapes(f.shapes), f.onnx);
  const auto preprocess = preprocess_json(f.preprocess, inputs[0], f.name);
  const std::string onnx_path = onnx.paths.at(ModelFormat::kOnnx);
  const GraphSummary summary = OnnxGraph::load(onnx_path).summarize();

  fs::create_directories(dir, ec);
  if (ec) throw Error("--dir " + dir + ": cannot create (" + ec.message() + ")");
  // Assembled in a hidden sibling folder and renamed into place, so the
  // model directory never shows a half-written model, and a failed check
  // leaves whatever was there before untouched.
  const fs::path staging = fs::path(dir) / ("." + f.name + ".adding-" + std::to_string(::getpid()));
  fs::remove_all(staging, ec);
  fs::create_directories(staging, ec);
  if (ec) throw Error("--dir " + dir + ": cannot write (" + ec.message() + ")");
  struct Cleanup {
    fs::path path;
    ~Cleanup() {
      std::error_code ignored;
      if (!path.empty()) fs::remove_all(path, ignored);
    }
  } cleanup{staging};

  nlohmann::json manifest = {
      {"schema", "inferlab.model/1"},
      {"name", f.name},
      {"files", {{"onnx", f.name + ".onnx"}}},
      {"inputs", specs_json(inputs)},
      {"outputs", specs_json(onnx.outputs)},
      {"parameters", summary.parameter_count},
      {"flops_per_sample", summary.flops_per_sample},
      {"weights", "the user's (inferlab models add)"},
      {"source", "inferlab models add: " + onnx_path + (torchscript.empty() ? "" : " and " + torchscript)},
      {"zoos", {"user"}},
      {"sha256", {{"onnx", onnx.sha256_onnx}}}};
  fs::copy_file(onnx_path, staging / (f.name + ".onnx"), ec);
  if (ec) throw Error("--onnx " + f.onnx + ": cannot copy into " + dir + " (" + ec.message() + ")");
  if (!torchscript.empty()) {
    manifest["files"]["torchscript"] = f.name + ".pt";
    manifest["torchscript_form"] = "as given by the user (frozen or not: the torch backend freezes at load)";
    fs::copy_file(torchscript, staging / (f.name + ".pt"), ec);
    if (ec) throw Error("--torchscript " + f.torchscript + ": cannot copy into " + dir + " (" + ec.message() + ")");
  }
  if (preprocess) manifest["preprocess"] = *preprocess;
  write_file_atomically((staging / "manifest.json").string(), manifest.dump(2) + "\n");

  if (!torchscript.empty()) {
    const ValidationResult agreement = compare_pair(resolve_model(staging.string(), dir), f);
    std::cout << "models add " << f.name << ": torch vs " << agreement.reference << " on one seeded input: max |diff| "
              << agreement.max_abs_diff << ", cosine " << agreement.cosine << '\n';
    if (!agreement.within_tolerance) {
      throw Error("models add " + f.name + ": " + f.onnx + " and " + f.torchscript + " disagree (max |diff| " +
                      std::to_string(agreement.max_abs_diff) + ", cosine " + std::to_string(agreement.cosine) +
                      "): they are not the same model; nothing was written",
                  ErrorKind::kCheckFailed);
    }
  }
  if (fs::exists(target, ec)) fs::remove_all(target, ec);
  fs::rename(staging, target, ec);
  if (ec) throw Error("models add " + f.name + ": cannot move into " + target.string() + " (" + ec.message() + ")");
  cleanup.path.clear();
  std::cout << "models add " << f.name << ": " << target.string() << " ("
            << (torchscript.empty() ? "ONNX" : "ONNX + TorchScript") << ", " << summary.parameter_count << " parameters"
            << (preprocess ? "" : ", preprocessing not declared") << ")\n";
  return 0;
}

void add_models_add(CLI::App& models, int* exit_code) {
  auto f = std::make_shared<ModelsAddFlags>();
  auto* add = models.add_subcommand("add", "Add your own model (ONNX, optionally its TorchScript twin) by name");
  add->add_option("NAME", f->name, "Name to bench it by")->required();
  add->add_option("--onnx", f->onnx, "The ONNX file")->required();
  add->add_option("--torchscript", f->torchscript, "The same model as TorchScript (.pt), for the torch backend");
  add->add_option("--shape", f->shapes, "Input shape NAME=1x3x224x224 (or just the dims for one input); repeatable");
  add->add_option("--preprocess", f->preprocess,
                  "default (derived from the input shape, recorded as guessed) | a JSON object | @FILE, with the "
                  "manifest's preprocess fields (models/README.md)");
  add->add_option("--tolerance", f->tolerance, "Allowed max |diff| between the two files, relative")
      ->capture_default_str();
  add->add_option("--min-cosine", f->min_cosine, "Required cosine similarity between the two files")
      ->capture_default_str();
  add->add_option("--dir", f->dir, "Model directory (default $INFERLAB_MODEL_DIR or ~/.cache/inferlab/models)");
  add->add_flag("--force", f->force, "Replace a model of that name");
  add->callback([=] { *exit_code = run_models_add(*f); });
}

}  // namespace inferlab::cli
