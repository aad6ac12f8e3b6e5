#pragma once
// StaticFiles: serves the console's built files (web/dist) for GET and HEAD.

#include <string>

#include "core/result.h"
#include "http/request.h"

namespace panorama::http {

// Serves files under one root directory. Paths with "." or ".." segments, backslashes or NUL bytes are
// refused with 400 before touching the file system, and a resolved file (symlinks followed) outside the
// root is 404, so nothing outside the root is ever read. A missing path whose last segment has no
// extension is a client-side route of the single-page app and gets index.html; a missing file with an
// extension is 404. Files under /assets/ carry content hashes in their names and are cached as
// immutable; everything else must be revalidated (index.html names the current hashes).
// Immutable after Open; Serve is safe from any number of threads (it blocks on file reads, so run it on
// the worker pool).
class StaticFiles {
 public:
  // kNotFound when `root` is not a directory.
  static Result<StaticFiles> Open(const std::string& root);

  Response Serve(const Request& request) const;

  // "text/html; charset=utf-8" for "index.html"; "application/octet-stream" when unknown.
  static const char* ContentTypeFor(std::string_view file_name);

 private:
  explicit StaticFiles(std::string root) : root_(std::move(root)) {}
  std::string root_;  // canonical, no trailing slash
};

}  // namespace panorama::http
