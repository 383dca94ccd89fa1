#pragma once
/// @file zoo.h
/// Reference models: where prepared models live, their manifests, and how a
/// MODEL argument (a path or a name) resolves to the file each backend reads.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "inferlab/contract_types.h"
#include "inferlab/model_metadata.h"
#include "inferlab/preprocess.h"

namespace inferlab {

/// The manifest written next to a prepared model (manifest.json,
/// schema "inferlab.model/1"). See models/README.md for every field.
struct ModelManifest {
  std::string name;
  std::string directory;                     ///< folder holding manifest.json
  std::map<std::string, std::string> files;  ///< format name ("onnx", "torchscript") -> file name
  std::vector<TensorSpec> inputs;            ///< batch dimension is -1 (dynamic)
  std::vector<TensorSpec> outputs;
  std::int64_t parameter_count = 0;
  std::int64_t flops_per_sample = 0;     ///< multiply-adds x 2 at batch 1
  std::string weights;                   ///< e.g. "seeded (torch.manual_seed(0)), not trained"
  std::string torchscript_form;          ///< e.g. "frozen + optimize_for_inference"
  std::string source;                    ///< e.g. "torchvision 0.14.1 mobilenet_v2"
  std::vector<std::string> zoos;         ///< zoos this model belongs to
  std::optional<Preprocess> preprocess;  ///< the manifest's "preprocess", when declared
  std::vector<std::string> labels;       ///< the manifest's "labels" (class names by output index), if any

  /// Absolute path of the file for `format`; empty when the model has none.
  std::string path_for(ModelFormat format) const;
};

/// The model directory: `override_dir` if non-empty, else $INFERLAB_MODEL_DIR,
/// else $XDG_CACHE_HOME/inferlab/models, else ~/.cache/inferlab/models.
std::string model_directory(const std::string& override_dir = {});

/// The reference zoos ("quick", "paper", "digits", "rppg"), as models/zoo.json lists them.
std::vector<std::string> zoo_names();

/// Names of the models in a zoo ("quick", "paper", ...), from models/zoo.json.
/// Throws Error (kBadInput) for an unknown zoo, naming the known ones.
std::vector<std::string> zoo_model_names(const std::string& zoo);

/// Reads `<dir>/manifest.json`. Throws Error naming the file when it is missing or malformed.
ModelManifest read_manifest(const std::string& manifest_dir);

/// Every prepared model under `model_dir` (sub-folders holding a manifest), sorted by name.
std::vector<ModelManifest> list_prepared_models(const std::string& model_dir);

/// A MODEL argument resolved: a display name and the file per format.
struct ResolvedModel {
  std::string name;
  std::string argument;                      ///< what the user typed
  std::map<ModelFormat, std::string> paths;  ///< formats available
  std::vector<TensorSpec> inputs;            ///< declared inputs (dims may be -1)
  std::vector<TensorSpec> outputs;
  std::optional<ModelManifest> manifest;  ///< set for prepared reference models
  std::string sha256_onnx;                ///< hash of the ONNX file if any (environment record)
  ModelMetadata file_metadata;            ///< what a bare ONNX file carries in its metadata_props (empty: none)

  /// The ModelSource a backend reading `format` gets; path empty when this model has no such file.
  ModelSource source_for(ModelFormat format) const;
};

/// Resolves a MODEL argument: an existing path to .onnx or .pt, or the name
/// of a prepared model in `model_dir`. Checks that files parse as their
/// format (ONNX protobuf; TorchScript zip archive with code/). Throws Error
/// (kBadInput) with one line naming the argument and what is wrong.
ResolvedModel resolve_model(const std::string& argument, const std::string& model_dir);

}  // namespace inferlab
