#include "privacy/subject_bundle.h"

#include <archive.h>
#include <archive_entry.h>
#include <sodium.h>

#include <chrono>
#include <cstdio>
#include <memory>

#include "privacy/internal/json_text.h"

namespace panorama::privacy {
namespace {

using internal::AppendJsonString;
using internal::AppendJsonValue;

std::string CsvText(const storage::SubjectValue& v) {
  if (std::holds_alternative<std::monostate>(v)) return "";
  if (const auto* i = std::get_if<int64_t>(&v)) return std::to_string(*i);
  if (const auto* d = std::get_if<double>(&v)) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.17g", *d);
    return buf;
  }
  return std::get<std::string>(v);
}

// RFC 4180 field: quoted when it holds a comma, quote or line break.
void AppendCsvField(std::string& out, const std::string& field) {
  if (field.find_first_of(",\"\r\n") == std::string::npos) {
    out += field;
    return;
  }
  out += '"';
  for (char c : field) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

std::string Sha256Hex(const std::string& data) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(data.data()), data.size());
  char hex[crypto_hash_sha256_BYTES * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  return hex;
}

struct ArchiveDeleter {
  void operator()(archive* a) const { archive_write_free(a); }
};

la_ssize_t AppendToString(archive*, void* out, const void* buffer, size_t length) {
  static_cast<std::string*>(out)->append(static_cast<const char*>(buffer), length);
  return static_cast<la_ssize_t>(length);
}

}  // namespace

std::string SubjectRowJson(const storage::SubjectTable& table, size_t row) {
  std::string out = "{";
  for (size_t c = 0; c < table.columns.size(); ++c) {
    if (c) out += ',';
    AppendJsonString(out, table.columns[c]);
    out += ':';
    AppendJsonValue(out, table.rows[row][c]);
  }
  out += '}';
  return out;
}

Result<std::string> BuildSubjectBundle(CustomerId subject, const std::vector<storage::SubjectTable>& tables,
                                       Timestamp generated_at) {
  struct File {
    std::string name;
    size_t rows;
    std::string bytes;
  };
  std::vector<File> files;
  for (const auto& table : tables) {
    std::string jsonl;
    for (size_t r = 0; r < table.rows.size(); ++r) jsonl += SubjectRowJson(table, r) + "\n";
    std::string csv;
    for (size_t c = 0; c < table.columns.size(); ++c) {
      if (c) csv += ',';
      AppendCsvField(csv, table.columns[c]);
    }
    csv += "\r\n";
    for (const auto& row : table.rows) {
      for (size_t c = 0; c < row.size(); ++c) {
        if (c) csv += ',';
        AppendCsvField(csv, CsvText(row[c]));
      }
      csv += "\r\n";
    }
    files.push_back({"tables/" + table.table + ".jsonl", table.rows.size(), std::move(jsonl)});
    files.push_back({"tables/" + table.table + ".csv", table.rows.size(), std::move(csv)});
  }
  std::string manifest = std::string("{\"format\":\"") + kSubjectBundleFormat + "\",\"subject_id\":" +
                         std::to_string(subject.value()) + ",\"generated_at\":";
  AppendJsonString(manifest, FormatIso8601(generated_at));
  manifest += ",\"files\":[";
  for (size_t i = 0; i < files.size(); ++i) {
    if (i) manifest += ',';
    manifest += "{\"name\":";
    AppendJsonString(manifest, files[i].name);
    manifest += ",\"rows\":" + std::to_string(files[i].rows) + ",\"sha256\":\"" + Sha256Hex(files[i].bytes) + "\"}";
  }
  manifest += "]}";
  files.push_back({"manifest.json", 0, std::move(manifest)});

  std::string zip;
  std::unique_ptr<archive, ArchiveDeleter> a(archive_write_new());
  if (!a) return Error::Internal("subject bundle: archive_write_new failed");
  auto check = [&](int rc, const char* what) -> Result<void> {
    if (rc == ARCHIVE_OK) return Ok();
    return Error::Internal(std::string("subject bundle: ") + what + ": " + archive_error_string(a.get()));
  };
  RETURN_IF_ERROR(check(archive_write_set_format_zip(a.get()), "zip format"));
  RETURN_IF_ERROR(check(archive_write_set_bytes_in_last_block(a.get(), 1), "block size"));
  RETURN_IF_ERROR(check(archive_write_open(a.get(), &zip, nullptr, AppendToString, nullptr), "open"));
  const auto mtime = std::chrono::duration_cast<std::chrono::seconds>(generated_at.time_since_epoch()).count();
  for (const auto& file : files) {
    archive_entry* entry = archive_entry_new();
    archive_entry_set_pathname(entry, file.name.c_str());
    archive_entry_set_filetype(entry, AE_IFREG);
    archive_entry_set_perm(entry, 0644);
    archive_entry_set_size(entry, static_cast<la_int64_t>(file.bytes.size()));
    archive_entry_set_mtime(entry, mtime, 0);
    int rc = archive_write_header(a.get(), entry);
    archive_entry_free(entry);
    RETURN_IF_ERROR(check(rc, "entry header"));
    if (!file.bytes.empty() &&
        archive_write_data(a.get(), file.bytes.data(), file.bytes.size()) != static_cast<la_ssize_t>(file.bytes.size())) {
      return Error::Internal(std::string("subject bundle: writing ") + file.name + ": " + archive_error_string(a.get()));
    }
  }
  RETURN_IF_ERROR(check(archive_write_close(a.get()), "close"));
  return zip;
}

}  // namespace panorama::privacy
