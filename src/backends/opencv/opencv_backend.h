#pragma once
// Factory for the opencv backend; only registry.cpp includes this.

#include <memory>

#include "inferlab/backend.h"

namespace inferlab {

std::unique_ptr<Backend> make_opencv_backend();

}  // namespace inferlab
