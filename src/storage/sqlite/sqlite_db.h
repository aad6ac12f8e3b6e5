#pragma once
// Thin RAII layer over the SQLite C API for this folder only: a connection with a prepared-statement cache and
// a statement cursor with typed binds. The only header that includes <sqlite3.h> (STYLE.md §1).

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "core/result.h"

namespace panorama::storage::sqlite {

// Maps a SQLite result code to the house error: busy/locked, i/o and out of memory → kUnavailable; storage full
// (SQLITE_FULL, max_page_count, ENOSPC/EFBIG/EDQUOT) → kUnavailable with Retry-After and a message starting with
// kStorageFullPrefix; unique constraint → kAlreadyExists, anything else → kInternal.
Error ErrorFromSqlite(int rc, sqlite3* db, std::string_view what);

inline constexpr std::string_view kStorageFullPrefix = "storage full: ";
inline bool IsStorageFull(const Error& error) {
  return error.code() == ErrorCode::kUnavailable && error.message().starts_with(kStorageFullPrefix);
}

class Statement {
 public:
  explicit Statement(sqlite3_stmt* stmt, sqlite3* db) : stmt_(stmt), db_(db) {}
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  Statement(Statement&& other) noexcept : stmt_(other.stmt_), db_(other.db_), bind_rc_(other.bind_rc_) {
    other.stmt_ = nullptr;
  }
  Statement& operator=(Statement&&) = delete;
  ~Statement() {
    if (stmt_ == nullptr) return;
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

  Statement& Bind(int index, int64_t value) {
    Check(sqlite3_bind_int64(stmt_, index, value));
    return *this;
  }
  Statement& Bind(int index, int value) { return Bind(index, static_cast<int64_t>(value)); }
  Statement& Bind(int index, std::string_view value) {
    Check(sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT));
    return *this;
  }
  Statement& Bind(int index, const std::string& value) { return Bind(index, std::string_view(value)); }
  Statement& Bind(int index, const char* value) { return Bind(index, std::string_view(value)); }
  // Binary values (ciphertexts, blind indexes) are stored as BLOBs, never as text.
  Statement& BindBlob(int index, std::string_view value) {
    Check(sqlite3_bind_blob(stmt_, index, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT));
    return *this;
  }
  Statement& BindNull(int index) {
    Check(sqlite3_bind_null(stmt_, index));
    return *this;
  }
  template <typename T>
  Statement& Bind(int index, const std::optional<T>& value) {
    if (value) return Bind(index, *value);
    return BindNull(index);
  }

  // true while a row is available; false at the end; an error for failures.
  Result<bool> Step() {
    if (bind_rc_ != SQLITE_OK) return ErrorFromSqlite(bind_rc_, db_, sqlite3_sql(stmt_));
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return ErrorFromSqlite(rc, db_, sqlite3_sql(stmt_));
  }
  Result<void> Run() {
    auto r = Step();
    if (!r) return std::move(r.error());
    return Ok();
  }

  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  bool IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  std::optional<int64_t> OptInt(int col) const {
    if (IsNull(col)) return std::nullopt;
    return Int(col);
  }
  std::string Blob(int col) const {
    const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_, col));
    return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, col))) : std::string();
  }
  int ColumnCount() const { return sqlite3_column_count(stmt_); }
  std::string ColumnName(int col) const {
    const char* p = sqlite3_column_name(stmt_, col);
    return p ? p : "";
  }
  int ColumnType(int col) const { return sqlite3_column_type(stmt_, col); }
  double Double(int col) const { return sqlite3_column_double(stmt_, col); }
  std::string Text(int col) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, col))) : std::string();
  }

 private:
  // R7: a bind that fails (SQLITE_NOMEM copying a value) would leave the parameter NULL, and the statement would
  // then fail as a NOT NULL constraint (a 400) or, worse, store a NULL; Step() reports the bind failure instead.
  void Check(int rc) {
    if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  }

  sqlite3_stmt* stmt_;
  sqlite3* db_;
  int bind_rc_ = SQLITE_OK;
};

// Calls `fn` once per result row of `s` (read the row through `s` inside `fn`); stops at the first error.
template <typename Fn>
Result<void> ForEachRow(Statement& s, Fn fn) {
  while (true) {
    auto row = s.Step();
    if (!row) return std::move(row.error());
    if (!*row) return Ok();
    fn();
  }
}

template <typename T>
struct RowValue {
  using type = T;
};
template <typename T>
struct RowValue<Result<T>> {
  using type = T;
};

// Every result row of `s`, each made by `read` (which reads the row through `s`). `read` returns the row's value,
// or a Result of it when reading can fail (decryption, a nested query); the first error stops the scan.
template <typename Read>
Result<std::vector<typename RowValue<std::invoke_result_t<Read&>>::type>> CollectRows(Statement& s, Read read) {
  using Made = std::invoke_result_t<Read&>;
  std::vector<typename RowValue<Made>::type> out;
  while (true) {
    auto row = s.Step();
    if (!row) return std::move(row.error());
    if (!*row) return out;
    if constexpr (std::is_same_v<Made, typename RowValue<Made>::type>) {
      out.push_back(read());
    } else {
      ASSIGN_OR_RETURN(auto value, read());
      out.push_back(std::move(value));
    }
  }
}

class Connection {
 public:
  // `vfs`: a registered SQLite VFS name, or "" for the default.
  static Result<std::unique_ptr<Connection>> Open(const std::string& path, bool read_only,
                                                  const std::string& vfs = "");
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  Result<void> Exec(std::string_view sql);
  // Prepared once per connection and reused; the returned cursor resets it when destroyed.
  Result<Statement> Prepare(const std::string& sql);
  int64_t LastInsertId() const { return sqlite3_last_insert_rowid(db_); }
  int Changes() const { return sqlite3_changes(db_); }
  sqlite3* raw() { return db_; }

 private:
  explicit Connection(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  std::unordered_map<std::string, sqlite3_stmt*> cache_;
};

}  // namespace panorama::storage::sqlite
