#include "backup/backup.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <iterator>
#include <tuple>

#include "audit/merkle.h"
#include "audit/verifier.h"
#include "backup/data_dir_lock.h"
#include "storage/sqlite/sqlite_backup.h"

namespace panorama::backup {
namespace {

namespace fs = std::filesystem;

constexpr char kSuffix[] = ".pnbk";

std::string Prefix(BackupKind kind) { return kind == BackupKind::kData ? "panorama-" : "keystore-"; }
std::string SourceFile(BackupKind kind) { return kind == BackupKind::kData ? kDatabaseFile : kKeystoreFile; }

// 20261123T130615123Z: sorts like the time it names.
std::string CompactTime(Timestamp t) {
  int64_t ms = ToUnixMillis(t);
  std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%04d%02d%02dT%02d%02d%02d%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
  return buffer;
}

// A mkdtemp directory (0700) removed with its contents when this goes out of scope, on every path.
class PrivateTempDir {
 public:
  static Result<PrivateTempDir> Create(const fs::path& parent, const std::string& stem) {
    std::string pattern = (parent / (stem + "XXXXXX")).string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      return Error::Unavailable("cannot create a temp dir in " + parent.string() + ": " + std::strerror(errno));
    }
    return PrivateTempDir(pattern);
  }
  PrivateTempDir(PrivateTempDir&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }
  PrivateTempDir(const PrivateTempDir&) = delete;
  PrivateTempDir& operator=(const PrivateTempDir&) = delete;
  PrivateTempDir& operator=(PrivateTempDir&&) = delete;
  ~PrivateTempDir() {
    if (path_.empty()) return;
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  explicit PrivateTempDir(fs::path path) : path_(std::move(path)) {}
  fs::path path_;
};

Result<void> SyncDir(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Error::Unavailable("cannot open " + dir.string() + ": " + std::strerror(errno));
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return Error::Unavailable("cannot sync " + dir.string() + ": " + std::strerror(errno));
  return Ok();
}

Result<void> EnsurePrivateDir(const std::string& dir, const std::string& field) {
  if (dir.empty()) return Error::InvalidField(field, "is required");
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec)) return Error::InvalidField(field, dir + " is not a directory");
  if (!fs::exists(dir, ec)) {
    fs::create_directories(dir, ec);
    if (ec) return Error::InvalidField(field, "cannot create " + dir + ": " + ec.message());
    ::chmod(dir.c_str(), 0700);
  }
  return Ok();
}

// Verifies the restored database's audit ledger on a private copy (opening it may migrate the copy; the file that
// is swapped in stays as it was decrypted).
Result<audit::VerifyReport> CheckLedger(const std::string& plain, const fs::path& temp_dir,
                                        const RestoreOptions& options, RestoreResult& result) {
  audit::VerifyOptions verify{.public_key_hex = options.ledger_public_key_hex};
  if (verify.public_key_hex.empty()) {
    auto signer = audit::LedgerSigner::Load((fs::path(options.data_dir) / kLedgerSigningKeyFile).string());
    if (signer) {
      verify.public_key_hex = signer->PublicKeyHex();
    } else if (signer.error().code() == ErrorCode::kNotFound) {
      verify.check_signatures = false;
    } else {
      return std::move(signer.error());
    }
  }
  result.ledger_signatures_checked = verify.check_signatures;
  std::string copy = (temp_dir / "ledger-check.db").string();
  std::error_code ec;
  fs::copy_file(plain, copy, ec);
  if (ec) return Error::Unavailable("cannot copy the restored database for the ledger check: " + ec.message());
  auto report = audit::VerifyLedgerFile(copy, verify);
  fs::remove(copy, ec);
  fs::remove(copy + "-wal", ec);
  fs::remove(copy + "-shm", ec);
  if (!report) {
    return Error::FailedPrecondition("backup refused: " + report.error().message());
  }
  return report;
}

// A backup of another keystore than the target directory's would pair a database with a foreign keystore (whose
// tombstones the next start would apply to our customers). Checked from the clear header before anything in
// the directory is touched.
Result<void> CheckSameKeystore(const BackupHeader& header, const fs::path& data_dir) {
  if (header.keystore_id.empty()) return Ok();  // format 1, or a data dir without a keystore when backed up
  std::error_code ec;
  if (header.kind == BackupKind::kData) {
    fs::path keystore = data_dir / kKeystoreFile;
    if (!fs::exists(keystore, ec)) return Ok();
    auto present = storage::SqliteReadKeystoreSummary(keystore.string());
    if (!present) return Error::FailedPrecondition("backup refused: " + present.error().message());
    if (present->id.empty() || present->id == header.keystore_id) return Ok();
    return Error::FailedPrecondition("backup refused: this data backup belongs to keystore " + header.keystore_id +
                                     ", but " + keystore.string() + " is keystore " + present->id +
                                     " (another database's); nothing was changed");
  }
  fs::path database = data_dir / kDatabaseFile;
  if (!fs::exists(database, ec)) return Ok();
  auto record = storage::SqliteReadKeystoreRecord(database.string());
  if (!record) return Error::FailedPrecondition("backup refused: cannot read " + database.string() + ": " +
                                                record.error().message());
  if (record->paired_keystore_id.empty() || record->paired_keystore_id == header.keystore_id) return Ok();
  return Error::FailedPrecondition("backup refused: this keystore backup is keystore " + header.keystore_id +
                                   ", but " + database.string() + " belongs to keystore " +
                                   record->paired_keystore_id + "; nothing was changed");
}

// How many erasures the next start will apply (RestoreResult::erasures_to_reapply): in `recorded` (the
// database's) but not in `shredded` (the keystore's) for a keystore restore, and the reverse for a data restore.
int64_t CountMissing(const std::vector<int64_t>& from, const std::vector<int64_t>& in) {
  std::vector<int64_t> missing;
  std::set_difference(from.begin(), from.end(), in.begin(), in.end(), std::back_inserter(missing));
  return static_cast<int64_t>(missing.size());
}

Result<void> CountErasuresToReapply(const std::string& plain, const fs::path& data_dir, BackupKind kind,
                                    RestoreResult& result) {
  std::error_code ec;
  fs::path keystore = data_dir / kKeystoreFile;
  fs::path database = data_dir / kDatabaseFile;
  if (kind == BackupKind::kKeystore) {
    ASSIGN_OR_RETURN(storage::KeystoreSummary restored, storage::SqliteReadKeystoreSummary(plain));
    if (fs::exists(keystore, ec)) {
      ASSIGN_OR_RETURN(storage::KeystoreSummary present, storage::SqliteReadKeystoreSummary(keystore.string()));
      result.replaced_keystore_epoch = present.epoch;
    }
    if (!fs::exists(database, ec)) return Ok();
    ASSIGN_OR_RETURN(storage::DatabaseKeystoreRecord db, storage::SqliteReadKeystoreRecord(database.string()));
    result.erasures_to_reapply = CountMissing(db.erased_customers, restored.erased_customers);
    return Ok();
  }
  if (!fs::exists(keystore, ec)) return Ok();
  ASSIGN_OR_RETURN(storage::DatabaseKeystoreRecord db, storage::SqliteReadKeystoreRecord(plain));
  ASSIGN_OR_RETURN(storage::KeystoreSummary present, storage::SqliteReadKeystoreSummary(keystore.string()));
  result.erasures_to_reapply = CountMissing(present.erased_customers, db.erased_customers);
  return Ok();
}

}  // namespace

Result<BackupResult> CreateBackup(const BackupOptions& options) {
  if (options.data_dir.empty()) return Error::InvalidField("data", "is required");
  if (options.keep < 0) return Error::InvalidField("keep", "must be 0 (keep all) or more");
  if (options.max_age < std::chrono::milliseconds::zero() || options.max_age > kKeystoreRetentionCap) {
    return Error::InvalidField("max-age", "must be at most 35 days (the keystore backup retention cap)");
  }
  if (options.max_age != std::chrono::milliseconds::zero() && options.kind != BackupKind::kKeystore) {
    return Error::InvalidField("max-age", "applies to keystore backups only");
  }
  ASSIGN_OR_RETURN(PublicKey key, ReadPublicKey(options.public_key_file));
  std::string source = (fs::path(options.data_dir) / SourceFile(options.kind)).string();
  std::error_code ec;
  if (!fs::is_regular_file(source, ec)) return Error::NotFound("no database to back up at " + source);
  ASSIGN_OR_RETURN(PrivateTempDir temp, PrivateTempDir::Create(options.data_dir, ".backup-"));
  if (fs::equivalent(options.data_dir, options.to_dir, ec)) {
    return Error::InvalidField("to", "must not be the data directory itself");
  }
  RETURN_IF_ERROR(EnsurePrivateDir(options.to_dir, "to"));

  std::string copy = (temp.path() / "copy.db").string();
  ASSIGN_OR_RETURN(int schema_version, storage::SqliteOnlineCopy(source, copy));

  std::string name = Prefix(options.kind) + CompactTime(options.now);
  fs::path final_path = fs::path(options.to_dir) / (name + kSuffix);
  for (int i = 1; fs::exists(final_path, ec); ++i) {
    final_path = fs::path(options.to_dir) / (name + "-" + std::to_string(i) + kSuffix);
  }
  fs::path partial = fs::path(options.to_dir) / ("." + final_path.filename().string() + ".partial");
  BackupHeader header;
  header.kind = options.kind;
  header.schema_version = static_cast<uint32_t>(schema_version);
  header.created = options.now;
  {
    // A data backup names the data dir's keystore (read, never written); a keystore backup names itself, from
    // the consistent copy.
    fs::path keystore = options.kind == BackupKind::kKeystore ? fs::path(copy)
                                                              : fs::path(options.data_dir) / kKeystoreFile;
    if (options.kind == BackupKind::kKeystore || fs::exists(keystore, ec)) {
      ASSIGN_OR_RETURN(storage::KeystoreSummary summary, storage::SqliteReadKeystoreSummary(keystore.string()));
      header.keystore_id = summary.id;
      header.keystore_epoch = summary.epoch;
    }
  }
  auto written = EncryptFile(copy, partial.string(), header, key);
  if (!written) {
    fs::remove(partial, ec);
    return std::move(written.error());
  }
  fs::rename(partial, final_path, ec);
  if (ec) {
    std::string reason = ec.message();  // before remove() overwrites ec (the message said "Success")
    fs::remove(partial, ec);
    return Error::Unavailable("cannot rename the backup into place: " + reason);
  }
  RETURN_IF_ERROR(SyncDir(options.to_dir));

  BackupResult result{.path = final_path.string(), .header = *written, .removed = {}};
  if (options.keep > 0) {
    ASSIGN_OR_RETURN(result.removed, RotateBackups(options.to_dir, options.kind, options.keep));
  }
  if (options.kind == BackupKind::kKeystore) {
    auto max_age = options.max_age == std::chrono::milliseconds::zero() ? kKeystoreRetentionCap : options.max_age;
    ASSIGN_OR_RETURN(result.aged_out, AgeOutBackups(options.to_dir, options.kind, options.now, max_age));
  }
  return result;
}

Result<std::vector<std::string>> ListBackups(const std::string& dir, BackupKind kind) {
  std::vector<std::string> out;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) return Error::InvalidField("to", "cannot list " + dir + ": " + ec.message());
  std::string prefix = Prefix(kind);
  for (const auto& entry : it) {
    std::string file = entry.path().filename().string();
    if (entry.is_regular_file(ec) && file.starts_with(prefix) && file.ends_with(kSuffix)) {
      out.push_back(entry.path().string());
    }
  }
  // Backups made in the same millisecond are named <time>.pnbk, <time>-1.pnbk, <time>-2.pnbk…; plain string
  // order would put "-1" before "." (so rotation could delete the newer one): compare the time, then the suffix.
  auto key = [&](const std::string& path) {
    std::string stem = fs::path(path).filename().string();
    stem = stem.substr(prefix.size(), stem.size() - prefix.size() - std::strlen(kSuffix));
    size_t dash = stem.find('-');
    long long sequence = dash == std::string::npos ? 0 : std::atoll(stem.c_str() + dash + 1);
    return std::tuple(stem.substr(0, dash), sequence, path);
  };
  std::sort(out.begin(), out.end(), [&](const std::string& a, const std::string& b) { return key(a) < key(b); });
  return out;
}

Result<std::vector<std::string>> RotateBackups(const std::string& dir, BackupKind kind, int keep) {
  if (keep < 1) return Error::InvalidField("keep", "must be at least 1");
  ASSIGN_OR_RETURN(std::vector<std::string> all, ListBackups(dir, kind));
  std::vector<std::string> removed;
  for (size_t i = 0; i + static_cast<size_t>(keep) < all.size(); ++i) {
    std::error_code ec;
    fs::remove(all[i], ec);
    if (ec) return Error::Unavailable("cannot delete old backup " + all[i] + ": " + ec.message());
    removed.push_back(all[i]);
  }
  return removed;
}

Result<std::vector<std::string>> AgeOutBackups(const std::string& dir, BackupKind kind, Timestamp now,
                                               std::chrono::milliseconds max_age) {
  if (max_age <= std::chrono::milliseconds::zero()) return Error::InvalidField("max-age", "must be positive");
  ASSIGN_OR_RETURN(std::vector<std::string> all, ListBackups(dir, kind));
  std::vector<std::string> removed;
  for (const std::string& path : all) {
    auto header = ReadHeader(path);
    if (!header || header->kind != kind) continue;
    if (ToUnixMillis(now) - ToUnixMillis(header->created) <= max_age.count()) continue;
    std::error_code ec;
    fs::remove(path, ec);
    if (ec) return Error::Unavailable("cannot delete expired backup " + path + ": " + ec.message());
    removed.push_back(path);
  }
  if (!removed.empty()) RETURN_IF_ERROR(SyncDir(dir));
  return removed;
}

Result<RestoreResult> RestoreBackup(const RestoreOptions& options) {
  if (options.from_file.empty()) return Error::InvalidField("from", "is required");
  std::error_code ec;
  if (!fs::is_regular_file(options.from_file, ec)) {
    return Error::InvalidField("from", options.from_file + " is not a file");
  }
  if (!options.ledger_public_key_hex.empty() &&
      (options.ledger_public_key_hex.size() != 64 ||
       options.ledger_public_key_hex.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)) {
    return Error::InvalidField("ledger-pubkey", "must be 64 hex digits (`panorama audit pubkey`)");
  }
  ASSIGN_OR_RETURN(SecretKey key, ReadSecretKey(options.secret_key_file));
  // Reject what the header alone shows before touching the target directory at all.
  ASSIGN_OR_RETURN(BackupHeader clear, ReadHeader(options.from_file));
  RETURN_IF_ERROR(CheckSameKeystore(clear, options.data_dir));
  bool created_dir = !fs::exists(options.data_dir, ec);
  RETURN_IF_ERROR(EnsurePrivateDir(options.data_dir, "data"));
  auto restored = [&]() -> Result<RestoreResult> {
    ASSIGN_OR_RETURN(PrivateTempDir temp, PrivateTempDir::Create(options.data_dir, ".restore-"));
    std::string plain = (temp.path() / "restored.db").string();
    ASSIGN_OR_RETURN(BackupHeader header, DecryptFile(options.from_file, plain, key));
    ASSIGN_OR_RETURN(int schema_version, storage::SqliteVerifyFile(plain));
    if (static_cast<uint32_t>(schema_version) != header.schema_version) {
      return Error::FailedPrecondition("backup refused: schema version " + std::to_string(schema_version) +
                                       " in the database differs from " + std::to_string(header.schema_version) +
                                       " in the header");
    }
    if (header.kind == BackupKind::kData && schema_version > storage::SqliteLatestSchemaVersion()) {
      return Error::FailedPrecondition("backup refused: schema version " + std::to_string(schema_version) +
                                       " is newer than this build's " +
                                       std::to_string(storage::SqliteLatestSchemaVersion()) + "; upgrade panorama");
    }
    RestoreResult result{.header = header, .restored_path = {}};
    if (header.kind == BackupKind::kData) {
      ASSIGN_OR_RETURN(audit::VerifyReport ledger, CheckLedger(plain, temp.path(), options, result));
      result.ledger_entries = ledger.entries;
      result.ledger_checkpoints = ledger.checkpoints;
    }
    ASSIGN_OR_RETURN(DataDirLock lock, DataDirLock::Acquire(options.data_dir));
    RETURN_IF_ERROR(CountErasuresToReapply(plain, options.data_dir, header.kind, result));
    fs::path target = fs::path(options.data_dir) / SourceFile(header.kind);
    // The old database's log must not be applied to the new file: fold it into the old file (no server runs,
    // we hold the lock) so that one rename swaps complete states.
    RETURN_IF_ERROR(storage::SqliteCheckpointForReplace(target.string()));
    ::chmod(plain.c_str(), 0600);
    fs::rename(plain, target, ec);
    if (ec) return Error::Unavailable("cannot move the restored database into place: " + ec.message());
    RETURN_IF_ERROR(SyncDir(options.data_dir));
    result.restored_path = target.string();
    return result;
  }();
  if (!restored && created_dir) fs::remove_all(options.data_dir, ec);
  return restored;
}

}  // namespace panorama::backup
