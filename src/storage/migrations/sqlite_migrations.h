#pragma once
// Numbered schema versions for SQLite, applied in order at start (storage/sqlite/sqlite_store.cc).

#include <span>

namespace panorama::storage {

struct Migration {
  int version;
  const char* description;
  const char* sql;
};

std::span<const Migration> SqliteMigrations();

}  // namespace panorama::storage
