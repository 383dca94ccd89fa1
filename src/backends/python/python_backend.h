#pragma once
// The Python-worker backends (jax, openvino, tvm) as seen from C++: they answer
// supports() and `inferlab info` from the project's Python environment, and
// are measured only in their worker process (python_worker.cpp).
#include <memory>

#include "inferlab/backend.h"

namespace inferlab {

std::unique_ptr<Backend> make_jax_backend();
std::unique_ptr<Backend> make_openvino_backend();
std::unique_ptr<Backend> make_tvm_backend();

}  // namespace inferlab
