#pragma once
// SQLite file operations for backup and restore (backup/): an online, consistent copy of a live database, the
// checks a restored file must pass, and a canonical dump for comparing two databases. This header stays free of
// <sqlite3.h> so the backup context never sees the SQLite API (STYLE.md §1).

#include <cstdint>
#include <string>
#include <vector>

#include "core/result.h"

namespace panorama::storage {

// Copies the database at `source_path` (which may be in WAL mode and written by a server in another process)
// into a new file `dest_path` with the SQLite online backup API in one step, i.e. inside one read transaction:
// the copy is the state of one commit, and writers are not blocked. The copy is switched to a rollback journal
// so it is a single self-contained file. Returns its schema version (max version in schema_migrations, 0 when
// the table does not exist). kNotFound when the source does not exist; kUnavailable on I/O or busy errors.
Result<int> SqliteOnlineCopy(const std::string& source_path, const std::string& dest_path);

// Opens `path` read-only as untrusted input (SQLITE_DBCONFIG_DEFENSIVE, trusted_schema=OFF), runs
// `PRAGMA integrity_check` and returns the schema version. kFailedPrecondition naming the reason when the file
// is not a database or fails the integrity check.
Result<int> SqliteVerifyFile(const std::string& path);

// Merges the write-ahead log of the (closed) database at `path` into the main file and removes the log, so the
// main file alone holds every commit and may be replaced by rename. No-op when `path` does not exist.
Result<void> SqliteCheckpointForReplace(const std::string& path);

// Every user table's rows (and the schema's SQL), in a fixed order and a fixed text form: two databases with the
// same content give the same text. For comparing a restored database with its source in tests and tools.
Result<std::string> SqliteCanonicalDump(const std::string& path);

// What backup and restore need to know about a keystore file (storage/keystore.h). `id` is empty for a keystore
// never opened by a build with ids. kUnavailable when the file cannot be read as a keystore.
struct KeystoreSummary {
  std::string id;
  int64_t epoch = 0;
  std::vector<int64_t> erased_customers;  // tombstoned "c:<id>" subjects, ascending
};
Result<KeystoreSummary> SqliteReadKeystoreSummary(const std::string& path);

// What a main database records about its keystore: the id it is paired with (keystore_pairing, empty when not
// paired or from before migration 15) and the erased customers (erasures).
// Both readers open the file read-only as untrusted input and leave no -wal/-shm behind when there was none (they
// are used on directories a refused restore must leave exactly as they were).
struct DatabaseKeystoreRecord {
  std::string paired_keystore_id;
  std::vector<int64_t> erased_customers;  // ascending
};
Result<DatabaseKeystoreRecord> SqliteReadKeystoreRecord(const std::string& path);

// The highest schema version this build's migrations create.
int SqliteLatestSchemaVersion();

}  // namespace panorama::storage
