#pragma once
// Factory for the onnxruntime backend; only registry.cpp includes this.

#include <memory>

#include "inferlab/backend.h"

namespace inferlab {

std::unique_ptr<Backend> make_onnxruntime_backend();

}  // namespace inferlab
