#pragma once
/// @file python_worker.h
/// Python-worker backends (jax, openvino, tvm): frameworks with no C/C++ SDK that
/// inferlab uses, run by python/inferlab_worker.py inside the project's
/// virtual environment (scripts/setup-python-venv.sh). A C++ launcher,
/// inferlab-worker-<backend>, starts the Python process and drives it one
/// iteration at a time, so the run rules (run_rules.h), the statistics
/// (stats.h) and the memory readings all stay in C++; Python only runs and
/// times the framework call.

#include <string>

#include <memory>

#include "inferlab/backend.h"
#include "inferlab/result.h"
#include "inferlab/worker.h"

namespace inferlab {

/// Where the project's Python environment is expected.
struct PythonEnvironment {
  /// $INFERLAB_PYTHON_VENV, else ${XDG_CACHE_HOME:-$HOME/.cache}/inferlab/venv-<hash of python/requirements.lock>.
  std::string venv_dir;
  std::string python;         ///< venv_dir/bin/python
  std::string worker_script;  ///< python/inferlab_worker.py in the source tree ($INFERLAB_PYTHON_DIR overrides)
  /// Whether the environment was installed completely (its marker file exists).
  bool installed() const;
};

/// The environment this build looks for.
PythonEnvironment python_environment();

/// The command that creates the environment, for "unsupported" reasons.
std::string python_install_command();

/// Version of `package` installed in `env` (from its dist-info folder, so no
/// Python is started); empty when the package is absent.
std::string python_package_version(const PythonEnvironment& env, const std::string& package);

/// Measures `spec` on a Python framework: starts `env`'s python with the
/// worker script (commands on fd 3, replies on fd 4, its stdout/stderr into
/// `scratch_stem`.python.log), drives warm-up and measurement with
/// run_measured_timed() under spec.run, and fills the result with the C++
/// statistics, the Python process's RSS (from /proc) and the framework's
/// versions and timed region. A framework that cannot run the model gives an
/// "unsupported" result with its reason; a Python process that dies gives a
/// "failed" result with its last log line. Never throws for engine failures.
BenchResult measure_with_python_worker(const WorkerSpec& spec, const PythonEnvironment& env,
                                       const std::string& scratch_stem);

/// A Session whose model runs in a Python worker of `backend` in `env`, for
/// the verbs that bring their own inputs (accuracy). prepare() starts the
/// worker and loads the model for those shapes; run() writes the float32
/// inputs to a scratch file, sends the worker's F command and reads the
/// float32 outputs back, so its timed region includes that round trip
/// (TimingBoundary::kWithCopies). The worker lives as long as the session.
/// Throws Error: kUnsupported when `env` is missing or the framework cannot
/// run the model (its message names the op), kRuntime with the worker's last
/// log line when it dies. The caller ignores SIGPIPE (inferlab's CLI does).
std::unique_ptr<Session> make_python_session(const std::string& backend, const ModelSource& model,
                                             const SessionOptions& options, const PythonEnvironment& env);

}  // namespace inferlab
