#include "ingest/import_rows.h"

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <unordered_map>
#include <utility>

#include "core/money.h"

namespace panorama::ingest {
namespace {

constexpr size_t kMaxIdBytes = 128;
constexpr size_t kMaxTextBytes = 512;
constexpr size_t kMaxTraitKeyBytes = 64;
constexpr std::string_view kTraitsPrefix = "traits.";

char AsciiLower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoreAsciiCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (AsciiLower(a[i]) != AsciiLower(b[i])) return false;
  }
  return true;
}

bool IsTarget(ImportKind kind, std::string_view target) {
  const auto& known = KnownTargets(kind);
  if (std::find(known.begin(), known.end(), target) != known.end()) return true;
  return kind == ImportKind::kCustomers && target.starts_with(kTraitsPrefix);
}

// The JSON string escaping of RFC 8259 §7, written by hand: it is the only JSON this context produces, and
// domain contexts keep JSON libraries out (STYLE.md §1). Input is valid UTF-8 (the CSV reader checked it).
void AppendJsonString(std::string& out, std::string_view s) {
  out.push_back('"');
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          static constexpr char kHex[] = "0123456789abcdef";
          out += "\\u00";
          out.push_back(kHex[(c >> 4) & 0xF]);
          out.push_back(kHex[c & 0xF]);
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

std::vector<size_t> FindColumns(const std::vector<std::string>& header, std::string_view name) {
  std::vector<size_t> exact, folded;
  for (size_t i = 0; i < header.size(); ++i) {
    if (header[i] == name) exact.push_back(i);
    if (EqualsIgnoreAsciiCase(header[i], name)) folded.push_back(i);
  }
  return exact.empty() ? folded : exact;
}

Error MappingError(const std::vector<FieldViolation>& problems) {
  std::string message = "column mapping is invalid: ";
  for (size_t i = 0; i < problems.size(); ++i) {
    if (i > 0) message += "; ";
    message += problems[i].reason;
  }
  return Error(ErrorCode::kInvalidArgument, std::move(message), problems);
}

// Reads the trimmed, non-empty cells of one record through the mapping.
class RowView {
 public:
  RowView(const CsvRecord& record, const ColumnMapping& mapping) : record_(record), mapping_(mapping) {}

  std::optional<std::string_view> Cell(std::string_view target) const {
    auto column = mapping_.ColumnOf(target);
    if (!column || *column >= record_.fields.size()) return std::nullopt;
    std::string_view value = TrimUtf8(record_.fields[*column]);
    if (value.empty()) return std::nullopt;
    return value;
  }

 private:
  const CsvRecord& record_;
  const ColumnMapping& mapping_;
};

// Collects the errors of one row.
class RowErrors {
 public:
  explicit RowErrors(int line) : line_(line) {}

  void Add(std::string field, std::string_view value, std::string reason) {
    std::string excerpt = MaskValue(field, value);
    errors_.push_back({line_, std::move(field), std::move(excerpt), std::move(reason)});
  }
  // Takes the reason out of a normaliser's single-field error.
  void Add(std::string field, std::string_view value, const Error& error) {
    Add(std::move(field), value, error.violations().empty() ? error.message() : error.violations()[0].reason);
  }
  bool empty() const { return errors_.empty(); }
  std::vector<RowError>& errors() { return errors_; }

 private:
  int line_;
  std::vector<RowError> errors_;
};

bool CheckFieldCount(const CsvRecord& record, size_t header_size, RowErrors& errors) {
  if (record.fields.size() == header_size) return true;
  errors.Add("", "", "has " + std::to_string(record.fields.size()) + " fields; the header has " +
                         std::to_string(header_size));
  return false;
}

void SplitTags(std::string_view text, std::vector<std::string>& tags) {
  // ";", "|", ",", and the full-width "；" and "，" that Chinese input methods type.
  std::string normalised;
  for (size_t i = 0; i < text.size();) {
    std::string_view rest = text.substr(i);
    if (rest.starts_with("；") || rest.starts_with("，")) {
      normalised.push_back(';');
      i += 3;
    } else {
      char c = text[i];
      normalised.push_back(c == '|' || c == ',' ? ';' : c);
      ++i;
    }
  }
  size_t start = 0;
  while (start <= normalised.size()) {
    size_t end = normalised.find(';', start);
    if (end == std::string::npos) end = normalised.size();
    std::string tag(TrimUtf8(std::string_view(normalised).substr(start, end - start)));
    if (!tag.empty() && std::find(tags.begin(), tags.end(), tag) == tags.end()) tags.push_back(std::move(tag));
    start = end + 1;
  }
}

std::string MaxLengthReason(size_t max) { return "is longer than " + std::to_string(max) + " bytes"; }

// Remembers which line first used a key value; returns that line for a repeat.
class DuplicateTracker {
 public:
  std::optional<int> Check(const std::string& value, int line) {
    auto [it, inserted] = first_line_.emplace(value, line);
    if (inserted) return std::nullopt;
    return it->second;
  }

 private:
  std::unordered_map<std::string, int> first_line_;
};

Result<int64_t> ParseQuantity(std::string_view text) {
  std::string digits = NormalizeExternalId(text);  // "6.0" from a spreadsheet is 6
  bool negative = !digits.empty() && digits.front() == '-';
  std::string_view body = std::string_view(digits).substr(negative ? 1 : 0);
  if (body.empty() || body.size() > 9 || body.find_first_not_of("0123456789") != std::string_view::npos) {
    return Error::InvalidArgument("is not a whole number");
  }
  int64_t value = 0;
  for (char c : body) value = value * 10 + (c - '0');
  if (value == 0) return Error::InvalidArgument("must not be zero");
  return negative ? -value : value;
}

Result<std::string> NormalizeStatus(std::string_view text) {
  static constexpr std::pair<std::string_view, std::string_view> kChinese[] = {
      {"已完成", "completed"}, {"已取消", "cancelled"}, {"已退款", "refunded"},
      {"待付款", "pending"},   {"已付款", "paid"},      {"已支付", "paid"},
      {"已发货", "shipped"},
  };
  for (const auto& [zh, en] : kChinese) {
    if (text == zh) return std::string(en);
  }
  std::string status;
  for (char c : text) {
    char lower = AsciiLower(c);
    if (lower == ' ' || lower == '-') lower = '_';
    if (!((lower >= 'a' && lower <= 'z') || lower == '_')) {
      return Error::InvalidArgument("must be a word such as completed, pending, cancelled or refunded");
    }
    status.push_back(lower);
  }
  if (status.size() > 32) return Error::InvalidArgument(MaxLengthReason(32));
  if (status == "canceled") status = "cancelled";
  return status;
}

// One order row after pass 1 (cell-level checks); money waits for pass 2, when the currency is known.
struct OrderRow {
  int line = 0;
  std::string order_id;
  CustomerRef ref;
  std::optional<Timestamp> placed_at;
  std::optional<std::string> currency;
  std::optional<std::string_view> total_text;
  std::optional<std::string> status;
  bool has_item = false;
  storage::OrderItemRecord item;
  std::optional<std::string_view> unit_price_text;
  std::string category;
  RowErrors errors{0};
};

OrderRow ReadOrderRow(const CsvRecord& record, const ColumnMapping& mapping, size_t header_size,
                      const RowOptions& options) {
  OrderRow row;
  row.line = record.line;
  row.errors = RowErrors(record.line);
  if (!CheckFieldCount(record, header_size, row.errors)) return row;
  RowView cells(record, mapping);

  if (auto v = cells.Cell("order_id")) {
    row.order_id = NormalizeExternalId(*v);
    if (row.order_id.size() > kMaxIdBytes) row.errors.Add("order_id", *v, MaxLengthReason(kMaxIdBytes));
  } else {
    row.errors.Add("order_id", "", "is required");
  }
  if (auto v = cells.Cell("customer_external_id")) {
    row.ref.external_id = NormalizeExternalId(*v);
    if (row.ref.external_id.size() > kMaxIdBytes) {
      row.errors.Add("customer_external_id", *v, MaxLengthReason(kMaxIdBytes));
    }
  }
  if (auto v = cells.Cell("customer_email")) {
    if (auto email = NormalizeEmail(*v)) {
      row.ref.email = *email;
    } else {
      row.errors.Add("customer_email", *v, email.error());
    }
  }
  if (auto v = cells.Cell("customer_phone")) {
    if (auto phone = NormalizePhone(*v, options.default_region)) {
      row.ref.phone = *phone;
    } else {
      row.errors.Add("customer_phone", *v, phone.error());
    }
  }
  if (auto v = cells.Cell("placed_at")) {
    if (auto at = ParseLocalDateTime(*v, options.date_order, options.source_utc_offset_minutes)) {
      row.placed_at = *at;
    } else {
      row.errors.Add("placed_at", *v, at.error());
    }
  }
  if (auto v = cells.Cell("currency")) {
    if (auto currency = NormalizeCurrency(*v)) {
      row.currency = *currency;
    } else {
      row.errors.Add("currency", *v, currency.error().message());
    }
  }
  row.total_text = cells.Cell("total");
  if (auto v = cells.Cell("status")) {
    if (auto status = NormalizeStatus(*v)) {
      row.status = *status;
    } else {
      row.errors.Add("status", *v, status.error().message());
    }
  }

  auto sku = cells.Cell("sku");
  auto name = cells.Cell("product_name");
  auto quantity = cells.Cell("quantity");
  row.unit_price_text = cells.Cell("unit_price");
  auto category = cells.Cell("category");
  row.has_item = sku || name || row.unit_price_text || quantity || category;
  if (row.has_item) {
    if (!sku && !name) row.errors.Add("sku", "", "a line item needs sku or product_name");
    if (sku) {
      row.item.sku = std::string(*sku);
      if (sku->size() > kMaxIdBytes) row.errors.Add("sku", *sku, MaxLengthReason(kMaxIdBytes));
    }
    if (name) {
      row.item.name = std::string(*name);
      if (name->size() > kMaxTextBytes) row.errors.Add("product_name", *name, MaxLengthReason(kMaxTextBytes));
    }
    if (category) row.category = std::string(*category);
    if (quantity) {
      if (auto q = ParseQuantity(*quantity)) {
        row.item.quantity = *q;
      } else {
        row.errors.Add("quantity", *quantity, q.error().message());
      }
    }
    if (!row.unit_price_text) row.errors.Add("unit_price", "", "is required for a line item");
  }
  return row;
}

// The first row of an order that gave a field, for "differs from line N".
template <typename T>
struct FirstValue {
  std::optional<T> value;
  int line = 0;
};

template <typename T>
void Agree(FirstValue<T>& first, const std::optional<T>& value, OrderRow& row, const char* field,
           std::string_view excerpt_source) {
  if (!value) return;
  if (!first.value) {
    first.value = value;
    first.line = row.line;
  } else if (*first.value != *value) {
    row.errors.Add(field, excerpt_source, "differs from line " + std::to_string(first.line) + " of the same order");
  }
}

std::optional<std::string> NonEmpty(const std::string& s) {
  return s.empty() ? std::nullopt : std::optional<std::string>(s);
}

}  // namespace

const std::vector<std::string_view>& KnownTargets(ImportKind kind) {
  static const std::vector<std::string_view> kCustomer = {"external_id", "name", "email", "phone", "gender",
                                                          "birthday", "city", "country", "tags"};
  static const std::vector<std::string_view> kOrder = {
      "order_id", "customer_external_id", "customer_email", "customer_phone", "placed_at",
      "currency", "total", "status", "sku", "product_name", "category", "quantity", "unit_price"};
  return kind == ImportKind::kCustomers ? kCustomer : kOrder;
}

std::optional<size_t> ColumnMapping::ColumnOf(std::string_view target) const {
  for (const ColumnBinding& b : bindings) {
    if (b.target == target) return b.column;
  }
  return std::nullopt;
}

Result<ColumnMapping> ParseColumnMapping(std::string_view spec, ImportKind kind,
                                         const std::vector<std::string>& header) {
  std::string text(spec);
  for (size_t at = text.find("，"); at != std::string::npos; at = text.find("，")) text.replace(at, 3, ",");
  std::vector<FieldViolation> problems;
  auto problem = [&](std::string reason) { problems.push_back({"mapping", std::move(reason)}); };
  ColumnMapping mapping;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    std::string_view entry = TrimUtf8(std::string_view(text).substr(start, end - start));
    start = end + 1;
    if (entry.empty()) continue;
    size_t eq = entry.find('=');
    if (eq == std::string_view::npos) {
      problem("entry \"" + std::string(entry) + "\" is not target=source");
      continue;
    }
    std::string target(TrimUtf8(entry.substr(0, eq)));
    std::string source(TrimUtf8(entry.substr(eq + 1)));
    if (!IsTarget(kind, target)) {
      problem("unknown target field \"" + target + "\"");
      continue;
    }
    if (target.starts_with(kTraitsPrefix)) {
      size_t key_size = target.size() - kTraitsPrefix.size();
      if (key_size == 0 || key_size > kMaxTraitKeyBytes) {
        problem("target \"" + target + "\" needs a traits key of 1 to 64 bytes");
        continue;
      }
    }
    if (mapping.ColumnOf(target)) {
      problem("target field \"" + target + "\" is mapped twice");
      continue;
    }
    std::vector<size_t> columns = FindColumns(header, source);
    if (columns.empty()) {
      problem("source column \"" + source + "\" is not in the header");
      continue;
    }
    if (columns.size() > 1) {
      problem("source column \"" + source + "\" appears more than once in the header");
      continue;
    }
    mapping.bindings.push_back({std::move(target), std::move(source), columns[0]});
  }
  if (!problems.empty()) return MappingError(problems);
  if (mapping.bindings.empty()) return MappingError({{"mapping", "maps no columns"}});
  return mapping;
}

Result<ColumnMapping> IdentityColumnMapping(ImportKind kind, const std::vector<std::string>& header) {
  ColumnMapping mapping;
  for (size_t i = 0; i < header.size(); ++i) {
    std::string target;
    for (char c : header[i]) target.push_back(AsciiLower(c));
    if (target.starts_with(kTraitsPrefix)) target = std::string(kTraitsPrefix) + header[i].substr(kTraitsPrefix.size());
    if (!IsTarget(kind, target) || mapping.ColumnOf(target)) continue;
    if (target.starts_with(kTraitsPrefix) &&
        (target.size() == kTraitsPrefix.size() || target.size() > kTraitsPrefix.size() + kMaxTraitKeyBytes)) {
      continue;
    }
    mapping.bindings.push_back({std::move(target), header[i], i});
  }
  if (mapping.bindings.empty()) return MappingError({{"mapping", "no header column is a known target field"}});
  return mapping;
}

ImportParse<CustomerDraft> ParseCustomerRows(const CsvTable& table, const ColumnMapping& mapping,
                                             const RowOptions& options) {
  ImportParse<CustomerDraft> result;
  result.detected_encoding = table.detected_encoding;
  result.rows_total = table.rows.size();
  DuplicateTracker seen_external_id, seen_email, seen_phone;

  for (const CsvRecord& record : table.rows) {
    RowErrors errors(record.line);
    if (!CheckFieldCount(record, table.header.size(), errors)) {
      std::move(errors.errors().begin(), errors.errors().end(), std::back_inserter(result.errors));
      continue;
    }
    RowView cells(record, mapping);
    storage::CustomerRecord customer;

    auto text_field = [&](const char* field, std::string& out, size_t max) {
      if (auto v = cells.Cell(field)) {
        if (v->size() > max) {
          errors.Add(field, *v, MaxLengthReason(max));
        } else {
          out = std::string(*v);
        }
      }
    };
    if (auto v = cells.Cell("external_id")) {
      customer.external_id = NormalizeExternalId(*v);
      if (customer.external_id.size() > kMaxIdBytes) {
        errors.Add("external_id", *v, MaxLengthReason(kMaxIdBytes));
        customer.external_id.clear();
      }
    }
    text_field("name", customer.name, kMaxTextBytes);
    text_field("city", customer.city, kMaxTextBytes);
    if (auto v = cells.Cell("email")) {
      if (auto email = NormalizeEmail(*v)) {
        customer.email = *email;
      } else {
        errors.Add("email", *v, email.error());
      }
    }
    if (auto v = cells.Cell("phone")) {
      if (auto phone = NormalizePhone(*v, options.default_region)) {
        customer.phone = *phone;
      } else {
        errors.Add("phone", *v, phone.error());
      }
    }
    if (auto v = cells.Cell("gender")) {
      if (auto gender = NormalizeGender(*v)) {
        customer.gender = *gender;
      } else {
        errors.Add("gender", *v, gender.error());
      }
    }
    if (auto v = cells.Cell("birthday")) {
      if (auto date = NormalizeDate(*v, options.date_order)) {
        customer.birthday = *date;
      } else {
        errors.Add("birthday", *v, date.error());
      }
    }
    if (auto v = cells.Cell("country")) {
      if (auto country = NormalizeCountry(*v)) {
        customer.country = *country;
      } else {
        errors.Add("country", *v, country.error());
      }
    }
    if (auto v = cells.Cell("tags")) SplitTags(*v, customer.tags);

    std::string traits = "{";
    for (const ColumnBinding& binding : mapping.bindings) {
      if (!binding.target.starts_with(kTraitsPrefix)) continue;
      auto v = cells.Cell(binding.target);
      if (!v) continue;
      if (v->size() > kMaxTextBytes) {
        errors.Add(binding.target, *v, MaxLengthReason(kMaxTextBytes));
        continue;
      }
      if (traits.size() > 1) traits.push_back(',');
      AppendJsonString(traits, std::string_view(binding.target).substr(kTraitsPrefix.size()));
      traits.push_back(':');
      AppendJsonString(traits, *v);
    }
    traits.push_back('}');
    customer.traits_json = std::move(traits);

    if (customer.external_id.empty() && customer.email.empty() && customer.phone.empty() && errors.empty()) {
      errors.Add("", "", "needs at least one of external_id, email or phone");
    }
    // Keys are remembered even when this row has other errors: once the person fixes this row, the later
    // row would collide with it, so say so now rather than on the next attempt.
    auto check_duplicate = [&](DuplicateTracker& tracker, const char* field, const std::string& value) {
      if (value.empty()) return;
      if (auto first = tracker.Check(value, record.line)) {
        errors.Add(field, value, "duplicates line " + std::to_string(*first));
      }
    };
    check_duplicate(seen_external_id, "external_id", customer.external_id);
    check_duplicate(seen_email, "email", customer.email);
    check_duplicate(seen_phone, "phone", customer.phone);

    if (errors.empty()) {
      result.drafts.push_back({std::move(customer), record.line});
    } else {
      std::move(errors.errors().begin(), errors.errors().end(), std::back_inserter(result.errors));
    }
  }
  return result;
}

ImportParse<OrderDraft> ParseOrderRows(const CsvTable& table, const ColumnMapping& mapping,
                                       const RowOptions& options) {
  ImportParse<OrderDraft> result;
  result.detected_encoding = table.detected_encoding;
  result.rows_total = table.rows.size();

  // Pass 1: cell-level checks, and grouping by order id in order of first appearance.
  std::vector<OrderRow> rows;
  rows.reserve(table.rows.size());
  std::vector<std::vector<size_t>> groups;
  std::unordered_map<std::string, size_t> group_of;
  for (const CsvRecord& record : table.rows) {
    rows.push_back(ReadOrderRow(record, mapping, table.header.size(), options));
    const OrderRow& row = rows.back();
    if (row.order_id.empty()) continue;  // already an error; it cannot join an order
    auto [it, inserted] = group_of.emplace(row.order_id, groups.size());
    if (inserted) groups.emplace_back();
    groups[it->second].push_back(rows.size() - 1);
  }

  // Pass 2: order-level agreement, money (needs the currency), totals.
  std::optional<std::string> default_currency;
  if (!options.currency.empty()) {
    if (auto c = NormalizeCurrency(options.currency)) default_currency = *c;
  }
  for (const std::vector<size_t>& group : groups) {
    OrderRow& first_row = rows[group.front()];
    FirstValue<std::string> external_id, email, phone, currency, status;
    FirstValue<Timestamp> placed_at;
    for (size_t index : group) {
      OrderRow& row = rows[index];
      Agree(external_id, NonEmpty(row.ref.external_id), row, "customer_external_id", row.ref.external_id);
      Agree(email, NonEmpty(row.ref.email), row, "customer_email", row.ref.email);
      Agree(phone, NonEmpty(row.ref.phone), row, "customer_phone", row.ref.phone);
      Agree(placed_at, row.placed_at, row, "placed_at", "");
      Agree(currency, row.currency, row, "currency", row.currency.value_or(""));
      Agree(status, row.status, row, "status", row.status.value_or(""));
    }
    if (!external_id.value && !email.value && !phone.value) {
      first_row.errors.Add("customer_ref", "",
                           "customer reference is missing: fill customer_external_id, customer_email or "
                           "customer_phone");
    }
    if (!placed_at.value) first_row.errors.Add("placed_at", "", "is required");
    std::optional<std::string> order_currency = currency.value ? currency.value : default_currency;
    if (!order_currency) {
      first_row.errors.Add("currency", "", "is required: map a currency column or set a default currency");
    }

    OrderDraft draft;
    draft.first_line = first_row.line;
    FirstValue<int64_t> total;
    int64_t items_sum = 0;
    bool sum_overflow = false;
    for (size_t index : group) {
      OrderRow& row = rows[index];
      if (!order_currency) continue;
      if (row.total_text) {
        if (auto minor = DecimalStringToMinor(*row.total_text, *order_currency)) {
          Agree(total, std::optional<int64_t>(*minor), row, "total", *row.total_text);
        } else {
          row.errors.Add("total", *row.total_text, minor.error().message());
        }
      }
      if (row.has_item && row.unit_price_text) {
        auto minor = DecimalStringToMinor(*row.unit_price_text, *order_currency);
        if (!minor) {
          row.errors.Add("unit_price", *row.unit_price_text, minor.error().message());
        } else if (*minor < 0) {
          row.errors.Add("unit_price", *row.unit_price_text, "must not be negative");
        } else {
          row.item.unit_price_minor = *minor;
          int64_t line_total = 0;
          if (__builtin_mul_overflow(row.item.quantity, *minor, &line_total) ||
              __builtin_add_overflow(items_sum, line_total, &items_sum)) {
            sum_overflow = true;
          }
        }
      }
      if (row.has_item) {
        draft.order.items.push_back(row.item);
        draft.item_categories.push_back(row.category);
      }
    }
    if (order_currency && !total.value && draft.order.items.empty()) {
      first_row.errors.Add("total", "", "is required when the order has no line items");
    }
    if (sum_overflow && !total.value) first_row.errors.Add("total", "", "sum of the line items is out of range");

    bool group_ok = true;
    for (size_t index : group) group_ok = group_ok && rows[index].errors.empty();
    if (!group_ok) continue;
    draft.order.external_id = first_row.order_id;
    draft.order.placed_at = *placed_at.value;
    draft.order.total = Money{total.value.value_or(items_sum), *order_currency};
    if (status.value) draft.order.status = *status.value;
    draft.customer_ref = {external_id.value.value_or(""), email.value.value_or(""), phone.value.value_or("")};
    result.drafts.push_back(std::move(draft));
  }

  // Rows are in file order, so the report reads top to bottom.
  for (OrderRow& row : rows) {
    std::move(row.errors.errors().begin(), row.errors.errors().end(), std::back_inserter(result.errors));
  }
  return result;
}

}  // namespace panorama::ingest
