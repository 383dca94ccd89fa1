#pragma once
// Factory for the null backend; only registry.cpp includes this.

#include <memory>

#include "inferlab/backend.h"

namespace inferlab {

std::unique_ptr<Backend> make_null_backend();

}  // namespace inferlab
