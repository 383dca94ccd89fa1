// The native engine: the memory planner's invariants, single-op models
// against values computed here, and a whole model against OpenCV DNN.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include "../onnx_builder.h"
#include "backends/native/engine.h"
#include "backends/native/memory_plan.h"
#include "inferlab/error.h"
#include "inferlab/files.h"
#include "inferlab/registry.h"

namespace inferlab::native {
namespace {

using namespace test_onnx;

TEST(MemoryPlan, OverlappingLifetimesNeverShareBytes) {
  std::vector<Lifetime> tensors;
  std::uint64_t state = 7;
  for (int i = 0; i < 200; ++i) {
    const int first = static_cast<int>(splitmix64_next(state) % 100);
    const int last = first + static_cast<int>(splitmix64_next(state) % 10);
    tensors.push_back({i, first, last, static_cast<std::int64_t>(1 + splitmix64_next(state) % 5000), 0});
  }
  const std::int64_t arena = place_in_arena(tensors);
  std::int64_t total = 0;
  for (const auto& t : tensors) {
    total += t.bytes;
    EXPECT_EQ(t.offset % 64, 0);
    EXPECT_LE(t.offset + t.bytes, arena);
  }
  for (const auto& a : tensors) {
    for (const auto& b : tensors) {
      if (a.value >= b.value || a.last < b.first || b.last < a.first) continue;
      EXPECT_TRUE(a.offset + a.bytes <= b.offset || b.offset + b.bytes <= a.offset)
          << "tensors " << a.value << " and " << b.value << " are alive together and overlap";
    }
  }
  EXPECT_LT(arena, total / 3) << "short lifetimes must reuse memory";
}

TEST(MemoryPlan, DisjointLifetimesReuseOneBuffer) {
  std::vector<Lifetime> chain{{0, 0, 1, 1000, 0}, {1, 1, 2, 1000, 0}, {2, 2, 3, 1000, 0}, {3, 3, 4, 1000, 0}};
  EXPECT_EQ(place_in_arena(chain), 2 * 1024) << "a chain needs two buffers, ping-pong";
}

// A model of one node whose inputs are graph inputs `x...` (runtime) or
// initializers (constants); returns the engine's output for `values`.
struct OneNode {
  onnx::ModelProto model;
  onnx::NodeProto* node = nullptr;
  std::vector<Shape> input_shapes;
  std::vector<std::vector<float>> input_values;

  OneNode(const std::string& op, int opset = 13) {
    model.set_ir_version(8);
    model.add_opset_import()->set_version(opset);
    model.mutable_graph()->set_name("one_node");
    node = model.mutable_graph()->add_node();
    node->set_op_type(op);
    node->add_output("y");
    auto* y = model.mutable_graph()->add_output();
    y->set_name("y");
    y->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
    // Rank unknown to the checker: the engine computes shapes itself.
    y->mutable_type()->mutable_tensor_type()->mutable_shape()->add_dim()->set_dim_param("any");
  }
  void runtime_input(const std::string& name, Shape shape, std::vector<float> values) {
    node->add_input(name);
    set_value_info(model.mutable_graph()->add_input(), name, shape);
    input_shapes.push_back(shape);
    input_values.push_back(std::move(values));
  }
  void int_constant(const std::string& name, std::vector<std::int64_t> values) {
    node->add_input(name);
    auto* t = model.mutable_graph()->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::INT64);
    t->add_dims(static_cast<std::int64_t>(values.size()));
    for (auto v : values) t->add_int64_data(v);
  }
  std::pair<Shape, std::vector<float>> run() {
    TempDir dir("inferlab-native");
    const std::string path = dir.path() + "/m.onnx";
    write_file_atomically(path, model.SerializeAsString());
    Engine engine(path);
    engine.prepare(input_shapes);
    std::vector<Tensor> inputs;
    std::vector<const Tensor*> in_ptrs;
    for (std::size_t i = 0; i < input_shapes.size(); ++i) {
      inputs.emplace_back(DType::kFloat32, input_shapes[i]);
      std::copy(input_values[i].begin(), input_values[i].end(), inputs.back().data_as<float>());
    }
    for (auto& t : inputs) in_ptrs.push_back(&t);
    const TensorSpec spec = engine.output_specs().at(0);
    Tensor out(DType::kFloat32, spec.shape);
    std::vector<Tensor*> outs{&out};
    engine.run(in_ptrs, outs);
    return {spec.shape, {out.data_as<float>(), out.data_as<float>() + out.element_count()}};
  }
};

std::vector<float> iota_values(std::size_t n) {
  std::vector<float> v(n);
  std::iota(v.begin(), v.end(), 0.0F);
  return v;
}

TEST(NativeKernels, BroadcastingAdd) {
  OneNode m("Add");
  m.runtime_input("a", {2, 3}, iota_values(6));
  m.runtime_input("b", {3}, {10, 20, 30});
  const auto [shape, y] = m.run();
  EXPECT_EQ(shape, (Shape{2, 3}));
  EXPECT_EQ(y, (std::vector<float>{10, 21, 32, 13, 24, 35}));
}

TEST(NativeKernels, TransposeMovesEveryElement) {
  OneNode m("Transpose");
  add_int_attribute(m.node, "perm", {2, 0, 1}, true);
  m.runtime_input("x", {2, 3, 4}, iota_values(24));
  const auto [shape, y] = m.run();
  ASSERT_EQ(shape, (Shape{4, 2, 3}));
  for (int c = 0; c < 4; ++c)
    for (int a = 0; a < 2; ++a)
      for (int b = 0; b < 3; ++b) EXPECT_EQ(y[(c * 2 + a) * 3 + b], static_cast<float>((a * 3 + b) * 4 + c));
}

TEST(NativeKernels, SliceWithStepsAndNegativeIndices) {
  OneNode m("Slice");
  m.runtime_input("x", {2, 6}, iota_values(12));
  m.int_constant("starts", {1});
  m.int_constant("ends", {-1});
  m.int_constant("axes", {1});
  m.int_constant("steps", {2});
  const auto [shape, y] = m.run();
  EXPECT_EQ(shape, (Shape{2, 2}));
  EXPECT_EQ(y, (std::vector<float>{1, 3, 7, 9}));
}

TEST(NativeKernels, SoftmaxAndReduceMeanOnTheLastAxis) {
  OneNode soft("Softmax");
  soft.runtime_input("x", {2, 3}, {0, 0, 0, 1, 2, 3});
  const auto [s_shape, s] = soft.run();
  EXPECT_NEAR(s[0], 1.0F / 3, 1e-6);
  const float z = std::exp(1.0F) + std::exp(2.0F) + std::exp(3.0F);
  EXPECT_NEAR(s[5], std::exp(3.0F) / z, 1e-6);

  OneNode mean("ReduceMean");
  add_int_attribute(mean.node, "axes", {-1}, true);
  mean.runtime_input("x", {2, 3}, {1, 2, 3, 4, 5, 9});
  const auto [m_shape, m] = mean.run();
  EXPECT_EQ(m_shape, (Shape{2, 1}));
  EXPECT_EQ(m, (std::vector<float>{2, 6}));
}

TEST(NativeKernels, ErfStaysWithinFourTenMillionthsOfTheStandardLibrary) {
  OneNode m("Erf");
  std::vector<float> x;
  for (float v = -6.0F; v <= 6.0F; v += 0.001F) x.push_back(v);
  m.runtime_input("x", {static_cast<std::int64_t>(x.size())}, x);
  const auto [shape, y] = m.run();
  double worst = 0;
  for (std::size_t i = 0; i < x.size(); ++i) worst = std::max(worst, std::abs(y[i] - std::erf(double{x[i]})));
  EXPECT_LT(worst, 5e-7);
}

TEST(NativeKernels, LastAxisMeanOfLongRows) {
  OneNode mean("ReduceMean");
  add_int_attribute(mean.node, "axes", {-1}, true);
  std::vector<float> x(3 * 37);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 37);
  mean.runtime_input("x", {3, 37}, x);
  const auto [shape, y] = mean.run();
  for (float v : y) EXPECT_NEAR(v, 18.0F, 1e-5);
}

TEST(NativeKernels, ConcatGatherAndReshapeOfConstants) {
  OneNode cat("Concat");
  add_int_attribute(cat.node, "axis", {1}, false);
  cat.runtime_input("a", {2, 1}, {1, 2});
  cat.runtime_input("b", {2, 2}, {3, 4, 5, 6});
  EXPECT_EQ(cat.run().second, (std::vector<float>{1, 3, 4, 2, 5, 6}));

  OneNode gather("Gather");
  add_int_attribute(gather.node, "axis", {1}, false);
  gather.runtime_input("x", {2, 3}, iota_values(6));
  gather.int_constant("i", {2, 0});
  EXPECT_EQ(gather.run().second, (std::vector<float>{2, 0, 5, 3}));

  OneNode reshape("Reshape");
  reshape.runtime_input("x", {2, 3, 4}, iota_values(24));
  reshape.int_constant("s", {0, -1});
  const auto [shape, y] = reshape.run();
  EXPECT_EQ(shape, (Shape{2, 12}));
  EXPECT_EQ(y[13], 13.0F) << "a reshape graph output is copied, not aliased";
}

TEST(NativeEngine, MatchesOpenCvOnAConvBatchNormGemmModel) {
  TempDir dir("inferlab-native");
  const std::string path = dir.path() + "/m.onnx";
  build_test_model().save(path);
  Engine engine(path);
  // oneDNN's own pick: a tactic timed under load may pick XNNPACK instead,
  // which is the tactic tests' subject, not this one's.
  engine.set_tactics(false);
  engine.prepare({{1, 3, 8, 8}});
  // BN folded, Identity/Dropout/dead Sigmoid gone, Relu fused into the Conv.
  const auto steps = engine.steps();
  ASSERT_EQ(steps.size(), 4U) << "Conv(+Relu), a reorder out of oneDNN's blocked layout, Flatten, Gemm";
  EXPECT_EQ(steps[1].op, "Reorder");
  EXPECT_EQ(steps[2].op, "Flatten");
  EXPECT_EQ(steps[0].fused, "Relu");
  EXPECT_EQ(steps[0].implementation.rfind("onednn:", 0), 0U) << steps[0].implementation;
  EXPECT_EQ(engine.memory_plan().aliased, 1) << "Flatten shares the Conv output's buffer";

  Tensor input(DType::kFloat32, {1, 3, 8, 8});
  fill_seeded_uniform(input, 42);
  Tensor ours(DType::kFloat32, {1, 5});
  std::vector<Tensor*> outs{&ours};
  engine.run({&input}, outs);

  auto opencv = create_backend("opencv");
  auto session = opencv->load({"m", ModelFormat::kOnnx, path, {{"input", DType::kFloat32, {1, 3, 8, 8}, ""}}, {}}, {});
  session->prepare({{1, 3, 8, 8}});
  Tensor theirs(DType::kFloat32, {1, 5});
  std::vector<Tensor*> theirs_out{&theirs};
  session->run({&input}, theirs_out);
  for (int i = 0; i < 5; ++i) EXPECT_NEAR(ours.data_as<float>()[i], theirs.data_as<float>()[i], 1e-4) << i;
}

TEST(NativeEngine, PreparingAgainAfterWeightsWereReleased) {
  // The first prepare() frees the weights the Conv and Gemm copied; a second
  // one, at another batch, must read them back and compute the same thing.
  TempDir dir("inferlab-native");
  const std::string path = dir.path() + "/m.onnx";
  OnnxGraph model = build_test_model();
  model.proto()
      .mutable_graph()
      ->mutable_input(0)
      ->mutable_type()
      ->mutable_tensor_type()
      ->mutable_shape()
      ->mutable_dim(0)
      ->set_dim_param("N");
  model.proto()
      .mutable_graph()
      ->mutable_output(0)
      ->mutable_type()
      ->mutable_tensor_type()
      ->mutable_shape()
      ->mutable_dim(0)
      ->set_dim_param("N");
  model.save(path);
  Engine engine(path);
  Tensor one(DType::kFloat32, {1, 3, 8, 8}), two(DType::kFloat32, {2, 3, 8, 8});
  fill_seeded_uniform(one, 5);
  std::copy_n(one.data_as<float>(), one.element_count(), two.data_as<float>());
  std::copy_n(one.data_as<float>(), one.element_count(), two.data_as<float>() + one.element_count());
  engine.prepare({{1, 3, 8, 8}});
  Tensor y1(DType::kFloat32, {1, 5});
  std::vector<Tensor*> o1{&y1};
  engine.run({&one}, o1);
  engine.prepare({{2, 3, 8, 8}});
  Tensor y2(DType::kFloat32, {2, 5});
  std::vector<Tensor*> o2{&y2};
  engine.run({&two}, o2);
  for (int i = 0; i < 5; ++i) {
    // oneDNN may pick other kernels at batch 2: equal up to summation order.
    EXPECT_NEAR(y2.data_as<float>()[i], y1.data_as<float>()[i], 1e-5);
    EXPECT_NEAR(y2.data_as<float>()[5 + i], y1.data_as<float>()[i], 1e-5);
  }
}

TEST(NativeEngine, UnsupportedOpsAreNamed) {
  OneNode m("Hardmax");
  m.runtime_input("x", {2, 3}, iota_values(6));
  try {
    m.run();
    FAIL() << "Hardmax has no kernel";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("does not implement: Hardmax"), std::string::npos) << e.what();
  }
  auto native = create_backend("native");
  TempDir dir("inferlab-native");
  write_file_atomically(dir.path() + "/h.onnx", m.model.SerializeAsString());
  const auto answer = native->supports({"h", ModelFormat::kOnnx, dir.path() + "/h.onnx", {}, {}}, Precision::kFp32);
  EXPECT_FALSE(answer.supported);
  EXPECT_NE(answer.reason.find("Hardmax"), std::string::npos);
  EXPECT_FALSE(native->supports({"h", ModelFormat::kOnnx, "", {}, {}}, Precision::kInt8).supported);
}

// `live` prepares a session on one thread and runs it on another: the run
// must use the session's thread count there too (OpenMP's is per thread).
TEST(NativeSession, RunOnAnotherThreadUsesTheSessionsThreads) {
  TempDir dir("inferlab-native");
  const std::string path = dir.path() + "/m.onnx";
  build_test_model().save(path);
  SessionOptions options;
  options.intra_op_threads = 1;
  auto session = create_backend("native")->load(
      {"m", ModelFormat::kOnnx, path, {{"input", DType::kFloat32, {1, 3, 8, 8}, ""}}, {}}, options);
  session->prepare({{1, 3, 8, 8}});
  Tensor input(DType::kFloat32, {1, 3, 8, 8});
  Tensor out(DType::kFloat32, {1, 5});
  int threads_seen = 0;
  std::thread runner([&] {
    omp_set_num_threads(2);  // what a fresh thread may carry: all cores
    std::vector<Tensor*> outs{&out};
    session->run({&input}, outs);
    threads_seen = omp_get_max_threads();
  });
  runner.join();
  EXPECT_EQ(threads_seen, 1);
}

// `bench --profile` reads profiles through the backend contract: both engines
// that have one must give every layer, every run, and a timeline in order.
TEST(SessionProfile, NativeAndOpenCvProfileEveryLayerOfEveryRun) {
  TempDir dir("inferlab-native");
  const std::string path = dir.path() + "/m.onnx";
  build_test_model().save(path);
  Tensor input(DType::kFloat32, {1, 3, 8, 8});
  fill_seeded_uniform(input, 42);
  for (const std::string name : {"native", "opencv"}) {
    auto backend = create_backend(name);
    auto session =
        backend->load({"m", ModelFormat::kOnnx, path, {{"input", DType::kFloat32, {1, 3, 8, 8}, ""}}, {}}, {});
    session->prepare({{1, 3, 8, 8}});
    Tensor out(DType::kFloat32, {1, 5});
    std::vector<Tensor*> outs{&out};
    session->run({&input}, outs);  // not profiled
    ASSERT_TRUE(session->set_profiling(true)) << name;
    const int runs = 25;
    for (int i = 0; i < runs; ++i) session->run({&input}, outs);
    const SessionProfile p = session->profile();
    EXPECT_EQ(p.runs, runs) << name;
    ASSERT_FALSE(p.layers.empty()) << name;
    for (const auto& layer : p.layers) {
      EXPECT_EQ(layer.runs, runs) << name << " " << layer.name;
      EXPECT_GT(layer.total_ms, 0.0) << name << " " << layer.name;
      EXPECT_FALSE(layer.implementation.empty()) << name << " " << layer.name;
    }
    // The timeline keeps the first 20 runs; within a run, layers never overlap.
    EXPECT_EQ(p.events.size(), p.layers.size() * 20) << name;
    for (std::size_t i = 1; i < p.events.size(); ++i) {
      const auto& a = p.events[i - 1];
      const auto& b = p.events[i];
      EXPECT_LE(a.start_us + a.duration_us, b.start_us + 1e-3) << name << " event " << i;
    }
    ASSERT_TRUE(session->set_profiling(false));
    session->run({&input}, outs);
    EXPECT_EQ(session->profile().runs, 0) << name << ": turning it off clears it";
  }
}

}  // namespace
}  // namespace inferlab::native
