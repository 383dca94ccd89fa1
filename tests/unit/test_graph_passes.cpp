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

namespace inferlab {
namespace {

void add_initializer(onnx::GraphProto& g, const std::string& name, std::vector<std::int64_t> dims, std::uint64_t seed,
                     float offset = 0.0F) {
  std::int64_t n = 1;
  for (auto d : dims) n *= d;
  std::vector<float> values(static_cast<std::size_t>(n));
  std::uint64_t state = seed;
  for (auto& v : values) v = offset + static_cast<float>((splitmix64_next(state) >> 40) / double(1 << 24)) - 0.5F;
  auto* t = g.add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::FLOAT);
  for (auto d : dims) t->add_dims(d);
  t->set_raw_data(std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float)));
}

onnx::NodeProto* add_node(onnx::GraphProto& g, const std::string& op, std::vector<std::string> in,
                          std::vector<std::string> out) {
  auto* n = g.add_node();
  n->set_op_type(op);
  n->set_name(op + "_" + out[0]);
  for (auto& i : in) n->add_input(i);
  for (auto& o : out) n->add_output(o);
  return n;
}

void add_int_attribute(onnx::NodeProto* n, const std::string& name, std::vector<std::int64_t> values, bool list) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(list ? onnx::AttributeProto::INTS : onnx::AttributeProto::INT);
  if (list) {
    for (auto v : values) a->add_ints(v);
  } else {
    a->set_i(values[0]);
  }
}

void set_value_info(onnx::ValueInfoProto* v, const std::string& name, std::vector<std::int64_t> dims) {
  v->set_name(name);
  auto* t = v->mutable_type()->mutable_tensor_type();
  t->set_elem_type(onnx::TensorProto::FLOAT);
  for (auto d : dims) t->mutable_shape()->add_dim()->set_dim_value(d);
}

// input [1,3,8,8] -> Conv -> BN -> Identity -> Relu -> Dropout -> Flatten ->
// Gemm -> BN -> logits [1,5]; plus Sigmoid(input), read by nothing.
OnnxGraph build_test_model() {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.set_producer_name("inferlab-test");
  m.add_opset_import()->set_version(13);
  auto& g = *m.mutable_graph();
  g.set_name("passes");
  set_value_info(g.add_input(), "input", {1, 3, 8, 8});
  set_value_info(g.add_output(), "logits", {1, 5});
  add_initializer(g, "w", {4, 3, 3, 3}, 1);
  for (const char* p : {"bn_scale", "bn_bias", "bn_mean"}) add_initializer(g, p, {4}, std::hash<std::string>{}(p));
  add_initializer(g, "bn_var", {4}, 7, 1.0F);  // positive variances
  add_initializer(g, "fc_w", {5, 256}, 8);
  add_initializer(g, "fc_b", {5}, 9);
  for (const char* p : {"bn2_scale", "bn2_bias", "bn2_mean"}) add_initializer(g, p, {5}, std::hash<std::string>{}(p));
  add_initializer(g, "bn2_var", {5}, 10, 1.0F);
  auto* conv = add_node(g, "Conv", {"input", "w"}, {"c"});
  add_int_attribute(conv, "pads", {1, 1, 1, 1}, true);
  add_int_attribute(conv, "kernel_shape", {3, 3}, true);  // optional in ONNX, required by OpenCV
  add_node(g, "BatchNormalization", {"c", "bn_scale", "bn_bias", "bn_mean", "bn_var"}, {"b"});
  add_node(g, "Identity", {"b"}, {"i"});
  add_node(g, "Relu", {"i"}, {"r"});
  add_node(g, "Dropout", {"r"}, {"d"});
  add_node(g, "Flatten", {"d"}, {"f"});
  auto* gemm = add_node(g, "Gemm", {"f", "fc_w", "fc_b"}, {"y"});
  add_int_attribute(gemm, "transB", {1}, false);
  add_node(g, "BatchNormalization", {"y", "bn2_scale", "bn2_bias", "bn2_mean", "bn2_var"}, {"logits"});
  add_node(g, "Sigmoid", {"input"}, {"unused"});
  return OnnxGraph::parse(m.SerializeAsString(), "test model");
}

std::vector<float> run_on_opencv(const std::string& path) {
  auto backend = create_backend("opencv");
  ModelSource source{"m", ModelFormat::kOnnx, path, {{"input", DType::kFloat32, {1, 3, 8, 8}, ""}}, {}};
  auto session = backend->load(source, SessionOptions{});
  session->prepare({{1, 3, 8, 8}});
  Tensor input(DType::kFloat32, {1, 3, 8, 8});
  fill_seeded_uniform(input, 42);
  Tensor output(DType::kFloat32, session->output_specs().at(0).shape);
  std::vector<Tensor*> outputs{&output};
  session->run({&input}, outputs);
  return {output.data_as<float>(), output.data_as<float>() + output.element_count()};
}

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

TEST(GraphPasses, FoldRemoveAndKeepTheFunction) {
  TempDir dir("inferlab-passes");
  OnnxGraph original = build_test_model();
  original.check();
  const std::string before_path = dir.path() + "/before.onnx";
  original.save(before_path);

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

  const std::string after_path = dir.path() + "/after.onnx";
  optimized.save(after_path);
  const std::vector<float> want = run_on_opencv(before_path);
  const std::vector<float> got = run_on_opencv(after_path);
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
