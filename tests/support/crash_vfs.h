#pragma once
// A SQLite VFS for tests that simulates power loss (SECURITY.md §3 R3), the way SQLite's own crash tests do
// (test6.c): it wraps the default (unix) VFS, passes every operation through, and remembers, per file, what each
// 512-byte sector held at the file's last xSync. When armed, the Nth writing operation (xWrite, xTruncate, xSync,
// counted from Arm) "cuts the power": that operation and every later write, truncate, sync and delete fail with
// an I/O error, so nothing more reaches the files. After the connections are closed, ApplyPowerLoss() decides
// for every sector changed since its file's last sync whether it reached the platter (kept) or not (reverted to
// its synced contents), independently per sector: multi-sector writes tear and unsynced writes reorder. A file
// that grew since its last sync randomly keeps or loses its unsynced tail.
//
// Not simulated: directory entries (a created or deleted file is assumed durable) and the -shm file, which
// SQLite maps into memory and rebuilds from the WAL when the first connection opens. One CrashVfs per process.

#include <cstdint>
#include <random>
#include <string>

namespace panorama::testing {

struct PowerLossReport {
  int64_t files = 0;             // files with unsynced changes at the cut
  int64_t sectors_reverted = 0;  // unsynced sectors that "did not reach the disk"
  int64_t sectors_kept = 0;      // unsynced sectors that did
  int64_t tails_dropped = 0;     // grown files cut back to their synced size
};

class CrashVfs {
 public:
  // Registers the VFS under `name` (not as the default). Aborts if SQLite refuses.
  static CrashVfs& Register(const std::string& name);

  const std::string& name() const { return name_; }
  // Starts counting writing operations from zero; the `cut_at`-th (1-based) cuts the power. 0 counts only.
  void Arm(int64_t cut_at);
  // Stops counting; returns how many writing operations were counted while armed. The power stays cut until
  // ApplyPowerLoss().
  int64_t Disarm();
  // Whether the power has been cut since Arm().
  bool cut() const;
  // Call with every connection on the files closed. Reverts or keeps each unsynced sector at random (above),
  // forgets all unsynced state and restores the power. Without a cut it only forgets (a clean shutdown).
  PowerLossReport ApplyPowerLoss(std::mt19937_64& rng);

 private:
  explicit CrashVfs(std::string name) : name_(std::move(name)) {}
  std::string name_;
};

}  // namespace panorama::testing
