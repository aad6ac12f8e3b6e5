#pragma once
// CSV in and out for bulk import and export (DESIGN.md §1, §6).
//
// Reading is RFC 4180 over a whole in-memory buffer (the HTTP layer and the CLI already hold the upload
// and bound its size): quoted fields, doubled quotes, embedded newlines, CRLF or LF line ends, a final line
// with or without a line end. Every record carries the 1-based physical line where it starts, so error
// reports point at the line a person sees in their editor. Blank lines (anywhere) are skipped rather than
// read as one-empty-field records: spreadsheets leave them at the end and people leave them in between.
// Two leniencies, both unambiguous: a quote inside an unquoted field is kept as a literal character
// (`5" screen`), and the delimiter may be changed (";" from European Excel, "\t").
//
// Pure functions; thread-safe.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace panorama::ingest {

struct CsvRecord {
  int line = 0;  // 1-based physical line where the record starts
  std::vector<std::string> fields;
};

struct CsvTable {
  std::string detected_encoding;    // "UTF-8" or "GBK" (what the buffer was converted from)
  std::vector<std::string> header;  // first non-blank record, each name trimmed; empty if has_header=false
  int header_line = 0;              // 0 when there is no header
  std::vector<CsvRecord> rows;      // data records, fields as read (not trimmed)
};

struct CsvReadOptions {
  char delimiter = ',';
  bool has_header = true;
  size_t max_fields_per_record = 1024;
  size_t max_field_bytes = 64 * 1024;  // after decoding to UTF-8
  size_t max_records = 2'000'000;
};

struct DecodedText {
  std::string text;      // UTF-8 without a byte order mark
  std::string encoding;  // "UTF-8" or "GBK"
};

// Valid UTF-8 (a leading BOM is removed) is returned as is. Otherwise, if the bytes decode as GBK — or its
// superset GB18030, which Excel on Chinese Windows writes as "ANSI" — they are converted to UTF-8 and
// `encoding` says "GBK". Errors (kInvalidArgument): "file is neither UTF-8 nor GBK"; a UTF-16 file (BOM
// FF FE / FE FF) or one containing NUL bytes, with a message saying to save it as UTF-8 CSV.
Result<DecodedText> DecodeToUtf8(std::string_view bytes);

// Decodes (above), then parses. Errors: kInvalidArgument for bad encoding, an unterminated quoted field
// (naming the line where it opened) or text after a closing quote (naming the line); kResourceExhausted
// when a record has more than max_fields_per_record fields, a field exceeds max_field_bytes or the file
// has more than max_records records (naming the line). An empty file is an empty table, not an error.
Result<CsvTable> ReadCsv(std::string_view bytes, const CsvReadOptions& options = {});

struct CsvWriteOptions {
  char delimiter = ',';
  bool utf8_bom = false;            // Excel needs it to read UTF-8 (otherwise it assumes the ANSI code page)
  bool neutralize_formulas = true;  // OWASP "CSV Injection": see EscapeCsvCell
  std::string_view line_end = "\r\n";  // RFC 4180
};

// One cell ready to be written. With `neutralize_formulas`, a cell starting with = + - @ tab or CR gets a
// leading apostrophe so a spreadsheet shows it as text instead of evaluating it (OWASP CSV Injection);
// plain numbers such as "-12.50" are left alone because they cannot be formulas. The cell is then quoted
// if it contains the delimiter, a quote, CR or LF, with quotes doubled.
std::string EscapeCsvCell(std::string_view cell, char delimiter = ',', bool neutralize_formulas = true);

// Builds a CSV document in memory. Not thread-safe (one writer per export).
class CsvWriter {
 public:
  explicit CsvWriter(CsvWriteOptions options = {});

  void WriteRow(const std::vector<std::string>& cells);
  const std::string& buffer() const { return buffer_; }
  // Moves the document out; the writer is empty afterwards (no BOM is re-added).
  std::string Take();

 private:
  CsvWriteOptions options_;
  std::string buffer_;
};

}  // namespace panorama::ingest
