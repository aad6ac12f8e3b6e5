#pragma once
// An advisory lock on a data directory (flock on DIR/panorama.lock): `panorama serve` holds it exclusively while
// it runs, and `panorama restore` takes it before replacing the database, so a restore never swaps the file
// under a running server.

#include <string>

#include "core/result.h"

namespace panorama::backup {

// Holds the lock until destroyed (closing the file releases it; the kernel also releases it when the process
// dies, so a crashed server never leaves a stale lock). Move-only.
class DataDirLock {
 public:
  // kFailedPrecondition "data directory DIR is in use by a running server" when another holder has it;
  // kUnavailable when the lock file cannot be created.
  static Result<DataDirLock> Acquire(const std::string& data_dir);

  DataDirLock(DataDirLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  DataDirLock& operator=(DataDirLock&& other) noexcept;
  DataDirLock(const DataDirLock&) = delete;
  DataDirLock& operator=(const DataDirLock&) = delete;
  ~DataDirLock();

 private:
  explicit DataDirLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace panorama::backup
