// inferlab's ONNX metadata_props (issue 16): what a written file carries
// reads back field for field, a rewrite replaces only inferlab's keys, and a
// resolved bare file takes its preprocessing from them (or says it guessed).
#include <gtest/gtest.h>

#include "inferlab/error.h"
#include "inferlab/files.h"
#include "inferlab/model_metadata.h"
#include "inferlab/zoo.h"
#include "onnx_builder.h"

namespace inferlab {
namespace {

ModelMetadata every_field_set() {
  ModelMetadata m;
  Preprocess p;
  p.resize_shorter_px = 9;
  p.crop_height_px = 8;
  p.crop_width_px = 7;
  p.scale = 1.0 / 127.5;
  p.mean = {0.5F, 0.25F, 0.125F};
  p.std = {0.5F, 0.75F, 2.0F};
  p.channel_order = ChannelOrder::kBgr;
  p.channels_last = true;
  m.preprocess = p;
  m.labels = {"cat", "dog \"quoted\"", "zebra"};
  m.source_model = "digits_cnn";
  m.source_sha256 = std::string(64, 'a');
  m.optimization = "inferlab optimize: graph passes, fp16";
  return m;
}

void expect_same(const Preprocess& a, const Preprocess& b) {
  EXPECT_EQ(a.resize_shorter_px, b.resize_shorter_px);
  EXPECT_EQ(a.crop_height_px, b.crop_height_px);
  EXPECT_EQ(a.crop_width_px, b.crop_width_px);
  EXPECT_DOUBLE_EQ(a.scale, b.scale);
  EXPECT_EQ(a.mean, b.mean);
  EXPECT_EQ(a.std, b.std);
  EXPECT_EQ(a.channel_order, b.channel_order);
  EXPECT_EQ(a.channels_last, b.channels_last);
}

TEST(ModelMetadata, EveryFieldReadsBack) {
  const ModelMetadata written = every_field_set();
  const auto props = model_metadata_props(written);
  EXPECT_EQ(props.size(), 5u);
  const ModelMetadata read = model_metadata_from_props(props, "m.onnx");
  ASSERT_TRUE(read.preprocess);
  expect_same(*read.preprocess, *written.preprocess);
  EXPECT_EQ(read.labels, written.labels);
  EXPECT_EQ(read.source_model, written.source_model);
  EXPECT_EQ(read.source_sha256, written.source_sha256);
  EXPECT_EQ(read.optimization, written.optimization);
  EXPECT_FALSE(read.empty());
  EXPECT_TRUE(model_metadata_from_props({{"producer", "someone else"}}, "m.onnx").empty());
}

TEST(ModelMetadata, MalformedInferlabKeysAreErrorsNamingTheFile) {
  try {
    model_metadata_from_props({{"inferlab.preprocess", "{not json"}}, "q.onnx");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("q.onnx"), std::string::npos) << e.what();
  }
  EXPECT_THROW(model_metadata_from_props({{"inferlab.labels", "{\"a\": 1}"}}, "q.onnx"), Error);
  EXPECT_THROW(model_metadata_from_props({{"inferlab.preprocess", "{\"crop\": 0}"}}, "q.onnx"), Error);
}

TEST(ModelMetadata, RewriteReplacesOnlyInferlabKeys) {
  OnnxGraph graph = test_onnx::build_test_model();
  auto* foreign = graph.proto().add_metadata_props();
  foreign->set_key("author");
  foreign->set_value("someone");
  write_model_metadata(graph, every_field_set());
  ModelMetadata second;
  second.source_model = "other";
  write_model_metadata(graph, second);
  std::map<std::string, std::string> props;
  for (const auto& p : graph.proto().metadata_props()) props[p.key()] = p.value();
  EXPECT_EQ(props, (std::map<std::string, std::string>{{"author", "someone"}, {"inferlab.source_model", "other"}}));
}

TEST(ModelMetadata, BareFilePreprocessingComesFromItsMetadataOrIsSaidToBeGuessed) {
  TempDir dir("inferlab-metadata-test");
  OnnxGraph graph = test_onnx::build_test_model();  // input [1, 3, 8, 8]
  graph.save(dir.path() + "/plain.onnx");
  const ResolvedModel plain = resolve_model(dir.path() + "/plain.onnx", dir.path());
  EXPECT_TRUE(plain.file_metadata.empty());
  const ModelPreprocess guessed = preprocess_of_model(plain);
  EXPECT_TRUE(guessed.guessed());
  EXPECT_EQ(guessed.source, "guessed from input shape");

  ModelMetadata m = every_field_set();
  m.preprocess->crop_height_px = m.preprocess->crop_width_px = 8;
  m.preprocess->channels_last = false;
  write_model_metadata(graph, m);
  graph.save(dir.path() + "/tagged.onnx");
  const ResolvedModel tagged = resolve_model(dir.path() + "/tagged.onnx", dir.path());
  const ModelPreprocess declared = preprocess_of_model(tagged);
  EXPECT_EQ(declared.source, "file metadata");
  expect_same(declared.preprocess, *m.preprocess);

  // A file made from this one keeps the first source and names both steps.
  const ModelMetadata derived = metadata_for_derived_file(tagged, "int8");
  EXPECT_EQ(derived.source_model, "digits_cnn");
  EXPECT_EQ(derived.source_sha256, m.source_sha256);
  EXPECT_EQ(derived.optimization, m.optimization + "; then int8");
  EXPECT_EQ(derived.labels, m.labels);
  // From a file nobody described: its own name and hash, and no guessed preprocessing.
  const ModelMetadata from_plain = metadata_for_derived_file(plain, "fp16");
  EXPECT_EQ(from_plain.source_model, "plain");
  EXPECT_EQ(from_plain.source_sha256, plain.sha256_onnx);
  EXPECT_FALSE(from_plain.preprocess);
}

}  // namespace
}  // namespace inferlab
