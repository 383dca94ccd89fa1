// The names of the backend contract's value types (contract_types.h).
#include "inferlab/contract_types.h"

#include "inferlab/error.h"

namespace inferlab {

std::string model_format_name(ModelFormat format) {
  switch (format) {
    case ModelFormat::kOnnx:
      return "onnx";
    case ModelFormat::kTorchScript:
      return "torchscript";
    case ModelFormat::kNone:
      return "none";
  }
  return "none";
}

ModelFormat model_format_from_name(const std::string& name) {
  if (name == "onnx") return ModelFormat::kOnnx;
  if (name == "torchscript") return ModelFormat::kTorchScript;
  return ModelFormat::kNone;
}

std::string precision_name(Precision precision) {
  switch (precision) {
    case Precision::kFp32:
      return "fp32";
    case Precision::kFp16:
      return "fp16";
    case Precision::kBf16:
      return "bf16";
    case Precision::kInt8:
      return "int8";
  }
  return "fp32";
}

Precision precision_from_name(const std::string& name) {
  for (const Precision precision : {Precision::kFp32, Precision::kFp16, Precision::kBf16, Precision::kInt8}) {
    if (precision_name(precision) == name) return precision;
  }
  throw Error("unknown precision '" + name + "' (choose fp32, fp16, bf16, int8)");
}

std::string timing_boundary_name(TimingBoundary boundary) {
  switch (boundary) {
    case TimingBoundary::kComputeOnly:
      return "compute-only";
    case TimingBoundary::kWithCopies:
      return "with-copies";
    case TimingBoundary::kEndToEnd:
      return "end-to-end";
  }
  return "end-to-end";
}

}  // namespace inferlab
