#pragma once
/// @file contract_types.h
/// The value types of the backend contract (backend.h) that code below the
/// backends names too: the on-disk model formats, a model as a backend sees
/// it, numeric precisions and timing boundaries, with the names results and
/// the command line spell them in. Implemented in core, so the model layer
/// (zoo.h) uses them without the Backend interface.

#include <string>
#include <vector>

#include "inferlab/tensor.h"

namespace inferlab {

/// On-disk formats a backend may read.
enum class ModelFormat { kOnnx, kTorchScript, kNone };

/// Lower-case format name: "onnx", "torchscript", "none" (also the manifest's "files" keys).
std::string model_format_name(ModelFormat format);
/// Parses a name written by model_format_name(); kNone for anything else.
ModelFormat model_format_from_name(const std::string& name);

/// One model as a backend sees it: the file of the format it reads, plus the
/// declared inputs/outputs (from the manifest or the file itself).
struct ModelSource {
  std::string name;  ///< display name, e.g. "mobilenet_v2"
  ModelFormat format = ModelFormat::kNone;
  std::string path;  ///< the file in that format (empty for the null backend)
  std::vector<TensorSpec> inputs;
  std::vector<TensorSpec> outputs;
};

/// Numeric precision a session computes in.
enum class Precision { kFp32, kFp16, kBf16, kInt8 };
/// "fp32", "fp16", "bf16" or "int8".
std::string precision_name(Precision precision);
/// Parses "fp32", "fp16", "bf16", "int8"; throws Error otherwise.
Precision precision_from_name(const std::string& name);

/// What Session::run() contains, stated in every result (CLI.md "timing_boundary").
enum class TimingBoundary { kComputeOnly, kWithCopies, kEndToEnd };
/// "compute-only", "with-copies" or "end-to-end".
std::string timing_boundary_name(TimingBoundary boundary);

}  // namespace inferlab
