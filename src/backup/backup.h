#pragma once
// `panorama backup` and `panorama restore`: online, consistent, encrypted copies of a data directory's database,
// rotation, and a verified, atomic restore. The file format is in backup_file.h.
//
// A data backup holds only DIR/panorama.db; DIR/keystore.db (wrapped encryption keys) is backed up separately
// with kind kKeystore into its own directory, and key files are never copied by either.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "backup/backup_file.h"
#include "core/result.h"
#include "core/time.h"

namespace panorama::backup {

inline constexpr char kDatabaseFile[] = "panorama.db";
inline constexpr char kKeystoreFile[] = "keystore.db";
inline constexpr char kLedgerSigningKeyFile[] = "ledger-signing.key";

// SECURITY.md §2.1/§2.7: keystore backups are kept at most 35 days, so that 35 days after an erasure no copy of
// the customer's data key is left anywhere. Every keystore backup run deletes the older ones in its directory.
inline constexpr std::chrono::milliseconds kKeystoreRetentionCap = std::chrono::hours(35 * 24);

struct BackupOptions {
  std::string data_dir;
  std::string to_dir;           // created 0700 when absent
  std::string public_key_file;  // backup.pub from GenerateKeyPair
  BackupKind kind = BackupKind::kData;
  int keep = 0;                 // > 0: afterwards delete all but the newest `keep` backups of this kind in to_dir
  Timestamp now{};              // names the file and goes in the header
  // Keystore backups only: afterwards delete keystore backups in to_dir whose header time is older than this
  // (zero: kKeystoreRetentionCap, the most allowed).
  std::chrono::milliseconds max_age{0};
};

struct BackupResult {
  std::string path;
  BackupHeader header;
  std::vector<std::string> removed;   // rotated out
  std::vector<std::string> aged_out;  // keystore backups older than the retention, deleted
};

// Copies the live database (the server may be running and writing, in this or another process) through the
// SQLite backup API into a private temp dir under the data dir (0700), encrypts it into
// TO_DIR/<panorama|keystore>-<UTC time>.pnbk (written as a hidden temp file, fsynced, then renamed, so a
// half-written backup never carries the final name) and deletes the plaintext on every path.
// kInvalidArgument naming the field for bad options; kNotFound when the database does not exist.
Result<BackupResult> CreateBackup(const BackupOptions& options);

// The backups of `kind` in `dir`, oldest first: by the time in the name, then by the -N suffix that backups
// created in the same millisecond get.
Result<std::vector<std::string>> ListBackups(const std::string& dir, BackupKind kind);

// Keeps the newest `keep` backups of `kind` in `dir`, deletes the rest; returns the deleted paths.
Result<std::vector<std::string>> RotateBackups(const std::string& dir, BackupKind kind, int keep);

// Deletes the backups of `kind` in `dir` whose header time is more than `max_age` before `now`; returns the
// deleted paths. Files whose header cannot be read are left alone (they are not ours, or damaged: the operator
// decides). kInvalidArgument naming "max-age" unless 0 < max_age.
Result<std::vector<std::string>> AgeOutBackups(const std::string& dir, BackupKind kind, Timestamp now,
                                               std::chrono::milliseconds max_age);

struct RestoreOptions {
  std::string from_file;
  std::string secret_key_file;
  std::string data_dir;  // created 0700 when absent
  // Public half of the ledger signing key (hex) the restored ledger's checkpoints must verify under; empty:
  // the one in DATA/ledger-signing.key, and when that is absent too only the chain and Merkle roots are checked.
  std::string ledger_public_key_hex;
};

struct RestoreResult {
  BackupHeader header;
  std::string restored_path;
  int64_t ledger_entries = 0;            // data backups: entries whose chain was verified
  int64_t ledger_checkpoints = 0;
  bool ledger_signatures_checked = false;
  // Where the restored file and its partner in the data dir disagree on erasures, the next start reconciles
  // them (storage/store.h, OpenSqliteStore). Keystore backups: erasures the database records that the restored
  // keystore lacks (an older keystore), whose keys are destroyed again. Data backups: customers the present
  // keystore has erased that the restored database does not record, whose rows are deleted.
  int64_t erasures_to_reapply = 0;
  // Keystore backups: the erasure epoch of the keystore that was replaced (when there was one) — higher than
  // the header's when the restored keystore is older.
  std::optional<int64_t> replaced_keystore_epoch;
};

// Decrypts into a private temp dir inside the data dir, opens the result as untrusted (DEFENSIVE,
// trusted_schema=OFF), runs integrity_check, checks the schema version (equal to the header's and not newer
// than this build's migrations), verifies the audit ledger of a data backup (hash chain, checkpoints' Merkle
// roots and signatures — refusing with "ledger broken at seq N: …" naming the first broken seq), takes the data
// dir's lock (refusing while a server holds it), refuses a backup of another keystore than the data dir's
// (a data backup whose header names another keystore id than DATA/keystore.db's, a keystore backup whose id
// differs from the one DATA/panorama.db is paired with — "belongs to keystore X, but …"), then replaces
// panorama.db (or keystore.db for a keystore backup) with one rename. Any refusal is an error naming the reason
// (kFailedPrecondition for the file and the server lock, kInvalidArgument naming the field for bad options), and
// leaves the data directory exactly as it was.
Result<RestoreResult> RestoreBackup(const RestoreOptions& options);

}  // namespace panorama::backup
