#pragma once
// The SQLite implementation of ResultStore (open_result_store picks it for paths).

#include <memory>
#include <string>

#include "inferlab/store.h"

namespace inferlab::store_detail {

/// Opens or creates the SQLite store at `path`; see open_result_store().
std::unique_ptr<ResultStore> open_sqlite_store(const std::string& path, StoreAccess access);

}  // namespace inferlab::store_detail
