#include "tests/support/fault_vfs.h"

#include <sqlite3.h>

#include <atomic>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>

#include "tests/support/wrapping_vfs.h"

namespace panorama::testing {
namespace {

std::atomic<bool> g_armed{false};
std::atomic<int64_t> g_count{0};
std::atomic<int64_t> g_fail_at{0};
std::atomic<bool> g_fired{false};

// True when this operation is the one to fail.
bool Tick() {
  if (!g_armed.load()) return false;
  int64_t n = ++g_count;
  if (n == g_fail_at.load()) {
    g_fired = true;
    return true;
  }
  return false;
}

// Fails the chosen counted operation with the I/O error SQLite would see from a failing disk.
class FailingVfs final : public WrappingVfs {
 public:
  int Read(File& f, void* buf, int amount, sqlite3_int64 offset) override {
    if (Tick()) return SQLITE_IOERR_READ;
    return WrappingVfs::Read(f, buf, amount, offset);
  }
  int Write(File& f, const void* buf, int amount, sqlite3_int64 offset) override {
    if (Tick()) return SQLITE_IOERR_WRITE;
    return WrappingVfs::Write(f, buf, amount, offset);
  }
  int Truncate(File& f, sqlite3_int64 size) override {
    if (Tick()) return SQLITE_IOERR_TRUNCATE;
    return WrappingVfs::Truncate(f, size);
  }
  int Sync(File& f, int flags) override {
    if (Tick()) return SQLITE_IOERR_FSYNC;
    return WrappingVfs::Sync(f, flags);
  }
  int FileSize(File& f, sqlite3_int64* size) override {
    if (Tick()) return SQLITE_IOERR_FSTAT;
    return WrappingVfs::FileSize(f, size);
  }
};

}  // namespace

FaultVfs& FaultVfs::Register(const std::string& name) {
  static std::mutex mu;
  static std::map<std::string, std::unique_ptr<FaultVfs>> registered;
  std::lock_guard lock(mu);
  if (auto it = registered.find(name); it != registered.end()) return *it->second;
  if (!registered.empty()) std::abort();  // one name per process: the counters are global
  // Memory-mapped I/O is offered, but mmap is off by default, so every page read goes through Read. Never
  // freed: SQLite keeps it.
  (new FailingVfs)->Register(name, /*memory_mapping=*/true);
  return *registered.emplace(name, std::unique_ptr<FaultVfs>(new FaultVfs(name))).first->second;
}

void FaultVfs::Arm(int64_t fail_at) {
  g_count = 0;
  g_fired = false;
  g_fail_at = fail_at;
  g_armed = true;
}

int64_t FaultVfs::Disarm() {
  g_armed = false;
  return g_count.load();
}

bool FaultVfs::fired() const { return g_fired.load(); }

}  // namespace panorama::testing
