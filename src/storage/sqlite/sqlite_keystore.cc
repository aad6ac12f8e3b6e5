// The keystore on SQLite: one connection guarded by a mutex (the keystore is small and its reads are cached by
// the field encryptor), WAL and synchronous=FULL so a tombstone is on disk before an erasure proceeds.

#include <mutex>

#include "storage/keystore.h"
#include "storage/sqlite/sqlite_db.h"

namespace panorama::storage {
namespace {

using sqlite::Connection;
using sqlite::Statement;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS keystore_meta (name TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS wrapped_keys (
  subject        TEXT NOT NULL,
  key_version    INTEGER NOT NULL,
  master_version INTEGER NOT NULL,
  wrapped        BLOB NOT NULL,
  PRIMARY KEY (subject, key_version)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS wrapped_keys_master ON wrapped_keys(master_version);
CREATE TABLE IF NOT EXISTS tombstones (subject TEXT PRIMARY KEY, erased_at INTEGER NOT NULL) WITHOUT ROWID;
)sql";

Result<std::optional<std::string>> GetMetaOn(Connection& db, std::string_view name) {
  ASSIGN_OR_RETURN(Statement s, db.Prepare("SELECT value FROM keystore_meta WHERE name = ?"));
  s.Bind(1, name);
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return std::optional<std::string>();
  return std::optional<std::string>(s.Blob(0));
}

Result<bool> IsTombstonedOn(Connection& db, std::string_view subject) {
  ASSIGN_OR_RETURN(Statement s, db.Prepare("SELECT 1 FROM tombstones WHERE subject = ?"));
  s.Bind(1, subject);
  return s.Step();
}

class SqliteKeyStoreTxn final : public KeyStoreTxn {
 public:
  explicit SqliteKeyStoreTxn(Connection& db) : db_(db) {}

  // KeyStoreTxn
  Result<std::optional<std::string>> GetMeta(std::string_view name) override { return GetMetaOn(db_, name); }

  Result<void> PutMeta(std::string_view name, std::string_view value) override {
    ASSIGN_OR_RETURN(Statement s, db_.Prepare("INSERT OR REPLACE INTO keystore_meta (name, value) VALUES (?, ?)"));
    s.Bind(1, name).BindBlob(2, value);
    return s.Run();
  }

  Result<void> PutKey(const WrappedKey& key) override {
    ASSIGN_OR_RETURN(bool erased, IsTombstonedOn(db_, key.subject));
    if (erased) return Error::FailedPrecondition("subject " + key.subject + " was erased; it gets no new key");
    ASSIGN_OR_RETURN(Statement s, db_.Prepare(
        "INSERT INTO wrapped_keys (subject, key_version, master_version, wrapped) VALUES (?,?,?,?)"));
    s.Bind(1, key.subject).Bind(2, key.key_version).Bind(3, key.master_version).BindBlob(4, key.wrapped);
    return s.Run();
  }

  Result<void> Rewrap(const WrappedKey& key) override {
    ASSIGN_OR_RETURN(Statement s, db_.Prepare(
        "UPDATE wrapped_keys SET master_version = ?, wrapped = ? WHERE subject = ? AND key_version = ?"));
    s.Bind(1, key.master_version).BindBlob(2, key.wrapped).Bind(3, key.subject).Bind(4, key.key_version);
    return s.Run();
  }

  Result<void> DeleteKeysBelow(std::string_view subject, int key_version) override {
    ASSIGN_OR_RETURN(Statement s, db_.Prepare("DELETE FROM wrapped_keys WHERE subject = ? AND key_version < ?"));
    s.Bind(1, subject).Bind(2, key_version);
    return s.Run();
  }

  Result<void> Tombstone(std::string_view subject, Timestamp at) override {
    ASSIGN_OR_RETURN(Statement del, db_.Prepare("DELETE FROM wrapped_keys WHERE subject = ?"));
    del.Bind(1, subject);
    RETURN_IF_ERROR(del.Run());
    ASSIGN_OR_RETURN(Statement s, db_.Prepare(
        "INSERT OR IGNORE INTO tombstones (subject, erased_at) VALUES (?, ?)"));
    s.Bind(1, subject).Bind(2, ToUnixMillis(at));
    return s.Run();
  }

  Result<std::vector<WrappedKey>> KeysNotUnder(int master_version, int limit) override {
    ASSIGN_OR_RETURN(Statement s, db_.Prepare(
        "SELECT subject, key_version, master_version, wrapped FROM wrapped_keys WHERE master_version <> ? "
        "LIMIT ?"));
    s.Bind(1, master_version).Bind(2, limit);
    std::vector<WrappedKey> out;
    RETURN_IF_ERROR(sqlite::ForEachRow(s, [&] {
      out.push_back({s.Text(0), static_cast<int>(s.Int(1)), static_cast<int>(s.Int(2)), s.Blob(3)});
    }));
    return out;
  }

 private:
  Connection& db_;
};

class SqliteKeyStore final : public KeyStore {
 public:
  static Result<std::unique_ptr<KeyStore>> Open(const KeyStoreOptions& options) {
    auto store = std::unique_ptr<SqliteKeyStore>(new SqliteKeyStore());
    ASSIGN_OR_RETURN(store->db_, Connection::Open(options.path, /*read_only=*/false));
    RETURN_IF_ERROR(store->db_->Exec("PRAGMA journal_mode=WAL"));
    RETURN_IF_ERROR(store->db_->Exec(options.synchronous_full ? "PRAGMA synchronous=FULL"
                                                              : "PRAGMA synchronous=OFF"));
    RETURN_IF_ERROR(store->db_->Exec(kSchema));
    return std::unique_ptr<KeyStore>(std::move(store));
  }

  // KeyStore
  Result<void> Write(const std::function<Result<void>(KeyStoreTxn&)>& fn) override {
    std::lock_guard lock(mu_);
    RETURN_IF_ERROR(db_->Exec("BEGIN IMMEDIATE"));
    SqliteKeyStoreTxn txn(*db_);
    Result<void> result = fn(txn);
    if (result) {
      auto committed = db_->Exec("COMMIT");
      if (committed) return Ok();
      result = std::move(committed.error());
    }
    (void)db_->Exec("ROLLBACK");
    return result;
  }

  Result<std::optional<std::string>> GetMeta(std::string_view name) override {
    std::lock_guard lock(mu_);
    return GetMetaOn(*db_, name);
  }

  Result<std::vector<WrappedKey>> GetKeys(std::string_view subject) override {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(Statement s, db_->Prepare(
        "SELECT subject, key_version, master_version, wrapped FROM wrapped_keys WHERE subject = ? "
        "ORDER BY key_version"));
    s.Bind(1, subject);
    std::vector<WrappedKey> out;
    RETURN_IF_ERROR(sqlite::ForEachRow(s, [&] {
      out.push_back({s.Text(0), static_cast<int>(s.Int(1)), static_cast<int>(s.Int(2)), s.Blob(3)});
    }));
    return out;
  }

  Result<bool> IsTombstoned(std::string_view subject) override {
    std::lock_guard lock(mu_);
    return IsTombstonedOn(*db_, subject);
  }

  Result<std::vector<std::string>> ListTombstones() override {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(Statement s, db_->Prepare("SELECT subject FROM tombstones ORDER BY subject"));
    std::vector<std::string> out;
    RETURN_IF_ERROR(sqlite::ForEachRow(s, [&] { out.push_back(s.Text(0)); }));
    return out;
  }

  Result<int64_t> CountKeysNotUnder(int master_version) override {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(Statement s, db_->Prepare("SELECT count(*) FROM wrapped_keys WHERE master_version <> ?"));
    s.Bind(1, master_version);
    ASSIGN_OR_RETURN(bool row, s.Step());
    (void)row;
    return s.Int(0);
  }

 private:
  SqliteKeyStore() = default;

  std::mutex mu_;
  // guarded by mu_
  std::unique_ptr<Connection> db_;
};

}  // namespace

Result<std::unique_ptr<KeyStore>> OpenSqliteKeyStore(const KeyStoreOptions& options) {
  return SqliteKeyStore::Open(options);
}

}  // namespace panorama::storage
