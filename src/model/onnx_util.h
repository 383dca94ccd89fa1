#pragma once
// Helpers for reading ONNX protobufs (libonnx), private to src/.

#ifndef ONNX_ML
#define ONNX_ML 1
#endif
#include <onnx/onnx_pb.h>

#include <string>

#include "inferlab/tensor.h"

namespace inferlab::onnx_util {

/// ONNX TensorProto element type -> DType (kUnknown for the rest).
DType dtype_from_onnx(int elem_type);
/// A value's name, dtype and shape; symbolic or missing dims become -1.
TensorSpec spec_from_value_info(const onnx::ValueInfoProto& info);
/// The whole file; throws Error naming it when missing, empty or unreadable.
std::string read_whole_file(const std::string& path);
/// A TensorProto's values as a Tensor (float32, float16 as its bits, int64,
/// int32, int8, uint8 or bool; raw_data or the typed fields). Throws Error naming `what` for other types, external
/// data or a size mismatch.
Tensor tensor_from_proto(const onnx::TensorProto& tensor, const std::string& what);
/// Parses a file straight from disk and sanity-checks it. Weights of 1 MB
/// and more are read into strings of their exact size (no whole-file string,
/// no growing buffer), so peak memory is the model's own size.
void parse_model_file(const std::string& path, onnx::ModelProto& model);
/// Throws Error naming `origin` when a parsed model lacks ir_version,
/// opset_import or graph nodes (protobuf accepts truncated prefixes).
void check_parsed_model(const onnx::ModelProto& model, const std::string& origin);
/// Parses and sanity-checks a ModelProto; throws Error naming `origin`.
void parse_model_bytes(const std::string& bytes, const std::string& origin, onnx::ModelProto& model);

}  // namespace inferlab::onnx_util
