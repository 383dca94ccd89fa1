#pragma once
// A tiny ONNX model with a dynamic batch, y = 2 x + 1 over [N, 4], written
// to a temporary file, and the first compiled-in backend that reads ONNX:
// real sessions for the batcher and server tests, whose outputs show which
// input each row came from.
#include <string>

#include "inferlab/registry.h"
#include "onnx_builder.h"

namespace inferlab::test_serving {

inline void set_batched_value_info(onnx::ValueInfoProto* v, const std::string& name) {
  v->set_name(name);
  auto* t = v->mutable_type()->mutable_tensor_type();
  t->set_elem_type(onnx::TensorProto::FLOAT);
  t->mutable_shape()->add_dim()->set_dim_param("N");
  t->mutable_shape()->add_dim()->set_dim_value(4);
}

inline void add_constant(onnx::GraphProto& g, const std::string& name, float value) {
  auto* t = g.add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::FLOAT);
  t->add_dims(4);
  for (int i = 0; i < 4; ++i) t->add_float_data(value);
}

/// Writes the model into `dir` and returns its source (input "x", output "y").
inline ModelSource write_affine_model(const std::string& dir) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.set_producer_name("inferlab-test");
  m.add_opset_import()->set_version(13);
  auto& g = *m.mutable_graph();
  g.set_name("affine");
  set_batched_value_info(g.add_input(), "x");
  set_batched_value_info(g.add_output(), "y");
  add_constant(g, "two", 2.0F);
  add_constant(g, "one", 1.0F);
  test_onnx::add_node(g, "Mul", {"x", "two"}, {"doubled"});
  test_onnx::add_node(g, "Add", {"doubled", "one"}, {"y"});
  const std::string path = dir + "/affine.onnx";
  write_file_atomically(path, m.SerializeAsString());
  return ModelSource{
      "affine", ModelFormat::kOnnx, path, {{"x", DType::kFloat32, {-1, 4}, ""}}, {{"y", DType::kFloat32, {-1, 4}, ""}}};
}

/// The first compiled-in backend of onnxruntime, opencv, native; empty when none.
inline std::string onnx_backend() {
  for (const char* name : {"onnxruntime", "opencv", "native"}) {
    for (const BackendEntry& e : known_backends()) {
      if (e.name == name && e.compiled_in) return name;
    }
  }
  return "";
}

}  // namespace inferlab::test_serving
