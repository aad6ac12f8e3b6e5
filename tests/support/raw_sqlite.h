#pragma once
// SQL run on a database file behind the Store's back: the tamper tests play an intruder with file access, and some
// tests read what is really on disk. Uses the SQLite C API directly, which only tests may (check-sql-literals.py).
// Header-only; the test target links SQLite::SQLite3.

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <string>

namespace panorama::testing {

// Runs `sql` (one or more statements) on the file at `path`, waiting up to 5 s for a running server's lock. A
// failure is a test failure that names SQLite's message and the SQL.
inline void RawSql(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) {
    ADD_FAILURE() << "cannot open " << path << ": " << sqlite3_errmsg(db);
    sqlite3_close(db);
    return;
  }
  sqlite3_busy_timeout(db, 5000);
  char* error = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
  std::string message = error ? error : "";
  sqlite3_free(error);
  sqlite3_close(db);
  EXPECT_EQ(rc, SQLITE_OK) << message << "\n" << sql;
}

// The first column of the first row `sql` returns from the file at `path`, as text; "" when there is no row or
// the value is NULL.
inline std::string RawText(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  std::string out;
  if (sqlite3_open(path.c_str(), &db) == SQLITE_OK) {
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK && sqlite3_step(stmt) == SQLITE_ROW &&
        sqlite3_column_text(stmt, 0) != nullptr) {
      out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    }
    sqlite3_finalize(stmt);
  } else {
    ADD_FAILURE() << "cannot open " << path << ": " << sqlite3_errmsg(db);
  }
  sqlite3_close(db);
  return out;
}

}  // namespace panorama::testing
