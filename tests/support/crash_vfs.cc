#include "tests/support/crash_vfs.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>

#include "tests/support/wrapping_vfs.h"

namespace panorama::testing {
namespace {

constexpr int64_t kSector = 512;

// What a file held at its last sync, for the sectors changed since.
struct Unsynced {
  int64_t synced_size = 0;
  std::map<int64_t, std::string> sectors;  // sector index → contents at the last sync (zeros past its end)
};

std::mutex g_mu;
// guarded by g_mu
std::map<std::string, Unsynced> g_unsynced;  // by full path

std::atomic<bool> g_armed{false};
std::atomic<bool> g_cut{false};
std::atomic<int64_t> g_count{0};
std::atomic<int64_t> g_cut_at{0};

// True when the power is (now) off for this writing operation.
bool PowerOff() {
  if (g_cut.load()) return true;
  if (!g_armed.load()) return false;
  int64_t n = ++g_count;
  if (n == g_cut_at.load()) {
    g_cut = true;
    return true;
  }
  return false;
}

// Tracks, per file, what each sector held at the last sync, and fails every writing operation once the power
// is cut.
class PowerCutVfs final : public WrappingVfs {
 public:
  int Write(File& f, const void* buf, int amount, sqlite3_int64 offset) override {
    if (PowerOff()) return SQLITE_IOERR_WRITE;
    std::lock_guard lock(g_mu);
    if (amount > 0) SaveSectors(f, offset / kSector, (offset + amount - 1) / kSector);
    return WrappingVfs::Write(f, buf, amount, offset);
  }
  int Truncate(File& f, sqlite3_int64 size) override {
    if (PowerOff()) return SQLITE_IOERR_TRUNCATE;
    std::lock_guard lock(g_mu);
    sqlite3_int64 current = 0;
    WrappingVfs::FileSize(f, &current);
    if (current > size) SaveSectors(f, size / kSector, (current - 1) / kSector);
    return WrappingVfs::Truncate(f, size);
  }
  int Sync(File& f, int flags) override {
    if (PowerOff()) return SQLITE_IOERR_FSYNC;
    int rc = WrappingVfs::Sync(f, flags);
    if (rc == SQLITE_OK && f.path != nullptr) {
      std::lock_guard lock(g_mu);
      g_unsynced.erase(f.path);  // everything written so far is durable
    }
    return rc;
  }
  int Delete(const char* name, int sync_dir) override {
    if (g_cut.load()) return SQLITE_IOERR_DELETE;
    int rc = WrappingVfs::Delete(name, sync_dir);
    if (rc == SQLITE_OK) {
      std::lock_guard lock(g_mu);
      g_unsynced.erase(name);
    }
    return rc;
  }

 private:
  // Saves the synced contents of sectors [first, last] that are not saved yet. Caller holds g_mu.
  void SaveSectors(File& f, int64_t first, int64_t last) {
    if (f.path == nullptr) return;
    auto [it, inserted] = g_unsynced.try_emplace(f.path);
    Unsynced& u = it->second;
    if (inserted) {
      sqlite3_int64 size = 0;
      WrappingVfs::FileSize(f, &size);
      u.synced_size = size;
    }
    for (int64_t s = first; s <= last; ++s) {
      if (u.sectors.count(s)) continue;
      std::string old(kSector, '\0');
      // A short read zero-fills the rest, which is what a sector past the synced end held.
      WrappingVfs::Read(f, old.data(), static_cast<int>(kSector), s * kSector);
      u.sectors.emplace(s, std::move(old));
    }
  }
};

}  // namespace

CrashVfs& CrashVfs::Register(const std::string& name) {
  static std::mutex mu;
  static std::unique_ptr<CrashVfs> registered;
  std::lock_guard lock(mu);
  if (registered) {
    if (registered->name_ != name) std::abort();  // one per process: the state is global
    return *registered;
  }
  registered.reset(new CrashVfs(name));
  // No memory mapping, so every page write goes through Write, where it is tracked. Never freed: SQLite keeps it.
  (new PowerCutVfs)->Register(name, /*memory_mapping=*/false);
  return *registered;
}

void CrashVfs::Arm(int64_t cut_at) {
  g_count = 0;
  g_cut_at = cut_at;
  g_armed = true;
}

int64_t CrashVfs::Disarm() {
  g_armed = false;
  return g_count.load();
}

bool CrashVfs::cut() const { return g_cut.load(); }

PowerLossReport CrashVfs::ApplyPowerLoss(std::mt19937_64& rng) {
  std::lock_guard lock(g_mu);
  PowerLossReport report;
  if (g_cut.load()) {
    std::bernoulli_distribution coin(0.5);
    for (auto& [path, unsynced] : g_unsynced) {
      int fd = ::open(path.c_str(), O_RDWR);
      if (fd < 0) continue;  // deleted before the cut
      ++report.files;
      for (const auto& [sector, old] : unsynced.sectors) {
        if (coin(rng)) {
          ++report.sectors_kept;
          continue;
        }
        ++report.sectors_reverted;
        if (::pwrite(fd, old.data(), old.size(), sector * kSector) != static_cast<ssize_t>(old.size())) std::abort();
      }
      struct stat st {};
      if (::fstat(fd, &st) != 0) std::abort();
      // The unsynced tail: either its length reached the disk (with whatever sectors did) or not at all.
      if (st.st_size != unsynced.synced_size && (st.st_size < unsynced.synced_size || coin(rng))) {
        if (st.st_size > unsynced.synced_size) ++report.tails_dropped;
        if (::ftruncate(fd, unsynced.synced_size) != 0) std::abort();
      }
      ::close(fd);
    }
  }
  g_unsynced.clear();
  g_cut = false;
  g_armed = false;
  return report;
}

}  // namespace panorama::testing
