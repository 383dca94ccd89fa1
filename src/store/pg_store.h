#pragma once
// The PostgreSQL implementation of ResultStore (open_result_store picks it
// for postgresql:// URLs in builds with libpq).

#include <memory>
#include <string>

#include "inferlab/store.h"

namespace inferlab::store_detail {

/// Connects to the database `url` names (libpq's URI syntax) and checks or
/// migrates its schema; see open_result_store(). Throws Error naming host and
/// port when the server cannot be reached.
std::unique_ptr<ResultStore> open_pg_store(const std::string& url, StoreAccess access);

}  // namespace inferlab::store_detail
