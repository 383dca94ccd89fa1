// `inferlab info`: the machine, every backend compiled in (version, build
// facts, how threads are set) and the backends left out with the reason.
#include <iostream>

#include "cli_util.h"
#include "commands.h"
#include "inferlab/power.h"
#include "inferlab/registry.h"
#include "inferlab/result.h"

namespace inferlab::cli {

namespace {

int run_info(bool as_json) {
  const int threads = default_thread_count();
  Environment env = capture_environment();
  EnergyMeter energy;
  nlohmann::json backends = nlohmann::json::array();
  for (const auto& entry : known_backends()) {
    nlohmann::json b{{"name", entry.name}, {"compiled_in", entry.compiled_in}};
    if (!entry.compiled_in) {
      b["reason"] = entry.reason_missing;
    } else {
      auto backend = create_backend(entry.name);
      b["version"] = backend->version();
      b["devices"] = backend->devices();
      b["format"] = model_format_name(backend->format());
      b["build"] = backend->build_info();
      b["threading"] = backend->threading_description(threads);
    }
    backends.push_back(b);
  }
  nlohmann::json power_readers = nlohmann::json::array();
  for (const auto& r : energy.readers()) {
    power_readers.push_back({{"name", r.name},
                             {"available", r.available},
                             {"used", r.used},
                             {"method", r.method.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.method)},
                             {"detail", r.detail}});
  }
  if (as_json) {
    nlohmann::json doc{{"schema", "inferlab.info/1"},
                       {"env", to_json(env)},
                       {"backends", backends},
                       {"power", energy.description()},
                       {"power_readers", power_readers}};
    std::cout << doc.dump(2) << '\n';
    return 0;
  }
  std::cout << "machine\n";
  std::cout << "  cpu:       " << env.cpu_model << "\n  cores:     " << env.cores << " logical CPUs\n";
  std::cout << "  memory:    " << env.memory_total_bytes / (1024 * 1024) << " MiB\n  isa:      ";
  for (const auto& f : env.isa) std::cout << ' ' << f;
  std::cout << "\n  governor:  " << env.governor << "\n  os:        " << env.os
            << "\n  power:     " << (energy.available() ? energy.description() : "n/a (every reader below)");
  for (const auto& r : energy.readers()) {
    std::cout << "\n    " << r.name << ": " << (r.used ? "used, " + r.method + ": " : "") << r.detail;
  }
  std::cout << "\n  compiler:  " << env.compiler << "\n  revision:  " << env.git_revision
            << "\n\nbackends (threads shown for --threads " << threads << ")\n";
  for (const auto& b : backends) {
    if (!b["compiled_in"].get<bool>()) continue;
    std::cout << "  " << b["name"].get<std::string>() << ' ' << b["version"].get<std::string>() << "  (reads "
              << b["format"].get<std::string>() << ")\n";
    std::cout << "    threads: " << b["threading"].get<std::string>() << '\n';
    for (const auto& [key, value] : b["build"].items())
      std::cout << "    " << key << ": " << value.get<std::string>() << '\n';
  }
  std::cout << "\nleft out of this build\n";
  for (const auto& b : backends) {
    if (b["compiled_in"].get<bool>()) continue;
    std::cout << "  " << b["name"].get<std::string>() << ": " << b["reason"].get<std::string>() << '\n';
  }
  return 0;
}

}  // namespace

void add_info(CLI::App& app, int* exit_code) {
  auto* sub =
      app.add_subcommand("info", "Show the machine and the backends compiled in (and those left out, with why)");
  auto as_json = std::make_shared<bool>(false);
  sub->add_flag("--json", *as_json, "Print JSON");
  sub->callback([=] { *exit_code = run_info(*as_json); });
}

}  // namespace inferlab::cli
