// Finding the project's Python environment and what is installed in it,
// without starting Python (`inferlab info` and supports() stay instant).
#include <cstdlib>
#include <filesystem>

#include "inferlab/files.h"
#include "inferlab/python_worker.h"

#ifndef INFERLAB_PYTHON_DIR
#error "INFERLAB_PYTHON_DIR must name the source tree's python/ folder"
#endif
#ifndef INFERLAB_PYTHON_LOCK_HASH
#error "INFERLAB_PYTHON_LOCK_HASH must be the first 16 hex digits of sha256(python/requirements.lock)"
#endif

namespace inferlab {

namespace {

std::string env_or_empty(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? std::string(value) : std::string();
}

// pip names a distribution's folder with underscores (openvino_telemetry-...).
std::string dist_info_prefix(const std::string& package) {
  std::string name = package;
  for (char& c : name)
    if (c == '-') c = '_';
  return name + "-";
}

}  // namespace

bool PythonEnvironment::installed() const {
  std::error_code ec;
  // setup-python-venv.sh writes the marker only after the imports worked.
  return std::filesystem::exists(std::filesystem::path(venv_dir) / ".inferlab-complete", ec) &&
         std::filesystem::exists(python, ec);
}

PythonEnvironment python_environment() {
  PythonEnvironment env;
  env.venv_dir = env_or_empty("INFERLAB_PYTHON_VENV");
  if (env.venv_dir.empty()) {
    // The same rule as scripts/setup-python-venv.sh, so neither needs telling.
    env.venv_dir = user_cache_directory() + "/venv-" INFERLAB_PYTHON_LOCK_HASH;
  }
  env.python = env.venv_dir + "/bin/python";
  std::string dir = env_or_empty("INFERLAB_PYTHON_DIR");
  if (dir.empty()) dir = INFERLAB_PYTHON_DIR;
  env.worker_script = dir + "/inferlab_worker.py";
  return env;
}

std::string python_install_command() { return "scripts/setup-python-venv.sh (run by scripts/install-deps.sh)"; }

std::string python_package_version(const PythonEnvironment& env, const std::string& package) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path lib = fs::path(env.venv_dir) / "lib";
  if (!fs::is_directory(lib, ec)) return "";
  const std::string prefix = dist_info_prefix(package);
  for (const auto& python_dir : fs::directory_iterator(lib, ec)) {
    const fs::path site = python_dir.path() / "site-packages";
    if (!fs::is_directory(site, ec)) continue;
    for (const auto& entry : fs::directory_iterator(site, ec)) {
      const std::string name = entry.path().filename().string();
      const std::string suffix = ".dist-info";
      if (name.size() > prefix.size() + suffix.size() && name.compare(0, prefix.size(), prefix) == 0 &&
          name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
        return name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
      }
    }
  }
  return "";
}

}  // namespace inferlab
