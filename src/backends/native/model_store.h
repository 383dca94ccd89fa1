#pragma once
// The imported model the engine prepares from: the ONNX graph after the
// shared passes, with its initializers lifted out of the protobuf into
// tensors (so weights are held once), and released once kernels have taken
// their own prepared copies; a later prepare() re-reads the file.

#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "inferlab/graph_passes.h"
#include "inferlab/onnx_graph.h"
#include "inferlab/tensor.h"
#include "kernel.h"

namespace inferlab::native {

class ModelStore {
 public:
  /// Loads `path`, runs the graph passes, checks that every op has a kernel.
  /// Throws Error naming the file and every missing op.
  explicit ModelStore(std::string path);

  const onnx::GraphProto& graph() const;
  int opset() const { return opset_; }
  const std::vector<PassReport>& passes() const { return passes_; }
  /// The initializer `name`, or null when there is none (or it was released).
  /// Points into the protobuf's own buffer when it holds raw data.
  const Constant* initializer(const std::string& name) const;
  /// Frees initializer `name` (its bytes in the protobuf, or the copy).
  void release(const std::string& name);
  /// Frees every initializer whose name is not in `keep`.
  void release_all_but(const std::set<std::string>& keep);
  bool released() const { return released_; }
  /// Loads the file again (after a release). Invalidates graph() references.
  void reload();

 private:
  void load();
  std::string path_;
  OnnxGraph graph_;
  int opset_ = 13;
  std::vector<PassReport> passes_;
  std::unordered_map<std::string, Constant> initializers_;
  std::unordered_map<std::string, Tensor> copies_;  // initializers stored as typed fields, not raw bytes
  std::unordered_map<std::string, int> proto_index_;
  bool released_ = false;
};

}  // namespace inferlab::native
