// The hidden `_worker` verb: measures one configuration in this fresh process
// for the bench orchestrator (src/measure/isolation.cpp starts it).
#include "commands.h"
#include "inferlab/files.h"
#include "inferlab/worker.h"

namespace inferlab::cli {

void add_worker(CLI::App& app, int* exit_code) {
  auto* sub = app.add_subcommand("_worker", "internal: measure one configuration (used by bench)");
  sub->group("");  // hidden from help
  auto spec_path = std::make_shared<std::string>();
  auto result_path = std::make_shared<std::string>();
  sub->add_option("spec", *spec_path)->required();
  sub->add_option("result", *result_path)->required();
  sub->callback([=] {
    WorkerSpec spec = worker_spec_from_json(nlohmann::json::parse(read_file(*spec_path)));
    BenchResult result = measure_in_this_process(spec);
    write_file_atomically(*result_path, to_json(result).dump(2));
    *exit_code = 0;
  });
}

}  // namespace inferlab::cli
