// Pruning on models built here. Structured pruning is proven on the real
// OpenCV DNN engine: channels whose weights and bias are zero contribute
// nothing, so removing exactly those (and the matching consumer slices) must
// leave the model's output unchanged, while any wrong slice changes it.
#ifndef ONNX_ML
#define ONNX_ML 1
#endif
#include <onnx/onnx_pb.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "inferlab/backend.h"
#include "inferlab/error.h"
#include "inferlab/files.h"
#include "inferlab/onnx_graph.h"
#include "inferlab/pruning.h"
#include "inferlab/registry.h"
#include "onnx_builder.h"

namespace inferlab {
namespace {

using namespace test_onnx;

const onnx::TensorProto& initializer(const OnnxGraph& model, const std::string& name) {
  for (const auto& t : model.proto().graph().initializer()) {
    if (t.name() == name) return t;
  }
  throw Error("no initializer " + name);
}

std::vector<float> floats(const OnnxGraph& model, const std::string& name) {
  const auto& raw = initializer(model, name).raw_data();
  std::vector<float> v(raw.size() / sizeof(float));
  std::memcpy(v.data(), raw.data(), raw.size());
  return v;
}

std::vector<std::int64_t> dims(const OnnxGraph& model, const std::string& name) {
  const auto& t = initializer(model, name);
  return {t.dims().begin(), t.dims().end()};
}

void set_floats(OnnxGraph& model, const std::string& name, const std::vector<float>& v) {
  for (auto& t : *model.proto().mutable_graph()->mutable_initializer()) {
    if (t.name() == name) t.set_raw_data(std::string(reinterpret_cast<const char*>(v.data()), v.size() * 4));
  }
}

// OpenCV 4.6 cannot load a Gemm with transB = 0 and a constant weight, so
// such a model runs as its equivalent: the weight transposed, transB = 1.
OnnxGraph with_trans_b(const OnnxGraph& model) {
  OnnxGraph out = model;
  auto& g = *out.proto().mutable_graph();
  for (auto& node : *g.mutable_node()) {
    if (node.op_type() != "Gemm") continue;
    for (auto& a : *node.mutable_attribute()) {
      if (a.name() != "transB" || a.i() != 0) continue;
      a.set_i(1);
      const std::vector<std::int64_t> kn = dims(out, node.input(1));
      const std::vector<float> w = floats(out, node.input(1));
      std::vector<float> t(w.size());
      for (std::int64_t k = 0; k < kn[0]; ++k) {
        for (std::int64_t n = 0; n < kn[1]; ++n) t[n * kn[0] + k] = w[k * kn[1] + n];
      }
      for (auto& init : *g.mutable_initializer()) {
        if (init.name() != node.input(1)) continue;
        init.set_dims(0, kn[1]);
        init.set_dims(1, kn[0]);
        init.set_raw_data(std::string(reinterpret_cast<const char*>(t.data()), t.size() * sizeof(float)));
      }
    }
  }
  return out;
}

float max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return std::numeric_limits<float>::infinity();
  float d = 0;
  for (std::size_t i = 0; i < a.size(); ++i) d = std::max(d, std::abs(a[i] - b[i]));
  return d;
}

onnx::NodeProto* add_conv(onnx::GraphProto& g, const std::string& in, const std::string& w, const std::string& b,
                          const std::string& out, std::int64_t group = 1) {
  auto* conv = add_node(g, "Conv", {in, w, b}, {out});
  add_int_attribute(conv, "pads", {1, 1, 1, 1}, true);
  add_int_attribute(conv, "kernel_shape", {3, 3}, true);
  if (group != 1) add_int_attribute(conv, "group", {group}, false);
  return conv;
}

onnx::ModelProto empty_model() {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.set_producer_name("inferlab-test");
  m.add_opset_import()->set_version(13);
  set_value_info(m.mutable_graph()->add_input(), "input", {1, 3, 8, 8});
  m.mutable_graph()->set_name("pruning");
  return m;
}

enum class Head { kFlatten, kReshapeExplicit, kReshapeMinusOne };

// input -> conv1 (8) -> BN -> Relu -> MaxPool 2x2 -> conv2 (6) -> Relu ->
// Dropout -> Flatten or Reshape -> Gemm (96 -> 5) -> logits.
OnnxGraph build_chain(Head head, bool trans_b) {
  onnx::ModelProto m = empty_model();
  auto& g = *m.mutable_graph();
  set_value_info(g.add_output(), "logits", {1, 5});
  add_initializer(g, "w1", {8, 3, 3, 3}, 1);
  add_initializer(g, "b1", {8}, 2);
  for (const char* p : {"bn_scale", "bn_bias", "bn_mean"}) add_initializer(g, p, {8}, std::hash<std::string>{}(p));
  add_initializer(g, "bn_var", {8}, 3, 1.0F);
  add_initializer(g, "w2", {6, 8, 3, 3}, 4);
  add_initializer(g, "b2", {6}, 5);
  add_initializer(g, "fc_w", trans_b ? std::vector<std::int64_t>{5, 96} : std::vector<std::int64_t>{96, 5}, 6);
  add_initializer(g, "fc_b", {5}, 7);
  add_conv(g, "input", "w1", "b1", "c1");
  add_node(g, "BatchNormalization", {"c1", "bn_scale", "bn_bias", "bn_mean", "bn_var"}, {"n1"});
  add_node(g, "Relu", {"n1"}, {"r1"});
  auto* pool = add_node(g, "MaxPool", {"r1"}, {"p1"});
  add_int_attribute(pool, "kernel_shape", {2, 2}, true);
  add_int_attribute(pool, "strides", {2, 2}, true);
  add_conv(g, "p1", "w2", "b2", "c2");
  add_node(g, "Relu", {"c2"}, {"r2"});
  add_node(g, "Dropout", {"r2"}, {"d2"});
  if (head == Head::kFlatten) {
    add_node(g, "Flatten", {"d2"}, {"f"});
  } else {
    auto* shape = g.add_initializer();
    shape->set_name("flat_shape");
    shape->set_data_type(onnx::TensorProto::INT64);
    shape->add_dims(2);
    shape->add_int64_data(1);
    shape->add_int64_data(head == Head::kReshapeExplicit ? 96 : -1);
    add_node(g, "Reshape", {"d2", "flat_shape"}, {"f"});
  }
  auto* gemm = add_node(g, "Gemm", {"f", "fc_w", "fc_b"}, {"logits"});
  add_int_attribute(gemm, "transB", {trans_b ? 1 : 0}, false);
  return OnnxGraph::parse(m.SerializeAsString(), "chain model");
}

// Zeroes output channels `channels` of a conv's weight [C, ...] and bias.
void zero_channels(OnnxGraph& model, const std::string& w, const std::string& b,
                   const std::vector<std::int64_t>& channels) {
  std::vector<float> weight = floats(model, w), bias = floats(model, b);
  const std::size_t per = weight.size() / bias.size();
  for (auto c : channels) {
    std::fill(weight.begin() + c * per, weight.begin() + (c + 1) * per, 0.0F);
    bias[c] = 0.0F;
  }
  set_floats(model, w, weight);
  set_floats(model, b, bias);
}

TEST(PruneUnstructured, ZeroesTheSmallestFractionOfEachWeightAndLeavesBiases) {
  const OnnxGraph original = build_chain(Head::kFlatten, true);
  OnnxGraph model = original;
  EXPECT_EQ(weight_sparsity(model), 0.0);
  const PassReport report = prune_unstructured(model, 0.3);
  EXPECT_EQ(report.changed, 3);
  ASSERT_EQ(report.details.size(), 3U);
  EXPECT_EQ(report.details[0], "w1: 29.6% zero (64/216)");  // floor(0.3 * 216)
  EXPECT_EQ(report.details[1], "w2: 29.9% zero (129/432)");
  EXPECT_EQ(report.details[2], "fc_w: 30.0% zero (144/480)");
  for (const char* w : {"w1", "w2", "fc_w"}) {
    const std::vector<float> before = floats(original, w), after = floats(model, w);
    ASSERT_EQ(before.size(), after.size());
    float largest_removed = 0, smallest_kept = std::numeric_limits<float>::infinity();
    for (std::size_t i = 0; i < before.size(); ++i) {
      if (after[i] == 0.0F) {
        largest_removed = std::max(largest_removed, std::abs(before[i]));
      } else {
        EXPECT_EQ(after[i], before[i]) << w << " kept values must not change";
        smallest_kept = std::min(smallest_kept, std::abs(before[i]));
      }
    }
    EXPECT_LE(largest_removed, smallest_kept) << w << ": a larger weight was zeroed before a smaller one";
  }
  for (const char* b : {"b1", "b2", "fc_b", "bn_scale", "bn_bias"}) EXPECT_EQ(floats(original, b), floats(model, b));
  EXPECT_NEAR(weight_sparsity(model), (64.0 + 129 + 144) / (216 + 432 + 480), 1e-12);
  model.check();
  EXPECT_EQ(run_on_backend("opencv", model).size(), 5U);
}

TEST(PruneUnstructured, FindsMatMulWeightsOnEitherSide) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  auto& g = *m.mutable_graph();
  g.set_name("matmul");
  set_value_info(g.add_input(), "x", {2, 4});
  set_value_info(g.add_output(), "z", {3, 4});
  add_initializer(g, "right", {4, 4}, 1);
  add_initializer(g, "left", {3, 2}, 2);
  add_node(g, "MatMul", {"x", "right"}, {"y"});
  add_node(g, "MatMul", {"left", "y"}, {"z"});
  OnnxGraph model = OnnxGraph::parse(m.SerializeAsString(), "matmul");
  const PassReport report = prune_unstructured(model, 0.5);
  ASSERT_EQ(report.details.size(), 2U);
  EXPECT_EQ(report.details[0], "right: 50.0% zero (8/16)");
  EXPECT_EQ(report.details[1], "left: 50.0% zero (3/6)");
  EXPECT_DOUBLE_EQ(weight_sparsity(model), 11.0 / 22.0);
}

TEST(Pruning, SparsityOutsideTheOpenUnitIntervalIsRejected) {
  OnnxGraph model = build_chain(Head::kFlatten, true);
  for (double s : {0.0, 1.0, -0.1, 1.5, std::nan("")}) {
    try {
      prune_unstructured(model, s);
      ADD_FAILURE() << "prune_unstructured accepted sparsity " << s;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kBadInput);
      EXPECT_NE(std::string(e.what()).find("between 0 and 1"), std::string::npos) << e.what();
    }
    EXPECT_THROW(prune_channels(model, s), Error) << s;
  }
  EXPECT_EQ(weight_sparsity(model), 0.0) << "a rejected call must not touch the weights";
}

TEST(PruneChannels, HalvesAChainAndItStillRuns) {
  OnnxGraph original = build_chain(Head::kFlatten, true);
  // A symbolic batch must stay symbolic, and inferred shapes already in the
  // model must be redone for the sliced values.
  auto& graph = *original.proto().mutable_graph();
  graph.mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim(0)->set_dim_param("N");
  graph.mutable_output(0)->mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim(0)->set_dim_param("N");
  original.infer_shapes();
  OnnxGraph model = original;
  const PassReport report = prune_channels(model, 0.5);
  ASSERT_EQ(report.changed, 2) << report.details.at(0);
  EXPECT_EQ(model.proto().graph().input(0).type().tensor_type().shape().dim(0).dim_param(), "N");
  const auto& infos = model.proto().graph().value_info();
  const auto c1 = std::find_if(infos.begin(), infos.end(), [](const auto& v) { return v.name() == "c1"; });
  ASSERT_NE(c1, infos.end()) << "value_info must be re-inferred";
  EXPECT_EQ(c1->type().tensor_type().shape().dim(1).dim_value(), 4);
  EXPECT_EQ(c1->type().tensor_type().shape().dim(0).dim_param(), "N");
  EXPECT_EQ(report.details[0],
            "Conv Conv_c1: 8 -> 4 output channels; BatchNormalization BatchNormalization_n1 sliced; "
            "Conv Conv_c2 inputs sliced");
  EXPECT_EQ(report.details[1], "Conv Conv_c2: 6 -> 3 output channels; Gemm Gemm_logits inputs sliced");
  EXPECT_EQ(dims(model, "w1"), (std::vector<std::int64_t>{4, 3, 3, 3}));
  EXPECT_EQ(dims(model, "b1"), (std::vector<std::int64_t>{4}));
  for (const char* p : {"bn_scale", "bn_bias", "bn_mean", "bn_var"}) EXPECT_EQ(dims(model, p)[0], 4) << p;
  EXPECT_EQ(dims(model, "w2"), (std::vector<std::int64_t>{3, 4, 3, 3}));
  EXPECT_EQ(dims(model, "fc_w"), (std::vector<std::int64_t>{5, 3 * 4 * 4}));
  model.check();
  model.infer_shapes();

  const GraphSummary before = original.summarize(), after = model.summarize();
  EXPECT_EQ(after.ops.at("Conv").flops, 2 * (4 * 64 * 27) + 2 * (3 * 16 * 4 * 9));
  EXPECT_LT(after.flops_per_sample, before.flops_per_sample);
  EXPECT_LT(after.parameter_count, before.parameter_count);
  EXPECT_TRUE(after.ops_without_shapes.empty());
  EXPECT_EQ(run_on_backend("opencv", model).size(), 5U);
}

// conv1 channels {1,3,4,6} and conv2 channels {0,2,5} are dead (zero weight,
// bias and BN shift), so 50% channel pruning must remove exactly them.
OnnxGraph chain_with_dead_channels(Head head, bool trans_b) {
  OnnxGraph model = build_chain(head, trans_b);
  zero_channels(model, "w1", "b1", {1, 3, 4, 6});
  std::vector<float> beta = floats(model, "bn_bias"), mean = floats(model, "bn_mean");
  for (int c : {1, 3, 4, 6}) beta[c] = mean[c] = 0.0F;
  set_floats(model, "bn_bias", beta);
  set_floats(model, "bn_mean", mean);
  zero_channels(model, "w2", "b2", {0, 2, 5});
  return model;
}

class PruneChannelsExact : public ::testing::TestWithParam<std::pair<Head, bool>> {};

TEST_P(PruneChannelsExact, RemovingDeadChannelsKeepsTheOutput) {
  const auto [head, trans_b] = GetParam();
  const OnnxGraph original = chain_with_dead_channels(head, trans_b);
  OnnxGraph model = original;
  ASSERT_EQ(prune_channels(model, 0.5).changed, 2);
  model.check();
  // The kept conv1 rows are the original rows 0, 2, 5, 7 in order.
  const std::vector<float> w1 = floats(original, "w1"), kept = floats(model, "w1");
  ASSERT_EQ(kept.size(), 4U * 27);
  for (int i = 0; i < 4; ++i) {
    const int row = std::vector<int>{0, 2, 5, 7}[i];
    EXPECT_TRUE(std::equal(kept.begin() + i * 27, kept.begin() + (i + 1) * 27, w1.begin() + row * 27)) << row;
  }
  const std::vector<float> want = run_on_backend("opencv", with_trans_b(original));
  const std::vector<float> got = run_on_backend("opencv", with_trans_b(model));
  ASSERT_EQ(want.size(), 5U);
  EXPECT_GT(*std::max_element(want.begin(), want.end()) - *std::min_element(want.begin(), want.end()), 0.01F);
  EXPECT_LE(max_abs_diff(want, got), 1e-5F) << "the pruned model computes something else: a wrong slice";

  // Control: the same pruning where the removed conv2 channels were alive
  // (bias restored) must change the output, or this test could not fail.
  OnnxGraph alive = original;
  std::vector<float> b2 = floats(alive, "b2");
  for (int c : {0, 2, 5}) b2[c] = 0.5F;
  set_floats(alive, "b2", b2);
  OnnxGraph alive_pruned = alive;
  ASSERT_EQ(prune_channels(alive_pruned, 0.5).changed, 2);
  EXPECT_GT(
      max_abs_diff(run_on_backend("opencv", with_trans_b(alive)), run_on_backend("opencv", with_trans_b(alive_pruned))),
      1e-3F);
}

std::string head_name(const ::testing::TestParamInfo<std::pair<Head, bool>>& info) {
  static const char* const kHeads[] = {"Flatten", "ReshapeExplicit", "ReshapeMinusOne"};
  return std::string(kHeads[static_cast<int>(info.param.first)]) + (info.param.second ? "_TransB" : "_NoTransB");
}

INSTANTIATE_TEST_SUITE_P(Heads, PruneChannelsExact,
                         ::testing::Values(std::make_pair(Head::kFlatten, true), std::make_pair(Head::kFlatten, false),
                                           std::make_pair(Head::kReshapeExplicit, true),
                                           std::make_pair(Head::kReshapeMinusOne, false)),
                         head_name);

// input -> a -> Relu(ra) -> b -> Add(b, ra) -> Relu -> c -> Relu -> d
// (depthwise) -> Relu -> e -> Relu -> Flatten -> Gemm; only e can shrink.
TEST(PruneChannels, LeavesResidualAndDepthwiseConvsIntact) {
  onnx::ModelProto m = empty_model();
  auto& g = *m.mutable_graph();
  set_value_info(g.add_output(), "logits", {1, 5});
  add_initializer(g, "wa", {4, 3, 3, 3}, 1);
  add_initializer(g, "wb", {4, 4, 3, 3}, 2);
  add_initializer(g, "wc", {6, 4, 3, 3}, 3);
  add_initializer(g, "wd", {6, 1, 3, 3}, 4);
  add_initializer(g, "we", {4, 6, 3, 3}, 5);
  for (const char* b : {"ba", "bb", "be"}) add_initializer(g, b, {4}, std::hash<std::string>{}(b));
  for (const char* b : {"bc", "bd"}) add_initializer(g, b, {6}, std::hash<std::string>{}(b));
  add_initializer(g, "fc_w", {5, 256}, 6);
  add_initializer(g, "fc_b", {5}, 7);
  add_conv(g, "input", "wa", "ba", "a");
  add_node(g, "Relu", {"a"}, {"ra"});
  add_conv(g, "ra", "wb", "bb", "b");
  add_node(g, "Add", {"b", "ra"}, {"sum"});
  add_node(g, "Relu", {"sum"}, {"rs"});
  add_conv(g, "rs", "wc", "bc", "c");
  add_node(g, "Relu", {"c"}, {"rc"});
  add_conv(g, "rc", "wd", "bd", "d", 6);
  add_node(g, "Relu", {"d"}, {"rd"});
  add_conv(g, "rd", "we", "be", "e");
  add_node(g, "Relu", {"e"}, {"re"});
  add_node(g, "Flatten", {"re"}, {"f"});
  add_int_attribute(add_node(g, "Gemm", {"f", "fc_w", "fc_b"}, {"logits"}), "transB", {1}, false);
  const OnnxGraph original = OnnxGraph::parse(m.SerializeAsString(), "residual model");
  OnnxGraph model = original;
  const PassReport report = prune_channels(model, 0.5);
  EXPECT_EQ(report.changed, 1);
  ASSERT_EQ(report.details.size(), 5U);
  EXPECT_EQ(report.details[0],
            "Conv Conv_a not pruned: its output reaches Add Add_sum (Add cannot drop input channels)");
  EXPECT_EQ(report.details[1],
            "Conv Conv_b not pruned: its output reaches Add Add_sum (Add cannot drop input channels)");
  EXPECT_EQ(report.details[2], "Conv Conv_c not pruned: its output reaches Conv Conv_d (grouped or depthwise)");
  EXPECT_EQ(report.details[3], "Conv Conv_d not pruned: grouped or depthwise");
  EXPECT_EQ(report.details[4], "Conv Conv_e: 4 -> 2 output channels; Gemm Gemm_logits inputs sliced");
  for (const char* t : {"wa", "wb", "wc", "wd", "ba", "bb", "bc", "bd"}) {
    EXPECT_EQ(initializer(original, t).SerializeAsString(), initializer(model, t).SerializeAsString()) << t;
  }
  EXPECT_EQ(dims(model, "we"), (std::vector<std::int64_t>{2, 6, 3, 3}));
  EXPECT_EQ(dims(model, "fc_w"), (std::vector<std::int64_t>{5, 128}));
  model.check();
  EXPECT_LT(model.summarize().flops_per_sample, original.summarize().flops_per_sample);
  EXPECT_EQ(run_on_backend("opencv", model).size(), 5U);
}

// One conv read by two branches, each into a conv sharing one weight tensor,
// and a conv whose output is a graph output: the first is pruned (both
// branches fixed, the shared weight split), the others are not.
TEST(PruneChannels, FixesEveryBranchAndSplitsSharedWeights) {
  onnx::ModelProto m = empty_model();
  auto& g = *m.mutable_graph();
  set_value_info(g.add_output(), "x", {1, 4, 8, 8});
  set_value_info(g.add_output(), "y", {1, 4, 8, 8});
  add_initializer(g, "w1", {6, 3, 3, 3}, 1);
  add_initializer(g, "b1", {6}, 2);
  add_initializer(g, "shared_w", {4, 6, 3, 3}, 3);
  add_initializer(g, "b2", {4}, 4);
  add_conv(g, "input", "w1", "b1", "c1");
  add_node(g, "Relu", {"c1"}, {"r1"});
  add_node(g, "Sigmoid", {"c1"}, {"s1"});
  add_conv(g, "r1", "shared_w", "b2", "x");
  add_conv(g, "s1", "shared_w", "b2", "y");
  OnnxGraph model = OnnxGraph::parse(m.SerializeAsString(), "branches");
  const PassReport report = prune_channels(model, 0.5);
  ASSERT_EQ(report.changed, 1);
  EXPECT_EQ(report.details[0],
            "Conv Conv_c1: 6 -> 3 output channels; Conv Conv_x inputs sliced; Conv Conv_y inputs sliced");
  EXPECT_EQ(report.details[1], "Conv Conv_x not pruned: x is a graph output");
  model.check();
  const auto& nodes = model.proto().graph().node();
  ASSERT_NE(nodes[3].input(1), nodes[4].input(1)) << "the shared weight must be split, not sliced twice";
  EXPECT_EQ(dims(model, nodes[3].input(1)), (std::vector<std::int64_t>{4, 3, 3, 3}));
  EXPECT_EQ(dims(model, nodes[4].input(1)), (std::vector<std::int64_t>{4, 3, 3, 3}));
  EXPECT_EQ(floats(model, nodes[3].input(1)), floats(model, nodes[4].input(1)));
  EXPECT_EQ(run_on_backend("opencv", model).size(), 4U * 8 * 8);
}

}  // namespace
}  // namespace inferlab
