#pragma once
// The pass-through half of the test VFSes (CrashVfs for R3, FaultVfs for R5; SECURITY.md §3): it wraps SQLite's
// default (unix) VFS and forwards every call, so a test VFS overrides only the operations it intercepts. Each
// file opened through it is a File header followed by the base VFS's own file (szOsFile = ours + base's), the
// layout of SQLite's own test6.c and test_vfstrace.c.
//
// Test support only: it includes <sqlite3.h> (see panorama_test_fault_vfs in tests/CMakeLists.txt), so only the
// .cc files of the test VFSes include this header; their own headers stay free of SQLite.

#include <sqlite3.h>

#include <string>

namespace panorama::testing {

class WrappingVfs {
 public:
  struct File {
    sqlite3_file header;  // pMethods = the wrapper's methods
    sqlite3_file* real;   // the base VFS's file, stored right after this header
    const char* path;     // SQLite keeps the name alive while the file is open; null for temp files
    WrappingVfs* vfs;
  };

  WrappingVfs() = default;
  WrappingVfs(const WrappingVfs&) = delete;
  WrappingVfs& operator=(const WrappingVfs&) = delete;
  virtual ~WrappingVfs() = default;

  // Registers under `name` (not as the default), wrapping the default VFS. Aborts if SQLite refuses. Call once;
  // SQLite keeps pointing at this object, so it must live as long as the process.
  // `memory_mapping`: offer xFetch/xUnfetch (I/O methods version 3). Without them SQLite never memory-maps a
  // database, so every page read and write goes through Read and Write.
  void Register(const std::string& name, bool memory_mapping);
  const std::string& name() const { return name_; }
  sqlite3_vfs* base() const { return base_; }
  bool memory_mapping() const { return memory_mapping_; }

  // The operations a test VFS may intercept. Each default passes the call to the base VFS; an override calls it
  // (WrappingVfs::Write(…)) to let the operation through.
  virtual int Read(File& f, void* buf, int amount, sqlite3_int64 offset);
  virtual int Write(File& f, const void* buf, int amount, sqlite3_int64 offset);
  virtual int Truncate(File& f, sqlite3_int64 size);
  virtual int Sync(File& f, int flags);
  virtual int FileSize(File& f, sqlite3_int64* size);
  virtual int Delete(const char* name, int sync_dir);

 private:
  sqlite3_vfs vfs_{};
  sqlite3_vfs* base_ = nullptr;
  std::string name_;
  bool memory_mapping_ = false;
};

}  // namespace panorama::testing
