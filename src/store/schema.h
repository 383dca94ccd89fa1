#pragma once
// The store's schema as ordered migrations. Each migration moves the schema
// from version N-1 to N and is applied once, in one transaction, recorded in
// schema_migrations. The SQL sticks to what SQLite and PostgreSQL share,
// except the id columns, which each implementation spells its own way
// (kIdColumn is replaced before execution).

#include <string>
#include <vector>

namespace inferlab::store_detail {

struct Migration {
  int version;
  std::string description;
  std::string sql;  ///< statements separated by ';', with "@ID@" for an auto-increment primary key
};

/// Every migration, in version order; the last one's version is kStoreSchemaVersion.
const std::vector<Migration>& migrations();

/// The result columns written for every row (apart from ids, blobs and JSON),
/// in the order the insert binds them.
const std::vector<std::string>& result_columns();

}  // namespace inferlab::store_detail
