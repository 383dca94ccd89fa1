#include "inferlab/registry.h"

#include <map>
#include <mutex>

#include "backends/null/null_backend.h"
#include "inferlab/error.h"

// The only place that knows which adapters were compiled in: CMake defines
// INFERLAB_HAVE_<X> for each adapter it built, and INFERLAB_<X>_STATUS with
// the configure-time reason either way.
#if defined(INFERLAB_HAVE_OPENCV)
#include "backends/opencv/opencv_backend.h"
#endif
#if defined(INFERLAB_HAVE_TORCH)
#include "backends/torch/torch_backend.h"
#endif
#if defined(INFERLAB_HAVE_NATIVE)
#include "backends/native/native_backend.h"
#endif
#if defined(INFERLAB_HAVE_ONNXRUNTIME)
#include "backends/onnxruntime/onnxruntime_backend.h"
#endif
#if defined(INFERLAB_HAVE_PYTHON_BACKENDS)
#include "backends/python/python_backend.h"
#endif

#ifndef INFERLAB_OPENCV_STATUS
#define INFERLAB_OPENCV_STATUS "left out: not configured"
#endif
#ifndef INFERLAB_TORCH_STATUS
#define INFERLAB_TORCH_STATUS "left out: not configured"
#endif
#ifndef INFERLAB_NATIVE_STATUS
#define INFERLAB_NATIVE_STATUS "left out: not configured"
#endif
#ifndef INFERLAB_ONNXRUNTIME_STATUS
#define INFERLAB_ONNXRUNTIME_STATUS "left out: not configured"
#endif
#ifndef INFERLAB_PYTHON_BACKENDS_STATUS
#define INFERLAB_PYTHON_BACKENDS_STATUS "left out: not configured"
#endif
#ifndef INFERLAB_TENSORRT_STATUS
#define INFERLAB_TENSORRT_STATUS "left out: not configured"
#endif

namespace inferlab {

namespace {

using Factory = std::unique_ptr<Backend> (*)();

struct Registration {
  const char* name;
  Factory factory;  // null when the adapter is not compiled in
  const char* status;
};

// Display order is the order users see in `inferlab info` and error messages.
const Registration kRegistrations[] = {
#if defined(INFERLAB_HAVE_OPENCV)
    {"opencv", &make_opencv_backend, INFERLAB_OPENCV_STATUS},
#else
    {"opencv", nullptr, INFERLAB_OPENCV_STATUS},
#endif
#if defined(INFERLAB_HAVE_TORCH)
    {"torch", &make_torch_backend, INFERLAB_TORCH_STATUS},
#else
    {"torch", nullptr, INFERLAB_TORCH_STATUS},
#endif
#if defined(INFERLAB_HAVE_NATIVE)
    {"native", &make_native_backend, INFERLAB_NATIVE_STATUS},
#else
    {"native", nullptr, INFERLAB_NATIVE_STATUS},
#endif
#if defined(INFERLAB_HAVE_ONNXRUNTIME)
    {"onnxruntime", &make_onnxruntime_backend, INFERLAB_ONNXRUNTIME_STATUS},
#else
    {"onnxruntime", nullptr, INFERLAB_ONNXRUNTIME_STATUS},
#endif
#if defined(INFERLAB_HAVE_PYTHON_BACKENDS)
    {"jax", &make_jax_backend, INFERLAB_PYTHON_BACKENDS_STATUS},
    {"openvino", &make_openvino_backend, INFERLAB_PYTHON_BACKENDS_STATUS},
    {"tvm", &make_tvm_backend, INFERLAB_PYTHON_BACKENDS_STATUS},
#else
    {"jax", nullptr, INFERLAB_PYTHON_BACKENDS_STATUS},
    {"openvino", nullptr, INFERLAB_PYTHON_BACKENDS_STATUS},
    {"tvm", nullptr, INFERLAB_PYTHON_BACKENDS_STATUS},
#endif
    {"null", &make_null_backend, "built"},
    // No adapter source exists for this yet; its status still says what
    // configure found, so `inferlab info` can tell the user what is missing.
    {"tensorrt", nullptr, INFERLAB_TENSORRT_STATUS},
};

std::string known_names() {
  std::string names;
  for (const Registration& registration : kRegistrations) {
    if (!names.empty()) names += ", ";
    names += registration.name;
  }
  return names;
}

std::string missing_reason(const Registration& registration) {
  const std::string status = registration.status;
  // Configure may have found an SDK for which inferlab has no adapter yet.
  if (status.empty() || status.rfind("built", 0) == 0)
    return "no adapter for this engine is compiled into inferlab yet";
  return status;
}

// The registration of `name`, compiled in; throws Error naming the choices
// otherwise.
const Registration& available_registration(const std::string& name) {
  for (const Registration& registration : kRegistrations) {
    if (name != registration.name) continue;
    if (registration.factory == nullptr) {
      throw Error("backend '" + name + "' is not available in this build: " + missing_reason(registration));
    }
    return registration;
  }
  throw Error("unknown backend '" + name + "' (known: " + known_names() + ")");
}

}  // namespace

std::vector<BackendEntry> known_backends() {
  std::vector<BackendEntry> entries;
  for (const Registration& registration : kRegistrations) {
    BackendEntry entry;
    entry.name = registration.name;
    entry.compiled_in = registration.factory != nullptr;
    if (!entry.compiled_in) entry.reason_missing = missing_reason(registration);
    entries.push_back(std::move(entry));
  }
  return entries;
}

void check_backend_available(const std::string& name) { available_registration(name); }

std::unique_ptr<Backend> create_backend(const std::string& name) { return available_registration(name).factory(); }

const Backend& shared_backend(const std::string& name) {
  static std::mutex mutex;
  // Never destroyed: an engine's globals may be gone by static destruction.
  static auto* instances = new std::map<std::string, std::unique_ptr<Backend>>;
  const std::lock_guard<std::mutex> lock(mutex);
  std::unique_ptr<Backend>& instance = (*instances)[name];
  if (!instance) instance = create_backend(name);
  return *instance;
}

}  // namespace inferlab
