#include "storage/sqlite/sqlite_backup.h"

#include <sqlite3.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <algorithm>
#include <memory>
#include <vector>

#include "storage/migrations/sqlite_migrations.h"
#include "storage/sqlite/sqlite_db.h"

namespace panorama::storage {
namespace {

struct CloseDb {
  void operator()(sqlite3* db) const { sqlite3_close(db); }
};
using DbHandle = std::unique_ptr<sqlite3, CloseDb>;

Result<DbHandle> OpenRaw(const std::string& path, int flags) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  DbHandle db(raw);
  if (rc != SQLITE_OK) {
    return Error::Unavailable("cannot open database " + path + ": " +
                              (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  }
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, 10'000);
  return db;
}

// Read-only, as untrusted input. A read-only connection to a WAL database creates -wal and -shm files and leaves
// them behind; when there is no -wal (nothing uncheckpointed, no server running) the file is opened immutable,
// which creates nothing.
Result<DbHandle> OpenForInspection(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return Error::NotFound("no database at " + path);
  bool quiet = !std::filesystem::exists(path + "-wal", ec);
  std::string uri = "file:";
  for (char c : std::filesystem::absolute(path).string()) {
    if (c == '%' || c == '?' || c == '#') {
      char escaped[4];
      std::snprintf(escaped, sizeof escaped, "%%%02X", static_cast<unsigned char>(c));
      uri += escaped;
    } else {
      uri += c;
    }
  }
  uri += quiet ? "?mode=ro&immutable=1" : "?mode=ro";
  ASSIGN_OR_RETURN(DbHandle db, OpenRaw(uri, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI));
  sqlite3_db_config(db.get(), SQLITE_DBCONFIG_DEFENSIVE, 1, nullptr);
  sqlite3_db_config(db.get(), SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, nullptr);
  return db;
}

Result<void> Exec(sqlite3* db, const char* sql) {
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return sqlite::ErrorFromSqlite(rc, db, sql);
  return Ok();
}

struct FinalizeStmt {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using StmtHandle = std::unique_ptr<sqlite3_stmt, FinalizeStmt>;

Result<StmtHandle> Prepare(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db, sql.c_str(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) return sqlite::ErrorFromSqlite(rc, db, sql);
  return StmtHandle(stmt);
}

Result<int> SchemaVersion(sqlite3* db) {
  ASSIGN_OR_RETURN(StmtHandle has,
                   Prepare(db, "SELECT count(*) FROM sqlite_schema WHERE type='table' AND name='schema_migrations'"));
  if (sqlite3_step(has.get()) != SQLITE_ROW) return sqlite::ErrorFromSqlite(sqlite3_errcode(db), db, "schema");
  if (sqlite3_column_int(has.get(), 0) == 0) return 0;
  ASSIGN_OR_RETURN(StmtHandle s, Prepare(db, "SELECT coalesce(max(version), 0) FROM schema_migrations"));
  if (sqlite3_step(s.get()) != SQLITE_ROW) return sqlite::ErrorFromSqlite(sqlite3_errcode(db), db, "schema");
  return sqlite3_column_int(s.get(), 0);
}

std::string Quote(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    out += c;
    if (c == '"') out += '"';
  }
  return out + "\"";
}

void AppendValue(sqlite3_stmt* s, int col, std::string& out) {
  switch (sqlite3_column_type(s, col)) {
    case SQLITE_NULL:
      out += "NULL";
      break;
    case SQLITE_INTEGER:
      out += std::to_string(sqlite3_column_int64(s, col));
      break;
    case SQLITE_FLOAT: {
      char buffer[40];
      std::snprintf(buffer, sizeof buffer, "%.17g", sqlite3_column_double(s, col));
      out += buffer;
      break;
    }
    case SQLITE_TEXT: {
      const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(s, col));
      out += '\'';
      for (int i = 0, n = sqlite3_column_bytes(s, col); i < n; ++i) {
        out += text[i];
        if (text[i] == '\'') out += '\'';
      }
      out += '\'';
      break;
    }
    default: {
      static constexpr char kHex[] = "0123456789abcdef";
      const auto* blob = static_cast<const unsigned char*>(sqlite3_column_blob(s, col));
      out += "X'";
      for (int i = 0, n = sqlite3_column_bytes(s, col); i < n; ++i) {
        out += kHex[blob[i] >> 4];
        out += kHex[blob[i] & 15];
      }
      out += '\'';
    }
  }
}

}  // namespace

Result<int> SqliteOnlineCopy(const std::string& source_path, const std::string& dest_path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(source_path, ec)) return Error::NotFound("no database at " + source_path);
  ASSIGN_OR_RETURN(DbHandle source, OpenRaw(source_path, SQLITE_OPEN_READONLY));
  ASSIGN_OR_RETURN(DbHandle dest, OpenRaw(dest_path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE));
  sqlite3_backup* backup = sqlite3_backup_init(dest.get(), "main", source.get(), "main");
  if (backup == nullptr) return sqlite::ErrorFromSqlite(sqlite3_errcode(dest.get()), dest.get(), "backup");
  // One step of all pages: a single read transaction on the source, so the copy is one consistent snapshot
  // (a stepwise copy would restart whenever another process commits). In WAL mode writers carry on meanwhile.
  int rc = sqlite3_backup_step(backup, -1);
  int finish_rc = sqlite3_backup_finish(backup);
  if (rc != SQLITE_DONE) return sqlite::ErrorFromSqlite(rc, dest.get(), "backup");
  if (finish_rc != SQLITE_OK) return sqlite::ErrorFromSqlite(finish_rc, dest.get(), "backup");
  RETURN_IF_ERROR(Exec(dest.get(), "PRAGMA journal_mode=DELETE"));
  return SchemaVersion(dest.get());
}

Result<int> SqliteVerifyFile(const std::string& path) {
  auto opened = OpenRaw(path, SQLITE_OPEN_READONLY);
  if (!opened) return Error::FailedPrecondition("restored file cannot be opened as a database");
  DbHandle db = std::move(opened).value();
  // The file comes from outside: no schema-defined functions or virtual tables run with our privileges, and
  // no statement may corrupt it on purpose.
  sqlite3_db_config(db.get(), SQLITE_DBCONFIG_DEFENSIVE, 1, nullptr);
  sqlite3_db_config(db.get(), SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, nullptr);
  if (!Exec(db.get(), "PRAGMA trusted_schema=OFF")) {
    return Error::FailedPrecondition("restored file is not a usable database");
  }
  auto check = Prepare(db.get(), "PRAGMA integrity_check");
  if (!check) return Error::FailedPrecondition("restored file is not a database (integrity check cannot run)");
  int rc = sqlite3_step(check->get());
  if (rc != SQLITE_ROW) return Error::FailedPrecondition("integrity check failed to run on the restored database");
  const auto* first = reinterpret_cast<const char*>(sqlite3_column_text(check->get(), 0));
  if (first == nullptr || std::string_view(first) != "ok") {
    return Error::FailedPrecondition("integrity check failed on the restored database: " +
                                     std::string(first ? first : "no result").substr(0, 200));
  }
  auto version = SchemaVersion(db.get());
  if (!version) return Error::FailedPrecondition("restored database has no readable schema version");
  return version;
}

Result<void> SqliteCheckpointForReplace(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return Ok();
  ASSIGN_OR_RETURN(DbHandle db, OpenRaw(path, SQLITE_OPEN_READWRITE));
  RETURN_IF_ERROR(Exec(db.get(), "PRAGMA wal_checkpoint(TRUNCATE)"));
  RETURN_IF_ERROR(Exec(db.get(), "PRAGMA journal_mode=DELETE"));
  return Ok();
}

Result<std::string> SqliteCanonicalDump(const std::string& path) {
  ASSIGN_OR_RETURN(DbHandle db, OpenRaw(path, SQLITE_OPEN_READONLY));
  std::string out;
  std::vector<std::string> tables;
  {
    ASSIGN_OR_RETURN(StmtHandle s, Prepare(db.get(), "SELECT type, name, coalesce(sql, '') FROM sqlite_schema "
                                                     "ORDER BY type, name"));
    while (sqlite3_step(s.get()) == SQLITE_ROW) {
      std::string type = reinterpret_cast<const char*>(sqlite3_column_text(s.get(), 0));
      std::string name = reinterpret_cast<const char*>(sqlite3_column_text(s.get(), 1));
      std::string ddl = reinterpret_cast<const char*>(sqlite3_column_text(s.get(), 2));
      out += type + " " + name + ": " + ddl + "\n";
      // Virtual tables are read through their shadow tables, which are plain tables listed here too.
      if (type == "table" && !name.starts_with("sqlite_") && !ddl.starts_with("CREATE VIRTUAL")) {
        tables.push_back(name);
      }
    }
  }
  for (const std::string& table : tables) {
    ASSIGN_OR_RETURN(StmtHandle probe, Prepare(db.get(), "SELECT * FROM " + Quote(table)));
    int columns = sqlite3_column_count(probe.get());
    std::string order;
    for (int i = 1; i <= columns; ++i) order += (i > 1 ? "," : "") + std::to_string(i);
    ASSIGN_OR_RETURN(StmtHandle s, Prepare(db.get(), "SELECT * FROM " + Quote(table) + " ORDER BY " + order));
    out += "-- " + table + "\n";
    int rc;
    while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
      for (int i = 0; i < columns; ++i) {
        if (i > 0) out += '|';
        AppendValue(s.get(), i, out);
      }
      out += '\n';
    }
    if (rc != SQLITE_DONE) return sqlite::ErrorFromSqlite(rc, db.get(), "dump");
  }
  return out;
}

Result<KeystoreSummary> SqliteReadKeystoreSummary(const std::string& path) {
  auto read = [&]() -> Result<KeystoreSummary> {
    ASSIGN_OR_RETURN(DbHandle db, OpenForInspection(path));
    KeystoreSummary out;
    ASSIGN_OR_RETURN(StmtHandle meta, Prepare(db.get(), "SELECT name, CAST(value AS TEXT) FROM keystore_meta WHERE name "
                                                        "IN ('keystore_id', 'epoch')"));
    int rc;
    while ((rc = sqlite3_step(meta.get())) == SQLITE_ROW) {
      std::string name = reinterpret_cast<const char*>(sqlite3_column_text(meta.get(), 0));
      const auto* value = reinterpret_cast<const char*>(sqlite3_column_text(meta.get(), 1));
      if (value == nullptr) continue;
      if (name == "keystore_id") out.id = value;
      if (name == "epoch") out.epoch = std::atoll(value);
    }
    if (rc != SQLITE_DONE) return sqlite::ErrorFromSqlite(rc, db.get(), "keystore_meta");
    ASSIGN_OR_RETURN(StmtHandle s, Prepare(db.get(), "SELECT CAST(substr(subject, 3) AS INTEGER) AS c FROM tombstones "
                                                     "WHERE subject LIKE 'c:%' ORDER BY c"));
    while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) out.erased_customers.push_back(sqlite3_column_int64(s.get(), 0));
    if (rc != SQLITE_DONE) return sqlite::ErrorFromSqlite(rc, db.get(), "tombstones");
    return out;
  };
  auto summary = read();
  if (!summary) return Error::Unavailable("cannot read the keystore " + path + ": " + summary.error().message());
  return summary;
}

Result<DatabaseKeystoreRecord> SqliteReadKeystoreRecord(const std::string& path) {
  ASSIGN_OR_RETURN(DbHandle db, OpenForInspection(path));
  auto has_table = [&](const char* name) -> Result<bool> {
    ASSIGN_OR_RETURN(StmtHandle s, Prepare(db.get(), "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND "
                                                     "name = ?"));
    sqlite3_bind_text(s.get(), 1, name, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(s.get()) != SQLITE_ROW) return sqlite::ErrorFromSqlite(sqlite3_errcode(db.get()), db.get(), name);
    return sqlite3_column_int(s.get(), 0) > 0;
  };
  DatabaseKeystoreRecord out;
  ASSIGN_OR_RETURN(bool paired, has_table("keystore_pairing"));
  if (paired) {
    ASSIGN_OR_RETURN(StmtHandle s, Prepare(db.get(), "SELECT keystore_id FROM keystore_pairing WHERE singleton = 1"));
    if (sqlite3_step(s.get()) == SQLITE_ROW && sqlite3_column_text(s.get(), 0) != nullptr) {
      out.paired_keystore_id = reinterpret_cast<const char*>(sqlite3_column_text(s.get(), 0));
    }
  }
  ASSIGN_OR_RETURN(bool erasures, has_table("erasures"));
  if (erasures) {
    ASSIGN_OR_RETURN(StmtHandle s, Prepare(db.get(), "SELECT customer_id FROM erasures ORDER BY customer_id"));
    int rc;
    while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) out.erased_customers.push_back(sqlite3_column_int64(s.get(), 0));
    if (rc != SQLITE_DONE) return sqlite::ErrorFromSqlite(rc, db.get(), "erasures");
  }
  return out;
}

int SqliteLatestSchemaVersion() {
  int latest = 0;
  for (const Migration& m : SqliteMigrations()) latest = std::max(latest, m.version);
  return latest;
}

}  // namespace panorama::storage
