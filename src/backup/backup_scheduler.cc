#include "backup/backup_scheduler.h"

#include <charconv>
#include <filesystem>

namespace panorama::backup {

Result<std::chrono::milliseconds> ParseBackupInterval(const std::string& text, const std::string& field,
                                                      std::chrono::milliseconds max) {
  int64_t max_seconds = max.count() / 1000;
  auto refuse = [&] {
    return Error::InvalidField(field, "must be a whole number and a unit s, m, h or d (e.g. 24h), from 1m to " +
                                          std::to_string(max_seconds / 86400) + "d");
  };
  if (text.size() < 2) return refuse();
  int64_t n = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size() - 1, n);
  if (ec != std::errc() || ptr != text.data() + text.size() - 1 || n <= 0 || n > 1'000'000'000) return refuse();
  int64_t unit_seconds = 0;
  switch (text.back()) {
    case 's': unit_seconds = 1; break;
    case 'm': unit_seconds = 60; break;
    case 'h': unit_seconds = 3600; break;
    case 'd': unit_seconds = 86400; break;
    default: return refuse();
  }
  int64_t seconds = n * unit_seconds;
  if (seconds < 60 || seconds > max_seconds) return refuse();
  return std::chrono::milliseconds(seconds * 1000);
}

std::string FlagPrefix(BackupKind kind) { return kind == BackupKind::kData ? "backup-" : "keystore-backup-"; }

namespace {

// Equal directories, also when one of them does not exist yet (it is created at the first run).
bool SameDir(const std::string& a, const std::string& b) {
  std::error_code ec;
  if (std::filesystem::exists(a, ec) && std::filesystem::exists(b, ec)) return std::filesystem::equivalent(a, b, ec);
  auto normal = [&](const std::string& p) {
    auto c = std::filesystem::weakly_canonical(std::filesystem::absolute(p, ec), ec);
    return c.has_filename() ? c : c.parent_path();  // "dir/" is "dir"
  };
  return normal(a) == normal(b);
}

}  // namespace

Result<void> ValidateSchedule(const ScheduleOptions& options) {
  const std::string flag = FlagPrefix(options.kind);
  if (options.to_dir.empty()) return Error::InvalidField(flag + "dir", "is required");
  std::error_code ec;
  if (std::filesystem::exists(options.to_dir, ec) && !std::filesystem::is_directory(options.to_dir, ec)) {
    return Error::InvalidField(flag + "dir", options.to_dir + " is not a directory");
  }
  if (!options.data_dir.empty() && SameDir(options.data_dir, options.to_dir)) {
    return Error::InvalidField(flag + "dir", "must not be the data directory itself");
  }
  if (options.every <= std::chrono::milliseconds::zero()) return Error::InvalidField(flag + "every", "must be positive");
  if (options.keep < 1 || options.keep > 10'000) return Error::InvalidField(flag + "keep", "must be 1 to 10000");
  if (options.public_key_file.empty()) return Error::InvalidField(flag + "public-key", "is required");
  if (auto key = ReadPublicKey(options.public_key_file); !key) {
    return Error::InvalidField(flag + "public-key", key.error().message());
  }
  if (options.kind == BackupKind::kData) {
    if (options.max_age != std::chrono::milliseconds::zero()) {
      return Error::InvalidField("backup-max-age", "applies to keystore backups only");
    }
    return Ok();
  }
  if (options.max_age < std::chrono::milliseconds::zero() || options.max_age > kKeystoreRetentionCap) {
    return Error::InvalidField("keystore-backup-max-age", "must be at most 35d (the keystore backup retention cap)");
  }
  auto max_age = options.max_age == std::chrono::milliseconds::zero() ? kKeystoreRetentionCap : options.max_age;
  // The oldest of `keep` files is keep × every old just before the next run replaces it.
  if (options.every.count() > max_age.count() / options.keep) {
    return Error::InvalidField("keystore-backup-keep",
                               "× keystore-backup-every would keep keystore backups longer than " +
                                   std::to_string(max_age.count() / 3'600'000) +
                                   " h (keystore-backup-max-age, at most 35 days): lower one of them");
  }
  return Ok();
}

Result<void> ValidateSeparateSchedules(const ScheduleOptions& data, const ScheduleOptions& keystore) {
  if (SameDir(data.to_dir, keystore.to_dir)) {
    return Error::InvalidField("keystore-backup-dir", "must differ from --backup-dir (keystore and data backups are "
                                                      "kept apart)");
  }
  ASSIGN_OR_RETURN(PublicKey data_key, ReadPublicKey(data.public_key_file, "backup-public-key"));
  ASSIGN_OR_RETURN(PublicKey keystore_key, ReadPublicKey(keystore.public_key_file, "keystore-backup-public-key"));
  if (data_key.bytes == keystore_key.bytes) {
    return Error::InvalidField("keystore-backup-public-key",
                               "must be a separate key from --backup-public-key (one secret key must not open both "
                               "the data and the keys that decrypt it)");
  }
  return Ok();
}

BackupScheduler::BackupScheduler(ScheduleOptions options, const Clock& clock, RunObserver observer)
    : options_(std::move(options)),
      clock_(clock),
      observer_(std::move(observer)),
      // Steady time, not the wall clock: a clock step must neither skip nor repeat backups. The observer logs
      // and ledgers each outcome; the status keeps it.
      task_(options_.every, PeriodicTask::FirstRun::kAfterOneInterval, [this] { (void)RunNow(); }) {}

BackupScheduler::~BackupScheduler() { Stop(); }

void BackupScheduler::Start() { task_.Start(); }

void BackupScheduler::Stop() { task_.Stop(); }

Result<BackupResult> BackupScheduler::RunNow() {
  std::lock_guard run(run_mu_);
  Timestamp now = clock_.Now();
  auto result = CreateBackup({.data_dir = options_.data_dir,
                              .to_dir = options_.to_dir,
                              .public_key_file = options_.public_key_file,
                              .kind = options_.kind,
                              .keep = options_.keep,
                              .now = now,
                              .max_age = options_.max_age});
  {
    std::lock_guard lock(mu_);
    if (result) {
      status_.last_success = now;
      status_.last_file = std::filesystem::path(result->path).filename().string();
      ++status_.successes;
    } else {
      status_.last_failure = now;
      status_.last_error = result.error().message();
      ++status_.failures;
    }
  }
  if (observer_) observer_(result);
  return result;
}

BackupStatus BackupScheduler::Status() const {
  std::lock_guard lock(mu_);
  return status_;
}

}  // namespace panorama::backup
