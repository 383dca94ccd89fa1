// MODEL resolution, manifests and ONNX inspection: every way a user can point
// inferlab at a model, including the wrong ones, which must give one-line errors.

// inferlab_core links libonnx privately, so its compile definitions do not
// reach this target; the generated protobuf header needs ONNX_ML to pick the
// onnx-ml variant that Debian's libonnx ships.
#ifndef ONNX_ML
#define ONNX_ML 1
#endif
#include <onnx/onnx_pb.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "../../src/model/sha256.h"
#include "inferlab/error.h"
#include "inferlab/files.h"
#include "inferlab/onnx_model.h"
#include "inferlab/zoo.h"

namespace inferlab {
namespace {

namespace fs = std::filesystem;

void write_bytes(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

// x[batch,3] MatMul w[3,2] -> y[batch,2]; w is also listed as a graph input,
// as exporters for IR version < 4 did, and must not count as an input.
std::string small_onnx_model() {
  onnx::ModelProto model;
  model.set_ir_version(7);
  model.set_producer_name("inferlab-test");
  model.set_producer_version("1.0");
  auto* opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(13);
  auto* graph = model.mutable_graph();
  graph->set_name("small");

  auto add_value = [](onnx::ValueInfoProto* info, const std::string& name, std::vector<std::int64_t> dims) {
    info->set_name(name);
    auto* tensor = info->mutable_type()->mutable_tensor_type();
    tensor->set_elem_type(onnx::TensorProto::FLOAT);
    for (std::int64_t d : dims) {
      auto* dim = tensor->mutable_shape()->add_dim();
      if (d < 0) {
        dim->set_dim_param("batch");
      } else {
        dim->set_dim_value(d);
      }
    }
  };
  add_value(graph->add_input(), "x", {-1, 3});
  add_value(graph->add_input(), "w", {3, 2});
  add_value(graph->add_output(), "y", {-1, 2});

  auto* w = graph->add_initializer();
  w->set_name("w");
  w->set_data_type(onnx::TensorProto::FLOAT);
  w->add_dims(3);
  w->add_dims(2);
  for (int i = 0; i < 6; ++i) w->add_float_data(static_cast<float>(i));

  auto* node = graph->add_node();
  node->set_op_type("MatMul");
  node->set_name("matmul");
  node->add_input("x");
  node->add_input("w");
  node->add_output("y");

  std::string bytes;
  EXPECT_TRUE(model.SerializeToString(&bytes));
  return bytes;
}

// ---- a minimal ZIP writer (stored entries), enough to build TorchScript-like
// archives and torch.save-like state dicts without Python.

void put16(std::string& out, std::uint32_t v) {
  out.push_back(static_cast<char>(v & 0xff));
  out.push_back(static_cast<char>((v >> 8) & 0xff));
}
void put32(std::string& out, std::uint32_t v) {
  put16(out, v & 0xffff);
  put16(out, v >> 16);
}

std::uint32_t crc32(const std::string& data) {
  std::uint32_t crc = 0xffffffffu;
  for (unsigned char c : data) {
    crc ^= c;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

std::string make_zip(const std::vector<std::pair<std::string, std::string>>& entries) {
  std::string out;
  std::string central;
  for (const auto& [name, data] : entries) {
    const auto offset = static_cast<std::uint32_t>(out.size());
    const auto size = static_cast<std::uint32_t>(data.size());
    const std::uint32_t crc = crc32(data);
    put32(out, 0x04034b50);
    for (std::uint32_t v : {20u, 0u, 0u, 0u, 0u}) put16(out, v);  // version, flags, method, time, date
    put32(out, crc);
    put32(out, size);
    put32(out, size);
    put16(out, static_cast<std::uint32_t>(name.size()));
    put16(out, 0);
    out += name;
    out += data;

    put32(central, 0x02014b50);
    for (std::uint32_t v : {20u, 20u, 0u, 0u, 0u, 0u}) put16(central, v);
    put32(central, crc);
    put32(central, size);
    put32(central, size);
    put16(central, static_cast<std::uint32_t>(name.size()));
    for (std::uint32_t v : {0u, 0u, 0u, 0u}) put16(central, v);  // extra, comment, disk, internal attributes
    put32(central, 0);                                           // external attributes
    put32(central, offset);
    central += name;
  }
  const auto directory_offset = static_cast<std::uint32_t>(out.size());
  out += central;
  put32(out, 0x06054b50);
  put16(out, 0);
  put16(out, 0);
  put16(out, static_cast<std::uint32_t>(entries.size()));
  put16(out, static_cast<std::uint32_t>(entries.size()));
  put32(out, static_cast<std::uint32_t>(central.size()));
  put32(out, directory_offset);
  put16(out, 0);
  return out;
}

std::string torchscript_like_archive() {
  return make_zip({{"model/data.pkl", "p"},
                   {"model/code/__torch__/module.py", "def forward(self, x): return x"},
                   {"model/constants.pkl", "c"},
                   {"model/version", "3"}});
}

std::string manifest_json(const std::string& name, const std::string& onnx_sha256) {
  return R"({
  "schema": "inferlab.model/1",
  "name": ")" +
         name + R"(",
  "prepare_version": 1,
  "zoos": ["quick"],
  "source": "test",
  "weights": "seeded (torch.manual_seed(0)), not trained",
  "files": {"onnx": ")" +
         name + R"(.onnx", "torchscript": ")" + name + R"(.pt"},
  "sha256": {"onnx": ")" +
         onnx_sha256 + R"(", "torchscript": "unchecked"},
  "torchscript_form": "frozen TorchScript",
  "inputs": [{"name": "input", "dtype": "float32", "shape": [-1, 3, 224, 224], "layout": "NCHW"}],
  "outputs": [{"name": "logits", "dtype": "float32", "shape": [-1, 1000]}],
  "parameters": 1234,
  "flops_per_sample": 5678
})";
}

// Runs `fn`, expects an Error of kind kBadInput, and returns its message.
template <typename Fn>
std::string bad_input_message(Fn fn) {
  try {
    fn();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kBadInput) << e.what();
    const std::string message = e.what();
    EXPECT_EQ(message.find('\n'), std::string::npos) << "error messages are one line: " << message;
    return message;
  }
  ADD_FAILURE() << "expected inferlab::Error";
  return {};
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// ---- zoo names and the model directory

TEST(Zoo, NamesPerZooFollowTheCliContract) {
  EXPECT_EQ(zoo_model_names("quick"), (std::vector<std::string>{"mobilenet_v2", "squeezenet1_1"}));
  EXPECT_EQ(zoo_model_names("paper"), (std::vector<std::string>{"resnet152", "mobilenet_v2", "squeezenet1_1",
                                                                "efficientnet_b0", "vgg16", "swin_t"}));
  EXPECT_EQ(zoo_model_names("digits"), std::vector<std::string>{"digits_cnn"});
  EXPECT_EQ(zoo_model_names("rppg"), std::vector<std::string>{"rppg_net"});
  EXPECT_TRUE(contains(bad_input_message([] { zoo_model_names("imagenet"); }), "--zoo imagenet"));
}

class ScopedEnv {
 public:
  explicit ScopedEnv(const char* name) : name_(name) {
    if (const char* value = std::getenv(name)) saved_ = value;
  }
  ~ScopedEnv() {
    if (saved_) {
      ::setenv(name_, saved_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> saved_;
};

TEST(Zoo, ModelDirectoryPrefersFlagThenEnvironmentThenCache) {
  ScopedEnv model_dir("INFERLAB_MODEL_DIR");
  ScopedEnv xdg("XDG_CACHE_HOME");
  ScopedEnv home("HOME");
  ::setenv("INFERLAB_MODEL_DIR", "/env/models", 1);
  ::setenv("XDG_CACHE_HOME", "/xdg", 1);
  ::setenv("HOME", "/home/user", 1);
  EXPECT_EQ(model_directory("/flag"), "/flag");
  EXPECT_EQ(model_directory(), "/env/models");
  ::unsetenv("INFERLAB_MODEL_DIR");
  EXPECT_EQ(model_directory(), "/xdg/inferlab/models");
  ::unsetenv("XDG_CACHE_HOME");
  EXPECT_EQ(model_directory(), "/home/user/.cache/inferlab/models");
}

// ---- ONNX inspection

TEST(OnnxInspect, ReadsDeclaredInputsOutputsAndCounts) {
  TempDir dir("inferlab-zoo-test");
  const fs::path path = fs::path(dir.path()) / "small.onnx";
  write_bytes(path, small_onnx_model());

  OnnxSummary summary = inspect_onnx_file(path.string());
  ASSERT_EQ(summary.inputs.size(), 1u) << "initializers listed as graph inputs are weights, not inputs";
  EXPECT_EQ(summary.inputs[0].name, "x");
  EXPECT_EQ(summary.inputs[0].dtype, DType::kFloat32);
  EXPECT_EQ(summary.inputs[0].shape, (Shape{-1, 3}));
  ASSERT_EQ(summary.outputs.size(), 1u);
  EXPECT_EQ(summary.outputs[0].name, "y");
  EXPECT_EQ(summary.outputs[0].shape, (Shape{-1, 2}));
  EXPECT_EQ(summary.opset, 13);
  EXPECT_EQ(summary.parameter_count, 6);
  EXPECT_EQ(summary.node_count, 1);
  EXPECT_EQ(summary.op_counts.at("MatMul"), 1);
  EXPECT_EQ(summary.producer, "inferlab-test 1.0");
}

TEST(OnnxInspect, TruncatedEmptyAndForeignFilesAreBadInput) {
  TempDir dir("inferlab-zoo-test");
  const std::string bytes = small_onnx_model();
  const fs::path truncated = fs::path(dir.path()) / "truncated.onnx";
  write_bytes(truncated, bytes.substr(0, bytes.size() / 2));
  std::string message = bad_input_message([&] { inspect_onnx_file(truncated.string()); });
  EXPECT_TRUE(contains(message, truncated.string())) << message;
  EXPECT_TRUE(contains(message, "not a valid ONNX model")) << message;

  const fs::path empty = fs::path(dir.path()) / "empty.onnx";
  write_bytes(empty, "");
  EXPECT_TRUE(contains(bad_input_message([&] { inspect_onnx_file(empty.string()); }), "empty"));

  const fs::path text = fs::path(dir.path()) / "text.onnx";
  write_bytes(text, "this is not a protobuf message at all\n");
  EXPECT_TRUE(contains(bad_input_message([&] { inspect_onnx_file(text.string()); }), "not a valid ONNX model"));

  EXPECT_TRUE(contains(bad_input_message([&] { inspect_onnx_file((fs::path(dir.path()) / "none.onnx").string()); }),
                       "no such file"));
}

TEST(OnnxInspect, ModelWithoutNodesIsRejected) {
  onnx::ModelProto model;
  model.set_ir_version(7);
  model.add_opset_import()->set_version(13);
  model.mutable_graph()->set_name("empty");
  std::string bytes;
  ASSERT_TRUE(model.SerializeToString(&bytes));
  TempDir dir("inferlab-zoo-test");
  const fs::path path = fs::path(dir.path()) / "nodes.onnx";
  write_bytes(path, bytes);
  EXPECT_TRUE(contains(bad_input_message([&] { inspect_onnx_file(path.string()); }), "empty graph"));
}

// ---- resolve_model: files

TEST(ResolveModel, OnnxFileGivesDeclaredShapesAndItsHash) {
  TempDir dir("inferlab-zoo-test");
  const std::string bytes = small_onnx_model();
  const fs::path path = fs::path(dir.path()) / "small.onnx";
  write_bytes(path, bytes);

  ResolvedModel model = resolve_model(path.string(), dir.path());
  EXPECT_EQ(model.name, "small");
  EXPECT_EQ(model.argument, path.string());
  ASSERT_EQ(model.paths.count(ModelFormat::kOnnx), 1u);
  EXPECT_TRUE(fs::path(model.paths.at(ModelFormat::kOnnx)).is_absolute());
  EXPECT_EQ(model.paths.count(ModelFormat::kTorchScript), 0u);
  ASSERT_EQ(model.inputs.size(), 1u);
  EXPECT_EQ(model.inputs[0].shape, (Shape{-1, 3}));
  EXPECT_EQ(model.sha256_onnx, sha256_hex(bytes));
  EXPECT_FALSE(model.manifest.has_value());

  ModelSource onnx = model.source_for(ModelFormat::kOnnx);
  EXPECT_EQ(onnx.format, ModelFormat::kOnnx);
  EXPECT_EQ(onnx.path, model.paths.at(ModelFormat::kOnnx));
  EXPECT_TRUE(model.source_for(ModelFormat::kTorchScript).path.empty());
}

TEST(ResolveModel, TruncatedOnnxIsBadInput) {
  TempDir dir("inferlab-zoo-test");
  const std::string bytes = small_onnx_model();
  const fs::path path = fs::path(dir.path()) / "cut.onnx";
  write_bytes(path, bytes.substr(0, bytes.size() - 7));
  const std::string message = bad_input_message([&] { resolve_model(path.string(), dir.path()); });
  EXPECT_TRUE(contains(message, "cut.onnx")) << message;
  EXPECT_TRUE(contains(message, "not a valid ONNX model")) << message;
}

TEST(ResolveModel, MissingPathsSayNoSuchFile) {
  TempDir dir("inferlab-zoo-test");
  for (const std::string& argument : {std::string("models/none.onnx"), std::string("none.pt"),
                                      (fs::path(dir.path()) / "none.onnx").string(), std::string("./resnet")}) {
    const std::string message = bad_input_message([&] { resolve_model(argument, dir.path()); });
    EXPECT_EQ(message, argument + ": no such file");
  }
}

TEST(ResolveModel, UnknownNameNamesTheModelDirectoryAndHowToPrepare) {
  TempDir dir("inferlab-zoo-test");
  const std::string message = bad_input_message([&] { resolve_model("resnet9000", dir.path()); });
  EXPECT_EQ(message, "model 'resnet9000' is neither a file nor a prepared model in " + dir.path() +
                         " (a reference model needs: inferlab models prepare --zoo digits|paper|quick|rppg)");
  // A reference model's hint names its own zoo (issue 16: rppg_net was sent to the quick zoo).
  for (const auto& [name, zoo] : {std::pair{"rppg_net", "rppg"}, {"digits_cnn", "digits"}, {"vgg16", "paper"}}) {
    const std::string hint = bad_input_message([&] { resolve_model(name, dir.path()); });
    EXPECT_NE(hint.find(std::string("(run: inferlab models prepare --zoo ") + zoo + ")"), std::string::npos) << hint;
  }
}

TEST(ResolveModel, StateDictIsNotTorchScript) {
  TempDir dir("inferlab-zoo-test");
  const fs::path path = fs::path(dir.path()) / "weights.pt";
  write_bytes(path, make_zip({{"archive/data.pkl", "pickle"}, {"archive/data/0", "tensor"}, {"archive/version", "3"}}));
  const std::string message = bad_input_message([&] { resolve_model(path.string(), dir.path()); });
  EXPECT_EQ(message, path.string() + " is not a TorchScript archive (no code/ entry): save it with torch.jit.save");
}

TEST(ResolveModel, NonZipPtIsNotTorchScript) {
  TempDir dir("inferlab-zoo-test");
  const fs::path path = fs::path(dir.path()) / "legacy.pt";
  write_bytes(path, std::string("\x80\x02legacy pickle", 15));
  const std::string message = bad_input_message([&] { resolve_model(path.string(), dir.path()); });
  EXPECT_TRUE(contains(message, "not a TorchScript archive")) << message;
  EXPECT_TRUE(contains(message, "not a ZIP file")) << message;

  const fs::path cut = fs::path(dir.path()) / "cut.pt";
  const std::string archive = torchscript_like_archive();
  write_bytes(cut, archive.substr(0, archive.size() - 30));
  EXPECT_TRUE(contains(bad_input_message([&] { resolve_model(cut.string(), dir.path()); }), "truncated"));
}

TEST(ResolveModel, TorchScriptWithoutManifestHasNoDeclaredInputs) {
  TempDir dir("inferlab-zoo-test");
  const fs::path path = fs::path(dir.path()) / "net.pt";
  write_bytes(path, torchscript_like_archive());
  ResolvedModel model = resolve_model(path.string(), dir.path());
  EXPECT_EQ(model.name, "net");
  ASSERT_EQ(model.paths.count(ModelFormat::kTorchScript), 1u);
  EXPECT_TRUE(model.inputs.empty()) << "TorchScript declares no shapes: the CLI asks for --shape";
  EXPECT_TRUE(model.sha256_onnx.empty());
}

TEST(ResolveModel, TorchScriptBesideItsManifestTakesShapesFromIt) {
  TempDir dir("inferlab-zoo-test");
  const fs::path folder = fs::path(dir.path()) / "tiny";
  fs::create_directories(folder);
  write_bytes(folder / "tiny.pt", torchscript_like_archive());
  write_bytes(folder / "manifest.json", manifest_json("tiny", "unused"));
  ResolvedModel model = resolve_model((folder / "tiny.pt").string(), dir.path());
  EXPECT_EQ(model.name, "tiny");
  ASSERT_EQ(model.inputs.size(), 1u);
  EXPECT_EQ(model.inputs[0].shape, (Shape{-1, 3, 224, 224}));
  EXPECT_EQ(model.inputs[0].layout, "NCHW");
  ASSERT_TRUE(model.manifest.has_value());
  EXPECT_EQ(model.paths.count(ModelFormat::kOnnx), 0u) << "a file argument selects that file only";
}

TEST(ResolveModel, OtherExtensionsAreRejected) {
  TempDir dir("inferlab-zoo-test");
  const fs::path path = fs::path(dir.path()) / "model.tflite";
  write_bytes(path, "TFL3");
  EXPECT_TRUE(contains(bad_input_message([&] { resolve_model(path.string(), dir.path()); }), "'.tflite'"));
}

// ---- resolve_model: prepared models

struct PreparedModel {
  TempDir dir{"inferlab-zoo-test"};
  fs::path folder;
  std::string onnx_bytes = small_onnx_model();

  explicit PreparedModel(const std::string& name, std::optional<std::string> recorded_sha = std::nullopt) {
    folder = fs::path(dir.path()) / name;
    fs::create_directories(folder);
    write_bytes(folder / (name + ".onnx"), onnx_bytes);
    write_bytes(folder / (name + ".pt"), torchscript_like_archive());
    write_bytes(folder / "manifest.json", manifest_json(name, recorded_sha.value_or(sha256_hex(onnx_bytes))));
  }
};

TEST(ResolveModel, PreparedNameGivesEveryFormatAndTheManifest) {
  PreparedModel prepared("mobilenet_v2");
  ResolvedModel model = resolve_model("mobilenet_v2", prepared.dir.path());
  EXPECT_EQ(model.name, "mobilenet_v2");
  EXPECT_EQ(model.paths.at(ModelFormat::kOnnx), (prepared.folder / "mobilenet_v2.onnx").string());
  EXPECT_EQ(model.paths.at(ModelFormat::kTorchScript), (prepared.folder / "mobilenet_v2.pt").string());
  ASSERT_EQ(model.inputs.size(), 1u);
  EXPECT_EQ(model.inputs[0].shape, (Shape{-1, 3, 224, 224})) << "the manifest, not the ONNX file, declares I/O";
  ASSERT_EQ(model.outputs.size(), 1u);
  EXPECT_EQ(model.outputs[0].name, "logits");
  EXPECT_EQ(model.sha256_onnx, sha256_hex(prepared.onnx_bytes));
  ASSERT_TRUE(model.manifest.has_value());
  EXPECT_EQ(model.manifest->parameter_count, 1234);
  EXPECT_EQ(model.manifest->flops_per_sample, 5678);
  EXPECT_EQ(model.manifest->zoos, std::vector<std::string>{"quick"});
  EXPECT_EQ(model.manifest->path_for(ModelFormat::kTorchScript), model.paths.at(ModelFormat::kTorchScript));
  EXPECT_TRUE(model.manifest->path_for(ModelFormat::kNone).empty());
  EXPECT_EQ(model.source_for(ModelFormat::kTorchScript).inputs[0].shape, (Shape{-1, 3, 224, 224}));
}

TEST(ResolveModel, PreparedOnnxModifiedAfterPreparationIsRejected) {
  PreparedModel prepared("squeezenet1_1", std::string(64, '0'));
  const std::string message = bad_input_message([&] { resolve_model("squeezenet1_1", prepared.dir.path()); });
  EXPECT_TRUE(contains(message, "does not match the sha256")) << message;
}

TEST(ResolveModel, PreparedModelWithMissingFileIsRejected) {
  PreparedModel prepared("vgg16");
  fs::remove(prepared.folder / "vgg16.pt");
  const std::string message = bad_input_message([&] { resolve_model("vgg16", prepared.dir.path()); });
  EXPECT_TRUE(contains(message, "vgg16.pt")) << message;
  EXPECT_TRUE(contains(message, "missing")) << message;
}

// ---- manifests

TEST(Manifest, MalformedManifestsNameTheFile) {
  TempDir dir("inferlab-zoo-test");
  const fs::path file = fs::path(dir.path()) / "manifest.json";

  EXPECT_EQ(bad_input_message([&] { read_manifest(dir.path()); }), file.string() + ": no such file");

  write_bytes(file, "{\"schema\": \"inferlab.model/1\", ");
  std::string message = bad_input_message([&] { read_manifest(dir.path()); });
  EXPECT_TRUE(contains(message, file.string() + ": not valid JSON")) << message;

  write_bytes(file, R"({"schema": "other/2", "name": "x"})");
  EXPECT_TRUE(contains(bad_input_message([&] { read_manifest(dir.path()); }), "schema 'other/2'"));

  write_bytes(file, R"({"schema": "inferlab.model/1", "name": "x", "files": {"onnx": "../elsewhere.onnx"}})");
  EXPECT_TRUE(contains(bad_input_message([&] { read_manifest(dir.path()); }), "same folder"));

  write_bytes(file, R"({"schema": "inferlab.model/1", "files": {"onnx": "x.onnx"}})");
  EXPECT_TRUE(contains(bad_input_message([&] { read_manifest(dir.path()); }), "missing field 'name'"));
}

TEST(Manifest, ListPreparedModelsIsSortedAndSkipsOtherFolders) {
  TempDir dir("inferlab-zoo-test");
  for (const std::string name : {"squeezenet1_1", "mobilenet_v2"}) {
    fs::create_directories(fs::path(dir.path()) / name);
    write_bytes(fs::path(dir.path()) / name / "manifest.json", manifest_json(name, "x"));
  }
  fs::create_directories(fs::path(dir.path()) / "not-a-model");
  auto models = list_prepared_models(dir.path());
  ASSERT_EQ(models.size(), 2u);
  EXPECT_EQ(models[0].name, "mobilenet_v2");
  EXPECT_EQ(models[1].name, "squeezenet1_1");
  EXPECT_EQ(models[0].files.at("onnx"), "mobilenet_v2.onnx");
  EXPECT_TRUE(fs::path(models[0].directory).is_absolute());
  EXPECT_TRUE(list_prepared_models((fs::path(dir.path()) / "absent").string()).empty());
}

// ---- SHA-256 (FIPS 180-4 test vectors)

TEST(Sha256, KnownVectorsAndChunkedUpdates) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  const std::string million(1000000, 'a');
  EXPECT_EQ(sha256_hex(million), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");

  Sha256 chunked;
  for (std::size_t pos = 0, step = 1; pos < million.size(); pos += step, step = step * 3 % 257 + 1) {
    chunked.update(million.data() + pos, std::min(step, million.size() - pos));
  }
  EXPECT_EQ(chunked.hex_digest(), sha256_hex(million));

  TempDir dir("inferlab-zoo-test");
  const fs::path path = fs::path(dir.path()) / "blob";
  write_bytes(path, million);
  EXPECT_EQ(sha256_file_hex(path.string()), sha256_hex(million));
}

}  // namespace
}  // namespace inferlab

// models/zoo.json is the one list: the compiled table holds every zoo the
// CLI documents, each non-empty, and the paper zoo is the study's six.
TEST(Zoo, ListComesFromZooJson) {
  const auto zoos = inferlab::zoo_names();
  for (const char* zoo : {"quick", "paper", "digits", "rppg"}) {
    EXPECT_NE(std::find(zoos.begin(), zoos.end(), zoo), zoos.end()) << zoo;
    EXPECT_FALSE(inferlab::zoo_model_names(zoo).empty()) << zoo;
  }
  EXPECT_EQ(inferlab::zoo_model_names("paper").size(), 6u);
  try {
    inferlab::zoo_model_names("nope");
    FAIL() << "an unknown zoo must throw";
  } catch (const inferlab::Error& e) {
    EXPECT_NE(std::string(e.what()).find("quick"), std::string::npos) << e.what();
  }
}
