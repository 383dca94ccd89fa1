#pragma once
// The store's schema as ordered migrations. Each migration moves the schema
// from version N-1 to N and is applied once, in one transaction, recorded in
// schema_migrations. The SQL sticks to what SQLite and PostgreSQL share,
// except the id columns, which each implementation spells its own way
// (kIdColumn is replaced before execution).

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "inferlab/result.h"

namespace inferlab::store_detail {

struct Migration {
  int version;
  std::string description;
  std::string sql;  ///< statements separated by ';', with "@ID@" for an auto-increment primary key
};

/// Every migration, in version order; the last one's version is kStoreSchemaVersion.
const std::vector<Migration>& migrations();

/// The result columns written for every row (apart from ids, blobs and JSON),
/// in the order the insert binds them: store_columns()' names (result.h).
const std::vector<std::string>& result_columns();

/// live_results' columns after result_id, in the order the insert binds them
/// (LiveFields: method ... histogram_bin_width_pct; switches is their count).
const std::vector<std::string>& live_result_columns();

/// live_stages' columns after result_id and stage_index, in bind order.
const std::vector<std::string>& live_stage_columns();

/// The row_json a store keeps for `row`: to_json(row) without live.stages,
/// which live_stages holds (read back by the store's rows()).
nlohmann::json row_json_without_stages(const BenchResult& row);

}  // namespace inferlab::store_detail
