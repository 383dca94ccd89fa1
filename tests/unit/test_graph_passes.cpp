// The ONNX graph layer and its passes on a model built here: Conv+BN,
// Gemm+BN, Identity, Dropout and a dead branch. The rewritten model must
// compute what the original does, checked on the real OpenCV DNN engine.
#ifndef ONNX_ML
#define ONNX_ML 1
#endif
#include <onnx/onnx_pb.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "inferlab/backend.h"
#include "inferlab/error.h"
#include "inferlab/files.h"
#include "inferlab/graph_passes.h"
#include "inferlab/onnx_graph.h"
#include "inferlab/registry.h"
#include "onnx_builder.h"

namespace inferlab {
namespace {

using namespace test_onnx;

TEST(OnnxGraph, SummaryCountsFlopsFromInferredShapes) {
  const GraphSummary s = build_test_model().summarize();
  EXPECT_EQ(s.opset, 13);
  EXPECT_EQ(s.node_count, 9);
  EXPECT_EQ(s.ops.at("Conv").flops, 2 * (4 * 8 * 8) * (3 * 3 * 3));
  EXPECT_EQ(s.ops.at("Gemm").flops, 2 * 5 * 256);
  EXPECT_EQ(s.ops.at("BatchNormalization").nodes, 2);
  EXPECT_EQ(s.parameter_count, 4 * 27 + 4 * 4 + 5 * 256 + 5 + 5 * 4);
  EXPECT_EQ(s.parameter_bytes, s.parameter_count * 4);
  EXPECT_TRUE(s.ops_without_shapes.empty());
}

TEST(OnnxGraph, CheckerAndLoadErrorsNameTheModel) {
  OnnxGraph broken = build_test_model();
  broken.proto().mutable_graph()->mutable_node(0)->set_op_type("NoSuchOp");
  try {
    broken.check();
    FAIL() << "the checker must reject an unknown op";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("test model: fails the ONNX checker"), std::string::npos) << e.what();
  }
  EXPECT_THROW(OnnxGraph::load("/no/such/model.onnx"), Error);
  EXPECT_THROW(OnnxGraph::parse("not a model", "bytes"), Error);
}

// An opset-10 Clip (bounds as attributes) converted to opset 13 takes its
// bounds as inputs, computes the same, and the model keeps its metadata.
TEST(OnnxGraph, ConvertOpsetKeepsMetadataAndFunction) {
  onnx::ModelProto m;
  m.set_ir_version(7);
  m.add_opset_import()->set_version(10);
  auto* meta = m.add_metadata_props();
  meta->set_key("inferlab.preprocess");
  meta->set_value("{\"mean\": [0.5]}");
  auto& g = *m.mutable_graph();
  g.set_name("clip10");
  set_value_info(g.add_input(), "input", {1, 3, 8, 8});
  set_value_info(g.add_output(), "y", {1, 3, 8, 8});
  auto* clip = add_node(g, "Clip", {"input"}, {"y"});
  for (const auto& [name, value] : {std::pair{"min", -0.25F}, std::pair{"max", 0.25F}}) {
    auto* a = clip->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(value);
  }
  OnnxGraph graph = OnnxGraph::parse(m.SerializeAsString(), "clip10");
  const std::vector<float> before = run_on_backend("native", graph);
  graph.convert_opset(13);
  EXPECT_NO_THROW(graph.check());
  ASSERT_EQ(graph.proto().opset_import_size(), 1);
  EXPECT_EQ(graph.proto().opset_import(0).version(), 13);
  ASSERT_EQ(graph.proto().metadata_props_size(), 1);
  EXPECT_EQ(graph.proto().metadata_props(0).key(), "inferlab.preprocess");
  const auto& nodes = graph.proto().graph().node();
  const auto converted = std::find_if(nodes.begin(), nodes.end(), [](const auto& n) { return n.op_type() == "Clip"; });
  ASSERT_NE(converted, nodes.end());
  EXPECT_EQ(converted->input_size(), 3) << "opset 11's Clip takes min and max as inputs";
  const std::vector<float> after = run_on_backend("native", graph);
  EXPECT_EQ(before, after);
  float lo = 1, hi = -1;  // the seeded input spans more than [-0.25, 0.25]
  for (float v : after) lo = std::min(lo, v), hi = std::max(hi, v);
  EXPECT_FLOAT_EQ(lo, -0.25F);
  EXPECT_FLOAT_EQ(hi, 0.25F);
}

TEST(GraphPasses, FoldRemoveAndKeepTheFunction) {
  OnnxGraph original = build_test_model();
  original.check();

  OnnxGraph optimized = original;
  const auto reports = run_graph_passes(optimized);
  ASSERT_EQ(reports.size(), 3U);
  EXPECT_EQ(reports[0].changed, 2) << "Identity and Dropout";
  EXPECT_EQ(reports[1].changed, 2) << "both BatchNormalizations";
  EXPECT_NE(reports[1].details[0].find("folded into Conv"), std::string::npos);
  EXPECT_NE(reports[1].details[1].find("folded into Gemm"), std::string::npos);
  EXPECT_EQ(reports[2].changed, 1) << "the dead Sigmoid";
  const GraphSummary after = optimized.summarize();
  EXPECT_EQ(after.node_count, 4);  // Conv, Relu, Flatten, Gemm
  EXPECT_EQ(after.ops.count("BatchNormalization"), 0U);
  // The old weights went with the dead-initializer sweep: only folded ones remain.
  EXPECT_EQ(after.parameter_count, 4 * 27 + 4 + 5 * 256 + 5);

  const std::vector<float> want = run_on_backend("opencv", original);
  const std::vector<float> got = run_on_backend("opencv", optimized);
  ASSERT_EQ(want.size(), got.size());
  float max_ref = 0, max_diff = 0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    max_ref = std::max(max_ref, std::abs(want[i]));
    max_diff = std::max(max_diff, std::abs(want[i] - got[i]));
  }
  EXPECT_GT(max_ref, 0.01F);
  EXPECT_LE(max_diff, 1e-5F * std::max(1.0F, max_ref)) << "folding changed the function";
}

TEST(GraphPasses, LeaveGraphOutputsAndSharedProducersAlone) {
  OnnxGraph model = build_test_model();
  auto& g = *model.proto().mutable_graph();
  // "c" (the Conv output) now also feeds a graph output: the BN cannot be folded.
  set_value_info(g.add_output(), "c", {1, 4, 8, 8});
  EXPECT_EQ(fold_batch_norm(model).changed, 1) << "only the Gemm's BN";
  // An Identity that produces a graph output must stay.
  add_node(g, "Identity", {"r"}, {"r_out"});
  set_value_info(g.add_output(), "r_out", {1, 4, 8, 8});
  EXPECT_EQ(remove_identity_and_dropout(model).changed, 2);
  EXPECT_EQ(std::count_if(g.node().begin(), g.node().end(), [](const auto& n) { return n.op_type() == "Identity"; }),
            1);
  model.check();
}

}  // namespace
}  // namespace inferlab

namespace inferlab {
namespace {

// Large weights skip protobuf's string parsing (read from the file at their
// exact size); the model must come back byte for byte, and a file cut inside
// such a weight must be refused, not read short.
TEST(OnnxFile, LargeWeightsRoundTripAndTruncationIsRefused) {
  using namespace test_onnx;
  OnnxGraph model = build_test_model();
  auto& g = *model.proto().mutable_graph();
  add_initializer(g, "big_a", {3, 1 << 18}, 11);  // 3 MB: the deferred path
  add_initializer(g, "big_b", {1 << 18}, 12);     // 1 MB exactly: deferred too
  TempDir dir("inferlab-onnx-file");
  const std::string path = dir.path() + "/big.onnx";
  model.save(path);
  const OnnxGraph back = OnnxGraph::load(path);
  EXPECT_EQ(back.proto().SerializeAsString(), model.proto().SerializeAsString());

  const std::string bytes = read_file(path);
  ASSERT_GT(bytes.size(), std::size_t{4} << 20);
  write_file_atomically(dir.path() + "/cut.onnx", bytes.substr(0, bytes.size() - (1 << 19)));
  EXPECT_THROW(OnnxGraph::load(dir.path() + "/cut.onnx"), Error);
}

}  // namespace
}  // namespace inferlab
