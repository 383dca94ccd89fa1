#pragma once
// Factory for the native backend; only registry.cpp includes this.

#include <memory>

#include "inferlab/backend.h"

namespace inferlab {

std::unique_ptr<Backend> make_native_backend();

}  // namespace inferlab
