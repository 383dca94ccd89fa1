// inferlab-worker-<backend>: measures one configuration for `inferlab bench`.
// One executable per backend, each linking only its own engine, so a
// process's peak RSS holds that engine and nothing of the others (libtorch's
// static initialisers alone touch ~150 MB, which would otherwise be charged
// to every OpenCV and null measurement).
#include <iostream>

#include "inferlab/files.h"
#include "inferlab/worker.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: " << argv[0] << " SPEC.json RESULT.json (started by inferlab bench)\n";
    return 2;
  }
  try {
    auto spec = inferlab::worker_spec_from_json(nlohmann::json::parse(inferlab::read_file(argv[1])));
    inferlab::BenchResult result = inferlab::measure_in_this_process(spec);
    inferlab::write_file_atomically(argv[2], inferlab::worker_result_to_json(result).dump());
  } catch (const std::exception& e) {
    std::cerr << "inferlab worker: " << e.what() << '\n';
    return 2;
  }
  return 0;
}
