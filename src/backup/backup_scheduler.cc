#include "backup/backup_scheduler.h"

#include <charconv>
#include <filesystem>

namespace panorama::backup {

Result<std::chrono::milliseconds> ParseBackupInterval(const std::string& text, const std::string& field) {
  auto refuse = [&] {
    return Error::InvalidField(field, "must be a whole number and a unit s, m, h or d (e.g. 24h), from 1m to 30d");
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
  if (seconds < 60 || seconds > 30 * 86400) return refuse();
  return std::chrono::milliseconds(seconds * 1000);
}

Result<void> ValidateSchedule(const ScheduleOptions& options) {
  if (options.to_dir.empty()) return Error::InvalidField("backup-dir", "is required");
  std::error_code ec;
  if (std::filesystem::exists(options.to_dir, ec) && !std::filesystem::is_directory(options.to_dir, ec)) {
    return Error::InvalidField("backup-dir", options.to_dir + " is not a directory");
  }
  if (!options.data_dir.empty() && std::filesystem::exists(options.to_dir, ec) &&
      std::filesystem::equivalent(options.data_dir, options.to_dir, ec)) {
    return Error::InvalidField("backup-dir", "must not be the data directory itself");
  }
  if (options.every <= std::chrono::milliseconds::zero()) return Error::InvalidField("backup-every", "must be positive");
  if (options.keep < 1 || options.keep > 10'000) return Error::InvalidField("backup-keep", "must be 1 to 10000");
  if (options.public_key_file.empty()) return Error::InvalidField("backup-public-key", "is required");
  if (auto key = ReadPublicKey(options.public_key_file); !key) {
    return Error::InvalidField("backup-public-key", key.error().message());
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
                              .kind = BackupKind::kData,
                              .keep = options_.keep,
                              .now = now});
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
