#pragma once
// Applies a CSV file of customers or orders to the store: parse → validate every row → resolve identities →
// write, in one transaction. Re-importing the same file changes nothing (customers resolve through their
// external id, email and phone identities; orders are keyed by their order id).
//
// By default a file with any bad row writes nothing and reports every bad row (line, field, reason);
// `skip_invalid` imports the good rows and still reports the bad ones. `dry_run` does all the work, reports
// what would happen, and rolls back.

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/money.h"
#include "core/result.h"
#include "core/time.h"
#include "ingest/import_rows.h"
#include "storage/records.h"

namespace panorama::storage {
class Store;
}
namespace panorama::privacy {
class SuppressionCheck;
}

namespace panorama::ingest {

class IngestObserver;

struct ImportOptions {
  ImportKind kind = ImportKind::kCustomers;
  std::string mapping;  // "target=Source Column,..."; empty: the header already uses target names
  RowOptions rows;
  bool dry_run = false;
  bool skip_invalid = false;
  // Erased subjects are not re-created: a row whose external id, email or phone is on the suppression list is a
  // bad row with reason "erased_subject" (its value is not echoed). Null: no check.
  privacy::SuppressionCheck* suppression = nullptr;
};

struct ImportReport {
  std::string detected_encoding;
  size_t rows_total = 0;
  int64_t created = 0;    // new customers (or orders)
  int64_t updated = 0;    // existing customers matched and updated
  int64_t unchanged = 0;  // orders already present (re-import)
  int64_t merged = 0;     // customers merged because the file linked their identifiers
  bool applied = false;   // false for a dry run or when bad rows stopped the import
  std::vector<RowError> errors;
};

// Errors: kInvalidArgument for an unreadable file or a bad mapping (field "mapping"); storage errors as is.
// Bad rows are not errors of the call: they are in the report.
Result<ImportReport> ImportCsv(storage::Store& store, std::string_view file_bytes, const ImportOptions& options,
                               const ExchangeRates& rates, Timestamp now, IngestObserver* observer = nullptr);

// Who an export is for: only the customers in `scope` (none: all), each passed through `mask` (which masks
// or empties what the caller may not read) before it is written.
struct ExportOptions {
  std::optional<storage::RecordScope> scope;
  std::function<void(storage::CustomerRecord&)> mask;
};

// Customers (live, not merged away) as CSV with a header, formulas neutralised, UTF-8 with BOM for Excel.
Result<std::string> ExportCustomersCsv(storage::Store& store, const ExportOptions& options = {});
// Orders, one row per line item, in the same column names the importer reads.
Result<std::string> ExportOrdersCsv(storage::Store& store, const ExportOptions& options = {});

}  // namespace panorama::ingest
