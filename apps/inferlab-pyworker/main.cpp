// inferlab-worker-<jax|openvino>: measures one configuration on a Python
// framework for `inferlab bench`. The same worker protocol as the C++ workers
// (SPEC.json in, RESULT.json out); the framework itself runs in a Python
// child process that this launcher drives (inferlab/python_worker.h).
#include <csignal>
#include <iostream>

#include "inferlab/files.h"
#include "inferlab/python_worker.h"

#ifndef INFERLAB_PY_BACKEND
#error "INFERLAB_PY_BACKEND names the Python backend this launcher serves"
#endif

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: " << argv[0] << " SPEC.json RESULT.json (started by inferlab bench)\n";
    return 2;
  }
  // A Python worker that dies mid-write must become a failed row, not a
  // SIGPIPE that takes this launcher down with it.
  std::signal(SIGPIPE, SIG_IGN);
  try {
    auto spec = inferlab::worker_spec_from_json(nlohmann::json::parse(inferlab::read_file(argv[1])));
    if (spec.backend != INFERLAB_PY_BACKEND) {
      std::cerr << "inferlab worker: this launcher runs " << INFERLAB_PY_BACKEND << ", not " << spec.backend << '\n';
      return 2;
    }
    const std::string stem = std::string(argv[2]);
    inferlab::BenchResult result = inferlab::measure_with_python_worker(spec, inferlab::python_environment(), stem);
    inferlab::write_file_atomically(argv[2], inferlab::worker_result_to_json(result).dump());
  } catch (const std::exception& e) {
    std::cerr << "inferlab worker: " << e.what() << '\n';
    return 2;
  }
  return 0;
}
