// The checks every Backend::load() starts with (backend.h).
#include "inferlab/backend.h"

#include <filesystem>

#include "inferlab/error.h"

namespace inferlab {

void check_load_preconditions(const Backend& backend, const ModelSource& model, const SessionOptions& options) {
  const std::string name = backend.name();
  if (backend.format() != ModelFormat::kNone && (model.path.empty() || !std::filesystem::is_regular_file(model.path))) {
    throw Error(name + ": model file '" + model.path + "' does not exist");
  }
  if (options.intra_op_threads < 1) {
    throw Error(name + ": threads must be at least 1 (got " + std::to_string(options.intra_op_threads) + ")");
  }
  const SupportAnswer answer = backend.supports(model, options.precision);
  if (!answer.supported) throw Error(name + ": " + answer.reason);
}

}  // namespace inferlab
