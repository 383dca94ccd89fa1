// Helpers for reading ONNX protobufs, shared by the inspector and the graph layer.
#include "model/onnx_util.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "inferlab/error.h"

namespace inferlab::onnx_util {

DType dtype_from_onnx(int elem_type) {
  switch (elem_type) {
    case onnx::TensorProto::FLOAT:
      return DType::kFloat32;
    case onnx::TensorProto::FLOAT16:
      return DType::kFloat16;
    case onnx::TensorProto::BFLOAT16:
      return DType::kBFloat16;
    case onnx::TensorProto::INT8:
      return DType::kInt8;
    case onnx::TensorProto::UINT8:
      return DType::kUInt8;
    case onnx::TensorProto::INT32:
      return DType::kInt32;
    case onnx::TensorProto::INT64:
      return DType::kInt64;
    case onnx::TensorProto::BOOL:
      return DType::kBool;
    default:
      return DType::kUnknown;
  }
}

// Symbolic dimensions ("batch") and missing ones both become -1: inferlab
// decides them at prepare() time.
TensorSpec spec_from_value_info(const onnx::ValueInfoProto& info) {
  TensorSpec spec;
  spec.name = info.name();
  if (!info.type().has_tensor_type()) {
    spec.dtype = DType::kUnknown;  // sequences and maps: no backend here feeds them
    return spec;
  }
  const auto& tensor = info.type().tensor_type();
  spec.dtype = dtype_from_onnx(tensor.elem_type());
  if (tensor.has_shape()) {
    for (const auto& dim : tensor.shape().dim()) {
      spec.shape.push_back(dim.has_dim_value() ? dim.dim_value() : -1);
    }
  }
  return spec;
}

std::string read_whole_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw Error(path + ": no such file");
  if (std::filesystem::is_directory(path, ec)) throw Error(path + ": is a directory, not an ONNX file");
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw Error(path + ": cannot open for reading");
  const std::streamoff size = in.tellg();
  if (size <= 0) throw Error(path + ": not a valid ONNX model (the file is empty)");
  std::string bytes(static_cast<std::size_t>(size), '\0');
  in.seekg(0);
  if (!in.read(bytes.data(), size)) throw Error(path + ": read error");
  return bytes;
}

Tensor tensor_from_proto(const onnx::TensorProto& t, const std::string& what) {
  const DType dtype = dtype_from_onnx(t.data_type());
  const bool known = dtype == DType::kFloat32 || dtype == DType::kInt64 || dtype == DType::kInt32 ||
                     dtype == DType::kFloat16 || dtype == DType::kInt8 || dtype == DType::kUInt8 ||
                     dtype == DType::kBool;
  if (!known || t.has_data_location()) {
    const std::string name =
        dtype == DType::kUnknown
            ? onnx::TensorProto::DataType_Name(static_cast<onnx::TensorProto::DataType>(t.data_type()))
            : dtype_name(dtype);
    throw Error(what + ": data type " + name + (t.has_data_location() ? " in external data" : "") +
                " is not supported");
  }
  Tensor out(dtype, Shape(t.dims().begin(), t.dims().end()));
  if (t.has_raw_data()) {
    if (t.raw_data().size() != out.size_bytes()) throw Error(what + ": raw_data has the wrong size");
    std::memcpy(out.data(), t.raw_data().data(), out.size_bytes());
    return out;
  }
  const auto count = static_cast<std::size_t>(out.element_count());
  auto check = [&](int field_size) {
    if (static_cast<std::size_t>(field_size) != count) throw Error(what + ": typed data has the wrong size");
  };
  switch (dtype) {
    case DType::kFloat32:
      check(t.float_data_size());
      std::copy(t.float_data().begin(), t.float_data().end(), out.data_as<float>());
      break;
    case DType::kInt64:
      check(t.int64_data_size());
      std::copy(t.int64_data().begin(), t.int64_data().end(), out.data_as<std::int64_t>());
      break;
    case DType::kInt32:
      check(t.int32_data_size());
      std::copy(t.int32_data().begin(), t.int32_data().end(), out.data_as<std::int32_t>());
      break;
    default:
      // ONNX stores int8, uint8, bool and float16 (as its bit pattern) one per int32_data entry.
      check(t.int32_data_size());
      for (std::size_t i = 0; i < count; ++i) {
        const std::int32_t v = t.int32_data(static_cast<int>(i));
        if (dtype == DType::kFloat16) {
          out.data_as<std::uint16_t>()[i] = static_cast<std::uint16_t>(v);
        } else if (dtype == DType::kInt8) {
          out.data_as<std::int8_t>()[i] = static_cast<std::int8_t>(v);
        } else {
          out.data_as<std::uint8_t>()[i] = static_cast<std::uint8_t>(v);
        }
      }
  }
  return out;
}

void parse_model_bytes(const std::string& bytes, const std::string& origin, onnx::ModelProto& model) {
  if (!model.ParseFromString(bytes)) {
    throw Error(origin + ": not a valid ONNX model (protobuf parse failed; truncated or not ONNX)");
  }
  check_parsed_model(model, origin);
}

void check_parsed_model(const onnx::ModelProto& model, const std::string& origin) {
  // Protobuf accepts any prefix that ends on a field boundary, and arbitrary
  // bytes sometimes parse as unknown fields; a real model has these three.
  if (model.ir_version() <= 0) throw Error(origin + ": not a valid ONNX model (no ir_version)");
  if (model.opset_import_size() == 0) {
    throw Error(origin + ": not a valid ONNX model (no opset_import; the file may be truncated)");
  }
  if (!model.has_graph() || model.graph().node_size() == 0) {
    throw Error(origin + ": ONNX model has an empty graph (no nodes)");
  }
}

}  // namespace inferlab::onnx_util
