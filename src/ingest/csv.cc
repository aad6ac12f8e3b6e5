#include "ingest/csv.h"

#include <iconv.h>

#include <cerrno>
#include <utility>

#include "ingest/internal/utf8.h"
#include "ingest/normalize.h"

namespace panorama::ingest {
namespace {

constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

// Converts `bytes` from `from_encoding` to UTF-8 with glibc iconv; false if any byte sequence is invalid or
// incomplete in that encoding. No "//IGNORE" or "//TRANSLIT": a lossy conversion would corrupt names.
bool ConvertToUtf8(std::string_view bytes, const char* from_encoding, std::string& out) {
  iconv_t cd = iconv_open("UTF-8", from_encoding);
  if (cd == reinterpret_cast<iconv_t>(-1)) return false;
  out.clear();
  out.resize(bytes.size() * 2 + 16);  // GBK is 1-2 bytes per character, UTF-8 1-3; GB18030 4 → 4
  // iconv's interface is not const-correct; it does not write through the input pointer.
  char* in = const_cast<char*>(bytes.data());
  size_t in_left = bytes.size();
  size_t written = 0;
  bool ok = true;
  while (in_left > 0) {
    char* dst = out.data() + written;
    size_t out_left = out.size() - written;
    size_t rc = iconv(cd, &in, &in_left, &dst, &out_left);
    written = static_cast<size_t>(dst - out.data());
    if (rc != static_cast<size_t>(-1)) break;
    if (errno == E2BIG) {
      out.resize(out.size() * 2);
      continue;
    }
    ok = false;  // EILSEQ or EINVAL (truncated multi-byte sequence at the end)
    break;
  }
  iconv_close(cd);
  out.resize(written);
  return ok;
}

Error LineError(ErrorCode code, int line, const std::string& reason) {
  return Error(code, "line " + std::to_string(line) + ": " + reason);
}

}  // namespace

Result<DecodedText> DecodeToUtf8(std::string_view bytes) {
  if (bytes.starts_with("\xFF\xFE") || bytes.starts_with("\xFE\xFF")) {
    return Error::InvalidArgument("file is UTF-16; save it as CSV UTF-8");
  }
  if (bytes.find('\0') != std::string_view::npos) {
    return Error::InvalidArgument("file contains NUL bytes; it is binary or UTF-16, save it as CSV UTF-8");
  }
  if (bytes.starts_with(kUtf8Bom)) bytes.remove_prefix(kUtf8Bom.size());
  if (internal::IsValidUtf8(bytes)) return DecodedText{std::string(bytes), "UTF-8"};
  std::string converted;
  // GB18030 is a superset of GBK (every GBK file decodes identically), and Windows "Chinese (Simplified)"
  // exports sometimes contain its four-byte sequences; the user-facing name stays the familiar "GBK".
  if (ConvertToUtf8(bytes, "GB18030", converted)) {
    if (converted.starts_with(kUtf8Bom)) converted.erase(0, kUtf8Bom.size());
    return DecodedText{std::move(converted), "GBK"};
  }
  return Error::InvalidArgument("file is neither UTF-8 nor GBK");
}

Result<CsvTable> ReadCsv(std::string_view bytes, const CsvReadOptions& options) {
  ASSIGN_OR_RETURN(DecodedText decoded, DecodeToUtf8(bytes));
  const std::string& text = decoded.text;
  const char delim = options.delimiter;

  CsvTable table;
  table.detected_encoding = decoded.encoding;
  std::vector<CsvRecord> records;

  size_t i = 0;
  int line = 1;
  const size_t n = text.size();
  while (i < n) {
    // One record per iteration; `line` is the physical line where it starts.
    CsvRecord record;
    record.line = line;
    bool record_done = false;
    bool blank = true;  // a record that is a single empty, unquoted field
    while (!record_done) {
      std::string field;
      if (i < n && text[i] == '"') {
        blank = false;
        const int open_line = line;
        ++i;
        while (true) {
          if (i >= n) return LineError(ErrorCode::kInvalidArgument, open_line, "quoted field is not closed");
          char c = text[i];
          if (c == '"') {
            if (i + 1 < n && text[i + 1] == '"') {
              field.push_back('"');
              i += 2;
              continue;
            }
            ++i;
            break;
          }
          if (c == '\n') ++line;
          field.push_back(c);
          ++i;
          if (field.size() > options.max_field_bytes) {
            return LineError(ErrorCode::kResourceExhausted, record.line,
                             "field is longer than " + std::to_string(options.max_field_bytes) + " bytes");
          }
        }
        if (i < n && text[i] != delim && text[i] != '\n' && text[i] != '\r') {
          return LineError(ErrorCode::kInvalidArgument, line, "unexpected text after a closing quote");
        }
      } else {
        while (i < n && text[i] != delim && text[i] != '\n' && text[i] != '\r') {
          field.push_back(text[i]);
          ++i;
        }
        if (field.size() > options.max_field_bytes) {
          return LineError(ErrorCode::kResourceExhausted, record.line,
                           "field is longer than " + std::to_string(options.max_field_bytes) + " bytes");
        }
      }
      if (!field.empty()) blank = false;
      record.fields.push_back(std::move(field));
      if (record.fields.size() > options.max_fields_per_record) {
        return LineError(ErrorCode::kResourceExhausted, record.line,
                         "record has more than " + std::to_string(options.max_fields_per_record) + " fields");
      }
      if (i < n && text[i] == delim) {
        blank = false;
        ++i;  // "a,b," at the very end still yields the trailing empty field on the next pass
        continue;
      }
      // End of record: CRLF, LF, a lone CR (old Mac Excel) or the end of the buffer.
      if (i < n && text[i] == '\r') ++i;
      if (i < n && text[i] == '\n') ++i;
      ++line;
      record_done = true;
    }
    if (blank) continue;
    if (records.size() >= options.max_records + (options.has_header ? 1 : 0)) {
      return LineError(ErrorCode::kResourceExhausted, record.line,
                       "file has more than " + std::to_string(options.max_records) + " records");
    }
    records.push_back(std::move(record));
  }

  size_t first_data = 0;
  if (options.has_header && !records.empty()) {
    table.header_line = records[0].line;
    for (const std::string& name : records[0].fields) table.header.emplace_back(TrimUtf8(name));
    first_data = 1;
  }
  table.rows.assign(std::make_move_iterator(records.begin() + static_cast<std::ptrdiff_t>(first_data)),
                    std::make_move_iterator(records.end()));
  return table;
}

std::string EscapeCsvCell(std::string_view cell, char delimiter, bool neutralize_formulas) {
  std::string value;
  if (neutralize_formulas && !cell.empty()) {
    char first = cell.front();
    bool risky = first == '=' || first == '+' || first == '-' || first == '@' || first == '\t' || first == '\r';
    if (risky && (first == '+' || first == '-')) {
      // A signed decimal ("-12.50") is data, not a formula; keep refunds and offsets readable.
      std::string_view rest = cell.substr(1);
      bool number = !rest.empty();
      bool seen_dot = false;
      for (char c : rest) {
        if (c == '.' && !seen_dot) {
          seen_dot = true;
        } else if (c < '0' || c > '9') {
          number = false;
        }
      }
      if (number && rest.back() != '.' && rest.front() != '.') risky = false;
    }
    if (risky) value.push_back('\'');
  }
  value.append(cell);
  bool needs_quotes = value.find_first_of(std::string{delimiter, '"', '\r', '\n'}) != std::string::npos;
  if (!needs_quotes) return value;
  std::string quoted = "\"";
  for (char c : value) {
    if (c == '"') quoted.push_back('"');
    quoted.push_back(c);
  }
  quoted.push_back('"');
  return quoted;
}

CsvWriter::CsvWriter(CsvWriteOptions options) : options_(options) {
  if (options_.utf8_bom) buffer_.append(kUtf8Bom);
}

void CsvWriter::WriteRow(const std::vector<std::string>& cells) {
  for (size_t k = 0; k < cells.size(); ++k) {
    if (k > 0) buffer_.push_back(options_.delimiter);
    buffer_ += EscapeCsvCell(cells[k], options_.delimiter, options_.neutralize_formulas);
  }
  buffer_.append(options_.line_end);
}

std::string CsvWriter::Take() { return std::exchange(buffer_, std::string()); }

}  // namespace panorama::ingest
