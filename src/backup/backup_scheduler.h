#pragma once
// Scheduled backups inside `panorama serve`: data backups (--backup-dir, --backup-every, --backup-keep,
// --backup-public-key) and, with a scheduler of their own, keystore backups (--keystore-backup-dir, -every,
// -keep, -public-key, -max-age). The same online, encrypted backup as `panorama backup [--keystore]`, on its own
// thread (requests never wait for it), with rotation (and, for keystore backups, age-out after at most 35 days),
// and the outcome of the last runs for the readiness output.

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "backup/backup.h"
#include "core/periodic_task.h"
#include "core/result.h"
#include "core/time.h"

namespace panorama::backup {

struct ScheduleOptions {
  std::string data_dir;
  std::string to_dir;           // --backup-dir
  std::string public_key_file;  // --backup-public-key
  std::chrono::milliseconds every = std::chrono::hours(24);  // --backup-every
  int keep = 7;                 // --backup-keep: the newest N stay, older ones are deleted after each run
  BackupKind kind = BackupKind::kData;
  // Keystore schedules: --keystore-backup-max-age (zero: kKeystoreRetentionCap); keep × every may not exceed it.
  std::chrono::milliseconds max_age{0};
};

// "30m", "24h", "7d", "90s": a whole number and one unit (s, m, h, d), at least one minute, at most `max`
// (30 days unless given). kInvalidArgument naming `field` otherwise.
Result<std::chrono::milliseconds> ParseBackupInterval(const std::string& text, const std::string& field,
                                                      std::chrono::milliseconds max = std::chrono::hours(30 * 24));

// The serve flag prefix of a schedule's options: "backup-" or "keystore-backup-".
std::string FlagPrefix(BackupKind kind);

// Checks every option (the public key file is read), naming the serve flag: backup-dir, backup-every,
// backup-keep, backup-public-key (keystore-backup-* for a keystore schedule, and keystore-backup-max-age; a
// keystore schedule whose keep × every would keep files longer than the max age is refused naming
// keystore-backup-keep).
Result<void> ValidateSchedule(const ScheduleOptions& options);

// Both schedules on one server: the keystore backups go to another directory (not the data backups' nor the
// data dir) and to another key ("separate key": whoever holds the data backups' secret key must not also open
// the keystore's). Names keystore-backup-dir / keystore-backup-public-key.
Result<void> ValidateSeparateSchedules(const ScheduleOptions& data, const ScheduleOptions& keystore);

struct BackupStatus {
  std::optional<Timestamp> last_success;
  std::optional<Timestamp> last_failure;
  std::string last_file;    // file name (no directory) of the newest backup this server wrote
  std::string last_error;   // reason of the last failure (no secrets: paths and error text only)
  int64_t successes = 0;
  int64_t failures = 0;
};

class BackupScheduler {
 public:
  // Called after each run on the scheduler's thread (log and ledger it); `result` is the error on failure.
  using RunObserver = std::function<void(const Result<BackupResult>& result)>;

  // Validate first: the constructor does not. The first run happens one interval after Start().
  BackupScheduler(ScheduleOptions options, const Clock& clock, RunObserver observer);
  ~BackupScheduler();
  BackupScheduler(const BackupScheduler&) = delete;
  BackupScheduler& operator=(const BackupScheduler&) = delete;

  void Start();
  // Waits for a run in progress, then stops the thread. Idempotent.
  void Stop();
  // One backup now on the caller's thread (serialised with the scheduled ones); updates the status.
  Result<BackupResult> RunNow();
  BackupStatus Status() const;
  BackupKind kind() const { return options_.kind; }

 private:
  ScheduleOptions options_;
  const Clock& clock_;
  RunObserver observer_;
  std::mutex run_mu_;  // one backup at a time
  mutable std::mutex mu_;
  BackupStatus status_;  // guarded by mu_
  PeriodicTask task_;    // last member: its thread stops before the members it uses go
};

}  // namespace panorama::backup
