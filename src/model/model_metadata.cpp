// inferlab's ONNX metadata_props: the one writer and reader, so that a file
// made by `inferlab optimize` is fed exactly like the model it came from.
#include "inferlab/model_metadata.h"

#include "inferlab/error.h"
#include "inferlab/onnx_graph.h"
#include "inferlab/zoo.h"
#include "model/onnx_util.h"

namespace inferlab {

namespace {

constexpr const char* kKeyPrefix = "inferlab.";
constexpr const char* kPreprocessKey = "inferlab.preprocess";
constexpr const char* kLabelsKey = "inferlab.labels";
constexpr const char* kSourceModelKey = "inferlab.source_model";
constexpr const char* kSourceSha256Key = "inferlab.source_sha256";
constexpr const char* kOptimizationKey = "inferlab.optimization";

nlohmann::json parse_json_value(const std::string& text, const std::string& key, const std::string& where) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error&) {
    throw Error(where + ": metadata_props '" + key + "' is not valid JSON");
  }
}

std::string value_or_empty(const std::map<std::string, std::string>& props, const char* key) {
  auto it = props.find(key);
  return it == props.end() ? std::string() : it->second;
}

}  // namespace

bool ModelMetadata::empty() const {
  return !preprocess && labels.empty() && source_model.empty() && source_sha256.empty() && optimization.empty();
}

nlohmann::json preprocess_to_json(const Preprocess& p) {
  nlohmann::json json = {{"crop", {p.crop_height_px, p.crop_width_px}},
                         {"scale", p.scale},
                         {"mean", p.mean},
                         {"std", p.std},
                         {"channel_order", channel_order_name(p.channel_order)},
                         {"layout", p.channels_last ? "NHWC" : "NCHW"},
                         {"dtype", "float32"}};
  if (p.resize_shorter_px > 0) json["resize"] = p.resize_shorter_px;
  return json;
}

std::map<std::string, std::string> model_metadata_props(const ModelMetadata& m) {
  std::map<std::string, std::string> props;
  if (m.preprocess) props[kPreprocessKey] = preprocess_to_json(*m.preprocess).dump();
  if (!m.labels.empty()) props[kLabelsKey] = nlohmann::json(m.labels).dump();
  if (!m.source_model.empty()) props[kSourceModelKey] = m.source_model;
  if (!m.source_sha256.empty()) props[kSourceSha256Key] = m.source_sha256;
  if (!m.optimization.empty()) props[kOptimizationKey] = m.optimization;
  return props;
}

ModelMetadata model_metadata_from_props(const std::map<std::string, std::string>& props, const std::string& where) {
  ModelMetadata m;
  if (auto it = props.find(kPreprocessKey); it != props.end()) {
    m.preprocess = preprocess_from_json(parse_json_value(it->second, kPreprocessKey, where),
                                        where + " (metadata_props " + kPreprocessKey + ")");
  }
  if (auto it = props.find(kLabelsKey); it != props.end()) {
    const nlohmann::json labels = parse_json_value(it->second, kLabelsKey, where);
    try {
      m.labels = labels.get<std::vector<std::string>>();
    } catch (const nlohmann::json::exception&) {
      throw Error(where + ": metadata_props '" + kLabelsKey + "' must be a JSON array of strings");
    }
  }
  m.source_model = value_or_empty(props, kSourceModelKey);
  m.source_sha256 = value_or_empty(props, kSourceSha256Key);
  m.optimization = value_or_empty(props, kOptimizationKey);
  return m;
}

void write_model_metadata(OnnxGraph& graph, const ModelMetadata& metadata) {
  auto* props = graph.proto().mutable_metadata_props();
  // Stale inferlab keys from an earlier step must not outlive this one (a
  // source key left behind would name the wrong model).
  for (int i = props->size() - 1; i >= 0; --i) {
    if (props->Get(i).key().rfind(kKeyPrefix, 0) == 0) props->DeleteSubrange(i, 1);
  }
  for (const auto& [key, value] : model_metadata_props(metadata)) {
    auto* entry = props->Add();
    entry->set_key(key);
    entry->set_value(value);
  }
}

ModelPreprocess preprocess_of_model(const ResolvedModel& model) {
  if (model.manifest && model.manifest->preprocess) return {*model.manifest->preprocess, kPreprocessFromManifest};
  if (model.file_metadata.preprocess) return {*model.file_metadata.preprocess, kPreprocessFromFileMetadata};
  if (model.inputs.empty()) throw Error(model.argument + ": the model declares no input");
  return {default_preprocess_for(model.inputs[0], model.name), kPreprocessGuessed};
}

ModelMetadata metadata_for_derived_file(const ResolvedModel& model, const std::string& optimization) {
  ModelMetadata m;
  // Only a declared preprocessing is recorded: a guess written into the file
  // would later read as "file metadata" and hide that nobody declared it.
  if (model.manifest && model.manifest->preprocess) {
    m.preprocess = model.manifest->preprocess;
  } else {
    m.preprocess = model.file_metadata.preprocess;
  }
  m.labels = model.manifest && !model.manifest->labels.empty() ? model.manifest->labels : model.file_metadata.labels;
  const ModelMetadata& earlier = model.file_metadata;
  const bool derived = !earlier.source_model.empty();
  m.source_model = derived ? earlier.source_model : model.name;
  m.source_sha256 = derived ? earlier.source_sha256 : model.sha256_onnx;
  m.optimization = earlier.optimization.empty() ? optimization : earlier.optimization + "; then " + optimization;
  return m;
}

}  // namespace inferlab
