#pragma once
// JSON pieces the store keeps beside its columns: the environment of a run
// (read back for `results show`).

#include <nlohmann/json.hpp>

#include "inferlab/environment.h"

namespace inferlab::store_detail {

/// The inverse of to_json(const Environment&); missing fields stay empty.
Environment environment_from_json(const nlohmann::json& json);

}  // namespace inferlab::store_detail
