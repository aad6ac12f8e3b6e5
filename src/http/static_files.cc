#include "http/static_files.h"

#include <filesystem>
#include <fstream>
#include <iterator>

#include "http/internal/url.h"

namespace panorama::http {
namespace {

namespace fs = std::filesystem;

bool EndsWith(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

// The checks that need no file system: every segment must be a plain name.
bool IsSafeRelativePath(std::string_view path) {
  if (path.find('\0') != std::string_view::npos || path.find('\\') != std::string_view::npos) {
    return false;
  }
  while (!path.empty()) {
    size_t slash = path.find('/');
    std::string_view segment = path.substr(0, slash);
    if (segment == "." || segment == "..") {
      return false;
    }
    if (slash == std::string_view::npos) {
      break;
    }
    path.remove_prefix(slash + 1);
  }
  return true;
}

std::optional<std::string> ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return std::nullopt;
  }
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) {
    return std::nullopt;
  }
  return content;
}

}  // namespace

Result<StaticFiles> StaticFiles::Open(const std::string& root) {
  std::error_code ec;
  fs::path canonical = fs::canonical(root, ec);
  if (ec || !fs::is_directory(canonical, ec)) {
    return Error::NotFound("static directory " + root + " is not a directory");
  }
  return StaticFiles(canonical.string());
}

const char* StaticFiles::ContentTypeFor(std::string_view name) {
  struct Entry {
    const char* extension;
    const char* type;
  };
  static constexpr Entry kTypes[] = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".map", "application/json"},
      {".webmanifest", "application/manifest+json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".jpg", "image/jpeg"},
      {".jpeg", "image/jpeg"},
      {".gif", "image/gif"},
      {".webp", "image/webp"},
      {".avif", "image/avif"},
      {".ico", "image/x-icon"},
      {".woff", "font/woff"},
      {".woff2", "font/woff2"},
      {".ttf", "font/ttf"},
      {".otf", "font/otf"},
      {".txt", "text/plain; charset=utf-8"},
      {".csv", "text/csv; charset=utf-8"},
      {".xml", "application/xml"},
      {".pdf", "application/pdf"},
      {".wasm", "application/wasm"},
  };
  for (const Entry& entry : kTypes) {
    if (EndsWith(name, entry.extension)) {
      return entry.type;
    }
  }
  return "application/octet-stream";
}

Response StaticFiles::Serve(const Request& request) const {
  std::string path = request.path;
  if (path.empty()) {
    auto decoded = internal::PercentDecode(internal::TargetPath(request.target), false);
    if (!decoded) {
      return Response::Problem(Error::InvalidField("path", decoded.error().message()));
    }
    path = std::move(decoded).value();
  }
  if (path.empty() || path.front() != '/' || !IsSafeRelativePath(path.substr(1))) {
    return Response::Problem(Error::InvalidField("path", "must be a plain path without '.' or '..' segments"));
  }

  std::string relative = path.substr(1);
  if (relative.empty() || relative.back() == '/') {
    relative += "index.html";
  }
  const fs::path root(root_);
  std::error_code ec;
  fs::path file = fs::weakly_canonical(root / relative, ec);
  // Symlinks inside the root may point anywhere; what counts is where the resolved path lies.
  fs::path inside = ec ? fs::path() : file.lexically_relative(root);
  bool contained = !inside.empty() && *inside.begin() != "..";
  bool is_file = contained && fs::is_regular_file(file, ec);

  std::string last_segment = relative.substr(relative.rfind('/') + 1);
  bool immutable = path.starts_with("/assets/");
  if (!is_file) {
    if (!contained || last_segment.find('.') != std::string::npos) {
      return Response::Problem(Error::NotFound("no file at this path"));
    }
    file = root / "index.html";  // a client-side route of the single-page app
    last_segment = "index.html";
    immutable = false;
  }

  std::optional<std::string> content = ReadFile(file);
  if (!content) {
    return Response::Problem(Error::NotFound("no file at this path"));
  }
  Response response;
  response.status = 200;
  response.content_type = ContentTypeFor(last_segment);
  response.body = std::move(*content);
  response.headers.emplace_back(
      "Cache-Control", immutable ? "public, max-age=31536000, immutable" : "no-cache");
  return response;
}

}  // namespace panorama::http
