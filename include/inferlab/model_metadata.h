#pragma once
/// @file model_metadata.h
/// What an ONNX file written by inferlab carries so that it can be used on its
/// own, without the manifest of the model it was made from: the
/// preprocessing, the class labels, the source model's name and sha256 and
/// what was done to it. Stored as ONNX `metadata_props` (keys "inferlab.*"),
/// written by every inferlab writer and read back by every verb that takes a
/// bare .onnx file. Also the one place that decides which preprocessing a
/// resolved model gets: its manifest, its file's metadata, or a guess.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "inferlab/preprocess.h"

namespace inferlab {

class OnnxGraph;
struct ResolvedModel;

/// inferlab's entries in an ONNX file's metadata_props. Plain data.
struct ModelMetadata {
  std::optional<Preprocess> preprocess;  ///< how inputs are made from images; unset: not recorded
  std::vector<std::string> labels;       ///< class names by output index; empty: none known
  std::string source_model;              ///< name of the model this file was made from
  std::string source_sha256;             ///< sha256 (hex) of that model's ONNX file
  std::string optimization;              ///< what was applied, e.g. "passes, int8 (entropy)"

  /// True when no field is set (a file inferlab did not write).
  bool empty() const;
};

/// The metadata_props keys inferlab writes (and reads), each with its value
/// as text: "inferlab.preprocess" (JSON object in the manifest's form),
/// "inferlab.labels" (JSON array), "inferlab.source_model",
/// "inferlab.source_sha256", "inferlab.optimization". Unset fields are left out.
std::map<std::string, std::string> model_metadata_props(const ModelMetadata& metadata);

/// Parses inferlab's keys out of a file's metadata_props (other keys are
/// ignored). `where` names the file in errors. Throws Error (kBadInput) when
/// an inferlab key holds something malformed.
ModelMetadata model_metadata_from_props(const std::map<std::string, std::string>& props, const std::string& where);

/// Sets inferlab's metadata_props on `graph`, replacing any inferlab keys it
/// had and keeping everyone else's.
void write_model_metadata(OnnxGraph& graph, const ModelMetadata& metadata);

/// The manifest's "preprocess" object for `preprocess`; preprocess_from_json
/// reads it back to an equal Preprocess.
nlohmann::json preprocess_to_json(const Preprocess& preprocess);

/// Where a model's preprocessing came from, as results and messages say it.
inline constexpr const char* kPreprocessFromManifest = "manifest";
inline constexpr const char* kPreprocessFromFileMetadata = "file metadata";
inline constexpr const char* kPreprocessGuessed = "guessed from input shape";

/// A model's preprocessing and where it came from.
struct ModelPreprocess {
  Preprocess preprocess;
  std::string source;  ///< kPreprocessFromManifest, kPreprocessFromFileMetadata or kPreprocessGuessed
  /// True when nothing declared it (default_preprocess_for() guessed it).
  bool guessed() const { return source == kPreprocessGuessed; }
};

/// The preprocessing of `model`: its manifest's, else its ONNX file's
/// metadata, else default_preprocess_for() its first input. Throws Error
/// (kBadInput) when the model declares no input or the guess is impossible.
ModelPreprocess preprocess_of_model(const ResolvedModel& model);

/// What a file made from `model` should carry: its declared preprocessing
/// (manifest or file metadata; never a guess), labels, and its name and
/// ONNX sha256 as the source (or, when `model` was itself made by inferlab,
/// the original source it records, and its optimization followed by this
/// one). `optimization` says what was applied.
ModelMetadata metadata_for_derived_file(const ResolvedModel& model, const std::string& optimization);

}  // namespace inferlab
