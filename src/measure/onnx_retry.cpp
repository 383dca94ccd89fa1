#include "onnx_retry.h"

#include "inferlab/error.h"
#include "inferlab/graph_passes.h"
#include "inferlab/onnx_graph.h"

namespace inferlab {

std::optional<CleanedOnnx> clean_onnx_copy(const std::string& path, const std::string& out_path) {
  try {
    OnnxGraph graph = OnnxGraph::load(path);
    std::string changes;
    for (const PassReport& report : run_graph_passes(graph)) {
      if (report.changed == 0) continue;
      changes += (changes.empty() ? "" : ", ") + report.pass + ": " + std::to_string(report.changed) + " node(s)";
    }
    if (changes.empty()) return std::nullopt;
    graph.save(out_path);
    return CleanedOnnx{out_path, changes};
  } catch (const Error&) {
    // The passes could not read or check it: there is nothing to retry with,
    // and the engine's own message (already in the row) says what is wrong.
    return std::nullopt;
  }
}

}  // namespace inferlab
