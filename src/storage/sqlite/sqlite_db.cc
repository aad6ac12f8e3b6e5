#include "storage/sqlite/sqlite_db.h"

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <cerrno>
#include <cstdint>

namespace panorama::storage::sqlite {

namespace {

// R6: storage full is transient from the client's view (space can return); 503 with Retry-After, not 429.
Error StorageFull(const std::string& detail) {
  Error error = Error::Unavailable(std::string(kStorageFullPrefix) + detail);
  error.WithRetryAfter(5);
  return error;
}

// Whether a failed write is explained by a full file system or by the process's file-size limit: the database
// or its WAL within 64 KiB of RLIMIT_FSIZE, or less than 1 MiB free where the database lives.
bool FilesAtTheirLimit(sqlite3* db) {
  if (db == nullptr) return false;
  const char* name = sqlite3_db_filename(db, "main");
  if (name == nullptr || *name == '\0') return false;
  std::string path(name);
  constexpr uint64_t kSlack = 64 * 1024;
  struct rlimit limit {};
  if (getrlimit(RLIMIT_FSIZE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    for (const std::string& file : {path, path + "-wal"}) {
      struct stat st {};
      if (stat(file.c_str(), &st) == 0 && static_cast<uint64_t>(st.st_size) + kSlack >= limit.rlim_cur) return true;
    }
  }
  struct statvfs fs {};
  return statvfs(path.c_str(), &fs) == 0 && static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize < 16 * kSlack;
}

}  // namespace

Error ErrorFromSqlite(int rc, sqlite3* db, std::string_view what) {
  std::string detail = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  (void)what;
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Error::Unavailable("database is busy: " + detail);
    case SQLITE_NOMEM:
      // R7: a failed allocation is transient (SQLite rolls the statement back and stays usable): retry later.
      return Error::Unavailable("database out of memory");
    case SQLITE_FULL:
      return StorageFull(detail);
    case SQLITE_IOERR:
      // R6: the unix VFS reports SQLITE_FULL only for ENOSPC; a file-size limit (RLIMIT_FSIZE: EFBIG) or a quota
      // (EDQUOT) arrives as SQLITE_IOERR_WRITE, and its errno is usually gone by now, so the files are looked at.
      if (int os = db ? sqlite3_system_errno(db) : 0; os == ENOSPC || os == EFBIG || os == EDQUOT ||
                                                      (rc == SQLITE_IOERR_WRITE && FilesAtTheirLimit(db))) {
        return StorageFull(detail);
      }
      return Error::Unavailable("database i/o error: " + detail);
    case SQLITE_CONSTRAINT:
      if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
        return Error::AlreadyExists("duplicate key: " + detail);
      }
      return Error::InvalidArgument("constraint failed: " + detail);
    default:
      // The statement text stays out of the message: it reaches clients in a 500's detail.
      return Error::Internal("sqlite error " + std::to_string(rc) + " (" + detail + ")");
  }
}

Result<std::unique_ptr<Connection>> Connection::Open(const std::string& path, bool read_only,
                                                     const std::string& vfs) {
  sqlite3* db = nullptr;
  int flags = (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
              SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, vfs.empty() ? nullptr : vfs.c_str());
  if (rc != SQLITE_OK) {
    Error error = Error::Unavailable("cannot open database " + path + ": " +
                                     (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
    sqlite3_close(db);
    return error;
  }
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, 10'000);
  return std::unique_ptr<Connection>(new Connection(db));
}

Connection::~Connection() {
  for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
  sqlite3_close(db_);
}

Result<void> Connection::Exec(std::string_view sql) {
  std::string text(sql);
  char* message = nullptr;
  int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message);
  if (rc != SQLITE_OK) {
    sqlite3_free(message);
    return ErrorFromSqlite(rc, db_, sql);
  }
  return Ok();
}

Result<Statement> Connection::Prepare(const std::string& sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                                &stmt, nullptr);
    if (rc != SQLITE_OK) return ErrorFromSqlite(rc, db_, sql);
    it = cache_.emplace(sql, stmt).first;
  }
  return Statement(it->second, db_);
}

}  // namespace panorama::storage::sqlite
