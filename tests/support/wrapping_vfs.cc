#include "tests/support/wrapping_vfs.h"

#include <cstdlib>

namespace panorama::testing {
namespace {

using File = WrappingVfs::File;

File& Ours(sqlite3_file* f) { return *reinterpret_cast<File*>(f); }
sqlite3_file* Real(sqlite3_file* f) { return Ours(f).real; }
WrappingVfs& Owner(sqlite3_vfs* vfs) { return *static_cast<WrappingVfs*>(vfs->pAppData); }
sqlite3_vfs* Base(sqlite3_vfs* vfs) { return Owner(vfs).base(); }

// File methods: the interceptable ones go through the owner's virtuals, the rest straight to the real file.
int XClose(sqlite3_file* f) { return Real(f)->pMethods->xClose(Real(f)); }
int XRead(sqlite3_file* f, void* buf, int amount, sqlite3_int64 offset) {
  return Ours(f).vfs->Read(Ours(f), buf, amount, offset);
}
int XWrite(sqlite3_file* f, const void* buf, int amount, sqlite3_int64 offset) {
  return Ours(f).vfs->Write(Ours(f), buf, amount, offset);
}
int XTruncate(sqlite3_file* f, sqlite3_int64 size) { return Ours(f).vfs->Truncate(Ours(f), size); }
int XSync(sqlite3_file* f, int flags) { return Ours(f).vfs->Sync(Ours(f), flags); }
int XFileSize(sqlite3_file* f, sqlite3_int64* size) { return Ours(f).vfs->FileSize(Ours(f), size); }
int XLock(sqlite3_file* f, int level) { return Real(f)->pMethods->xLock(Real(f), level); }
int XUnlock(sqlite3_file* f, int level) { return Real(f)->pMethods->xUnlock(Real(f), level); }
int XCheckReservedLock(sqlite3_file* f, int* out) { return Real(f)->pMethods->xCheckReservedLock(Real(f), out); }
int XFileControl(sqlite3_file* f, int op, void* arg) { return Real(f)->pMethods->xFileControl(Real(f), op, arg); }
int XSectorSize(sqlite3_file* f) { return Real(f)->pMethods->xSectorSize(Real(f)); }
int XDeviceCharacteristics(sqlite3_file* f) { return Real(f)->pMethods->xDeviceCharacteristics(Real(f)); }
int XShmMap(sqlite3_file* f, int page, int page_size, int extend, void volatile** out) {
  return Real(f)->pMethods->xShmMap(Real(f), page, page_size, extend, out);
}
int XShmLock(sqlite3_file* f, int offset, int n, int flags) {
  return Real(f)->pMethods->xShmLock(Real(f), offset, n, flags);
}
void XShmBarrier(sqlite3_file* f) { Real(f)->pMethods->xShmBarrier(Real(f)); }
int XShmUnmap(sqlite3_file* f, int delete_flag) { return Real(f)->pMethods->xShmUnmap(Real(f), delete_flag); }
int XFetch(sqlite3_file* f, sqlite3_int64 offset, int amount, void** out) {
  return Real(f)->pMethods->xFetch(Real(f), offset, amount, out);
}
int XUnfetch(sqlite3_file* f, sqlite3_int64 offset, void* p) {
  return Real(f)->pMethods->xUnfetch(Real(f), offset, p);
}

// Version 2 has no xFetch/xUnfetch, so SQLite never memory-maps the file; version 3 forwards them.
const sqlite3_io_methods kMethodsV2 = {2, XClose, XRead, XWrite, XTruncate, XSync, XFileSize, XLock, XUnlock,
                                       XCheckReservedLock, XFileControl, XSectorSize, XDeviceCharacteristics,
                                       XShmMap, XShmLock, XShmBarrier, XShmUnmap, nullptr, nullptr};
const sqlite3_io_methods kMethodsV3 = {3, XClose, XRead, XWrite, XTruncate, XSync, XFileSize, XLock, XUnlock,
                                       XCheckReservedLock, XFileControl, XSectorSize, XDeviceCharacteristics,
                                       XShmMap, XShmLock, XShmBarrier, XShmUnmap, XFetch, XUnfetch};

int XOpen(sqlite3_vfs* vfs, const char* name, sqlite3_file* file, int flags, int* out_flags) {
  File& ours = Ours(file);
  ours.real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(file) + sizeof(File));
  ours.header.pMethods = nullptr;
  ours.path = name;
  ours.vfs = &Owner(vfs);
  int rc = Base(vfs)->xOpen(Base(vfs), name, ours.real, flags, out_flags);
  // SQLite calls xClose only when pMethods is set, so it stays null when the base open failed.
  if (rc == SQLITE_OK && ours.real->pMethods != nullptr) {
    ours.header.pMethods = ours.vfs->memory_mapping() ? &kMethodsV3 : &kMethodsV2;
  }
  return rc;
}

int XDelete(sqlite3_vfs* vfs, const char* name, int sync_dir) { return Owner(vfs).Delete(name, sync_dir); }
int XAccess(sqlite3_vfs* vfs, const char* name, int flags, int* out) {
  return Base(vfs)->xAccess(Base(vfs), name, flags, out);
}
int XFullPathname(sqlite3_vfs* vfs, const char* name, int n, char* out) {
  return Base(vfs)->xFullPathname(Base(vfs), name, n, out);
}
void* XDlOpen(sqlite3_vfs* vfs, const char* name) { return Base(vfs)->xDlOpen(Base(vfs), name); }
void XDlError(sqlite3_vfs* vfs, int n, char* out) { Base(vfs)->xDlError(Base(vfs), n, out); }
void (*XDlSym(sqlite3_vfs* vfs, void* handle, const char* symbol))(void) {
  return Base(vfs)->xDlSym(Base(vfs), handle, symbol);
}
void XDlClose(sqlite3_vfs* vfs, void* handle) { Base(vfs)->xDlClose(Base(vfs), handle); }
int XRandomness(sqlite3_vfs* vfs, int n, char* out) { return Base(vfs)->xRandomness(Base(vfs), n, out); }
int XSleep(sqlite3_vfs* vfs, int micros) { return Base(vfs)->xSleep(Base(vfs), micros); }
int XCurrentTime(sqlite3_vfs* vfs, double* out) { return Base(vfs)->xCurrentTime(Base(vfs), out); }
int XGetLastError(sqlite3_vfs* vfs, int n, char* out) { return Base(vfs)->xGetLastError(Base(vfs), n, out); }
int XCurrentTimeInt64(sqlite3_vfs* vfs, sqlite3_int64* out) { return Base(vfs)->xCurrentTimeInt64(Base(vfs), out); }

}  // namespace

void WrappingVfs::Register(const std::string& name, bool memory_mapping) {
  if (base_ != nullptr) std::abort();  // registered once: SQLite holds on to vfs_
  base_ = sqlite3_vfs_find(nullptr);
  if (base_ == nullptr) std::abort();
  name_ = name;
  memory_mapping_ = memory_mapping;
  vfs_ = sqlite3_vfs{};
  vfs_.iVersion = 2;
  vfs_.szOsFile = static_cast<int>(sizeof(File)) + base_->szOsFile;
  vfs_.mxPathname = base_->mxPathname;
  vfs_.zName = name_.c_str();
  vfs_.pAppData = this;
  vfs_.xOpen = XOpen;
  vfs_.xDelete = XDelete;
  vfs_.xAccess = XAccess;
  vfs_.xFullPathname = XFullPathname;
  vfs_.xDlOpen = XDlOpen;
  vfs_.xDlError = XDlError;
  vfs_.xDlSym = XDlSym;
  vfs_.xDlClose = XDlClose;
  vfs_.xRandomness = XRandomness;
  vfs_.xSleep = XSleep;
  vfs_.xCurrentTime = XCurrentTime;
  vfs_.xGetLastError = XGetLastError;
  vfs_.xCurrentTimeInt64 = XCurrentTimeInt64;
  if (sqlite3_vfs_register(&vfs_, /*makeDflt=*/0) != SQLITE_OK) std::abort();
}

int WrappingVfs::Read(File& f, void* buf, int amount, sqlite3_int64 offset) {
  return f.real->pMethods->xRead(f.real, buf, amount, offset);
}
int WrappingVfs::Write(File& f, const void* buf, int amount, sqlite3_int64 offset) {
  return f.real->pMethods->xWrite(f.real, buf, amount, offset);
}
int WrappingVfs::Truncate(File& f, sqlite3_int64 size) { return f.real->pMethods->xTruncate(f.real, size); }
int WrappingVfs::Sync(File& f, int flags) { return f.real->pMethods->xSync(f.real, flags); }
int WrappingVfs::FileSize(File& f, sqlite3_int64* size) { return f.real->pMethods->xFileSize(f.real, size); }
int WrappingVfs::Delete(const char* name, int sync_dir) { return base_->xDelete(base_, name, sync_dir); }

}  // namespace panorama::testing
