// R14: CSV reading (encoding detection, RFC 4180 quoting) and the import row mapping for customers and orders.
// The first byte chooses delimiter, kind and row options; the rest is the uploaded file.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ingest/csv.h"
#include "ingest/import_rows.h"

using namespace panorama::ingest;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t flags = data[0];
  std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  static constexpr char kDelimiters[] = {',', ';', '\t', '|'};
  CsvReadOptions read{.delimiter = kDelimiters[flags & 3], .has_header = true,
                      .max_fields_per_record = 64, .max_field_bytes = 4096, .max_records = 10'000};
  auto table = ReadCsv(bytes, read);
  if (!table) return 0;
  for (const auto& row : table->rows) {
    if (row.line < 1 || row.fields.size() > read.max_fields_per_record) __builtin_trap();
  }
  ImportKind kind = (flags & 4) ? ImportKind::kOrders : ImportKind::kCustomers;
  RowOptions options{.default_region = (flags & 8) ? "GB" : "CN",
                     .currency = (flags & 16) ? "GBP" : "",
                     .date_order = static_cast<DateOrder>((flags >> 5) % 3),
                     .source_utc_offset_minutes = (flags & 128) ? 480 : -300};
  auto mapping = IdentityColumnMapping(kind, table->header);
  if (!mapping) {
    // A spec made from the header itself: "name=<col0>,email=<col1>,…" exercises ParseColumnMapping.
    std::string spec;
    const auto& targets = KnownTargets(kind);
    for (size_t i = 0; i < table->header.size() && i < targets.size(); ++i) {
      spec += std::string(targets[i]) + "=" + table->header[i] + ",";
    }
    mapping = ParseColumnMapping(spec, kind, table->header);
    if (!mapping) return 0;
  }
  if (kind == ImportKind::kCustomers) {
    auto parsed = ParseCustomerRows(*table, *mapping, options);
    if (parsed.drafts.size() + parsed.errors.size() < parsed.drafts.size()) __builtin_trap();
  } else {
    auto parsed = ParseOrderRows(*table, *mapping, options);
    for (const auto& draft : parsed.drafts) {
      if (draft.item_categories.size() != draft.order.items.size()) __builtin_trap();
    }
  }
  return 0;
}
