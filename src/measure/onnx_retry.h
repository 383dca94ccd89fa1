#pragma once
// A bare ONNX file that an engine rejects is retried once after inferlab's
// semantics-preserving graph passes (bench_runner.cpp decides when).

#include <optional>
#include <string>

namespace inferlab {

/// A cleaned copy of an ONNX file and what the passes changed.
struct CleanedOnnx {
  std::string path;     ///< the cleaned file
  std::string changes;  ///< e.g. "remove-identity-dropout: 3 node(s)"
};

/// Loads `path`, runs the graph passes (Identity/Dropout removal,
/// BatchNormalization folding, dead-node elimination, then the ONNX checker)
/// and saves the result as `out_path`. std::nullopt when the passes changed
/// nothing (a retry would fail the same way) or could not process the file.
std::optional<CleanedOnnx> clean_onnx_copy(const std::string& path, const std::string& out_path);

}  // namespace inferlab
