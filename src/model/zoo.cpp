// Reference models: the model directory, manifests written by
// models/prepare.py, and resolution of a MODEL argument to files.
#include "inferlab/zoo.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "inferlab/error.h"
#include "inferlab/files.h"
#include "inferlab/onnx_model.h"
#include "model/sha256.h"

namespace inferlab {

namespace fs = std::filesystem;

namespace {

constexpr const char* kManifestSchema = "inferlab.model/1";

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

bool path_exists(const fs::path& path) {
  std::error_code ec;
  return fs::exists(path, ec);
}

std::string absolute_string(const fs::path& path) {
  std::error_code ec;
  fs::path absolute = fs::absolute(path, ec);
  return (ec ? path : absolute).lexically_normal().string();
}

// ---- manifest.json

template <typename T>
T field(const nlohmann::json& object, const char* key, const std::string& file) {
  auto it = object.find(key);
  if (it == object.end()) throw Error(file + ": missing field '" + key + "'");
  try {
    return it->get<T>();
  } catch (const nlohmann::json::exception&) {
    throw Error(file + ": field '" + key + "' has the wrong type");
  }
}

template <typename T>
T optional_field(const nlohmann::json& object, const char* key, T fallback, const std::string& file) {
  if (!object.contains(key) || object.at(key).is_null()) return fallback;
  return field<T>(object, key, file);
}

std::vector<TensorSpec> specs_from_json(const nlohmann::json& manifest, const char* key, const std::string& file) {
  auto list = field<nlohmann::json>(manifest, key, file);
  if (!list.is_array() || list.empty()) throw Error(file + ": '" + key + "' must be a non-empty array");
  std::vector<TensorSpec> specs;
  for (const auto& entry : list) {
    if (!entry.is_object()) throw Error(file + ": every entry of '" + key + "' must be an object");
    TensorSpec spec;
    spec.name = field<std::string>(entry, "name", file);
    const auto dtype = field<std::string>(entry, "dtype", file);
    spec.dtype = dtype_from_name(dtype);
    if (spec.dtype == DType::kUnknown)
      throw Error(file + ": " + key + " '" + spec.name + "' has unknown dtype '" + dtype + "'");
    spec.shape = field<Shape>(entry, "shape", file);
    spec.layout = optional_field<std::string>(entry, "layout", "", file);
    specs.push_back(std::move(spec));
  }
  return specs;
}

struct ManifestDocument {
  ModelManifest manifest;
  std::map<std::string, std::string> sha256;  // format key -> hex digest, as prepare.py recorded it
};

ManifestDocument read_manifest_document(const std::string& manifest_dir) {
  const std::string file = (fs::path(manifest_dir) / "manifest.json").string();
  if (!path_exists(file)) throw Error(file + ": no such file");
  std::ifstream in(file);
  if (!in) throw Error(file + ": cannot open for reading");
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(in);
  } catch (const nlohmann::json::parse_error& e) {
    // nlohmann's text starts with "[json.exception.parse_error.101] "; the rest is one line.
    std::string what = e.what();
    if (auto pos = what.find("] "); pos != std::string::npos) what = what.substr(pos + 2);
    throw Error(file + ": not valid JSON (" + what + ")");
  }
  if (!json.is_object()) throw Error(file + ": not a JSON object");
  const auto schema = field<std::string>(json, "schema", file);
  if (schema != kManifestSchema) {
    throw Error(file + ": schema '" + schema + "' is not " + kManifestSchema + " (re-run inferlab models prepare)");
  }

  ManifestDocument doc;
  ModelManifest& m = doc.manifest;
  m.name = field<std::string>(json, "name", file);
  m.directory = absolute_string(manifest_dir);
  m.files = field<std::map<std::string, std::string>>(json, "files", file);
  if (m.files.empty()) throw Error(file + ": 'files' names no model file");
  for (const auto& [format, name] : m.files) {
    // A manifest names files beside itself; anything else could point a
    // benchmark at a file the user never prepared.
    if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..") {
      throw Error(file + ": files." + format + " must be a file name in the same folder, not '" + name + "'");
    }
  }
  m.inputs = specs_from_json(json, "inputs", file);
  m.outputs = specs_from_json(json, "outputs", file);
  m.parameter_count = optional_field<std::int64_t>(json, "parameters", 0, file);
  m.flops_per_sample = optional_field<std::int64_t>(json, "flops_per_sample", 0, file);
  m.weights = optional_field<std::string>(json, "weights", "", file);
  m.torchscript_form = optional_field<std::string>(json, "torchscript_form", "", file);
  m.source = optional_field<std::string>(json, "source", "", file);
  m.zoos = optional_field<std::vector<std::string>>(json, "zoos", {}, file);
  m.labels = optional_field<std::vector<std::string>>(json, "labels", {}, file);
  if (auto it = json.find("preprocess"); it != json.end() && !it->is_null()) {
    m.preprocess = preprocess_from_json(*it, file);
  }
  doc.sha256 = optional_field<std::map<std::string, std::string>>(json, "sha256", {}, file);
  return doc;
}

// ---- TorchScript archives

std::uint32_t le16(const unsigned char* p) { return p[0] | (p[1] << 8); }
std::uint32_t le32(const unsigned char* p) {
  return std::uint32_t{p[0]} | (std::uint32_t{p[1]} << 8) | (std::uint32_t{p[2]} << 16) | (std::uint32_t{p[3]} << 24);
}
std::uint64_t le64(const unsigned char* p) { return le32(p) | (std::uint64_t{le32(p + 4)} << 32); }

std::string read_range(std::ifstream& in, std::uint64_t offset, std::uint64_t size, const std::string& path) {
  std::string bytes(size, '\0');
  in.clear();
  in.seekg(static_cast<std::streamoff>(offset));
  if (!in.read(bytes.data(), static_cast<std::streamsize>(size))) {
    throw Error(path + ": not a TorchScript archive (truncated ZIP file)");
  }
  return bytes;
}

// Entry names from a ZIP file's central directory. Reading only the
// directory keeps this cheap for half-gigabyte archives.
std::vector<std::string> zip_entry_names(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw Error(path + ": cannot open for reading");
  const auto file_size = static_cast<std::uint64_t>(in.tellg());
  const std::string magic = file_size >= 4 ? read_range(in, 0, 4, path) : std::string();
  if (magic != std::string("PK\x03\x04", 4)) {
    throw Error(path + " is not a TorchScript archive (not a ZIP file): save it with torch.jit.save");
  }

  // End of central directory: 22 bytes plus a comment of up to 64 KiB, at the end.
  const std::uint64_t tail_size = std::min<std::uint64_t>(file_size, 22 + 0xffff);
  const std::string tail = read_range(in, file_size - tail_size, tail_size, path);
  const auto* t = reinterpret_cast<const unsigned char*>(tail.data());
  std::int64_t eocd = -1;
  for (std::int64_t i = static_cast<std::int64_t>(tail_size) - 22; i >= 0; --i) {
    if (le32(t + i) == 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw Error(path + ": not a TorchScript archive (ZIP end-of-directory record missing; truncated?)");
  std::uint64_t entries = le16(t + eocd + 10);
  std::uint64_t directory_size = le32(t + eocd + 12);
  std::uint64_t directory_offset = le32(t + eocd + 16);
  if (entries == 0xffff || directory_size == 0xffffffff || directory_offset == 0xffffffff) {
    // ZIP64 (archives over 4 GiB): the locator sits just before the record.
    const std::uint64_t eocd_abs = file_size - tail_size + static_cast<std::uint64_t>(eocd);
    if (eocd_abs < 20) throw Error(path + ": not a TorchScript archive (bad ZIP64 directory)");
    const std::string locator = read_range(in, eocd_abs - 20, 20, path);
    const auto* l = reinterpret_cast<const unsigned char*>(locator.data());
    if (le32(l) != 0x07064b50) throw Error(path + ": not a TorchScript archive (bad ZIP64 directory)");
    const std::string record = read_range(in, le64(l + 8), 56, path);
    const auto* r = reinterpret_cast<const unsigned char*>(record.data());
    if (le32(r) != 0x06064b50) throw Error(path + ": not a TorchScript archive (bad ZIP64 directory)");
    entries = le64(r + 32);
    directory_size = le64(r + 40);
    directory_offset = le64(r + 48);
  }
  if (directory_offset + directory_size > file_size) {
    throw Error(path + ": not a TorchScript archive (ZIP directory beyond the end of the file; truncated?)");
  }
  const std::string directory = read_range(in, directory_offset, directory_size, path);
  const auto* d = reinterpret_cast<const unsigned char*>(directory.data());
  std::vector<std::string> names;
  std::uint64_t pos = 0;
  for (std::uint64_t i = 0; i < entries; ++i) {
    if (pos + 46 > directory_size || le32(d + pos) != 0x02014b50) {
      throw Error(path + ": not a TorchScript archive (corrupt ZIP directory)");
    }
    const std::uint64_t name_length = le16(d + pos + 28);
    const std::uint64_t record_length = 46 + name_length + le16(d + pos + 30) + le16(d + pos + 32);
    if (pos + record_length > directory_size) throw Error(path + ": not a TorchScript archive (corrupt ZIP directory)");
    names.emplace_back(directory.substr(pos + 46, name_length));
    pos += record_length;
  }
  return names;
}

void check_torchscript_archive(const std::string& path) {
  const auto names = zip_entry_names(path);
  const bool scripted = std::any_of(names.begin(), names.end(), [](const std::string& name) {
    const std::string constants = "constants.pkl";
    return name.find("/code/") != std::string::npos ||
           (name.size() >= constants.size() &&
            name.compare(name.size() - constants.size(), constants.size(), constants) == 0);
  });
  if (!scripted) {
    throw Error(path + " is not a TorchScript archive (no code/ entry): save it with torch.jit.save");
  }
}

// ---- resolution

ResolvedModel resolve_prepared(const std::string& argument, const fs::path& dir) {
  ManifestDocument doc = read_manifest_document(dir.string());
  ModelManifest& m = doc.manifest;
  const std::string manifest_file = (dir / "manifest.json").string();
  ResolvedModel model;
  model.name = m.name;
  model.argument = argument;
  model.inputs = m.inputs;
  model.outputs = m.outputs;
  for (ModelFormat format : {ModelFormat::kOnnx, ModelFormat::kTorchScript}) {
    const std::string path = m.path_for(format);
    if (path.empty()) continue;
    if (!path_exists(path)) {
      throw Error("model '" + argument + "': " + path + " named in " + manifest_file +
                  " is missing (re-run inferlab models prepare with --force)");
    }
    if (format == ModelFormat::kTorchScript) check_torchscript_archive(path);
    model.paths[format] = path;
  }
  if (model.paths.empty()) throw Error(manifest_file + ": names no ONNX or TorchScript file");
  if (auto onnx = model.paths.find(ModelFormat::kOnnx); onnx != model.paths.end()) {
    model.sha256_onnx = sha256_file_hex(onnx->second);
    // prepare.py checked the model before recording its hash, so a match
    // stands in for re-parsing half a gigabyte of protobuf; a mismatch means
    // the file changed after preparation and results would name the wrong model.
    auto recorded = doc.sha256.find("onnx");
    if (recorded != doc.sha256.end() && recorded->second != model.sha256_onnx) {
      throw Error("model '" + argument + "': " + onnx->second + " does not match the sha256 in " + manifest_file +
                  " (modified after preparation? re-run inferlab models prepare with --force)");
    }
    if (recorded == doc.sha256.end()) inspect_onnx_file(onnx->second);
  }
  model.manifest = std::move(m);
  return model;
}

// A sibling manifest.json that names `file` describes it (prepare.py's layout).
std::optional<ModelManifest> sibling_manifest(const fs::path& file, ModelFormat format) {
  const fs::path dir = file.has_parent_path() ? file.parent_path() : fs::path(".");
  if (!path_exists(dir / "manifest.json")) return std::nullopt;
  ModelManifest manifest = read_manifest_document(dir.string()).manifest;
  auto it = manifest.files.find(model_format_name(format));
  if (it == manifest.files.end() || it->second != file.filename().string()) return std::nullopt;
  return manifest;
}

ResolvedModel resolve_file(const std::string& argument, const fs::path& path) {
  const std::string extension = lower(path.extension().string());
  ResolvedModel model;
  model.argument = argument;
  model.name = path.stem().string();
  const std::string absolute = absolute_string(path);
  if (extension == ".onnx") {
    OnnxSummary summary = inspect_onnx_file(absolute);
    model.paths[ModelFormat::kOnnx] = absolute;
    model.inputs = std::move(summary.inputs);
    model.outputs = std::move(summary.outputs);
    model.sha256_onnx = sha256_file_hex(absolute);
    // Files inferlab wrote carry their preprocessing and provenance; a
    // prepared model's own file is described by its manifest instead.
    model.file_metadata = model_metadata_from_props(summary.metadata_props, absolute);
    if (auto manifest = sibling_manifest(absolute, ModelFormat::kOnnx)) {
      model.name = manifest->name;
      model.manifest = std::move(manifest);
    }
    return model;
  }
  if (extension == ".pt") {
    check_torchscript_archive(absolute);
    model.paths[ModelFormat::kTorchScript] = absolute;
    // TorchScript carries no input shapes; without a manifest the caller
    // must supply them (--shape).
    if (auto manifest = sibling_manifest(absolute, ModelFormat::kTorchScript)) {
      model.name = manifest->name;
      model.inputs = manifest->inputs;
      model.outputs = manifest->outputs;
      model.manifest = std::move(manifest);
    }
    return model;
  }
  throw Error(argument + ": unsupported model file extension '" + path.extension().string() +
              "' (expected .onnx or a TorchScript .pt)");
}

// The command that prepares `name`: its own zoo's, so `rppg_net` is not sent
// to the quick zoo, which would never contain it.
std::string prepare_hint(const std::string& name) {
  // The smallest zoo holding it (quick before paper for mobilenet_v2).
  std::string best_zoo, every;
  std::size_t best_size = 0;
  for (const auto& zoo : zoo_names()) {
    const auto names = zoo_model_names(zoo);
    every += (every.empty() ? "" : "|") + zoo;
    if (std::find(names.begin(), names.end(), name) != names.end() && (best_zoo.empty() || names.size() < best_size)) {
      best_zoo = zoo;
      best_size = names.size();
    }
  }
  if (!best_zoo.empty()) return "run: inferlab models prepare --zoo " + best_zoo;
  return "a reference model needs: inferlab models prepare --zoo " + every;
}

bool looks_like_path(const std::string& argument) {
  const std::string lowered = lower(argument);
  auto ends_with = [&](const std::string& suffix) {
    return lowered.size() >= suffix.size() &&
           lowered.compare(lowered.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  return argument.find('/') != std::string::npos || ends_with(".onnx") || ends_with(".pt");
}

}  // namespace

std::string ModelManifest::path_for(ModelFormat format) const {
  auto it = files.find(model_format_name(format));
  if (it == files.end()) return {};
  return (fs::path(directory) / it->second).string();
}

ModelSource ResolvedModel::source_for(ModelFormat format) const {
  ModelSource source;
  source.name = name;
  source.format = format;
  if (auto it = paths.find(format); it != paths.end()) source.path = it->second;
  source.inputs = inputs;
  source.outputs = outputs;
  return source;
}

std::string model_directory(const std::string& override_dir) {
  if (!override_dir.empty()) return override_dir;
  if (const char* dir = std::getenv("INFERLAB_MODEL_DIR"); dir && *dir) return dir;
  return user_cache_directory() + "/models";
}

namespace {

// models/zoo.json, compiled in (the generated initializer keeps its order).
const std::vector<std::pair<std::string, std::vector<std::string>>>& zoo_table() {
  static const std::vector<std::pair<std::string, std::vector<std::string>>> table{
#include "zoo_list.inc"
  };
  return table;
}

}  // namespace

std::vector<std::string> zoo_names() {
  std::vector<std::string> names;
  for (const auto& entry : zoo_table()) names.push_back(entry.first);
  return names;
}

std::vector<std::string> zoo_model_names(const std::string& zoo) {
  std::string known;
  for (const auto& [name, models] : zoo_table()) {
    if (name == zoo) return models;
    known += (known.empty() ? "" : ", ") + name;
  }
  throw Error("--zoo " + zoo + ": unknown zoo (expected one of " + known + ")");
}

ModelManifest read_manifest(const std::string& manifest_dir) { return read_manifest_document(manifest_dir).manifest; }

std::vector<ModelManifest> list_prepared_models(const std::string& model_dir) {
  std::vector<ModelManifest> models;
  std::error_code ec;
  if (!fs::is_directory(model_dir, ec)) return models;
  for (const auto& entry : fs::directory_iterator(model_dir, ec)) {
    if (entry.is_directory(ec) && path_exists(entry.path() / "manifest.json")) {
      models.push_back(read_manifest(entry.path().string()));
    }
  }
  if (ec) throw Error(model_dir + ": cannot list (" + ec.message() + ")");
  std::sort(models.begin(), models.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return models;
}

ResolvedModel resolve_model(const std::string& argument, const std::string& model_dir) {
  if (argument.empty()) throw Error("MODEL: empty argument (give a .onnx/.pt file or a prepared model name)");
  const fs::path path(argument);
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    // A prepared model's own folder (e.g. typed from inside the model directory).
    if (path_exists(path / "manifest.json")) return resolve_prepared(argument, path);
  } else if (path_exists(path)) {
    return resolve_file(argument, path);
  }
  if (looks_like_path(argument)) {
    if (fs::is_directory(path, ec)) throw Error(argument + ": is a directory without manifest.json, not a model file");
    throw Error(argument + ": no such file");
  }
  const fs::path prepared = fs::path(model_dir) / argument;
  if (path_exists(prepared / "manifest.json")) return resolve_prepared(argument, prepared);
  throw Error("model '" + argument + "' is neither a file nor a prepared model in " + model_dir + " (" +
              prepare_hint(argument) + ")");
}

}  // namespace inferlab
