// `inferlab conformance --suite onnx-node`: the ONNX backend node tests
// against one backend; exit 1 when any test fails.
#include <cstdio>
#include <iostream>
#include <map>

#include "commands.h"
#include "inferlab/conformance.h"
#include "inferlab/error.h"
#include "inferlab/files.h"

namespace inferlab::cli {

namespace {

struct ConformanceFlags {
  std::string suite, json_path;
  ConformanceOptions options;
  bool verbose = false;
};

int run_conformance_verb(const ConformanceFlags& f) {
  if (f.suite != "onnx-node") throw Error("--suite " + f.suite + ": unknown suite (expected onnx-node)");
  if (!f.json_path.empty()) ensure_writable_file_path(f.json_path, "--json");
  const auto results = run_onnx_node_tests(f.options);
  std::map<std::string, int> counts;
  for (const auto& r : results) {
    ++counts[r.status];
    if (r.status == "fail" || (f.verbose && r.status == "unsupported")) {
      std::printf("%-11s %-48s %-20s %s\n", r.status.c_str(), r.test.c_str(), r.op.substr(0, 20).c_str(),
                  r.reason.c_str());
    }
  }
  std::printf("onnx-node on %s: %d pass, %d fail, %d unsupported (of %zu tests)\n", f.options.backend.c_str(),
              counts["pass"], counts["fail"], counts["unsupported"], results.size());
  if (!f.json_path.empty()) {
    write_file_atomically(f.json_path, conformance_document(f.suite, f.options.backend, results).dump(2) + "\n");
    std::printf("wrote %s\n", f.json_path.c_str());
  }
  return counts["fail"] > 0 ? 1 : 0;
}

}  // namespace

void add_conformance(CLI::App& app, int* exit_code) {
  auto* sub =
      app.add_subcommand("conformance", "Run the ONNX backend node tests against a backend (exit 1 on a failure)");
  auto f = std::make_shared<ConformanceFlags>();
  sub->add_option("--suite", f->suite, "onnx-node")->required();
  sub->add_option("--backend", f->options.backend, "Backend to test")->capture_default_str();
  sub->add_option("--filter", f->options.filter, "Only tests whose name matches this regex");
  sub->add_option("--data", f->options.data_dir, "Folder of test_* folders (default: libonnx-testdata's node tests)");
  sub->add_option("--rtol", f->options.relative_tolerance, "Relative tolerance")->capture_default_str();
  sub->add_option("--atol", f->options.absolute_tolerance, "Absolute tolerance")->capture_default_str();
  sub->add_option("--json", f->json_path, "Write the JSON document here");
  sub->add_flag("--verbose", f->verbose, "Also list unsupported tests with their reasons");
  sub->callback([=] { *exit_code = run_conformance_verb(*f); });
}

}  // namespace inferlab::cli
