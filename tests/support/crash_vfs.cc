#include "tests/support/crash_vfs.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>

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
sqlite3_vfs* g_base = nullptr;

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

struct CrashFile {
  sqlite3_file base;  // pMethods = our methods
  sqlite3_file* real;
  const char* path;   // SQLite keeps the name alive while the file is open; null for temp files
};

CrashFile* Ours(sqlite3_file* f) { return reinterpret_cast<CrashFile*>(f); }
sqlite3_file* Real(sqlite3_file* f) { return Ours(f)->real; }

// Saves the synced contents of sectors [first, last] that are not saved yet. Caller holds g_mu.
void SaveSectors(sqlite3_file* f, int64_t first, int64_t last) {
  if (Ours(f)->path == nullptr) return;
  auto [it, inserted] = g_unsynced.try_emplace(Ours(f)->path);
  Unsynced& u = it->second;
  if (inserted) {
    sqlite3_int64 size = 0;
    Real(f)->pMethods->xFileSize(Real(f), &size);
    u.synced_size = size;
  }
  for (int64_t s = first; s <= last; ++s) {
    if (u.sectors.count(s)) continue;
    std::string old(kSector, '\0');
    // A short read zero-fills the rest, which is what a sector past the synced end held.
    Real(f)->pMethods->xRead(Real(f), old.data(), static_cast<int>(kSector), s * kSector);
    u.sectors.emplace(s, std::move(old));
  }
}

int Close(sqlite3_file* f) { return Real(f)->pMethods->xClose(Real(f)); }
int Read(sqlite3_file* f, void* buf, int amount, sqlite3_int64 offset) {
  return Real(f)->pMethods->xRead(Real(f), buf, amount, offset);
}
int Write(sqlite3_file* f, const void* buf, int amount, sqlite3_int64 offset) {
  if (PowerOff()) return SQLITE_IOERR_WRITE;
  std::lock_guard lock(g_mu);
  if (amount > 0) SaveSectors(f, offset / kSector, (offset + amount - 1) / kSector);
  return Real(f)->pMethods->xWrite(Real(f), buf, amount, offset);
}
int Truncate(sqlite3_file* f, sqlite3_int64 size) {
  if (PowerOff()) return SQLITE_IOERR_TRUNCATE;
  std::lock_guard lock(g_mu);
  sqlite3_int64 current = 0;
  Real(f)->pMethods->xFileSize(Real(f), &current);
  if (current > size) SaveSectors(f, size / kSector, (current - 1) / kSector);
  return Real(f)->pMethods->xTruncate(Real(f), size);
}
int Sync(sqlite3_file* f, int flags) {
  if (PowerOff()) return SQLITE_IOERR_FSYNC;
  int rc = Real(f)->pMethods->xSync(Real(f), flags);
  if (rc == SQLITE_OK && Ours(f)->path != nullptr) {
    std::lock_guard lock(g_mu);
    g_unsynced.erase(Ours(f)->path);  // everything written so far is durable
  }
  return rc;
}
int FileSize(sqlite3_file* f, sqlite3_int64* size) { return Real(f)->pMethods->xFileSize(Real(f), size); }
int Lock(sqlite3_file* f, int level) { return Real(f)->pMethods->xLock(Real(f), level); }
int Unlock(sqlite3_file* f, int level) { return Real(f)->pMethods->xUnlock(Real(f), level); }
int CheckReservedLock(sqlite3_file* f, int* out) { return Real(f)->pMethods->xCheckReservedLock(Real(f), out); }
int FileControl(sqlite3_file* f, int op, void* arg) { return Real(f)->pMethods->xFileControl(Real(f), op, arg); }
int SectorSize(sqlite3_file* f) { return Real(f)->pMethods->xSectorSize(Real(f)); }
int DeviceCharacteristics(sqlite3_file* f) { return Real(f)->pMethods->xDeviceCharacteristics(Real(f)); }
int ShmMap(sqlite3_file* f, int page, int page_size, int extend, void volatile** out) {
  return Real(f)->pMethods->xShmMap(Real(f), page, page_size, extend, out);
}
int ShmLock(sqlite3_file* f, int offset, int n, int flags) {
  return Real(f)->pMethods->xShmLock(Real(f), offset, n, flags);
}
void ShmBarrier(sqlite3_file* f) { Real(f)->pMethods->xShmBarrier(Real(f)); }
int ShmUnmap(sqlite3_file* f, int delete_flag) { return Real(f)->pMethods->xShmUnmap(Real(f), delete_flag); }

// Version 2: no xFetch/xUnfetch, so SQLite never memory-maps the database and every page write goes through
// Write, where it is tracked.
const sqlite3_io_methods kMethods = {
    2,           Close,      Read,                  Write,  Truncate, Sync,       FileSize, Lock, Unlock,
    CheckReservedLock, FileControl, SectorSize, DeviceCharacteristics, ShmMap, ShmLock, ShmBarrier, ShmUnmap,
    nullptr,     nullptr};

int Open(sqlite3_vfs*, const char* name, sqlite3_file* file, int flags, int* out_flags) {
  auto* ours = Ours(file);
  ours->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(file) + sizeof(CrashFile));
  ours->base.pMethods = nullptr;
  ours->path = name;
  int rc = g_base->xOpen(g_base, name, ours->real, flags, out_flags);
  // SQLite calls xClose only when pMethods is set, so it stays null when the base open failed.
  if (rc == SQLITE_OK && ours->real->pMethods != nullptr) ours->base.pMethods = &kMethods;
  return rc;
}

int Delete(sqlite3_vfs*, const char* name, int sync_dir) {
  if (g_cut.load()) return SQLITE_IOERR_DELETE;
  int rc = g_base->xDelete(g_base, name, sync_dir);
  if (rc == SQLITE_OK) {
    std::lock_guard lock(g_mu);
    g_unsynced.erase(name);
  }
  return rc;
}
int Access(sqlite3_vfs*, const char* name, int flags, int* out) { return g_base->xAccess(g_base, name, flags, out); }
int FullPathname(sqlite3_vfs*, const char* name, int n, char* out) {
  return g_base->xFullPathname(g_base, name, n, out);
}
void* DlOpen(sqlite3_vfs*, const char* name) { return g_base->xDlOpen(g_base, name); }
void DlError(sqlite3_vfs*, int n, char* out) { g_base->xDlError(g_base, n, out); }
void (*DlSym(sqlite3_vfs*, void* handle, const char* symbol))(void) { return g_base->xDlSym(g_base, handle, symbol); }
void DlClose(sqlite3_vfs*, void* handle) { g_base->xDlClose(g_base, handle); }
int Randomness(sqlite3_vfs*, int n, char* out) { return g_base->xRandomness(g_base, n, out); }
int Sleep(sqlite3_vfs*, int micros) { return g_base->xSleep(g_base, micros); }
int CurrentTime(sqlite3_vfs*, double* out) { return g_base->xCurrentTime(g_base, out); }
int GetLastError(sqlite3_vfs*, int n, char* out) { return g_base->xGetLastError(g_base, n, out); }
int CurrentTimeInt64(sqlite3_vfs*, sqlite3_int64* out) { return g_base->xCurrentTimeInt64(g_base, out); }

}  // namespace

CrashVfs& CrashVfs::Register(const std::string& name) {
  static std::mutex mu;
  static std::unique_ptr<CrashVfs> registered;
  static sqlite3_vfs vfs;
  std::lock_guard lock(mu);
  if (registered) {
    if (registered->name_ != name) std::abort();  // one per process: the state is global
    return *registered;
  }
  g_base = sqlite3_vfs_find(nullptr);
  if (g_base == nullptr) std::abort();
  std::memset(&vfs, 0, sizeof vfs);
  vfs.iVersion = 2;
  vfs.szOsFile = static_cast<int>(sizeof(CrashFile)) + g_base->szOsFile;
  vfs.mxPathname = g_base->mxPathname;
  registered.reset(new CrashVfs(name));
  vfs.zName = registered->name_.c_str();
  vfs.xOpen = Open;
  vfs.xDelete = Delete;
  vfs.xAccess = Access;
  vfs.xFullPathname = FullPathname;
  vfs.xDlOpen = DlOpen;
  vfs.xDlError = DlError;
  vfs.xDlSym = DlSym;
  vfs.xDlClose = DlClose;
  vfs.xRandomness = Randomness;
  vfs.xSleep = Sleep;
  vfs.xCurrentTime = CurrentTime;
  vfs.xGetLastError = GetLastError;
  vfs.xCurrentTimeInt64 = CurrentTimeInt64;
  if (sqlite3_vfs_register(&vfs, /*makeDflt=*/0) != SQLITE_OK) std::abort();
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
