#pragma once
// Column mapping and row validation for CSV imports of customers and orders (DESIGN.md §1: "per-row error
// report", "bad rows are reported, never silently dropped, never half-applied").
//
// These functions turn a CsvTable into drafts (storage row types with no ids yet) and per-row errors. They
// touch no Store: the caller applies all drafts in one transaction, or none in a dry run. A row with any
// error yields no draft; for orders, a bad row drops its whole order (an order must not lose a line item).
//
// Pure functions; thread-safe.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "ingest/csv.h"
#include "ingest/normalize.h"
#include "storage/records.h"

namespace panorama::ingest {

enum class ImportKind { kCustomers, kOrders };

// Target fields a column can be mapped to. Customers: external_id, name, email, phone, gender, birthday,
// city, country, tags, traits.<key>. Orders: order_id, customer_external_id, customer_email,
// customer_phone, placed_at, currency, total, status, sku, product_name, category, quantity, unit_price.
const std::vector<std::string_view>& KnownTargets(ImportKind kind);

struct ColumnBinding {
  std::string target;  // e.g. "email" or "traits.vip_level"
  std::string source;  // the header name as written in the file
  size_t column = 0;   // index into CsvRecord::fields
};

struct ColumnMapping {
  std::vector<ColumnBinding> bindings;

  // The column index of a target, if mapped.
  std::optional<size_t> ColumnOf(std::string_view target) const;
};

// Parses "name=姓名,email=邮箱,phone=手机" (target=source, comma or "，" between pairs) against a header.
// Header names match exactly after trimming, else ASCII case-insensitively. Errors (kInvalidArgument,
// one violation per problem, field "mapping"): an entry without "=", an unknown target, an empty
// traits key, a target mapped twice, a source column missing from the header, a source name that appears
// more than once in the header.
Result<ColumnMapping> ParseColumnMapping(std::string_view spec, ImportKind kind,
                                         const std::vector<std::string>& header);

// Maps every header column whose name is a known target (or "traits.<key>"), compared case-insensitively;
// other columns are ignored. Errors: kInvalidArgument (field "mapping") if no column matches a target.
Result<ColumnMapping> IdentityColumnMapping(ImportKind kind, const std::vector<std::string>& header);

struct RowOptions {
  std::string default_region = "CN";  // phones written without a country code
  std::string currency;               // orders: used when no currency column is mapped or the cell is empty
  DateOrder date_order = DateOrder::kYmd;  // birthdays and placed_at not starting with a 4-digit year
  int source_utc_offset_minutes = 0;       // placed_at without a zone is local time at this offset (480: China)
};

// One problem with one cell (or with the row when `field` is ""). `value_excerpt` is safe to show: emails
// and phones are masked and long values cut (MaskValue).
struct RowError {
  int line = 0;  // 1-based physical line of the record in the file
  std::string field;
  std::string value_excerpt;
  std::string reason;
  friend bool operator==(const RowError&, const RowError&) = default;
};

struct CustomerDraft {
  storage::CustomerRecord customer;  // id, created_at, updated_at unset: the caller assigns them
  int line = 0;
};

// How an order names its customer; normalised like the customer fields. At least one is set.
struct CustomerRef {
  std::string external_id;
  std::string email;
  std::string phone;  // E.164
};

struct OrderDraft {
  storage::OrderRecord order;  // id and customer unset; total in minor units of total.currency
  CustomerRef customer_ref;
  int first_line = 0;
  std::vector<std::string> item_categories;  // parallel to order.items; "" when no category was given
};

template <typename Draft>
struct ImportParse {
  std::string detected_encoding;  // from the CsvTable
  size_t rows_total = 0;          // data rows read
  std::vector<Draft> drafts;      // in file order of their first row
  std::vector<RowError> errors;   // in line order
};

// One CustomerDraft per valid row. Each row needs at least one of external_id, email or phone. Empty cells
// leave a field unset. tags split on ";", "；", "，" or "|"; traits.<key> columns form traits_json (string
// values). A row whose external_id, email or phone repeats an earlier row's gets an error naming the earlier
// line (the earlier row keeps its draft).
ImportParse<CustomerDraft> ParseCustomerRows(const CsvTable& table, const ColumnMapping& mapping,
                                             const RowOptions& options = {});

// Groups rows by order_id into one OrderDraft each (rows need not be adjacent). Order-level fields
// (customer reference, placed_at, currency, total, status) may be given on any row of the order but must
// agree where given; a disagreeing row gets the error. A row with sku, product_name or unit_price is a line
// item (quantity defaults to 1; negative quantities are returns). total defaults to the sum of the items.
// Each order needs order_id, a customer reference, placed_at, a currency (column or RowOptions::currency)
// and a total or at least one item.
ImportParse<OrderDraft> ParseOrderRows(const CsvTable& table, const ColumnMapping& mapping,
                                       const RowOptions& options = {});

}  // namespace panorama::ingest
