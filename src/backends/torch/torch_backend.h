#pragma once
// Factory for the torch backend; only registry.cpp includes this.

#include <memory>

#include "inferlab/backend.h"

namespace inferlab {

std::unique_ptr<Backend> make_torch_backend();

}  // namespace inferlab
