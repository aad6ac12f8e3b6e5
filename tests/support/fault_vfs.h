#pragma once
// A SQLite VFS for tests that wraps the default (unix) VFS and fails one chosen I/O operation with an I/O error
// (SECURITY.md §3 R5), the way LevelDB's fault_injection_test fails file operations through its Env seam.
//
// Counted operations: xRead, xWrite, xTruncate, xSync and xFileSize on any file a connection opened through it
// (database, WAL, journal). Counting runs only while armed, so opening a store and running migrations do not
// shift the numbering. Thread-safe (atomics); one FaultVfs per process under a given name.

#include <cstdint>
#include <string>

namespace panorama::testing {

class FaultVfs {
 public:
  // Registers the VFS under `name` (not as the default). Aborts if SQLite refuses.
  static FaultVfs& Register(const std::string& name);

  const std::string& name() const { return name_; }
  // Starts counting from zero; the `fail_at`-th counted operation (1-based) fails, later ones succeed.
  // fail_at = 0 counts without failing.
  void Arm(int64_t fail_at);
  // Stops counting and failing; returns how many operations were counted while armed.
  int64_t Disarm();
  // Whether the chosen operation has been reached (and failed) since Arm().
  bool fired() const;

 private:
  explicit FaultVfs(std::string name) : name_(std::move(name)) {}
  std::string name_;
};

}  // namespace panorama::testing
