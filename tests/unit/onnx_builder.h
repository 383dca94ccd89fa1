#pragma once
// Builds small ONNX models in tests (protobuf directly): initializers with
// seeded values, nodes, attributes, and the Conv/BN/Gemm model the graph
// passes and the native engine are checked on.
#ifndef ONNX_ML
#define ONNX_ML 1
#endif
#include <onnx/onnx_pb.h>

#include <functional>
#include <string>
#include <vector>

#include "inferlab/backend.h"
#include "inferlab/files.h"
#include "inferlab/onnx_graph.h"
#include "inferlab/registry.h"
#include "inferlab/tensor.h"

namespace inferlab::test_onnx {

inline void add_initializer(onnx::GraphProto& g, const std::string& name, std::vector<std::int64_t> dims,
                            std::uint64_t seed, float offset = 0.0F) {
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

inline onnx::NodeProto* add_node(onnx::GraphProto& g, const std::string& op, std::vector<std::string> in,
                                 std::vector<std::string> out) {
  auto* n = g.add_node();
  n->set_op_type(op);
  n->set_name(op + "_" + out[0]);
  for (auto& i : in) n->add_input(i);
  for (auto& o : out) n->add_output(o);
  return n;
}

inline void add_int_attribute(onnx::NodeProto* n, const std::string& name, std::vector<std::int64_t> values,
                              bool list) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(list ? onnx::AttributeProto::INTS : onnx::AttributeProto::INT);
  if (list) {
    for (auto v : values) a->add_ints(v);
  } else {
    a->set_i(values[0]);
  }
}

/// An empty model (IR 8, default-domain `opset`) whose graph is `name`.
inline onnx::ModelProto new_model(const std::string& name, int opset = 13) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(opset);
  m.mutable_graph()->set_name(name);
  return m;
}

inline void set_value_info(onnx::ValueInfoProto* v, const std::string& name, std::vector<std::int64_t> dims) {
  v->set_name(name);
  auto* t = v->mutable_type()->mutable_tensor_type();
  t->set_elem_type(onnx::TensorProto::FLOAT);
  for (auto d : dims) t->mutable_shape()->add_dim()->set_dim_value(d);
}

// input [1,3,8,8] -> Conv -> BN -> Identity -> Relu -> Dropout -> Flatten ->
// Gemm -> BN -> logits [1,5]; plus Sigmoid(input), read by nothing.
inline OnnxGraph build_test_model() {
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

// Output 0 of `model` (input "input", [1,3,8,8], seeded with 42) on a real
// backend, the model written to a private temporary file first. All outputs
// are allocated: OpenCV computes them together.
inline std::vector<float> run_on_backend(const std::string& backend_name, const OnnxGraph& model) {
  TempDir dir("inferlab-test-model");
  const std::string path = dir.path() + "/model.onnx";
  model.save(path);
  auto backend = create_backend(backend_name);
  ModelSource source{"model", ModelFormat::kOnnx, path, {{"input", DType::kFloat32, {1, 3, 8, 8}, ""}}, {}};
  auto session = backend->load(source, SessionOptions{});
  session->prepare({{1, 3, 8, 8}});
  Tensor input(DType::kFloat32, {1, 3, 8, 8});
  fill_seeded_uniform(input, 42);
  std::vector<Tensor> tensors;
  for (const auto& spec : session->output_specs()) tensors.emplace_back(DType::kFloat32, spec.shape);
  std::vector<Tensor*> outputs;
  for (auto& t : tensors) outputs.push_back(&t);
  session->run({&input}, outputs);
  const Tensor& output = tensors.at(0);
  return {output.data_as<float>(), output.data_as<float>() + output.element_count()};
}

}  // namespace inferlab::test_onnx
