// The embedded SQLite backend of Store: one write connection (SQLite allows one writer) guarded by a mutex,
// and a small pool of read-only connections so reads proceed beside a write in WAL mode.

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include <spdlog/spdlog.h>

#include "storage/field_crypto.h"
#include "storage/migrations/sqlite_migrations.h"
#include "storage/sqlite/sqlite_db.h"
#include "storage/store.h"

namespace panorama::storage {
namespace {

using sqlite::Connection;
using sqlite::Statement;

// An API key's allowlist as one comma-separated column (CIDRs never contain commas; validated upstream).
std::string JoinCidrs(const std::vector<std::string>& cidrs) {
  std::string out;
  for (const auto& c : cidrs) {
    if (!out.empty()) out += ',';
    out += c;
  }
  return out;
}

std::vector<std::string> SplitCidrs(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view part = text.substr(0, comma);
    if (!part.empty()) out.emplace_back(part);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

// Tags are kept as a JSON array of strings so SQLite's json_each can filter on them.
std::string TagsToJson(const std::vector<std::string>& tags) {
  std::string out = "[";
  for (size_t i = 0; i < tags.size(); ++i) {
    if (i) out += ',';
    out += '"';
    for (char c : tags[i]) {
      if (c == '"' || c == '\\') {
        out += '\\';
        out += c;
      } else if (static_cast<unsigned char>(c) < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", c);
        out += buf;
      } else {
        out += c;
      }
    }
    out += '"';
  }
  return out + "]";
}

// Reads back only what TagsToJson writes (a flat array of strings); hand-written to keep JSON libraries out of
// the storage layer.
std::vector<std::string> TagsFromJson(const std::string& json) {
  std::vector<std::string> tags;
  size_t i = 0;
  while (i < json.size()) {
    if (json[i] != '"') {
      ++i;
      continue;
    }
    std::string tag;
    for (++i; i < json.size() && json[i] != '"'; ++i) {
      if (json[i] == '\\' && i + 1 < json.size()) {
        ++i;
        if (json[i] == 'u' && i + 4 < json.size()) {
          tag += static_cast<char>(std::stoi(json.substr(i + 1, 4), nullptr, 16));
          i += 4;
          continue;
        }
      }
      tag += json[i];
    }
    ++i;
    tags.push_back(std::move(tag));
  }
  return tags;
}

constexpr const char* kCustomerColumns =
    "id, name, email, phone, gender, birthday, city, country, tags, traits, external_id, created_at, "
    "updated_at, merged_into, address, owner_id, team_id";

// The ownership condition of a RecordScope; binds the user id then the team id (NULL matches nothing).
constexpr const char* kScopeCondition = "(owner_id = ? OR team_id = ?)";

void BindScope(Statement& s, int index, const RecordScope& scope) {
  s.Bind(index, scope.user.value());
  if (scope.team) {
    s.Bind(index + 1, scope.team->value());
  } else {
    s.BindNull(index + 1);
  }
}

template <typename Id>
void BindOptionalId(Statement& s, int index, const std::optional<Id>& id) {
  if (id) {
    s.Bind(index, id->value());
  } else {
    s.BindNull(index);
  }
}

// Normalisation before blind indexing: equal after normalising, equal index. ASCII case is folded and white
// space (incl. U+3000) removed; CJK text is compared as is (no NFKC here: the ingest normalisers run first).
std::string NormalizeName(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') continue;
    if (c == 0xE3 && i + 2 < text.size() && static_cast<unsigned char>(text[i + 1]) == 0x80 &&
        static_cast<unsigned char>(text[i + 2]) == 0x80) {
      i += 2;
      continue;
    }
    out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : static_cast<char>(c);
  }
  return out;
}

std::string NormalizeEmail(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  std::string out(text);
  for (char& c : out) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  return out;
}

// Surname for the surname index: the last word of a Latin name with spaces ("Jane Doe" → "doe"), the first
// character of a name written without spaces in CJK ("王小明" → "王"; compound surnames such as 欧阳 are found
// by their first character only — a documented limitation), else the whole name.
std::string Surname(std::string_view name) {
  while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
  while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
  if (name.empty()) return "";
  if (size_t space = name.rfind(' '); space != std::string_view::npos) return NormalizeName(name.substr(space + 1));
  unsigned char c = static_cast<unsigned char>(name[0]);
  if (c >= 0x80) {
    size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    return std::string(name.substr(0, std::min(len, name.size())));
  }
  return NormalizeName(name);
}

std::string PhoneLast4(std::string_view phone) {
  std::string digits;
  for (char c : phone) {
    if (c >= '0' && c <= '9') digits += c;
  }
  return digits.size() >= 4 ? digits.substr(digits.size() - 4) : "";
}

std::string IdentityKey(std::string_view type, std::string_view value) {
  return std::string(type) + '\x1f' + std::string(value);
}

// Seals/opens the fields of one row: the AD names the table, column, row and subject (FieldRef).
class RowCipher {
 public:
  RowCipher(FieldCrypto& crypto, std::string_view table, int64_t row, CustomerId subject)
      : crypto_(crypto), table_(table), row_(row), subject_(subject) {}
  Result<std::string> Seal(std::string_view column, std::string_view plain) {
    return crypto_.Seal({table_, column, row_, subject_}, plain);
  }
  Result<std::string> Open(std::string_view column, std::string_view envelope) {
    return crypto_.Open({table_, column, row_, subject_}, envelope);
  }

 private:
  FieldCrypto& crypto_;
  std::string_view table_;
  int64_t row_;
  CustomerId subject_;
};

Result<CustomerRecord> ReadCustomer(const Statement& s, FieldCrypto& crypto) {
  CustomerRecord c;
  c.id = CustomerId(s.Int(0));
  RowCipher row(crypto, "customers", c.id.value(), c.id);
  ASSIGN_OR_RETURN(c.name, row.Open("name", s.Blob(1)));
  ASSIGN_OR_RETURN(c.email, row.Open("email", s.Blob(2)));
  ASSIGN_OR_RETURN(c.phone, row.Open("phone", s.Blob(3)));
  c.gender = s.Text(4);
  ASSIGN_OR_RETURN(c.birthday, row.Open("birthday", s.Blob(5)));
  c.city = s.Text(6);
  c.country = s.Text(7);
  c.tags = TagsFromJson(s.Text(8));
  ASSIGN_OR_RETURN(c.traits_json, row.Open("traits", s.Blob(9)));
  if (c.traits_json.empty()) c.traits_json = "{}";
  ASSIGN_OR_RETURN(c.external_id, row.Open("external_id", s.Blob(10)));
  c.created_at = FromUnixMillis(s.Int(11));
  c.updated_at = FromUnixMillis(s.Int(12));
  if (auto m = s.OptInt(13)) c.merged_into = CustomerId(*m);
  ASSIGN_OR_RETURN(c.address, row.Open("address", s.Blob(14)));
  if (auto owner = s.OptInt(15)) c.owner = UserId(*owner);
  if (auto team = s.OptInt(16)) c.team = TeamId(*team);
  return c;
}

Result<CustomerRecord> GetCustomerOn(Connection& db, FieldCrypto& crypto, CustomerId id) {
  ASSIGN_OR_RETURN(Statement s, db.Prepare(std::string("SELECT ") + kCustomerColumns +
                                           " FROM customers WHERE id = ?"));
  s.Bind(1, id.value());
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return Error::NotFound("customer " + id.ToString() + " not found");
  return ReadCustomer(s, crypto);
}

// Candidates by blind index, confirmed by decryption: an 8-byte index collision never resolves to the wrong
// customer.
Result<std::optional<CustomerId>> FindIdentityOn(Connection& db, FieldCrypto& crypto, std::string_view type,
                                                 std::string_view value) {
  ASSIGN_OR_RETURN(Statement s, db.Prepare("SELECT id, customer_id, value FROM identities WHERE type = ? AND bidx = ?"));
  s.Bind(1, type).BindBlob(2, crypto.BlindIndex(BlindField::kIdentity, IdentityKey(type, value)));
  while (true) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return std::optional<CustomerId>();
    CustomerId owner(s.Int(1));
    ASSIGN_OR_RETURN(std::string plain, RowCipher(crypto, "identities", s.Int(0), owner).Open("value", s.Blob(2)));
    if (plain == value) return std::optional<CustomerId>(owner);
  }
}

Result<std::vector<IdentityRecord>> ListIdentitiesOn(Connection& db, FieldCrypto& crypto, CustomerId id) {
  ASSIGN_OR_RETURN(Statement s, db.Prepare(
      "SELECT id, type, value, customer_id, first_seen FROM identities WHERE customer_id = ?"));
  s.Bind(1, id.value());
  ASSIGN_OR_RETURN(std::vector<IdentityRecord> out, CollectRows(s, [&]() -> Result<IdentityRecord> {
    CustomerId owner(s.Int(3));
    ASSIGN_OR_RETURN(std::string value, RowCipher(crypto, "identities", s.Int(0), owner).Open("value", s.Blob(2)));
    return IdentityRecord{s.Text(1), std::move(value), owner, FromUnixMillis(s.Int(4))};
  }));
  std::sort(out.begin(), out.end(), [](const IdentityRecord& a, const IdentityRecord& b) {
    return std::tie(a.first_seen, a.type, a.value) < std::tie(b.first_seen, b.type, b.value);
  });
  return out;
}

Result<EventRecord> ReadEvent(const Statement& s, FieldCrypto& crypto) {
  EventRecord e;
  e.id = EventId(s.Int(0));
  e.customer = CustomerId(s.Int(1));
  e.message_id = s.Text(2);
  e.type = s.Text(3);
  e.name = s.Text(4);
  e.anonymous_id = s.Text(5);
  e.user_id = s.Text(6);
  e.properties_json = s.Text(7);
  e.context_json = s.Text(8);
  e.timestamp = FromUnixMillis(s.Int(9));
  if (auto sent = s.OptInt(10)) e.sent_at = FromUnixMillis(*sent);
  e.received_at = FromUnixMillis(s.Int(11));
  if (s.ColumnType(12) != SQLITE_NULL) {
    RowCipher cipher(crypto, "events", e.id.value(), e.customer);
    ASSIGN_OR_RETURN(e.personal_json, cipher.Open("personal", s.Blob(12)));
  }
  return e;
}

Result<InteractionRecord> ReadInteraction(const Statement& s, FieldCrypto& crypto) {
  InteractionRecord i;
  i.id = InteractionId(s.Int(0));
  i.customer = CustomerId(s.Int(1));
  i.kind = s.Text(2);
  RowCipher row(crypto, "interactions", i.id.value(), i.customer);
  ASSIGN_OR_RETURN(i.subject, row.Open("subject", s.Blob(3)));
  ASSIGN_OR_RETURN(i.body, row.Open("body", s.Blob(4)));
  i.direction = s.Text(5);
  i.occurred_at = FromUnixMillis(s.Int(6));
  if (auto author = s.OptInt(7)) i.author = UserId(*author);
  return i;
}

Result<std::vector<OrderItemRecord>> ItemsOf(Connection& db, int64_t order_id) {
  ASSIGN_OR_RETURN(Statement s, db.Prepare("SELECT product_id, sku, name, quantity, unit_price_minor "
                                           "FROM order_items WHERE order_id = ? ORDER BY line"));
  s.Bind(1, order_id);
  return CollectRows(s, [&] {
    OrderItemRecord item;
    if (auto p = s.OptInt(0)) item.product = ProductId(*p);
    item.sku = s.Text(1);
    item.name = s.Text(2);
    item.quantity = s.Int(3);
    item.unit_price_minor = s.Int(4);
    return item;
  });
}

constexpr const char* kOrderColumns =
    "id, customer_id, external_id, total_minor, currency, total_base_minor, status, placed_at";

Result<OrderRecord> ReadOrder(Connection& db, const Statement& s) {
  OrderRecord o;
  o.id = OrderId(s.Int(0));
  o.customer = CustomerId(s.Int(1));
  o.external_id = s.Text(2);
  o.total = Money{s.Int(3), s.Text(4)};
  o.total_base_minor = s.Int(5);
  o.status = s.Text(6);
  o.placed_at = FromUnixMillis(s.Int(7));
  ASSIGN_OR_RETURN(o.items, ItemsOf(db, o.id.value()));
  return o;
}

std::string Placeholders(size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += i ? ",?" : "?";
  return out;
}

// --- privacy ---

constexpr const char* kConsentColumns =
    "id, customer_id, purpose, channel, granted, lawful_basis, source, policy_version, text_sha256, actor, at";

ConsentRecord ReadConsent(const Statement& s) {
  ConsentRecord c;
  c.id = s.Int(0);
  c.customer = CustomerId(s.Int(1));
  c.purpose = s.Text(2);
  c.channel = s.Text(3);
  c.granted = s.Int(4) != 0;
  c.lawful_basis = s.Text(5);
  c.source = s.Text(6);
  c.policy_version = s.Text(7);
  c.text_sha256 = s.Text(8);
  c.actor = s.Text(9);
  c.at = FromUnixMillis(s.Int(10));
  return c;
}

constexpr const char* kRequestColumns =
    "id, customer_id, kind, jurisdiction, status, received_at, due_at, completed_at, note, result, verification,"
    " verification_method, verified_by, verified_at, scheduled_for";

PrivacyRequestRecord ReadRequest(const Statement& s) {
  PrivacyRequestRecord r;
  r.id = s.Int(0);
  r.customer = CustomerId(s.Int(1));
  r.kind = s.Text(2);
  r.jurisdiction = s.Text(3);
  r.status = s.Text(4);
  r.received_at = FromUnixMillis(s.Int(5));
  r.due_at = FromUnixMillis(s.Int(6));
  if (auto c = s.OptInt(7)) r.completed_at = FromUnixMillis(*c);
  r.note = s.Text(8);
  r.result_json = s.Text(9);
  r.verification = s.Text(10);
  r.verification_method = s.Text(11);
  r.verified_by = s.Text(12);
  if (auto v = s.OptInt(13)) r.verified_at = FromUnixMillis(*v);
  if (auto v = s.OptInt(14)) r.scheduled_for = FromUnixMillis(*v);
  return r;
}

void BindOptionalTime(Statement& s, int index, const std::optional<Timestamp>& t) {
  if (t) {
    s.Bind(index, ToUnixMillis(*t));
  } else {
    s.BindNull(index);
  }
}

constexpr const char* kCodeColumns =
    "request_id, customer_id, channel, code_hash, expires_at, attempts, used_at, created_at";

VerificationCodeRecord ReadCode(const Statement& s) {
  VerificationCodeRecord c;
  c.request_id = s.Int(0);
  c.customer = CustomerId(s.Int(1));
  c.channel = s.Text(2);
  c.code_hash = s.Text(3);
  c.expires_at = FromUnixMillis(s.Int(4));
  c.attempts = static_cast<int>(s.Int(5));
  if (auto u = s.OptInt(6)) c.used_at = FromUnixMillis(*u);
  c.created_at = FromUnixMillis(s.Int(7));
  return c;
}

// The four verification columns from parameter `first` on.
void BindVerification(Statement& s, int first, const PrivacyRequestRecord& r) {
  s.Bind(first, r.verification).Bind(first + 1, r.verification_method).Bind(first + 2, r.verified_by);
  if (r.verified_at) {
    s.Bind(first + 3, ToUnixMillis(*r.verified_at));
  } else {
    s.BindNull(first + 3);
  }
}

// Identifier quoting for table names read from sqlite_master (never from a request).
std::string QuoteIdent(const std::string& name) {
  std::string out = "\"";
  for (char c : name) {
    out += c;
    if (c == '"') out += '"';
  }
  return out + "\"";
}

// The schema walker: every table with a customer_id column, except `erasures` — the tombstones of erased
// subjects, which must outlive them (a restored keystore gets them re-applied) and hold nothing else.
Result<std::vector<std::string>> SubjectTablesOn(Connection& db) {
  ASSIGN_OR_RETURN(Statement s, db.Prepare(
      "SELECT m.name FROM sqlite_master m JOIN pragma_table_info(m.name) p"
      " WHERE m.type = 'table' AND p.name = 'customer_id' AND m.name <> 'erasures' ORDER BY m.name"));
  return CollectRows(s, [&] { return s.Text(0); });
}

// The customer row itself and the records merged into it: one person.
Result<std::vector<int64_t>> SubjectIdsOn(Connection& db, CustomerId id) {
  ASSIGN_OR_RETURN(Statement s, db.Prepare("SELECT id FROM customers WHERE id = ?1 OR merged_into = ?1 ORDER BY id"));
  s.Bind(1, id.value());
  return CollectRows(s, [&] { return s.Int(0); });
}

// The columns that hold AEAD envelopes (SECURITY.md §2.3), decrypted for the data subject's export.
bool IsEncryptedColumn(std::string_view table, std::string_view column) {
  if (table == "customers") {
    return column == "name" || column == "email" || column == "phone" || column == "birthday" ||
           column == "traits" || column == "external_id" || column == "address";
  }
  if (table == "identities") return column == "value";
  if (table == "interactions") return column == "subject" || column == "body";
  if (table == "events") return column == "personal";
  return false;
}

Result<SubjectTable> DumpRowsOn(Connection& db, FieldCrypto& crypto, const std::string& table, const std::string& where,
                                const std::vector<int64_t>& ids) {
  SubjectTable out;
  out.table = table;
  // Not cached: the statement text varies with the number of ids.
  std::string in = "(" + Placeholders(std::max<size_t>(ids.size(), 1)) + ")";
  std::string cond = where;
  for (size_t pos; (pos = cond.find("IN ?")) != std::string::npos;) cond.replace(pos, 4, "IN " + in);
  ASSIGN_OR_RETURN(Statement s, db.Prepare("SELECT * FROM " + QuoteIdent(table) + " WHERE " + cond));
  int n = static_cast<int>(ids.size());
  int params = static_cast<int>(std::count(where.begin(), where.end(), '?'));
  for (int p = 0; p < params; ++p) {
    for (int i = 0; i < std::max(n, 1); ++i) s.Bind(p * std::max(n, 1) + i + 1, n ? ids[i] : int64_t{0});
  }
  // Blind-index columns are keyed hashes for lookups, not data about the person: left out of the export.
  std::vector<int> kept;
  int id_col = -1, subject_col = -1;
  for (int c = 0; c < s.ColumnCount(); ++c) {
    std::string name = s.ColumnName(c);
    if (name == "id") id_col = c;
    if (name == "customer_id") subject_col = c;
    if (name == "bidx" || name.starts_with("bidx_")) continue;
    kept.push_back(c);
    out.columns.push_back(std::move(name));
  }
  std::optional<Error> failed;
  RETURN_IF_ERROR(ForEachRow(s, [&] {
    if (failed) return;
    std::vector<SubjectValue> row;
    int64_t row_id = id_col >= 0 ? s.Int(id_col) : 0;
    CustomerId subject(table == "customers" ? row_id : subject_col >= 0 ? s.Int(subject_col) : 0);
    for (int c : kept) {
      if (IsEncryptedColumn(table, s.ColumnName(c)) && s.ColumnType(c) != SQLITE_NULL) {
        auto plain = RowCipher(crypto, table, row_id, subject).Open(s.ColumnName(c), s.Blob(c));
        if (!plain) {
          failed = std::move(plain.error());
          return;
        }
        row.emplace_back(std::move(*plain));
        continue;
      }
      switch (s.ColumnType(c)) {
        case SQLITE_NULL: row.emplace_back(std::monostate{}); break;
        case SQLITE_INTEGER: row.emplace_back(s.Int(c)); break;
        case SQLITE_FLOAT: row.emplace_back(s.Double(c)); break;
        default: row.emplace_back(s.Text(c)); break;
      }
    }
    out.rows.push_back(std::move(row));
  }));
  if (failed) return *failed;
  return out;
}

constexpr const char* kSegmentColumns =
    "id, name, description, rule, created_by, created_at, updated_at, evaluated_at, size";

SegmentRecord ReadSegment(const Statement& s) {
  SegmentRecord r;
  r.id = SegmentId(s.Int(0));
  r.name = s.Text(1);
  r.description = s.Text(2);
  r.rule = s.Text(3);
  r.created_by = s.Text(4);
  r.created_at = FromUnixMillis(s.Int(5));
  r.updated_at = FromUnixMillis(s.Int(6));
  if (auto at = s.OptInt(7)) r.evaluated_at = FromUnixMillis(*at);
  r.size = s.Int(8);
  return r;
}

class SqliteWriteTxn final : public WriteTxn {
 public:
  SqliteWriteTxn(Connection& db, FieldCrypto& crypto) : db_(db), crypto_(crypto) {}

  // WriteTxn
  Result<CustomerId> InsertCustomer(const CustomerRecord& c) override {
    // The id is chosen before the insert because it is part of every field's associated data. Erased ids are
    // never handed out again (their data keys are tombstoned).
    ASSIGN_OR_RETURN(Statement next, db_.Prepare(
        "SELECT max(coalesce((SELECT max(id) FROM customers), 0), coalesce((SELECT max(customer_id) FROM erasures), 0))"
        " + 1"));
    ASSIGN_OR_RETURN(bool row, next.Step());
    (void)row;
    int64_t id = next.Int(0);
    ASSIGN_OR_RETURN(Statement s, db_.Prepare(
        "INSERT INTO customers (id, name, email, phone, gender, birthday, city, country, tags, traits, external_id,"
        " created_at, updated_at, merged_into, address, birth_md, bidx_email, bidx_phone, bidx_phone4, bidx_name,"
        " bidx_surname, bidx_external_id, owner_id, team_id) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,"
        "NULL,?14,?15,?16,?17,?18,?19,?20,?21,?22,?23)"));
    RETURN_IF_ERROR(BindCustomer(s, c, id));
    BindOptionalId(s, 22, c.owner);
    BindOptionalId(s, 23, c.team);
    RETURN_IF_ERROR(s.Run());
    return CustomerId(id);
  }

  Result<void> UpdateCustomer(const CustomerRecord& c) override {
    ASSIGN_OR_RETURN(Statement s, db_.Prepare(
        "UPDATE customers SET name=?2, email=?3, phone=?4, gender=?5, birthday=?6, city=?7, country=?8, tags=?9,"
        " traits=?10, external_id=?11, created_at=?12, updated_at=?13, address=?14, birth_md=?15, bidx_email=?16,"
        " bidx_phone=?17, bidx_phone4=?18, bidx_name=?19, bidx_surname=?20, bidx_external_id=?21, owner_id=?22,"
        " team_id=?23 WHERE id=?1"));
    RETURN_IF_ERROR(BindCustomer(s, c, c.id.value()));
    BindOptionalId(s, 22, c.owner);
    BindOptionalId(s, 23, c.team);
    return RunOnOneRow(s, "customer " + c.id.ToString());
  }

  Result<void> DeleteCustomer(CustomerId id) override {
    ErasureReport ignored;
    RETURN_IF_ERROR(DeleteOwnedRows(id, ignored));
    ASSIGN_OR_RETURN(Statement s, db_.Prepare("DELETE FROM customers WHERE id = ?"));
    s.Bind(1, id.value());
    return RunOnOneRow(s, "customer " + id.ToString());
  }

  Result<ErasureReport> EraseCustomer(CustomerId id) override {
    ErasureReport report;
    report.customer = id;
    {
      ASSIGN_OR_RETURN(Statement s, db_.Prepare("SELECT 1 FROM erasures WHERE customer_id = ?"));
      s.Bind(1, id.value());
      ASSIGN_OR_RETURN(bool erased, s.Step());
      if (erased) {
        report.already_erased = true;
        return report;
      }
    }
    {
      ASSIGN_OR_RETURN(Statement s, db_.Prepare("SELECT id FROM customers WHERE id = ?1 OR merged_into = ?1 ORDER BY id"));
      s.Bind(1, id.value());
      RETURN_IF_ERROR(ForEachRow(s, [&] { report.shredded.push_back(CustomerId(s.Int(0))); }));
    }
    if (std::find(report.shredded.begin(), report.shredded.end(), id) == report.shredded.end()) {
      return Error::NotFound("customer " + id.ToString() + " not found");
    }
    // Keys first, durably: from here on the rows are unreadable even if the deletes below never commit, and
    // in every backup of the database.
    for (CustomerId subject : report.shredded) RETURN_IF_ERROR(crypto_.Shred(subject));
    for (CustomerId subject : report.shredded) RETURN_IF_ERROR(ForgetSubject(subject, report));
    return report;
  }

  // Deletes everything of an already shredded subject and records the erasure (also used by the start-up
  // reconciliation with the keystore).
  Result<void> ForgetSubject(CustomerId subject, ErasureReport& report) {
    RETURN_IF_ERROR(DeleteOwnedRows(subject, report));
    ASSIGN_OR_RETURN(Statement s, db_.Prepare("DELETE FROM customers WHERE id = ?"));
    s.Bind(1, subject.value());
    RETURN_IF_ERROR(s.Run());
    report.customers += db_.Changes();
    ASSIGN_OR_RETURN(Statement r, db_.Prepare("INSERT OR IGNORE INTO erasures (customer_id, erased_at) VALUES (?, ?)"));
    r.Bind(1, subject.value()).Bind(2, ToUnixMillis(SystemClock().Now()));
    return r.Run();
  }

  // Re-encrypts the customer's rows under its current data key version (after NewKeyVersion).
  Result<void> ResealCustomer(CustomerId id) {
    ASSIGN_OR_RETURN(CustomerRecord c, GetCustomerOn(db_, crypto_, id));
    RETURN_IF_ERROR(UpdateCustomer(c));
    return MoveEncryptedRows(id, id);
  }

  Result<CustomerRecord> GetCustomer(CustomerId id) override { return GetCustomerOn(db_, crypto_, id); }

  Result<std::optional<CustomerId>> FindIdentity(std::string_view type, std::string_view value) override {
    return FindIdentityOn(db_, crypto_, type, value);
  }

  Result<std::vector<IdentityRecord>> ListIdentities(CustomerId id) override {
    return ListIdentitiesOn(db_, crypto_, id);
  }

  Result<void> AddIdentity(const IdentityRecord& identity) override {
    ASSIGN_OR_RETURN(auto existing, FindIdentityOn(db_, crypto_, identity.type, identity.value));
    if (existing) {
      if (*existing == identity.customer) return Ok();
      return Error::AlreadyExists(identity.type + " identity belongs to customer " + existing->ToString());
    }
    ASSIGN_OR_RETURN(int64_t id, NextId("identities"));
    ASSIGN_OR_RETURN(std::string value,
                     RowCipher(crypto_, "identities", id, identity.customer).Seal("value", identity.value));
    ASSIGN_OR_RETURN(Statement s, db_.Prepare(
        "INSERT INTO identities (id, type, bidx, value, customer_id, first_seen) VALUES (?,?,?,?,?,?)"));
    s.Bind(1, id).Bind(2, identity.type);
    s.BindBlob(3, crypto_.BlindIndex(BlindField::kIdentity, IdentityKey(identity.type, identity.value)));
    s.BindBlob(4, value).Bind(5, identity.customer.value()).Bind(6, ToUnixMillis(identity.first_seen));
    return s.Run();
  }

  Result<void> MergeCustomers(const MergeRecord& m) override {
    if (m.from == m.into) return Error::InvalidArgument("cannot merge a customer into itself");
    // Encrypted rows change owner, so they are re-encrypted under the survivor's data key (erasing the survivor
    // must make them unreadable too).
    RETURN_IF_ERROR(MoveEncryptedRows(m.from, m.into));
    static constexpr const char* kMove[] = {
        "UPDATE events SET customer_id = ?1 WHERE customer_id = ?2",
        "UPDATE orders SET customer_id = ?1 WHERE customer_id = ?2",
        "UPDATE order_items SET customer_id = ?1 WHERE customer_id = ?2",
        // Consents and requests belong to the person, so they follow the survivor; its own flags win.
        "UPDATE consents SET customer_id = ?1 WHERE customer_id = ?2",
        "UPDATE privacy_requests SET customer_id = ?1 WHERE customer_id = ?2",
        "UPDATE OR IGNORE privacy_flags SET customer_id = ?1 WHERE customer_id = ?2",
        "DELETE FROM privacy_flags WHERE customer_id = ?2",
        // Earlier merges into `from` now point at the survivor, so lineage lookups need one hop.
        "UPDATE customers SET merged_into = ?1 WHERE merged_into = ?2",
        "UPDATE customers SET merged_into = ?1 WHERE id = ?2"};
    for (const char* sql : kMove) {
      ASSIGN_OR_RETURN(Statement s, db_.Prepare(sql));
      s.Bind(1, m.into.value()).Bind(2, m.from.value());
      RETURN_IF_ERROR(s.Run());
    }
    ASSIGN_OR_RETURN(Statement s, db_.Prepare(
        "INSERT INTO merges (from_customer, into_customer, reason, at) VALUES (?,?,?,?)"));
    s.Bind(1, m.from.value()).Bind(2, m.into.value()).Bind(3, m.reason).Bind(4, ToUnixMillis(m.at));
    return s.Run();
  }

  Result<EventId> InsertEvent(const EventRecord& e) override {
    // Personal property values are sealed with the row id in the AD, so the id is chosen before the insert.
    std::optional<int64_t> id;
    std::string personal;
    if (!e.personal_json.empty()) {
      ASSIGN_OR_RETURN(id, NextId("events"));
      ASSIGN_OR_RETURN(personal, RowCipher(crypto_, "events", *id, e.customer).Seal("personal", e.personal_json));
    }
    ASSIGN_OR_RETURN(Statement s, db_.Prepare(
        "INSERT INTO events (customer_id, message_id, type, name, anonymous_id, user_id, properties, context,"
        " ts, sent_at, received_at, personal, id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"));
    if (id) {
      s.BindBlob(12, personal).Bind(13, *id);
    } else {
      s.BindNull(12).BindNull(13);
    }
    s.Bind(1, e.customer.value()).Bind(2, e.message_id).Bind(3, e.type).Bind(4, e.name);
    s.Bind(5, e.anonymous_id).Bind(6, e.user_id).Bind(7, e.properties_json).Bind(8, e.context_json);
    s.Bind(9, ToUnixMillis(e.timestamp));
    if (e.sent_at) {
      s.Bind(10, ToUnixMillis(*e.sent_at));
    } else {
      s.BindNull(10);
    }
    s.Bind(11, ToUnixMillis(e.received_at));
    RETURN_IF_ERROR(s.Run());
    return EventId(db_.LastInsertId());
  }

  Result<ProductId> UpsertProduct(const ProductRecord& p) override {
    ASSIGN_OR_RETURN(Statement s, db_.Prepare(
        "INSERT INTO products (sku, name, category, price_minor, currency) VALUES (?,?,?,?,?)"
        " ON CONFLICT(sku) DO UPDATE SET name = excluded.name, category = excluded.category,"
        " price_minor = excluded.price_minor, currency = excluded.currency RETURNING id"));
    s.Bind(1, p.sku).Bind(2, p.name).Bind(3, p.category).Bind(4, p.price.minor).Bind(5, p.price.currency);
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return Error::Internal("product upsert returned no id");
    return ProductId(s.Int(0));
  }

  Result<std::optional<ProductId>> FindProductBySku(std::string_view sku) override {
    return FindIdBy<ProductId>("SELECT id FROM products WHERE sku = ?", sku);
  }

  Result<OrderId> InsertOrder(const OrderRecord& o) override {
    ASSIGN_OR_RETURN(Statement s, db_.Prepare(
        "INSERT INTO orders (customer_id, external_id, total_minor, currency, total_base_minor, status,"
        " placed_at) VALUES (?,?,?,?,?,?,?)"));
    s.Bind(1, o.customer.value()).Bind(2, o.external_id).Bind(3, o.total.minor).Bind(4, o.total.currency);
    s.Bind(5, o.total_base_minor).Bind(6, o.status).Bind(7, ToUnixMillis(o.placed_at));
    auto inserted = s.Run();
    if (!inserted) {
      if (inserted.error().code() == ErrorCode::kAlreadyExists) {
        return Error::AlreadyExists("order " + o.external_id + " already exists");
      }
      return std::move(inserted.error());
    }
    int64_t id = db_.LastInsertId();
    int line = 0;
    for (const auto& item : o.items) {
      ASSIGN_OR_RETURN(Statement si, db_.Prepare(
          "INSERT INTO order_items (order_id, line, customer_id, product_id, sku, name, quantity,"
          " unit_price_minor) VALUES (?,?,?,?,?,?,?,?)"));
      si.Bind(1, id).Bind(2, ++line).Bind(3, o.customer.value());
      if (item.product) {
        si.Bind(4, item.product->value());
      } else {
        si.BindNull(4);
      }
      si.Bind(5, item.sku).Bind(6, item.name).Bind(7, item.quantity).Bind(8, item.unit_price_minor);
      RETURN_IF_ERROR(si.Run());
    }
    return OrderId(id);
  }

  Result<std::optional<OrderId>> FindOrderByExternalId(std::string_view external_id) override {
    return FindIdBy<OrderId>("SELECT id FROM orders WHERE external_id = ?", external_id);
  }

  Result<InteractionId> InsertInteraction(const InteractionRecord& i) override {
    ASSIGN_OR_RETURN(int64_t id, NextId("interactions"));
    RowCipher row(crypto_, "interactions", id, i.customer);
    ASSIGN_OR_RETURN(std::string subject, row.Seal("subject", i.subject));
    ASSIGN_OR_RETURN(std::string body, row.Seal("body", i.body));
    ASSIGN_OR_RETURN(Statement s, db_.Prepare(
        "INSERT INTO interactions (id, customer_id, kind, subject, body, direction, occurred_at, author_id)"
        " VALUES (?,?,?,?,?,?,?,?)"));
    s.Bind(1, id).Bind(2, i.customer.value()).Bind(3, i.kind).BindBlob(4, subject).BindBlob(5, body);
    s.Bind(6, i.direction).Bind(7, ToUnixMillis(i.occurred_at));
    if (i.author) {
      s.Bind(8, i.author->value());
    } else {
      s.BindNull(8);
    }
    RETURN_IF_ERROR(s.Run());
    return InteractionId(id);
  }

  Result<UserId> InsertUser(const UserRecord& u) override {
    ASSIGN_OR_RETURN(Statement s, db_.Prepare(
        "INSERT INTO users (username, password_hash, role, display_name, created_at, disabled)"
        " VALUES (?,?,?,?,?,?)"));
    s.Bind(1, u.username).Bind(2, u.password_hash).Bind(3, u.role).Bind(4, u.display_name);
    s.Bind(5, ToUnixMillis(u.created_at)).Bind(6, u.disabled ? 1 : 0);
    auto inserted = s.Run();
    if (!inserted) {
      if (inserted.error().code() == ErrorCode::kAlreadyExists) {
        return Error::AlreadyExists("user " + u.username + " already exists");
      }
      return std::move(inserted.error());
    }
    return UserId(db_.LastInsertId());
  }

  Result<void> UpdateUser(const UserRecord& u) override {
    ASSIGN_OR_RETURN(Statement s, db_.Prepare(
        "UPDATE users SET password_hash=?, role=?, display_name=?, disabled=? WHERE id=?"));
    s.Bind(1, u.password_hash).Bind(2, u.role).Bind(3, u.display_name).Bind(4, u.disabled ? 1 : 0);
    s.Bind(5, u.id.value());
    return RunOnOneRow(s, "user " + u.id.ToString());
  }

  Result<ApiKeyId> InsertApiKey(const ApiKeyRecord& k) override {
    ASSIGN_OR_RETURN(Statement s, db_.Prepare(
        "INSERT INTO api_keys (name, kind, scope, prefix, secret_sha256, owner_id, created_at, revoked, expires_at,"
        " allowed_cidrs) VALUES (?,?,?,?,?,?,?,0,?,?)"));
    s.Bind(1, k.name).Bind(2, k.kind).Bind(3, k.scope).Bind(4, k.prefix).Bind(5, k.secret_sha256);
    if (k.owner) {
      s.Bind(6, k.owner->value());
    } else {
      s.BindNull(6);
    }
    s.Bind(7, ToUnixMillis(k.created_at));
    if (k.expires_at) {
      s.Bind(8, ToUnixMillis(*k.expires_at));
    } else {
      s.BindNull(8);
    }
    s.Bind(9, JoinCidrs(k.allowed_cidrs));
    RETURN_IF_ERROR(s.Run());
    return ApiKeyId(db_.LastInsertId());
  }

  Result<void> SetApiKeyAllowedCidrs(ApiKeyId id, const std::vector<std::string>& cidrs) override {
    ASSIGN_OR_RETURN(Statement s, db_.Prepare("UPDATE api_keys SET allowed_cidrs = ? WHERE id = ?"));
    s.Bind(1, JoinCidrs(cidrs)).Bind(2, id.value());
    return RunOnOneRow(s, "api key " + id.ToString());
  }

  Result<void> RevokeApiKey(ApiKeyId id) override {
    ASSIGN_OR_RETURN(Statement s, db_.Prepare("UPDATE api_keys SET revoked = 1 WHERE id = ?"));
    s.Bind(1, id.value());
    return RunOnOneRow(s, "api key " + id.ToString());
  }

  Result<int64_t> InsertSession(const SessionRecord& x) override {
    ASSIGN_OR_RETURN(Statement s, db_.Prepare(
        "INSERT INTO sessions (user_id, access_sha256, refresh_sha256, created_at, access_expires_at,"
        " refresh_expires_at, absolute_expires_at, last_used_at, client_ip, user_agent, reauth_at)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?)"));
    BindSession(s, x);
    s.Bind(11, ToUnixMillis(x.reauth_at));
    RETURN_IF_ERROR(s.Run());
    return db_.LastInsertId();
  }

  Result<void> UpdateSession(const SessionRecord& x) override {
    ASSIGN_OR_RETURN(Statement s, db_.Prepare(
        "UPDATE sessions SET user_id=?, access_sha256=?, refresh_sha256=?, created_at=?, access_expires_at=?,"
        " refresh_expires_at=?, absolute_expires_at=?, last_used_at=?, client_ip=?, user_agent=? WHERE id=?"));
    BindSession(s, x);
    s.Bind(11, x.id);
    return RunOnOneRow(s, "session " + std::to_string(x.id));
  }

  Result<void> DeleteSession(int64_t session_id) override {
    ASSIGN_OR_RETURN(Statement s, db_.Prepare("DELETE FROM sessions WHERE id = ?"));
    s.Bind(1, session_id);
    return s.Run();
  }

  Result<void> MarkSessionReauthenticated(int64_t session_id, Timestamp at) override {
    ASSIGN_OR_RETURN(Statement s, db_.Prepare("UPDATE sessions SET reauth_at = ? WHERE id = ?"));
    s.Bind(1, ToUnixMillis(at)).Bind(2, session_id);
    return RunOnOneRow(s, "session " + std::to_string(session_id));
  }

  Result<void> DeleteUserSessions(UserId user) override {
    ASSIGN_OR_RETURN(Statement s, db_.Prepare("DELETE FROM sessions WHERE user_id = ?"));
    s.Bind(1, user.value());
    return s.Run();
  }

  Result<int64_t> InsertDevice(const DeviceRecord& x) override {
    ASSIGN_OR_RETURN(Statement s, db_.Prepare(
        "INSERT INTO known_devices (user_id, token_sha256, created_at, last_used_at, expires_at, user_agent)"
        " VALUES (?,?,?,?,?,?)"));
    s.Bind(1, x.user.value()).Bind(2, x.token_sha256).Bind(3, ToUnixMillis(x.created_at));
    s.Bind(4, ToUnixMillis(x.last_used_at)).Bind(5, ToUnixMillis(x.expires_at)).Bind(6, x.user_agent);
    RETURN_IF_ERROR(s.Run());
    return db_.LastInsertId();
  }

  Result<void> DeleteDevice(UserId user, int64_t device_id) override {
    ASSIGN_OR_RETURN(Statement s, db_.Prepare("DELETE FROM known_devices WHERE id = ? AND user_id = ?"));
    s.Bind(1, device_id).Bind(2, user.value());
    return RunOnOneRow(s, "device " + std::to_string(device_id));
  }

  Result<void> DeleteUserDevices(UserId user) override {
    ASSIGN_OR_RETURN(Statement s, db_.Prepare("DELETE FROM known_devices WHERE user_id = ?"));
    s.Bind(1, user.value());
    return s.Run();
  }

  Result<void> PutThrottle(const ThrottleRecord& x) override {
    ASSIGN_OR_RETURN(Statement s, db_.Prepare(
        "INSERT OR REPLACE INTO login_throttle (kind, key, failures, started_at, locked_until, expires_at)"
        " VALUES (?,?,?,?,?,?)"));
    s.Bind(1, x.kind).Bind(2, x.key).Bind(3, x.failures).Bind(4, ToUnixMillis(x.started_at));
    s.Bind(5, ToUnixMillis(x.locked_until)).Bind(6, ToUnixMillis(x.expires_at));
    return s.Run();
  }

  Result<void> DeleteThrottle(std::string_view kind, std::string_view key) override {
    ASSIGN_OR_RETURN(Statement s, db_.Prepare("DELETE FROM login_throttle WHERE kind = ? AND key = ?"));
    s.Bind(1, kind).Bind(2, key);
    return s.Run();
  }

  Result<void> MarkRefreshSpent(std::string_view refresh_sha256, int64_t session_id, Timestamp at) override {
    ASSIGN_OR_RETURN(Statement s, db_.Prepare(
        "INSERT INTO spent_refresh_tokens (refresh_sha256, session_id, spent_at) VALUES (?,?,?)"));
    s.Bind(1, refresh_sha256).Bind(2, session_id).Bind(3, ToUnixMillis(at));
    return s.Run();
  }

  Result<void> PutMfa(const MfaRecord& m) override {
    ASSIGN_OR_RETURN(Statement s, db_.Prepare(
        "INSERT OR REPLACE INTO user_mfa (user_id, seed_sealed, confirmed, last_step, created_at)"
        " VALUES (?,?,?,?,?)"));
    s.Bind(1, m.user.value()).Bind(2, m.seed_sealed).Bind(3, m.confirmed ? 1 : 0).Bind(4, m.last_step);
    s.Bind(5, ToUnixMillis(m.created_at));
    return s.Run();
  }

  Result<void> DeleteMfa(UserId user) override {
    ASSIGN_OR_RETURN(Statement s, db_.Prepare("DELETE FROM user_mfa WHERE user_id = ?"));
    s.Bind(1, user.value());
    RETURN_IF_ERROR(s.Run());
    ASSIGN_OR_RETURN(Statement codes, db_.Prepare("DELETE FROM recovery_codes WHERE user_id = ?"));
    codes.Bind(1, user.value());
    return codes.Run();
  }

  Result<void> ReplaceRecoveryCodes(UserId user, const std::vector<std::string>& code_hashes) override {
    ASSIGN_OR_RETURN(Statement del, db_.Prepare("DELETE FROM recovery_codes WHERE user_id = ?"));
    del.Bind(1, user.value());
    RETURN_IF_ERROR(del.Run());
    for (const auto& hash : code_hashes) {
      ASSIGN_OR_RETURN(Statement s, db_.Prepare("INSERT INTO recovery_codes (user_id, code_hash) VALUES (?,?)"));
      s.Bind(1, user.value()).Bind(2, hash);
      RETURN_IF_ERROR(s.Run());
    }
    return Ok();
  }

  Result<void> UseRecoveryCode(int64_t code_id, Timestamp at) override {
    ASSIGN_OR_RETURN(Statement s, db_.Prepare(
        "UPDATE recovery_codes SET used_at = ? WHERE id = ? AND used_at IS NULL"));
    s.Bind(1, ToUnixMillis(at)).Bind(2, code_id);
    RETURN_IF_ERROR(s.Run());
    if (db_.Changes() == 0) return Error::Aborted("recovery code " + std::to_string(code_id) + " was already used");
    return Ok();
  }

  Result<void> PutRoleSetting(const RoleSettingRecord& r) override {
    ASSIGN_OR_RETURN(Statement s, db_.Prepare(
        "INSERT OR REPLACE INTO role_settings (role, mfa_required, changed_by, changed_at) VALUES (?,?,?,?)"));
    s.Bind(1, r.role).Bind(2, r.mfa_required ? 1 : 0).Bind(3, r.changed_by).Bind(4, ToUnixMillis(r.changed_at));
    return s.Run();
  }

  Result<void> PutAnalyticsSetting(const AnalyticsSettingRecord& r) override {
    ASSIGN_OR_RETURN(Statement s, db_.Prepare(
        "INSERT OR REPLACE INTO analytics_settings (key, value, changed_by, changed_at) VALUES (?,?,?,?)"));
    s.Bind(1, r.key).Bind(2, r.value).Bind(3, r.changed_by).Bind(4, ToUnixMillis(r.changed_at));
    return s.Run();
  }

  Result<void> ReplaceDataClasses(std::string_view scope, const std::vector<DataClassRecord>& entries) override {
    ASSIGN_OR_RETURN(Statement d, db_.Prepare("DELETE FROM data_classes WHERE scope = ?"));
    d.Bind(1, scope);
    RETURN_IF_ERROR(d.Run());
    for (const auto& r : entries) {
      ASSIGN_OR_RETURN(Statement s, db_.Prepare(
          "INSERT INTO data_classes (scope, key, class, changed_by, changed_at) VALUES (?,?,?,?,?)"));
      s.Bind(1, scope).Bind(2, r.key).Bind(3, r.data_class).Bind(4, r.changed_by).Bind(5, ToUnixMillis(r.changed_at));
      RETURN_IF_ERROR(s.Run());
    }
    return Ok();
  }

  Result<void> PutIdempotency(const IdempotencyRecord& r) override {
    ASSIGN_OR_RETURN(Statement s, db_.Prepare(
        "INSERT INTO idempotency (key, request_hash, status, response_body, created_at) VALUES (?1,?2,?3,?4,?5)"
        " ON CONFLICT(key) DO UPDATE SET request_hash = ?2, status = ?3, response_body = ?4, created_at = ?5"
        " WHERE idempotency.created_at <= ?6"));
    // An expired record (older than kIdempotencyKeyLifetime) is replaced; a live one stays: a concurrent twin's
    // answer stored first wins, and a second insert changes nothing.
    s.Bind(1, r.key).Bind(2, r.request_hash).Bind(3, r.status).Bind(4, r.response_body);
    s.Bind(5, ToUnixMillis(r.created_at)).Bind(6, ToUnixMillis(r.created_at - kIdempotencyKeyLifetime));
    return s.Run();
  }

  Result<void> AppendLedger(const LedgerRow& row) override {
    ASSIGN_OR_RETURN(Statement s, db_.Prepare(
        "INSERT INTO ledger (seq, body, prev_hash, entry_hash, at, actor, action, object_type, object_id) "
        "VALUES (?1, ?2, ?3, ?4, json_extract(?2, '$.at'), json_extract(?2, '$.actor'), json_extract(?2, '$.action'), "
        "json_extract(?2, '$.object_type'), json_extract(?2, '$.object_id'))"));
    s.Bind(1, row.seq).Bind(2, row.body).Bind(3, row.prev_hash).Bind(4, row.entry_hash);
    return s.Run();
  }

  Result<void> InsertCheckpoint(const CheckpointRecord& c) override {
    ASSIGN_OR_RETURN(Statement s, db_.Prepare(
        "INSERT INTO ledger_checkpoints (from_seq, to_seq, merkle_root, head_hash, created_at, signature)"
        " VALUES (?,?,?,?,?,?)"));
    s.Bind(1, c.from_seq).Bind(2, c.to_seq).Bind(3, c.merkle_root).Bind(4, c.head_hash);
    s.Bind(5, ToUnixMillis(c.created_at)).Bind(6, c.signature);
    return s.Run();
  }

  Result<TeamId> InsertTeam(const TeamRecord& team) override {
    ASSIGN_OR_RETURN(Statement s, db_.Prepare("INSERT INTO teams (name, created_at) VALUES (?,?)"));
    s.Bind(1, team.name).Bind(2, ToUnixMillis(team.created_at));
    auto inserted = s.Run();
    if (!inserted) {
      if (inserted.error().code() == ErrorCode::kAlreadyExists) return Error::AlreadyExists("team already exists");
      return std::move(inserted.error());
    }
    return TeamId(db_.LastInsertId());
  }

  Result<void> SetUserTeam(UserId user, std::optional<TeamId> team) override {
    ASSIGN_OR_RETURN(Statement s, db_.Prepare("UPDATE users SET team_id = ? WHERE id = ?"));
    BindOptionalId(s, 1, team);
    s.Bind(2, user.value());
    return RunOnOneRow(s, "user " + user.ToString());
  }

  Result<void> PutRole(const RoleRecord& role) override {
    ASSIGN_OR_RETURN(Statement s, db_.Prepare(
        "INSERT INTO roles (name, description, permissions, created_at, updated_at) VALUES (?,?,?,?,?) "
        "ON CONFLICT(name) DO UPDATE SET description = excluded.description, "
        "permissions = excluded.permissions, updated_at = excluded.updated_at"));
    std::string permissions;
    for (const auto& p : role.permissions) permissions += (permissions.empty() ? "" : ",") + p;
    s.Bind(1, role.name).Bind(2, role.description).Bind(3, permissions);
    s.Bind(4, ToUnixMillis(role.created_at)).Bind(5, ToUnixMillis(role.updated_at));
    return s.Run();
  }

  Result<void> InsertReveal(const RevealRecord& r) override {
    ASSIGN_OR_RETURN(Statement s, db_.Prepare("INSERT INTO reveals (at, actor, customer_id, fields) VALUES (?,?,?,?)"));
    std::string fields;
    for (const auto& f : r.fields) fields += (fields.empty() ? "" : ",") + f;
    s.Bind(1, ToUnixMillis(r.at)).Bind(2, r.actor).Bind(3, r.customer.value()).Bind(4, fields);
    return s.Run();
  }

  Result<void> DeleteRole(std::string_view name) override {
    ASSIGN_OR_RETURN(Statement s, db_.Prepare("DELETE FROM roles WHERE name = ?"));
    s.Bind(1, name);
    return RunOnOneRow(s, "role");
  }

  Result<int64_t> InsertConsent(const ConsentRecord& c) override {
    ASSIGN_OR_RETURN(Statement s, db_.Prepare(
        "INSERT INTO consents (customer_id, purpose, channel, granted, lawful_basis, source, policy_version,"
        " text_sha256, actor, at) VALUES (?,?,?,?,?,?,?,?,?,?)"));
    s.Bind(1, c.customer.value()).Bind(2, c.purpose).Bind(3, c.channel).Bind(4, c.granted ? 1 : 0);
    s.Bind(5, c.lawful_basis).Bind(6, c.source).Bind(7, c.policy_version).Bind(8, c.text_sha256);
    s.Bind(9, c.actor).Bind(10, ToUnixMillis(c.at));
    RETURN_IF_ERROR(s.Run());
    return db_.LastInsertId();
  }

  Result<int64_t> InsertPrivacyRequest(const PrivacyRequestRecord& r) override {
    ASSIGN_OR_RETURN(Statement s, db_.Prepare(
        "INSERT INTO privacy_requests (customer_id, kind, jurisdiction, status, received_at, due_at,"
        " completed_at, note, result, verification, verification_method, verified_by, verified_at, scheduled_for)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)"));
    s.Bind(1, r.customer.value()).Bind(2, r.kind).Bind(3, r.jurisdiction).Bind(4, r.status);
    s.Bind(5, ToUnixMillis(r.received_at)).Bind(6, ToUnixMillis(r.due_at));
    if (r.completed_at) {
      s.Bind(7, ToUnixMillis(*r.completed_at));
    } else {
      s.BindNull(7);
    }
    s.Bind(8, r.note).Bind(9, r.result_json);
    BindVerification(s, 10, r);
    BindOptionalTime(s, 14, r.scheduled_for);
    RETURN_IF_ERROR(s.Run());
    return db_.LastInsertId();
  }

  Result<void> UpdatePrivacyRequest(const PrivacyRequestRecord& r) override {
    ASSIGN_OR_RETURN(Statement s, db_.Prepare(
        "UPDATE privacy_requests SET status = ?, completed_at = ?, note = ?, result = ?, verification = ?,"
        " verification_method = ?, verified_by = ?, verified_at = ?, scheduled_for = ? WHERE id = ?"));
    s.Bind(1, r.status);
    if (r.completed_at) {
      s.Bind(2, ToUnixMillis(*r.completed_at));
    } else {
      s.BindNull(2);
    }
    s.Bind(3, r.note).Bind(4, r.result_json);
    BindVerification(s, 5, r);
    BindOptionalTime(s, 9, r.scheduled_for);
    s.Bind(10, r.id);
    return RunOnOneRow(s, "privacy request " + std::to_string(r.id));
  }

  Result<void> PutPrivacyFlags(const PrivacyFlagsRecord& f) override {
    ASSIGN_OR_RETURN(Statement s, db_.Prepare(
        "INSERT INTO privacy_flags (customer_id, legal_hold, restricted, updated_at) VALUES (?,?,?,?)"
        " ON CONFLICT(customer_id) DO UPDATE SET legal_hold = excluded.legal_hold,"
        " restricted = excluded.restricted, updated_at = excluded.updated_at"));
    s.Bind(1, f.customer.value()).Bind(2, f.legal_hold ? 1 : 0).Bind(3, f.restricted ? 1 : 0);
    s.Bind(4, ToUnixMillis(f.updated_at));
    return s.Run();
  }

  Result<std::vector<TableCount>> EraseSubjectRows(CustomerId id, const std::vector<std::string>& keep) override {
    ASSIGN_OR_RETURN(std::vector<int64_t> ids, SubjectIdsOn(db_, id));
    // After EraseCustomer (crypto-shredding) the customer rows are already gone: sweep the subject's own id.
    if (ids.empty()) ids.push_back(id.value());
    ASSIGN_OR_RETURN(std::vector<std::string> tables, SubjectTablesOn(db_));
    std::vector<TableCount> counts;
    auto erase = [&](const std::string& table, const std::string& where) -> Result<void> {
      int64_t total = 0;
      for (int64_t one : ids) {
        ASSIGN_OR_RETURN(Statement s, db_.Prepare("DELETE FROM " + QuoteIdent(table) + " WHERE " + where));
        s.Bind(1, one);
        RETURN_IF_ERROR(s.Run());
        total += db_.Changes();
      }
      counts.push_back({table, total});
      return Ok();
    };
    for (const auto& table : tables) {
      if (std::find(keep.begin(), keep.end(), table) != keep.end()) continue;
      RETURN_IF_ERROR(erase(table, "customer_id = ?1"));
    }
    RETURN_IF_ERROR(erase("merges", "from_customer = ?1 OR into_customer = ?1"));
    RETURN_IF_ERROR(erase("customers", "id = ?1"));
    return counts;
  }

  Result<void> AddErasureSuppression(std::string_view hash, int64_t request_id, Timestamp at) override {
    ASSIGN_OR_RETURN(Statement s, db_.Prepare(
        "INSERT OR IGNORE INTO erasure_suppressions (hash, request_id, erased_at) VALUES (?,?,?)"));
    s.Bind(1, hash).Bind(2, request_id).Bind(3, ToUnixMillis(at));
    return s.Run();
  }

  Result<void> PutVerificationCode(const VerificationCodeRecord& c) override {
    ASSIGN_OR_RETURN(Statement s, db_.Prepare(
        "INSERT OR REPLACE INTO privacy_verification_codes (request_id, customer_id, channel, code_hash, expires_at,"
        " attempts, used_at, created_at) VALUES (?,?,?,?,?,?,?,?)"));
    s.Bind(1, c.request_id).Bind(2, c.customer.value()).Bind(3, c.channel).Bind(4, c.code_hash);
    s.Bind(5, ToUnixMillis(c.expires_at)).Bind(6, static_cast<int64_t>(c.attempts));
    BindOptionalTime(s, 7, c.used_at);
    s.Bind(8, ToUnixMillis(c.created_at));
    return s.Run();
  }

  Result<int64_t> InsertOutbox(const OutboxRecord& m) override {
    ASSIGN_OR_RETURN(Statement s, db_.Prepare(
        "INSERT INTO notification_outbox (channel, customer_id, template, payload, created_at, sent_at)"
        " VALUES (?,?,?,?,?,?)"));
    s.Bind(1, m.channel).Bind(2, m.customer.value()).Bind(3, m.template_name).Bind(4, m.payload_json);
    s.Bind(5, ToUnixMillis(m.created_at));
    BindOptionalTime(s, 6, m.sent_at);
    RETURN_IF_ERROR(s.Run());
    return db_.LastInsertId();
  }

  Result<int64_t> ApplyRetention(const RetentionRule& rule) override {
    static constexpr const char* kHold =
        " AND customer_id NOT IN (SELECT customer_id FROM privacy_flags WHERE legal_hold = 1)";
    std::string sql;
    if (rule.data_class == "events") {
      sql = rule.anonymise
                ? "UPDATE events SET anonymous_id = '', user_id = '', properties = '{}', context = '{}',"
                  " personal = NULL WHERE ts < ?"
                  " AND (anonymous_id <> '' OR user_id <> '' OR properties <> '{}' OR context <> '{}'"
                  " OR personal IS NOT NULL)"
                : "DELETE FROM events WHERE ts < ?";
    } else if (rule.data_class == "interactions") {
      sql = rule.anonymise ? "UPDATE interactions SET subject = '', body = '' WHERE occurred_at < ?"
                             " AND (subject <> '' OR body <> '')"
                           : "DELETE FROM interactions WHERE occurred_at < ?";
    } else if (rule.data_class == "segment_events") {
      // The entered/exited feed holds ids only: nothing to anonymise, old rows are deleted. Current
      // memberships (segment_members, with entered_at) are not touched.
      if (rule.anonymise) return Error::InvalidField("anonymise", "segment_events can only be deleted");
      sql = "DELETE FROM segment_events WHERE at < ?";
    } else {
      return Error::InvalidField("data_class", "must be events, interactions or segment_events");
    }
    ASSIGN_OR_RETURN(Statement s, db_.Prepare(sql + kHold));
    s.Bind(1, ToUnixMillis(rule.cutoff));
    RETURN_IF_ERROR(s.Run());
    return static_cast<int64_t>(db_.Changes());
  }

  Result<HousekeepingReport> PurgeExpired(const HousekeepingRule& rule) override {
    struct Purge {
      const char* table;
      const char* sql;
      Timestamp before;
    };
    // A session is over when its refresh token or its absolute lifetime ran out (an expired access token
    // alone can still be refreshed). Used codes are kept until they expire: the row is what refuses a replay.
    const Purge purges[] = {
        {"sessions", "DELETE FROM sessions WHERE refresh_expires_at < ?1 OR absolute_expires_at < ?1", rule.now},
        {"spent_refresh_tokens", "DELETE FROM spent_refresh_tokens WHERE spent_at < ?1", rule.spent_refresh_cutoff},
        {"known_devices", "DELETE FROM known_devices WHERE expires_at < ?1", rule.now},
        {"privacy_verification_codes", "DELETE FROM privacy_verification_codes WHERE expires_at < ?1", rule.now},
        {"idempotency", "DELETE FROM idempotency WHERE created_at < ?1", rule.idempotency_cutoff},
        {"login_throttle", "DELETE FROM login_throttle WHERE expires_at < ?1", rule.now},
    };
    HousekeepingReport report;
    for (const Purge& purge : purges) {
      ASSIGN_OR_RETURN(Statement s, db_.Prepare(purge.sql));
      s.Bind(1, ToUnixMillis(purge.before));
      RETURN_IF_ERROR(s.Run());
      report.tables.push_back({purge.table, static_cast<int64_t>(db_.Changes())});
    }
    return report;
  }

  Result<SegmentId> InsertSegment(const SegmentRecord& r) override {
    ASSIGN_OR_RETURN(Statement s, db_.Prepare(
        "INSERT INTO segments (name, description, rule, created_by, created_at, updated_at, evaluated_at, size)"
        " VALUES (?,?,?,?,?,?,?,?)"));
    s.Bind(1, r.name).Bind(2, r.description).Bind(3, r.rule).Bind(4, r.created_by);
    s.Bind(5, ToUnixMillis(r.created_at)).Bind(6, ToUnixMillis(r.updated_at));
    if (r.evaluated_at) {
      s.Bind(7, ToUnixMillis(*r.evaluated_at));
    } else {
      s.BindNull(7);
    }
    s.Bind(8, r.size);
    if (auto ran = s.Run(); !ran) {
      if (ran.error().code() == ErrorCode::kAlreadyExists) return Error::AlreadyExists("segment name already taken");
      return std::move(ran.error());
    }
    return SegmentId(db_.LastInsertId());
  }

  Result<void> UpdateSegment(const SegmentRecord& r) override {
    ASSIGN_OR_RETURN(Statement s, db_.Prepare(
        "UPDATE segments SET name = ?, description = ?, rule = ?, updated_at = ? WHERE id = ?"));
    s.Bind(1, r.name).Bind(2, r.description).Bind(3, r.rule).Bind(4, ToUnixMillis(r.updated_at)).Bind(5, r.id.value());
    if (auto ran = s.Run(); !ran) {
      if (ran.error().code() == ErrorCode::kAlreadyExists) return Error::AlreadyExists("segment name already taken");
      return std::move(ran.error());
    }
    if (db_.Changes() == 0) return Error::NotFound("segment " + r.id.ToString() + " not found");
    return Ok();
  }

  Result<void> DeleteSegment(SegmentId id) override {
    ASSIGN_OR_RETURN(Statement s, db_.Prepare("DELETE FROM segments WHERE id = ?"));
    s.Bind(1, id.value());
    RETURN_IF_ERROR(s.Run());
    if (db_.Changes() == 0) return Error::NotFound("segment " + id.ToString() + " not found");
    for (const char* sql : {"DELETE FROM segment_members WHERE segment_id = ?",
                            "DELETE FROM segment_events WHERE segment_id = ?"}) {
      ASSIGN_OR_RETURN(Statement d, db_.Prepare(sql));
      d.Bind(1, id.value());
      RETURN_IF_ERROR(d.Run());
    }
    return Ok();
  }

  Result<void> ApplySegmentChanges(const SegmentChanges& c) override {
    int64_t at = ToUnixMillis(c.at);
    // The erasures guard: a diff computed before an erasure committed must not bring the person's rows back.
    static constexpr const char* kAddMember =
        "INSERT OR IGNORE INTO segment_members (segment_id, customer_id, entered_at) SELECT ?1, ?2, ?3"
        " WHERE NOT EXISTS (SELECT 1 FROM erasures WHERE customer_id = ?2)";
    static constexpr const char* kRemoveMember = "DELETE FROM segment_members WHERE segment_id = ?1 AND customer_id = ?2";
    static constexpr const char* kAddEvent =
        "INSERT INTO segment_events (segment_id, customer_id, kind, at) SELECT ?1, ?2, ?4, ?3"
        " WHERE NOT EXISTS (SELECT 1 FROM erasures WHERE customer_id = ?2)";
    // Prepared per row: the cached statement is reset when its cursor goes out of scope.
    auto apply = [&](CustomerId customer, bool entered) -> Result<void> {
      if (entered) {
        ASSIGN_OR_RETURN(Statement member, db_.Prepare(kAddMember));
        member.Bind(1, c.segment.value()).Bind(2, customer.value()).Bind(3, at);
        RETURN_IF_ERROR(member.Run());
      } else {
        ASSIGN_OR_RETURN(Statement member, db_.Prepare(kRemoveMember));
        member.Bind(1, c.segment.value()).Bind(2, customer.value());
        RETURN_IF_ERROR(member.Run());
      }
      ASSIGN_OR_RETURN(Statement event, db_.Prepare(kAddEvent));
      event.Bind(1, c.segment.value()).Bind(2, customer.value()).Bind(3, at).Bind(4, entered ? "entered" : "exited");
      return event.Run();
    };
    for (CustomerId customer : c.entered) RETURN_IF_ERROR(apply(customer, true));
    for (CustomerId customer : c.exited) RETURN_IF_ERROR(apply(customer, false));
    ASSIGN_OR_RETURN(Statement s, db_.Prepare("UPDATE segments SET size = ?, evaluated_at = ? WHERE id = ?"));
    s.Bind(1, c.size).Bind(2, at).Bind(3, c.segment.value());
    return RunOnOneRow(s, "segment " + c.segment.ToString());
  }

  Result<void> Nested(const std::function<Result<void>()>& fn) override {
    std::string name = "sp" + std::to_string(++savepoint_depth_);
    RETURN_IF_ERROR(db_.Exec("SAVEPOINT " + name));
    Result<void> result = fn();
    if (result) {
      RETURN_IF_ERROR(db_.Exec("RELEASE " + name));
    } else {
      RETURN_IF_ERROR(db_.Exec("ROLLBACK TO " + name + "; RELEASE " + name));
    }
    --savepoint_depth_;
    return result;
  }

 private:
  // Runs an UPDATE or DELETE meant for one row; NotFound ("<what> not found") when it matched none.
  Result<void> RunOnOneRow(Statement& s, const std::string& what) {
    RETURN_IF_ERROR(s.Run());
    if (db_.Changes() == 0) return Error::NotFound(what + " not found");
    return Ok();
  }

  // The id of the row whose unique key equals `key`, if any.
  template <typename Id>
  Result<std::optional<Id>> FindIdBy(const char* sql, std::string_view key) {
    ASSIGN_OR_RETURN(Statement s, db_.Prepare(sql));
    s.Bind(1, key);
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return std::optional<Id>();
    return std::optional<Id>(Id(s.Int(0)));
  }

  // Binds ?1 id, ?2–?13 the v1 columns, ?14 address, ?15 birth_md, ?16–?21 blind indexes.
  Result<void> BindCustomer(Statement& s, const CustomerRecord& c, int64_t id) {
    RowCipher row(crypto_, "customers", id, CustomerId(id));
    ASSIGN_OR_RETURN(std::string name, row.Seal("name", c.name));
    ASSIGN_OR_RETURN(std::string email, row.Seal("email", c.email));
    ASSIGN_OR_RETURN(std::string phone, row.Seal("phone", c.phone));
    ASSIGN_OR_RETURN(std::string birthday, row.Seal("birthday", c.birthday));
    std::string traits_plain = c.traits_json == "{}" ? std::string() : c.traits_json;
    ASSIGN_OR_RETURN(std::string traits, row.Seal("traits", traits_plain));
    ASSIGN_OR_RETURN(std::string external_id, row.Seal("external_id", c.external_id));
    ASSIGN_OR_RETURN(std::string address, row.Seal("address", c.address));
    s.Bind(1, id).BindBlob(2, name).BindBlob(3, email).BindBlob(4, phone).Bind(5, c.gender).BindBlob(6, birthday);
    s.Bind(7, c.city).Bind(8, c.country).Bind(9, TagsToJson(c.tags)).BindBlob(10, traits).BindBlob(11, external_id);
    s.Bind(12, ToUnixMillis(c.created_at)).Bind(13, ToUnixMillis(c.updated_at)).BindBlob(14, address);
    // The month-day stays plain for birthday segments; the year (with it, the full date) is encrypted.
    s.Bind(15, c.birthday.size() == 10 ? c.birthday.substr(5) : std::string());
    auto bind_index = [&](int index, BlindField field, const std::string& normalized) {
      if (normalized.empty()) {
        s.BindNull(index);
      } else {
        s.BindBlob(index, crypto_.BlindIndex(field, normalized));
      }
    };
    bind_index(16, BlindField::kEmail, NormalizeEmail(c.email));
    bind_index(17, BlindField::kPhone, c.phone);
    bind_index(18, BlindField::kPhoneLast4, PhoneLast4(c.phone));
    bind_index(19, BlindField::kName, NormalizeName(c.name));
    bind_index(20, BlindField::kSurname, Surname(c.name));
    bind_index(21, BlindField::kExternalId, c.external_id);
    return Ok();
  }

  Result<int64_t> NextId(const char* table) {
    ASSIGN_OR_RETURN(Statement s, db_.Prepare(std::string("SELECT coalesce(max(id), 0) + 1 FROM ") + table));
    ASSIGN_OR_RETURN(bool row, s.Step());
    (void)row;
    return s.Int(0);
  }

  // Re-encrypts the identities, sealed event properties and interactions of `from` under `into`'s current
  // data key and gives them to `into` (from == into: re-encryption in place, for key rotation).
  Result<void> MoveEncryptedRows(CustomerId from, CustomerId into) {
    struct Row {
      int64_t id;
      std::string a, b;
    };
    std::vector<Row> rows;
    // One sealed column of `table`: read the rows of `from` (select_sql binds the customer and returns id and
    // the sealed blob), open each under `from`'s key, seal under `into`'s, and hand the row to `into`.
    auto reseal = [&](const char* table, const char* column, const char* select_sql,
                      const char* update_sql) -> Result<void> {
      rows.clear();
      {
        ASSIGN_OR_RETURN(Statement s, db_.Prepare(select_sql));
        s.Bind(1, from.value());
        RETURN_IF_ERROR(ForEachRow(s, [&] { rows.push_back({s.Int(0), s.Blob(1), {}}); }));
      }
      for (auto& r : rows) {
        ASSIGN_OR_RETURN(std::string plain, RowCipher(crypto_, table, r.id, from).Open(column, r.a));
        ASSIGN_OR_RETURN(std::string sealed, RowCipher(crypto_, table, r.id, into).Seal(column, plain));
        ASSIGN_OR_RETURN(Statement u, db_.Prepare(update_sql));
        u.BindBlob(1, sealed).Bind(2, into.value()).Bind(3, r.id);
        RETURN_IF_ERROR(u.Run());
      }
      return Ok();
    };
    RETURN_IF_ERROR(reseal("identities", "value", "SELECT id, value FROM identities WHERE customer_id = ?",
                           "UPDATE identities SET value = ?, customer_id = ? WHERE id = ?"));
    RETURN_IF_ERROR(reseal("events", "personal",
                           "SELECT id, personal FROM events WHERE customer_id = ? AND personal IS NOT NULL",
                           "UPDATE events SET personal = ?, customer_id = ? WHERE id = ?"));
    rows.clear();
    {
      ASSIGN_OR_RETURN(Statement s, db_.Prepare("SELECT id, subject, body FROM interactions WHERE customer_id = ?"));
      s.Bind(1, from.value());
      RETURN_IF_ERROR(ForEachRow(s, [&] { rows.push_back({s.Int(0), s.Blob(1), s.Blob(2)}); }));
    }
    for (auto& r : rows) {
      RowCipher old_row(crypto_, "interactions", r.id, from);
      RowCipher new_row(crypto_, "interactions", r.id, into);
      ASSIGN_OR_RETURN(std::string subject, old_row.Open("subject", r.a));
      ASSIGN_OR_RETURN(std::string body, old_row.Open("body", r.b));
      ASSIGN_OR_RETURN(std::string sealed_subject, new_row.Seal("subject", subject));
      ASSIGN_OR_RETURN(std::string sealed_body, new_row.Seal("body", body));
      ASSIGN_OR_RETURN(Statement u, db_.Prepare(
          "UPDATE interactions SET subject = ?, body = ?, customer_id = ? WHERE id = ?"));
      u.BindBlob(1, sealed_subject).BindBlob(2, sealed_body).Bind(3, into.value()).Bind(4, r.id);
      RETURN_IF_ERROR(u.Run());
    }
    return Ok();
  }

  Result<void> DeleteOwnedRows(CustomerId id, ErasureReport& report) {
    struct Owned {
      const char* sql;
      int64_t ErasureReport::*count;
    };
    static constexpr Owned kOwned[] = {
        {"DELETE FROM identities WHERE customer_id = ?", &ErasureReport::identities},
        {"DELETE FROM events WHERE customer_id = ?", &ErasureReport::events},
        {"DELETE FROM order_items WHERE customer_id = ?", &ErasureReport::order_items},
        {"DELETE FROM orders WHERE customer_id = ?", &ErasureReport::orders},
        {"DELETE FROM interactions WHERE customer_id = ?", &ErasureReport::interactions},
        {"DELETE FROM consents WHERE customer_id = ?", &ErasureReport::consents},
        {"DELETE FROM privacy_flags WHERE customer_id = ?", &ErasureReport::privacy_flags}};
    for (const auto& owned : kOwned) {
      ASSIGN_OR_RETURN(Statement s, db_.Prepare(owned.sql));
      s.Bind(1, id.value());
      RETURN_IF_ERROR(s.Run());
      report.*owned.count += db_.Changes();
    }
    return Ok();
  }

  static void BindSession(Statement& s, const SessionRecord& x) {
    s.Bind(1, x.user.value()).Bind(2, x.access_sha256).Bind(3, x.refresh_sha256).Bind(4, ToUnixMillis(x.created_at));
    s.Bind(5, ToUnixMillis(x.access_expires_at)).Bind(6, ToUnixMillis(x.refresh_expires_at));
    s.Bind(7, ToUnixMillis(x.absolute_expires_at)).Bind(8, ToUnixMillis(x.last_used_at));
    s.Bind(9, x.client_ip).Bind(10, x.user_agent);
  }

  Connection& db_;
  FieldCrypto& crypto_;
  int savepoint_depth_ = 0;
};

// Hands out read connections; a caller blocks while all are busy.
class ReadPool {
 public:
  void Add(std::unique_ptr<Connection> c) { free_.push_back(std::move(c)); }

  class Lease {
   public:
    Lease(ReadPool& pool, std::unique_ptr<Connection> c) : pool_(pool), c_(std::move(c)) {}
    ~Lease() { pool_.Return(std::move(c_)); }
    Connection& operator*() { return *c_; }
    Connection* operator->() { return c_.get(); }

   private:
    ReadPool& pool_;
    std::unique_ptr<Connection> c_;
  };

  Lease Acquire() {
    std::unique_lock lock(mu_);
    available_.wait(lock, [&] { return !free_.empty(); });
    auto c = std::move(free_.back());
    free_.pop_back();
    return Lease(*this, std::move(c));
  }

 private:
  void Return(std::unique_ptr<Connection> c) {
    {
      std::lock_guard lock(mu_);
      free_.push_back(std::move(c));
    }
    available_.notify_one();
  }

  std::mutex mu_;
  std::condition_variable available_;
  // guarded by mu_
  std::vector<std::unique_ptr<Connection>> free_;
};

// Stands in for field encryption when the store is opened ledger-only (audit verify reads no personal data).
class NoKeyCrypto final : public FieldCrypto {
 public:
  Result<std::string> Seal(const FieldRef&, std::string_view) override { return Refuse(); }
  Result<std::string> Open(const FieldRef&, std::string_view) override { return Refuse(); }
  std::string BlindIndex(BlindField, std::string_view) override { return {}; }
  Result<void> Flush() override { return Ok(); }
  Result<void> Shred(CustomerId) override { return Refuse(); }
  Result<std::vector<CustomerId>> ShreddedSubjects() override { return Refuse(); }
  Result<int> NewKeyVersion(CustomerId) override { return Refuse(); }
  Result<void> RetireOldKeyVersions(CustomerId) override { return Refuse(); }

 private:
  static Error Refuse() {
    return Error::FailedPrecondition("the store was opened ledger-only, without the master key");
  }
};

Result<void> Distrust(Connection& connection) {
  sqlite3_db_config(connection.raw(), SQLITE_DBCONFIG_DEFENSIVE, 1, nullptr);
  sqlite3_db_config(connection.raw(), SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, nullptr);
  return connection.Exec("PRAGMA trusted_schema=OFF");
}

class SqliteStore final : public Store {
 public:
  static Result<std::unique_ptr<Store>> Open(const StoreOptions& options) {
    if (options.crypto == nullptr && !options.ledger_only) {
      return Error::InvalidField("crypto", "field encryption is required to open the store");
    }
    static NoKeyCrypto no_key;
    auto store = std::unique_ptr<SqliteStore>(
        new SqliteStore(options.crypto != nullptr ? *options.crypto : static_cast<FieldCrypto&>(no_key)));
    ASSIGN_OR_RETURN(store->writer_, Connection::Open(options.path, /*read_only=*/false, options.vfs));
    // Ledger-only opens inspect files that may come from outside (audit verify, restore): no schema-defined
    // functions run with our privileges, no statement may corrupt the file on purpose.
    if (options.ledger_only) RETURN_IF_ERROR(Distrust(*store->writer_));
    // WAL: readers never block the writer. synchronous=FULL fsyncs the WAL at every commit, which is what makes
    // an acknowledged write survive power loss; group commit (ingest/) amortises that fsync over many requests.
    RETURN_IF_ERROR(store->writer_->Exec("PRAGMA journal_mode=WAL"));
    RETURN_IF_ERROR(store->writer_->Exec(options.synchronous_full ? "PRAGMA synchronous=FULL"
                                                                  : "PRAGMA synchronous=OFF"));
    RETURN_IF_ERROR(store->writer_->Exec("PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY"));
    // Before any write (migrations included): a foreign keystore's tombstones would make reconciliation delete
    // our customers, and its keys open none of our fields.
    std::string keystore_id;
    if (!options.ledger_only) {
      ASSIGN_OR_RETURN(keystore_id, store->crypto_.KeystoreId());
      RETURN_IF_ERROR(store->CheckKeystorePairing(keystore_id));
    }
    RETURN_IF_ERROR(store->Migrate());
    if (!keystore_id.empty()) RETURN_IF_ERROR(store->RecordKeystorePairing(keystore_id));
    for (int i = 0; i < std::max(1, options.read_connections); ++i) {
      ASSIGN_OR_RETURN(auto reader, Connection::Open(options.path, /*read_only=*/true, options.vfs));
      RETURN_IF_ERROR(reader->Exec("PRAGMA cache_size=-32768"));
      if (options.ledger_only) RETURN_IF_ERROR(Distrust(*reader));
      store->readers_.Add(std::move(reader));
    }
    if (!options.ledger_only) RETURN_IF_ERROR(store->ReconcileErasures());
    return std::unique_ptr<Store>(std::move(store));
  }

  // Store
  Result<void> Write(const std::function<Result<void>(WriteTxn&)>& fn) override {
    std::lock_guard lock(write_mu_);
    RETURN_IF_ERROR(writer_->Exec("BEGIN IMMEDIATE"));
    SqliteWriteTxn txn(*writer_, crypto_);
    Result<void> result = fn(txn);
    // New data keys reach the keystore (fsynced) before any ciphertext under them is committed.
    if (result) result = crypto_.Flush();
    if (result) {
      auto committed = writer_->Exec("COMMIT");
      if (committed) {
        if (storage_full_) {
          storage_full_ = false;
          spdlog::warn("storage space is back: writes resume");
        }
        return Ok();
      }
      result = std::move(committed.error());
    }
    (void)writer_->Exec("ROLLBACK");
    // R6: operators must see why writes answer 503; once per episode, not per refused request.
    if (sqlite::IsStorageFull(result.error()) && !storage_full_) {
      storage_full_ = true;
      spdlog::error("{}; writes are refused (503, Retry-After) until space returns", result.error().message());
    }
    return result;
  }

  Result<void> RotateCustomerKey(CustomerId id) override {
    if (auto written = Write([&](WriteTxn& txn) -> Result<void> {
      RETURN_IF_ERROR(txn.GetCustomer(id));
      RETURN_IF_ERROR(crypto_.NewKeyVersion(id));
      return static_cast<SqliteWriteTxn&>(txn).ResealCustomer(id);
    }); !written) {
      return std::move(written.error());
    }
    return crypto_.RetireOldKeyVersions(id);
  }

  Result<std::vector<CustomerId>> ListErasures() override {
    auto db = readers_.Acquire();
    ASSIGN_OR_RETURN(Statement s, db->Prepare("SELECT customer_id FROM erasures ORDER BY customer_id"));
    return CollectRows(s, [&] { return CustomerId(s.Int(0)); });
  }

  Result<CustomerRecord> GetCustomer(CustomerId id) override {
    auto db = readers_.Acquire();
    return GetCustomerOn(*db, crypto_, id);
  }

  Result<CustomerRecord> GetCustomerInScope(CustomerId id, const RecordScope& scope) override {
    auto db = readers_.Acquire();
    ASSIGN_OR_RETURN(Statement s, db->Prepare(std::string("SELECT ") + kCustomerColumns +
                                              " FROM customers WHERE id = ? AND " + kScopeCondition));
    s.Bind(1, id.value());
    BindScope(s, 2, scope);
    ASSIGN_OR_RETURN(bool row, s.Step());
    // The same error as for an absent id, so a caller cannot probe which ids exist.
    if (!row) return Error::NotFound("customer " + id.ToString() + " not found");
    return ReadCustomer(s, crypto_);
  }

  // Text search is equality on blind indexes (full name, surname, email, external id, phone, phone last 4);
  // every candidate is decrypted and confirmed, so index collisions never show the wrong customer. Candidates
  // that fail confirmation are skipped and the scan goes on until the page is full.
  Result<std::vector<CustomerRecord>> ListCustomers(const CustomerQuery& q) override {
    std::string sql = std::string("SELECT ") + kCustomerColumns + " FROM customers WHERE merged_into IS NULL AND id > ?";
    // The ownership condition sits in the query itself (SECURITY.md #3), not in a filter applied afterwards.
    if (q.scope) sql += std::string(" AND ") + kScopeCondition;
    std::vector<std::string> blobs;
    std::vector<std::string> texts;
    const std::string name = NormalizeName(q.text);
    const std::string email = NormalizeEmail(q.text);
    const bool last4 = q.text.size() == 4 && std::all_of(q.text.begin(), q.text.end(), [](char c) {
      return c >= '0' && c <= '9';
    });
    const bool searching = !name.empty() || !q.phone_e164.empty();
    if (searching) {
      std::string any = " AND (0";
      auto add = [&](const char* column, BlindField field, const std::string& normalized) {
        if (normalized.empty()) return;
        any += std::string(" OR ") + column + " = ?";
        blobs.push_back(crypto_.BlindIndex(field, normalized));
      };
      if (q.text.find('@') != std::string::npos) add("bidx_email", BlindField::kEmail, email);
      add("bidx_name", BlindField::kName, name);
      add("bidx_surname", BlindField::kSurname, name);
      add("bidx_external_id", BlindField::kExternalId, q.text);
      add("bidx_phone", BlindField::kPhone, q.phone_e164);
      if (last4) add("bidx_phone4", BlindField::kPhoneLast4, q.text);
      sql += any + ")";
    }
    if (!q.country.empty()) {
      sql += " AND country = ?";
      texts.push_back(q.country);
    }
    if (!q.city.empty()) {
      sql += " AND city = ?";
      texts.push_back(q.city);
    }
    if (!q.tag.empty()) {
      sql += " AND EXISTS (SELECT 1 FROM json_each(customers.tags) WHERE value = ?)";
      texts.push_back(q.tag);
    }
    sql += " ORDER BY id LIMIT ?";
    auto matches = [&](const CustomerRecord& c) {
      if (!searching) return true;
      if (!name.empty() && (NormalizeName(c.name) == name || Surname(c.name) == name)) return true;
      if (!c.email.empty() && q.text.find('@') != std::string::npos && NormalizeEmail(c.email) == email) return true;
      if (!c.external_id.empty() && c.external_id == q.text) return true;
      if (!q.phone_e164.empty() && c.phone == q.phone_e164) return true;
      return last4 && PhoneLast4(c.phone) == q.text;
    };
    const int limit = std::clamp(q.limit, 1, 1000);
    int64_t after = q.after_id;
    std::vector<CustomerRecord> out;
    auto db = readers_.Acquire();
    while (true) {
      ASSIGN_OR_RETURN(Statement s, db->Prepare(sql));
      int index = 1;
      s.Bind(index++, after);
      if (q.scope) {
        BindScope(s, index, *q.scope);
        index += 2;
      }
      for (const auto& b : blobs) s.BindBlob(index++, b);
      for (const auto& t : texts) s.Bind(index++, t);
      s.Bind(index, limit);
      int rows = 0;
      while (true) {
        ASSIGN_OR_RETURN(bool row, s.Step());
        if (!row) break;
        ++rows;
        ASSIGN_OR_RETURN(CustomerRecord c, ReadCustomer(s, crypto_));
        after = c.id.value();
        if (matches(c) && static_cast<int>(out.size()) < limit) out.push_back(std::move(c));
      }
      if (rows < limit || static_cast<int>(out.size()) >= limit) break;
    }
    return out;
  }

  Result<int64_t> CountCustomers() override {
    auto db = readers_.Acquire();
    ASSIGN_OR_RETURN(Statement s, db->Prepare("SELECT count(*) FROM customers WHERE merged_into IS NULL"));
    ASSIGN_OR_RETURN(bool row, s.Step());
    (void)row;
    return s.Int(0);
  }

  Result<std::vector<IdentityRecord>> ListIdentities(CustomerId id) override {
    auto db = readers_.Acquire();
    return ListIdentitiesOn(*db, crypto_, id);
  }

  Result<std::optional<CustomerId>> FindIdentity(std::string_view type, std::string_view value) override {
    auto db = readers_.Acquire();
    return FindIdentityOn(*db, crypto_, type, value);
  }

  Result<std::vector<MergeRecord>> ListMerges(CustomerId id) override {
    auto db = readers_.Acquire();
    ASSIGN_OR_RETURN(Statement s, db->Prepare(
        "SELECT from_customer, into_customer, reason, at FROM merges WHERE from_customer = ?1 OR "
        "into_customer = ?1 ORDER BY at, id"));
    s.Bind(1, id.value());
    return CollectRows(s, [&] {
      return MergeRecord{CustomerId(s.Int(0)), CustomerId(s.Int(1)), s.Text(2), FromUnixMillis(s.Int(3))};
    });
  }

  // Newest first across three tables, ordered by (at DESC, kind DESC, id DESC). Each table is read through its
  // (customer_id, time, id) index with its own keyset bound and at most `limit` rows, then the three are merged.
  Result<std::vector<TimelineEntry>> ListTimeline(const TimelineQuery& q) override {
    struct Source {
      const char* kind;
      const char* table;
      const char* time_column;
    };
    // Sorted by kind descending, which is the tie-break order for equal times.
    static constexpr Source kSources[] = {{"order", "orders", "placed_at"},
                                          {"interaction", "interactions", "occurred_at"},
                                          {"event", "events", "ts"}};
    int limit = std::clamp(q.limit, 1, 500);
    std::vector<TimelineEntry> all;
    auto db = readers_.Acquire();
    // One read transaction, so the three tables are read at the same commit: a merge landing between two of
    // the statements would otherwise give a page with the survivor's new events but not its new orders.
    RETURN_IF_ERROR(db->Exec("BEGIN"));
    // Ends the transaction on every path, or the pooled connection would keep this snapshot for good.
    struct EndRead {
      Connection& db;
      ~EndRead() {
        if (!db.Exec("COMMIT")) (void)db.Exec("ROLLBACK");
      }
    } end_read{*db};
    for (const auto& src : kSources) {
      std::string sql = std::string("SELECT id, ") + src.time_column + " FROM " + src.table +
                        " WHERE customer_id = ?1";
      std::string_view kind = src.kind;
      if (q.before_at) {
        if (kind < q.before_kind) {
          sql += std::string(" AND ") + src.time_column + " <= ?2";
        } else if (kind == q.before_kind) {
          sql += std::string(" AND (") + src.time_column + ", id) < (?2, ?3)";
        } else {
          sql += std::string(" AND ") + src.time_column + " < ?2";
        }
      }
      sql += std::string(" ORDER BY ") + src.time_column + " DESC, id DESC LIMIT ?4";
      ASSIGN_OR_RETURN(Statement s, db->Prepare(sql));
      s.Bind(1, q.customer.value());
      if (q.before_at) {
        s.Bind(2, ToUnixMillis(*q.before_at));
        if (kind == q.before_kind) s.Bind(3, q.before_id);
      }
      s.Bind(4, limit);
      RETURN_IF_ERROR(ForEachRow(s, [&] { all.push_back({src.kind, s.Int(0), FromUnixMillis(s.Int(1))}); }));
    }
    std::sort(all.begin(), all.end(), [](const TimelineEntry& a, const TimelineEntry& b) {
      if (a.at != b.at) return a.at > b.at;
      if (a.kind != b.kind) return a.kind > b.kind;
      return a.id > b.id;
    });
    if (all.size() > static_cast<size_t>(limit)) all.resize(static_cast<size_t>(limit));
    return all;
  }

  Result<std::vector<EventRecord>> GetEvents(const std::vector<int64_t>& ids) override {
    return GetByIds<EventRecord>(
        "SELECT id, customer_id, message_id, type, name, anonymous_id, user_id, properties, context, ts, sent_at,"
        " received_at, personal FROM events",
        ids, [&](Connection&, const Statement& s) { return ReadEvent(s, crypto_); });
  }

  Result<std::vector<OrderRecord>> GetOrders(const std::vector<int64_t>& ids) override {
    return GetByIds<OrderRecord>(std::string("SELECT ") + kOrderColumns + " FROM orders", ids, ReadOrder);
  }

  Result<std::vector<InteractionRecord>> GetInteractions(const std::vector<int64_t>& ids) override {
    return GetByIds<InteractionRecord>(
        "SELECT id, customer_id, kind, subject, body, direction, occurred_at, author_id FROM interactions", ids,
        [&](Connection&, const Statement& s) { return ReadInteraction(s, crypto_); });
  }

  Result<std::vector<OrderRecord>> ListOrders(const PageQuery& q) override {
    auto db = readers_.Acquire();
    std::string sql = std::string("SELECT ") + kOrderColumns + " FROM orders WHERE id > ?1" +
                      (q.customer ? " AND customer_id = ?3" : "") + (q.scope ? kScopedCustomer : "") +
                      " ORDER BY id LIMIT ?2";
    ASSIGN_OR_RETURN(Statement s, db->Prepare(sql));
    s.Bind(1, q.after_id).Bind(2, std::clamp(q.limit, 1, 1000));
    if (q.customer) s.Bind(3, q.customer->value());
    if (q.scope) BindScope(s, 4, *q.scope);
    return CollectRows(s, [&] { return ReadOrder(*db, s); });
  }

  Result<std::vector<ProductRecord>> ListProducts(const PageQuery& q) override {
    auto db = readers_.Acquire();
    ASSIGN_OR_RETURN(Statement s, db->Prepare(
        "SELECT id, sku, name, category, price_minor, currency FROM products WHERE id > ? ORDER BY id LIMIT ?"));
    s.Bind(1, q.after_id).Bind(2, std::clamp(q.limit, 1, 1000));
    return CollectRows(s, [&] {
      return ProductRecord{ProductId(s.Int(0)), s.Text(1), s.Text(2), s.Text(3), Money{s.Int(4), s.Text(5)}};
    });
  }

  Result<ProductRecord> GetProduct(ProductId id) override {
    auto db = readers_.Acquire();
    ASSIGN_OR_RETURN(Statement s, db->Prepare(
        "SELECT id, sku, name, category, price_minor, currency FROM products WHERE id = ?"));
    s.Bind(1, id.value());
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return Error::NotFound("product " + id.ToString() + " not found");
    return ProductRecord{ProductId(s.Int(0)), s.Text(1), s.Text(2), s.Text(3), Money{s.Int(4), s.Text(5)}};
  }

  Result<std::vector<InteractionRecord>> ListInteractions(const PageQuery& q) override {
    auto db = readers_.Acquire();
    std::string sql =
        "SELECT id, customer_id, kind, subject, body, direction, occurred_at, author_id FROM interactions "
        "WHERE id > ?1" + std::string(q.customer ? " AND customer_id = ?3" : "") +
        (q.scope ? kScopedCustomer : "") + " ORDER BY id LIMIT ?2";
    ASSIGN_OR_RETURN(Statement s, db->Prepare(sql));
    s.Bind(1, q.after_id).Bind(2, std::clamp(q.limit, 1, 1000));
    if (q.customer) s.Bind(3, q.customer->value());
    if (q.scope) BindScope(s, 4, *q.scope);
    return CollectRows(s, [&] { return ReadInteraction(s, crypto_); });
  }

  Result<void> ScanOrderFacts(const std::function<void(const OrderFact&)>& fn) override {
    auto db = readers_.Acquire();
    ASSIGN_OR_RETURN(Statement s, db->Prepare("SELECT customer_id, placed_at, total_base_minor FROM orders WHERE status = 'completed'"));
    RETURN_IF_ERROR(ForEachRow(s, [&] { fn({CustomerId(s.Int(0)), FromUnixMillis(s.Int(1)), s.Int(2)}); }));
    return Ok();
  }

  Result<void> ScanEventFacts(const std::function<void(const EventFact&)>& fn) override {
    auto db = readers_.Acquire();
    ASSIGN_OR_RETURN(Statement s, db->Prepare("SELECT customer_id, ts FROM events"));
    RETURN_IF_ERROR(ForEachRow(s, [&] { fn({CustomerId(s.Int(0)), FromUnixMillis(s.Int(1))}); }));
    return Ok();
  }

  Result<void> ScanEventsByName(std::string_view name, Timestamp from, Timestamp to, std::optional<CustomerId> customer,
                                const std::function<void(const NamedEventFact&)>& fn) override {
    auto db = readers_.Acquire();
    // ?4 NULL means every customer.
    ASSIGN_OR_RETURN(Statement s, db->Prepare("SELECT customer_id, ts, properties FROM events WHERE name = ?1"
                                              " AND ts >= ?2 AND ts <= ?3 AND (?4 IS NULL OR customer_id = ?4)"
                                              " ORDER BY ts"));
    s.Bind(1, name).Bind(2, ToUnixMillis(from)).Bind(3, ToUnixMillis(to));
    if (customer) {
      s.Bind(4, customer->value());
    } else {
      s.BindNull(4);
    }
    NamedEventFact fact;
    RETURN_IF_ERROR(ForEachRow(s, [&] {
      fact.customer = CustomerId(s.Int(0));
      fact.timestamp = FromUnixMillis(s.Int(1));
      fact.properties_json = s.Text(2);
      fn(fact);
    }));
    return Ok();
  }

  Result<void> ScanEvents(const EventScan& scan, const std::function<void(const EventRow&)>& fn) override {
    // Property paths are bound as JSON path parameters ($."a"."b"); the segment alphabet is checked anyway so
    // a bad path is a clear error rather than a JSON path syntax error from SQLite.
    std::vector<std::string> paths;
    for (const std::string& key : scan.properties) {
      std::string path = "$";
      size_t start = 0;
      while (true) {
        size_t dot = key.find('.', start);
        std::string_view segment = std::string_view(key).substr(start, dot == std::string::npos ? dot : dot - start);
        bool valid = !segment.empty() && segment.size() <= 64;
        for (char c : segment) {
          if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') valid = false;
        }
        if (!valid) return Error::InvalidArgument("property path '" + key + "' is not a.b.c of [A-Za-z0-9_-]");
        path += ".\"" + std::string(segment) + "\"";
        if (dot == std::string::npos) break;
        start = dot + 1;
      }
      paths.push_back(std::move(path));
    }
    const std::string& attribute = scan.customer_attribute;
    if (!attribute.empty() && attribute != "country" && attribute != "city" && attribute != "gender") {
      return Error::InvalidArgument("customer attribute '" + attribute + "' is not country, city or gender");
    }
    std::string sql = "SELECT e.customer_id, e.ts, e.id, e.name";
    for (size_t i = 0; i < paths.size(); ++i) {
      sql += ", CASE json_type(e.properties, ?) WHEN 'true' THEN '1' WHEN 'false' THEN '0'"
             " ELSE CAST(json_extract(e.properties, ?) AS TEXT) END";
    }
    if (attribute == "country") {
      sql += ", c.country";
    } else if (attribute == "city") {
      sql += ", c.city";
    } else if (attribute == "gender") {
      sql += ", c.gender";
    } else {
      sql += ", ''";
    }
    sql += " FROM events e JOIN customers c ON c.id = e.customer_id WHERE c.merged_into IS NULL";
    const std::vector<std::string>& ids = scan.names;  // event names, bound
    if (!ids.empty()) sql += " AND e.name IN (" + Placeholders(ids.size()) + ")";
    if (scan.from) sql += " AND e.ts >= ?";
    if (scan.to) sql += " AND e.ts < ?";
    sql += " ORDER BY e.customer_id, e.ts, e.id";
    auto db = readers_.Acquire();
    ASSIGN_OR_RETURN(Statement s, db->Prepare(sql));
    int index = 0;
    for (const auto& path : paths) {
      s.Bind(++index, path);
      s.Bind(++index, path);
    }
    for (const auto& name : ids) s.Bind(++index, name);
    if (scan.from) s.Bind(++index, ToUnixMillis(*scan.from));
    if (scan.to) s.Bind(++index, ToUnixMillis(*scan.to));
    std::vector<std::optional<std::string>> values(paths.size());
    const int first_property = 4;
    const int attribute_column = first_property + static_cast<int>(paths.size());
    RETURN_IF_ERROR(ForEachRow(s, [&] {
      for (size_t i = 0; i < values.size(); ++i) {
        int col = first_property + static_cast<int>(i);
        values[i] = s.IsNull(col) ? std::nullopt : std::optional<std::string>(s.Text(col));
      }
      std::string name = s.Text(3);
      std::string attr = s.Text(attribute_column);
      fn(EventRow{CustomerId(s.Int(0)), FromUnixMillis(s.Int(1)), s.Int(2), name, &values, attr});
    }));
    return Ok();
  }

  Result<std::vector<std::string>> ListEventNames(int limit) override {
    auto db = readers_.Acquire();
    ASSIGN_OR_RETURN(Statement s,
                     db->Prepare("SELECT DISTINCT name FROM events WHERE name <> '' ORDER BY name LIMIT ?"));
    s.Bind(1, std::clamp(limit, 1, 10000));
    return CollectRows(s, [&] { return s.Text(0); });
  }

  Result<void> ScanCustomerIds(const std::function<void(CustomerId, bool)>& fn) override {
    auto db = readers_.Acquire();
    ASSIGN_OR_RETURN(Statement s, db->Prepare("SELECT id, merged_into IS NOT NULL FROM customers ORDER BY id"));
    RETURN_IF_ERROR(ForEachRow(s, [&] { fn(CustomerId(s.Int(0)), s.Int(1) != 0); }));
    return Ok();
  }

  Result<void> ScanCustomerFacts(const std::function<void(const CustomerFact&)>& fn) override {
    auto db = readers_.Acquire();
    ASSIGN_OR_RETURN(Statement s, db->Prepare("SELECT id, merged_into, created_at FROM customers ORDER BY id"));
    RETURN_IF_ERROR(ForEachRow(s, [&] {
      CustomerFact fact{CustomerId(s.Int(0)), std::nullopt, FromUnixMillis(s.Int(2))};
      if (!s.IsNull(1)) fact.merged_into = CustomerId(s.Int(1));
      fn(fact);
    }));
    return Ok();
  }

  Result<UserRecord> FindUserByName(std::string_view username) override {
    return FindUser("username = ?", [&](Statement& s) { s.Bind(1, username); });
  }

  Result<UserRecord> GetUser(UserId id) override {
    return FindUser("id = ?", [&](Statement& s) { s.Bind(1, id.value()); });
  }

  Result<std::vector<UserRecord>> ListUsers() override {
    auto db = readers_.Acquire();
    ASSIGN_OR_RETURN(Statement s, db->Prepare(std::string("SELECT ") + kUserColumns + " FROM users ORDER BY id"));
    return CollectRows(s, [&] { return ReadUser(s); });
  }

  Result<ApiKeyRecord> FindApiKeyBySecretHash(std::string_view secret_sha256) override {
    auto db = readers_.Acquire();
    ASSIGN_OR_RETURN(Statement s, db->Prepare(std::string("SELECT ") + kKeyColumns +
                                              " FROM api_keys WHERE secret_sha256 = ?"));
    s.Bind(1, secret_sha256);
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return Error::NotFound("api key not found");
    return ReadKey(s);
  }

  Result<std::vector<ApiKeyRecord>> ListApiKeys() override {
    auto db = readers_.Acquire();
    ASSIGN_OR_RETURN(Statement s, db->Prepare(std::string("SELECT ") + kKeyColumns + " FROM api_keys ORDER BY id"));
    return CollectRows(s, [&] { return ReadKey(s); });
  }

  Result<void> TouchApiKey(ApiKeyId id, Timestamp at) override {
    return Write([&](WriteTxn&) -> Result<void> {
      ASSIGN_OR_RETURN(Statement s, writer_->Prepare("UPDATE api_keys SET last_used_at = ? WHERE id = ?"));
      s.Bind(1, ToUnixMillis(at)).Bind(2, id.value());
      return s.Run();
    });
  }

  Result<SessionRecord> FindSessionByAccess(std::string_view access_sha256) override {
    return FindSessionWhere("access_sha256 = ?", access_sha256);
  }

  Result<SessionRecord> FindSessionByRefresh(std::string_view refresh_sha256) override {
    return FindSessionWhere("refresh_sha256 = ?", refresh_sha256);
  }

  Result<std::optional<int64_t>> FindSpentRefresh(std::string_view refresh_sha256) override {
    auto db = readers_.Acquire();
    ASSIGN_OR_RETURN(Statement s, db->Prepare("SELECT session_id FROM spent_refresh_tokens WHERE refresh_sha256 = ?"));
    s.Bind(1, refresh_sha256);
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return std::optional<int64_t>();
    return std::optional<int64_t>(s.Int(0));
  }

  Result<std::vector<SessionRecord>> ListUserSessions(UserId user) override {
    auto db = readers_.Acquire();
    ASSIGN_OR_RETURN(Statement s, db->Prepare(std::string("SELECT ") + kSessionColumns +
                                              " FROM sessions WHERE user_id = ? ORDER BY id"));
    s.Bind(1, user.value());
    return CollectRows(s, [&] { return ReadSession(s); });
  }

  Result<DeviceRecord> FindDeviceByToken(std::string_view token_sha256) override {
    auto db = readers_.Acquire();
    ASSIGN_OR_RETURN(Statement s, db->Prepare(std::string("SELECT ") + kDeviceColumns +
                                              " FROM known_devices WHERE token_sha256 = ?"));
    s.Bind(1, token_sha256);
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return Error::NotFound("device not found");
    return ReadDevice(s);
  }

  Result<std::vector<DeviceRecord>> ListUserDevices(UserId user) override {
    auto db = readers_.Acquire();
    ASSIGN_OR_RETURN(Statement s, db->Prepare(std::string("SELECT ") + kDeviceColumns +
                                              " FROM known_devices WHERE user_id = ? ORDER BY id"));
    s.Bind(1, user.value());
    return CollectRows(s, [&] { return ReadDevice(s); });
  }

  Result<std::vector<ThrottleRecord>> ListThrottle(Timestamp now) override {
    auto db = readers_.Acquire();
    ASSIGN_OR_RETURN(Statement s, db->Prepare(
        "SELECT kind, key, failures, started_at, locked_until, expires_at FROM login_throttle WHERE expires_at > ?"));
    s.Bind(1, ToUnixMillis(now));
    std::vector<ThrottleRecord> out;
    RETURN_IF_ERROR(ForEachRow(s, [&] {
      out.push_back({s.Text(0), s.Text(1), s.Int(2), FromUnixMillis(s.Int(3)), FromUnixMillis(s.Int(4)),
                     FromUnixMillis(s.Int(5))});
    }));
    return out;
  }

  Result<void> TouchDevice(int64_t device_id, Timestamp at) override {
    return Write([&](WriteTxn&) -> Result<void> {
      ASSIGN_OR_RETURN(Statement s, writer_->Prepare("UPDATE known_devices SET last_used_at = ? WHERE id = ?"));
      s.Bind(1, ToUnixMillis(at)).Bind(2, device_id);
      return s.Run();
    });
  }

  Result<std::optional<MfaRecord>> GetMfa(UserId user) override {
    auto db = readers_.Acquire();
    ASSIGN_OR_RETURN(Statement s, db->Prepare(
        "SELECT user_id, seed_sealed, confirmed, last_step, created_at FROM user_mfa WHERE user_id = ?"));
    s.Bind(1, user.value());
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return std::optional<MfaRecord>();
    return std::optional<MfaRecord>(
        MfaRecord{UserId(s.Int(0)), s.Text(1), s.Int(2) != 0, s.Int(3), FromUnixMillis(s.Int(4))});
  }

  Result<std::vector<RecoveryCodeRecord>> ListRecoveryCodes(UserId user) override {
    auto db = readers_.Acquire();
    ASSIGN_OR_RETURN(Statement s, db->Prepare(
        "SELECT id, user_id, code_hash, used_at FROM recovery_codes WHERE user_id = ? ORDER BY id"));
    s.Bind(1, user.value());
    return CollectRows(s, [&] {
      RecoveryCodeRecord r{s.Int(0), UserId(s.Int(1)), s.Text(2), std::nullopt};
      if (auto used = s.OptInt(3)) r.used_at = FromUnixMillis(*used);
      return r;
    });
  }

  Result<std::vector<RoleSettingRecord>> ListRoleSettings() override {
    auto db = readers_.Acquire();
    ASSIGN_OR_RETURN(Statement s, db->Prepare(
        "SELECT role, mfa_required, changed_by, changed_at FROM role_settings ORDER BY role"));
    return CollectRows(s, [&] {
      return RoleSettingRecord{s.Text(0), s.Int(1) != 0, s.Text(2), FromUnixMillis(s.Int(3))};
    });
  }

  Result<std::vector<DataClassRecord>> ListDataClasses() override {
    auto db = readers_.Acquire();
    ASSIGN_OR_RETURN(Statement s, db->Prepare(
        "SELECT scope, key, class, changed_by, changed_at FROM data_classes ORDER BY scope, key"));
    return CollectRows(s, [&] {
      return DataClassRecord{s.Text(0), s.Text(1), s.Text(2), s.Text(3), FromUnixMillis(s.Int(4))};
    });
  }

  Result<std::optional<AnalyticsSettingRecord>> GetAnalyticsSetting(std::string_view key) override {
    auto db = readers_.Acquire();
    ASSIGN_OR_RETURN(Statement s, db->Prepare(
        "SELECT key, value, changed_by, changed_at FROM analytics_settings WHERE key = ?"));
    s.Bind(1, key);
    std::optional<AnalyticsSettingRecord> out;
    RETURN_IF_ERROR(ForEachRow(s, [&] {
      out = AnalyticsSettingRecord{s.Text(0), s.Text(1), s.Text(2), FromUnixMillis(s.Int(3))};
    }));
    return out;
  }

  Result<std::optional<IdempotencyRecord>> FindIdempotency(std::string_view key) override {
    auto db = readers_.Acquire();
    ASSIGN_OR_RETURN(Statement s, db->Prepare(
        "SELECT key, request_hash, status, response_body, created_at FROM idempotency WHERE key = ?"));
    s.Bind(1, key);
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return std::optional<IdempotencyRecord>();
    return std::optional<IdempotencyRecord>(IdempotencyRecord{
        s.Text(0), s.Text(1), static_cast<int>(s.Int(2)), s.Text(3), FromUnixMillis(s.Int(4))});
  }

  Result<std::optional<LedgerRow>> LastLedgerRow() override {
    auto db = readers_.Acquire();
    ASSIGN_OR_RETURN(Statement s, db->Prepare(
        "SELECT seq, body, prev_hash, entry_hash FROM ledger ORDER BY seq DESC LIMIT 1"));
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return std::optional<LedgerRow>();
    return std::optional<LedgerRow>(LedgerRow{s.Int(0), s.Text(1), s.Text(2), s.Text(3)});
  }

  Result<void> ScanLedger(int64_t after_seq, const std::function<void(const LedgerRow&)>& fn) override {
    auto db = readers_.Acquire();
    ASSIGN_OR_RETURN(Statement s, db->Prepare(
        "SELECT seq, body, prev_hash, entry_hash, "
        "at IS json_extract(body, '$.at') AND actor IS json_extract(body, '$.actor') AND "
        "action IS json_extract(body, '$.action') AND object_type IS json_extract(body, '$.object_type') AND "
        "object_id IS json_extract(body, '$.object_id') "
        "FROM ledger WHERE seq > ? ORDER BY seq"));
    s.Bind(1, after_seq);
    LedgerRow row;
    return ForEachRow(s, [&] {
      row.seq = s.Int(0);
      row.body = s.Text(1);
      row.prev_hash = s.Text(2);
      row.entry_hash = s.Text(3);
      row.columns_match = s.Int(4) != 0;
      fn(row);
    });
  }

  Result<std::vector<LedgerRow>> ListLedger(const LedgerQuery& q) override {
    std::string sql = "SELECT seq, body, prev_hash, entry_hash FROM ledger WHERE 1";
    std::vector<std::string> text_args;
    auto text = [&](const char* column, const std::string& value) {
      if (value.empty()) return;
      sql += std::string(" AND ") + column + " = ?";
      text_args.push_back(value);
    };
    text("actor", q.actor);
    text("action", q.action);
    text("object_type", q.object_type);
    text("object_id", q.object_id);
    std::vector<int64_t> int_args;
    auto number = [&](const char* condition, int64_t value) {
      sql += condition;
      int_args.push_back(value);
    };
    if (q.from) number(" AND at >= ?", ToUnixMillis(*q.from));
    if (q.to) number(" AND at < ?", ToUnixMillis(*q.to));
    if (q.before_seq > 0) number(" AND seq < ?", q.before_seq);
    number(" ORDER BY seq DESC LIMIT ?", std::max(1, q.limit));
    auto db = readers_.Acquire();
    ASSIGN_OR_RETURN(Statement s, db->Prepare(sql));
    int index = 0;
    for (const auto& arg : text_args) s.Bind(++index, arg);
    for (int64_t arg : int_args) s.Bind(++index, arg);
    return CollectRows(s, [&] { return LedgerRow{s.Int(0), s.Text(1), s.Text(2), s.Text(3)}; });
  }

  Result<std::vector<CheckpointRecord>> ListCheckpoints() override {
    auto db = readers_.Acquire();
    ASSIGN_OR_RETURN(Statement s, db->Prepare(
        "SELECT id, from_seq, to_seq, merkle_root, head_hash, created_at, signature FROM ledger_checkpoints"
        " ORDER BY to_seq"));
    return CollectRows(s, [&] {
      return CheckpointRecord{s.Int(0), s.Int(1), s.Int(2), s.Text(3),
                              s.Text(4), FromUnixMillis(s.Int(5)), s.Text(6)};
    });
  }

  Result<std::vector<TeamRecord>> ListTeams() override {
    auto db = readers_.Acquire();
    ASSIGN_OR_RETURN(Statement s, db->Prepare("SELECT id, name, created_at FROM teams ORDER BY id"));
    return CollectRows(s, [&] { return TeamRecord{TeamId(s.Int(0)), s.Text(1), FromUnixMillis(s.Int(2))}; });
  }

  Result<std::vector<RoleRecord>> ListRoles() override {
    auto db = readers_.Acquire();
    ASSIGN_OR_RETURN(Statement s, db->Prepare(
        "SELECT name, description, permissions, created_at, updated_at FROM roles ORDER BY name"));
    return CollectRows(s, [&] { return ReadRole(s); });
  }

  Result<std::vector<RevealRecord>> ListReveals(CustomerId customer) override {
    auto db = readers_.Acquire();
    ASSIGN_OR_RETURN(Statement s, db->Prepare(
        "SELECT at, actor, customer_id, fields FROM reveals WHERE customer_id = ? ORDER BY id"));
    s.Bind(1, customer.value());
    return CollectRows(s, [&] {
      RevealRecord r{FromUnixMillis(s.Int(0)), s.Text(1), CustomerId(s.Int(2)), {}};
      std::string fields = s.Text(3);
      size_t start = 0;
      while (start < fields.size()) {
        size_t comma = std::min(fields.find(',', start), fields.size());
        r.fields.push_back(fields.substr(start, comma - start));
        start = comma + 1;
      }
      return r;
    });
  }

  Result<std::optional<RoleRecord>> FindRole(std::string_view name) override {
    auto db = readers_.Acquire();
    ASSIGN_OR_RETURN(Statement s, db->Prepare(
        "SELECT name, description, permissions, created_at, updated_at FROM roles WHERE name = ?"));
    s.Bind(1, name);
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return std::optional<RoleRecord>();
    return std::optional<RoleRecord>(ReadRole(s));
  }

  Result<std::vector<ConsentRecord>> ListConsents(CustomerId id) override {
    auto db = readers_.Acquire();
    ASSIGN_OR_RETURN(Statement s, db->Prepare(std::string("SELECT ") + kConsentColumns +
                                              " FROM consents WHERE customer_id = ? ORDER BY id"));
    s.Bind(1, id.value());
    return CollectRows(s, [&] { return ReadConsent(s); });
  }

  Result<void> ScanConsents(const std::function<void(const ConsentRecord&)>& fn) override {
    auto db = readers_.Acquire();
    ASSIGN_OR_RETURN(Statement s, db->Prepare(std::string("SELECT ") + kConsentColumns + " FROM consents ORDER BY id"));
    return ForEachRow(s, [&] { fn(ReadConsent(s)); });
  }

  Result<PrivacyRequestRecord> GetPrivacyRequest(int64_t id) override {
    auto db = readers_.Acquire();
    ASSIGN_OR_RETURN(Statement s, db->Prepare(std::string("SELECT ") + kRequestColumns +
                                              " FROM privacy_requests WHERE id = ?"));
    s.Bind(1, id);
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return Error::NotFound("privacy request " + std::to_string(id) + " not found");
    return ReadRequest(s);
  }

  Result<std::vector<PrivacyRequestRecord>> ListPrivacyRequests(const PrivacyRequestQuery& q) override {
    auto db = readers_.Acquire();
    std::string sql = std::string("SELECT ") + kRequestColumns + " FROM privacy_requests WHERE id > ?1";
    if (q.customer) sql += " AND customer_id = ?2";
    if (q.overdue_at) sql += " AND status = 'open' AND due_at < ?3";
    if (q.scheduled_due_at) sql += " AND status = 'scheduled' AND scheduled_for <= ?5";
    sql += " ORDER BY id LIMIT ?4";
    ASSIGN_OR_RETURN(Statement s, db->Prepare(sql));
    s.Bind(1, q.after_id).Bind(4, q.limit);
    if (q.scheduled_due_at) s.Bind(5, ToUnixMillis(*q.scheduled_due_at));
    if (q.customer) s.Bind(2, q.customer->value());
    if (q.overdue_at) s.Bind(3, ToUnixMillis(*q.overdue_at));
    return CollectRows(s, [&] { return ReadRequest(s); });
  }

  Result<PrivacyFlagsRecord> GetPrivacyFlags(CustomerId id) override {
    auto db = readers_.Acquire();
    ASSIGN_OR_RETURN(Statement s, db->Prepare(
        "SELECT legal_hold, restricted, updated_at FROM privacy_flags WHERE customer_id = ?"));
    s.Bind(1, id.value());
    ASSIGN_OR_RETURN(bool row, s.Step());
    PrivacyFlagsRecord f;
    f.customer = id;
    if (row) {
      f.legal_hold = s.Int(0) != 0;
      f.restricted = s.Int(1) != 0;
      f.updated_at = FromUnixMillis(s.Int(2));
    }
    return f;
  }

  Result<void> ScanPrivacyFlags(const std::function<void(const PrivacyFlagsRecord&)>& fn) override {
    auto db = readers_.Acquire();
    ASSIGN_OR_RETURN(Statement s, db->Prepare(
        "SELECT customer_id, legal_hold, restricted, updated_at FROM privacy_flags ORDER BY customer_id"));
    return ForEachRow(s, [&] {
      fn(PrivacyFlagsRecord{CustomerId(s.Int(0)), s.Int(1) != 0, s.Int(2) != 0, FromUnixMillis(s.Int(3))});
    });
  }

  Result<std::vector<SegmentRecord>> ListSegments() override {
    auto db = readers_.Acquire();
    ASSIGN_OR_RETURN(Statement s, db->Prepare(std::string("SELECT ") + kSegmentColumns + " FROM segments ORDER BY id"));
    return CollectRows(s, [&] { return ReadSegment(s); });
  }

  Result<void> ScanSegmentMembers(SegmentId id, const std::function<void(const SegmentMemberRecord&)>& fn) override {
    auto db = readers_.Acquire();
    ASSIGN_OR_RETURN(Statement s, db->Prepare(
        "SELECT customer_id, entered_at FROM segment_members WHERE segment_id = ? ORDER BY customer_id"));
    s.Bind(1, id.value());
    return ForEachRow(s, [&] { fn(SegmentMemberRecord{id, CustomerId(s.Int(0)), FromUnixMillis(s.Int(1))}); });
  }

  Result<std::vector<SegmentEventRecord>> ListSegmentEvents(const SegmentEventQuery& q) override {
    auto db = readers_.Acquire();
    ASSIGN_OR_RETURN(Statement s, db->Prepare(
        "SELECT id, segment_id, customer_id, kind, at FROM segment_events WHERE segment_id = ? AND id > ?"
        " ORDER BY id LIMIT ?"));
    s.Bind(1, q.segment.value()).Bind(2, q.after_id).Bind(3, q.limit);
    return CollectRows(s, [&] {
      return SegmentEventRecord{s.Int(0), SegmentId(s.Int(1)), CustomerId(s.Int(2)), s.Text(3),
                                FromUnixMillis(s.Int(4))};
    });
  }

  Result<std::vector<SegmentMemberRecord>> ListCustomerSegments(CustomerId id) override {
    auto db = readers_.Acquire();
    ASSIGN_OR_RETURN(Statement s, db->Prepare(
        "SELECT segment_id, entered_at FROM segment_members WHERE customer_id = ? ORDER BY segment_id"));
    s.Bind(1, id.value());
    return CollectRows(s, [&] { return SegmentMemberRecord{SegmentId(s.Int(0)), id, FromUnixMillis(s.Int(1))}; });
  }

  Result<std::vector<std::string>> ListSubjectTables() override {
    auto db = readers_.Acquire();
    return SubjectTablesOn(*db);
  }

  Result<std::vector<SubjectTable>> ExportSubjectRows(CustomerId id) override {
    auto db = readers_.Acquire();
    // One read transaction, so the bundle is one snapshot.
    RETURN_IF_ERROR(db->Exec("BEGIN"));
    auto result = [&]() -> Result<std::vector<SubjectTable>> {
      ASSIGN_OR_RETURN(std::vector<int64_t> ids, SubjectIdsOn(*db, id));
      if (ids.empty()) return Error::NotFound("customer " + id.ToString() + " not found");
      std::vector<SubjectTable> out;
      ASSIGN_OR_RETURN(SubjectTable customers, DumpRowsOn(*db, crypto_, "customers", "id IN ?", ids));
      out.push_back(std::move(customers));
      ASSIGN_OR_RETURN(SubjectTable merges, DumpRowsOn(*db, crypto_, "merges", "from_customer IN ? OR into_customer IN ?", ids));
      out.push_back(std::move(merges));
      ASSIGN_OR_RETURN(std::vector<std::string> tables, SubjectTablesOn(*db));
      for (const auto& table : tables) {
        ASSIGN_OR_RETURN(SubjectTable rows, DumpRowsOn(*db, crypto_, table, "customer_id IN ?", ids));
        out.push_back(std::move(rows));
      }
      return out;
    }();
    (void)db->Exec("COMMIT");
    return result;
  }

  Result<bool> IsErasureSuppressed(std::string_view hash) override {
    auto db = readers_.Acquire();
    ASSIGN_OR_RETURN(Statement s, db->Prepare("SELECT 1 FROM erasure_suppressions WHERE hash = ?"));
    s.Bind(1, hash);
    return s.Step();
  }

  Result<std::optional<VerificationCodeRecord>> GetVerificationCode(int64_t request_id) override {
    auto db = readers_.Acquire();
    ASSIGN_OR_RETURN(Statement s, db->Prepare(std::string("SELECT ") + kCodeColumns +
                                              " FROM privacy_verification_codes WHERE request_id = ?"));
    s.Bind(1, request_id);
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return std::optional<VerificationCodeRecord>();
    return std::optional<VerificationCodeRecord>(ReadCode(s));
  }

  Result<std::vector<OutboxRecord>> ListOutbox(CustomerId customer) override {
    auto db = readers_.Acquire();
    ASSIGN_OR_RETURN(Statement s, db->Prepare(
        "SELECT id, channel, customer_id, template, payload, created_at, sent_at FROM notification_outbox"
        " WHERE customer_id = ? ORDER BY id"));
    s.Bind(1, customer.value());
    return CollectRows(s, [&] {
      OutboxRecord m;
      m.id = s.Int(0);
      m.channel = s.Text(1);
      m.customer = CustomerId(s.Int(2));
      m.template_name = s.Text(3);
      m.payload_json = s.Text(4);
      m.created_at = FromUnixMillis(s.Int(5));
      if (auto t = s.OptInt(6)) m.sent_at = FromUnixMillis(*t);
      return m;
    });
  }

  Result<void> CheckIntegrity() override {
    auto db = readers_.Acquire();
    ASSIGN_OR_RETURN(Statement s, db->Prepare("PRAGMA integrity_check"));
    ASSIGN_OR_RETURN(bool row, s.Step());
    std::string verdict = row ? s.Text(0) : "no answer";
    if (verdict != "ok") return Error::Internal("integrity check failed: " + verdict);
    return Ok();
  }

  int SchemaVersion() const override { return schema_version_; }

 private:
  explicit SqliteStore(FieldCrypto& crypto) : crypto_(crypto) {}

  static constexpr const char* kUserColumns =
      "id, username, password_hash, role, display_name, created_at, disabled, team_id";
  // Orders and interactions of customers in a RecordScope (parameters ?4 and ?5).
  static constexpr const char* kScopedCustomer =
      " AND customer_id IN (SELECT id FROM customers WHERE owner_id = ?4 OR team_id = ?5)";

  // The rows whose id is in `ids` (none for no ids), each made by `read(db, s)`. `select` is the statement up to
  // its WHERE clause, built from literals and k-constants (scripts/check-sql-literals.py checks every call).
  template <typename T, typename Read>
  Result<std::vector<T>> GetByIds(const std::string& select, const std::vector<int64_t>& ids, Read read) {
    if (ids.empty()) return std::vector<T>();
    auto db = readers_.Acquire();
    ASSIGN_OR_RETURN(Statement s, db->Prepare(select + " WHERE id IN (" + Placeholders(ids.size()) + ")"));
    for (size_t i = 0; i < ids.size(); ++i) s.Bind(static_cast<int>(i + 1), ids[i]);
    return CollectRows(s, [&] { return read(*db, s); });
  }

  static RoleRecord ReadRole(const Statement& s) {
    RoleRecord r;
    r.name = s.Text(0);
    r.description = s.Text(1);
    std::string permissions = s.Text(2);
    size_t start = 0;
    while (start < permissions.size()) {
      size_t comma = permissions.find(',', start);
      if (comma == std::string::npos) comma = permissions.size();
      if (comma > start) r.permissions.push_back(permissions.substr(start, comma - start));
      start = comma + 1;
    }
    r.created_at = FromUnixMillis(s.Int(3));
    r.updated_at = FromUnixMillis(s.Int(4));
    return r;
  }
  static constexpr const char* kKeyColumns =
      "id, name, kind, scope, prefix, secret_sha256, owner_id, created_at, last_used_at, revoked, expires_at,"
      " allowed_cidrs";

  static constexpr const char* kSessionColumns =
      "id, user_id, access_sha256, refresh_sha256, created_at, access_expires_at, refresh_expires_at,"
      " absolute_expires_at, last_used_at, client_ip, user_agent, reauth_at";

  static constexpr const char* kDeviceColumns =
      "id, user_id, token_sha256, created_at, last_used_at, expires_at, user_agent";

  static DeviceRecord ReadDevice(const Statement& s) {
    DeviceRecord x;
    x.id = s.Int(0);
    x.user = UserId(s.Int(1));
    x.token_sha256 = s.Text(2);
    x.created_at = FromUnixMillis(s.Int(3));
    x.last_used_at = FromUnixMillis(s.Int(4));
    x.expires_at = FromUnixMillis(s.Int(5));
    x.user_agent = s.Text(6);
    return x;
  }

  static SessionRecord ReadSession(const Statement& s) {
    SessionRecord x;
    x.id = s.Int(0);
    x.user = UserId(s.Int(1));
    x.access_sha256 = s.Text(2);
    x.refresh_sha256 = s.Text(3);
    x.created_at = FromUnixMillis(s.Int(4));
    x.access_expires_at = FromUnixMillis(s.Int(5));
    x.refresh_expires_at = FromUnixMillis(s.Int(6));
    x.absolute_expires_at = FromUnixMillis(s.Int(7));
    x.last_used_at = FromUnixMillis(s.Int(8));
    x.client_ip = s.Text(9);
    x.user_agent = s.Text(10);
    x.reauth_at = FromUnixMillis(s.Int(11));
    return x;
  }

  Result<SessionRecord> FindSessionWhere(const char* where, std::string_view key) {
    auto db = readers_.Acquire();
    ASSIGN_OR_RETURN(Statement s, db->Prepare(std::string("SELECT ") + kSessionColumns + " FROM sessions WHERE " +
                                              where));
    s.Bind(1, key);
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return Error::NotFound("session not found");
    return ReadSession(s);
  }

  static UserRecord ReadUser(const Statement& s) {
    UserRecord u{UserId(s.Int(0)), s.Text(1), s.Text(2), s.Text(3), s.Text(4), FromUnixMillis(s.Int(5)),
                 s.Int(6) != 0};
    if (auto team = s.OptInt(7)) u.team = TeamId(*team);
    return u;
  }

  static ApiKeyRecord ReadKey(const Statement& s) {
    ApiKeyRecord k;
    k.id = ApiKeyId(s.Int(0));
    k.name = s.Text(1);
    k.kind = s.Text(2);
    k.scope = s.Text(3);
    k.prefix = s.Text(4);
    k.secret_sha256 = s.Text(5);
    if (auto owner = s.OptInt(6)) k.owner = UserId(*owner);
    k.created_at = FromUnixMillis(s.Int(7));
    if (auto used = s.OptInt(8)) k.last_used_at = FromUnixMillis(*used);
    k.revoked = s.Int(9) != 0;
    if (auto expires = s.OptInt(10)) k.expires_at = FromUnixMillis(*expires);
    k.allowed_cidrs = SplitCidrs(s.Text(11));
    return k;
  }

  template <typename BindFn>
  Result<UserRecord> FindUser(const char* where, BindFn bind) {
    auto db = readers_.Acquire();
    ASSIGN_OR_RETURN(Statement s, db->Prepare(std::string("SELECT ") + kUserColumns + " FROM users WHERE " + where));
    bind(s);
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return Error::NotFound("user not found");
    return ReadUser(s);
  }

  Result<void> Migrate() {
    RETURN_IF_ERROR(writer_->Exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL,"
        " applied_at INTEGER NOT NULL)"));
    {
      ASSIGN_OR_RETURN(Statement s, writer_->Prepare("SELECT coalesce(max(version), 0) FROM schema_migrations"));
      ASSIGN_OR_RETURN(bool row, s.Step());
      (void)row;
      schema_version_ = static_cast<int>(s.Int(0));
    }
    for (const Migration& m : SqliteMigrations()) {
      if (m.version <= schema_version_) continue;
      if (m.version == 3 && schema_version_ >= 1) RETURN_IF_ERROR(RefusePlaintextData());
      RETURN_IF_ERROR(writer_->Exec("BEGIN IMMEDIATE"));
      auto applied = writer_->Exec(m.sql);
      if (applied) {
        auto s = writer_->Prepare("INSERT INTO schema_migrations (version, description, applied_at) VALUES "
                                  "(?, ?, ?)");
        if (!s) {
          applied = std::move(s.error());
        } else {
          s->Bind(1, m.version).Bind(2, m.description).Bind(3, ToUnixMillis(SystemClock().Now()));
          applied = s->Run();
        }
      }
      if (!applied) {
        (void)writer_->Exec("ROLLBACK");
        return Error(applied.error().code(),
                     "migration " + std::to_string(m.version) + " failed: " + applied.error().message());
      }
      RETURN_IF_ERROR(writer_->Exec("COMMIT"));
      schema_version_ = m.version;
    }
    return Ok();
  }

  Result<std::optional<std::string>> PairedKeystoreId() {
    ASSIGN_OR_RETURN(Statement has, writer_->Prepare(
        "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'keystore_pairing'"));
    ASSIGN_OR_RETURN(bool row, has.Step());
    if (!row || has.Int(0) == 0) return std::optional<std::string>();
    ASSIGN_OR_RETURN(Statement s, writer_->Prepare("SELECT keystore_id FROM keystore_pairing WHERE singleton = 1"));
    ASSIGN_OR_RETURN(bool paired, s.Step());
    if (!paired) return std::optional<std::string>();
    return std::optional<std::string>(s.Text(0));
  }

  Result<void> CheckKeystorePairing(const std::string& keystore_id) {
    if (keystore_id.empty()) return Ok();
    ASSIGN_OR_RETURN(auto paired, PairedKeystoreId());
    if (paired && *paired != keystore_id) {
      return Error::FailedPrecondition("keystore.db belongs to another database (its keystore id is " + keystore_id +
                                       ", this database's keystore is " + *paired +
                                       "): put back this data directory's own keystore.db (or restore it from its "
                                       "backup); nothing was changed");
    }
    return Ok();
  }

  // The first open with a keystore that has an id pairs the database with it.
  Result<void> RecordKeystorePairing(const std::string& keystore_id) {
    ASSIGN_OR_RETURN(auto paired, PairedKeystoreId());
    if (paired) return Ok();
    ASSIGN_OR_RETURN(Statement s, writer_->Prepare(
        "INSERT INTO keystore_pairing (singleton, keystore_id, paired_at) VALUES (1, ?, ?)"));
    s.Bind(1, keystore_id).Bind(2, ToUnixMillis(SystemClock().Now()));
    return s.Run();
  }

  // Field encryption arrived with migration 3 and does not convert plaintext rows: a database that already
  // holds customer data is refused (export it with the older build and import it into a fresh data directory)
  // rather than half-encrypted.
  Result<void> RefusePlaintextData() {
    ASSIGN_OR_RETURN(Statement s, writer_->Prepare(
        "SELECT (SELECT count(*) FROM customers) + (SELECT count(*) FROM identities) + "
        "(SELECT count(*) FROM interactions)"));
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (row && s.Int(0) > 0) {
      return Error::FailedPrecondition(
          "this database holds unencrypted customer data (schema " + std::to_string(schema_version_) +
          "); field encryption does not convert it: export it with the previous build and import it into a "
          "new data directory");
    }
    return Ok();
  }

  // Keystore and database agree on who was erased: a tombstoned customer still in the database (an older
  // database restored) loses its rows; an erasure recorded here but not in the keystore (an older keystore
  // restored) is shredded again.
  Result<void> ReconcileErasures() {
    ASSIGN_OR_RETURN(std::vector<CustomerId> shredded, crypto_.ShreddedSubjects());
    std::vector<CustomerId> recorded;
    {
      auto db = readers_.Acquire();
      ASSIGN_OR_RETURN(Statement s, db->Prepare("SELECT customer_id FROM erasures ORDER BY customer_id"));
      RETURN_IF_ERROR(ForEachRow(s, [&] { recorded.push_back(CustomerId(s.Int(0))); }));
    }
    auto less = [](CustomerId a, CustomerId b) { return a.value() < b.value(); };
    std::vector<CustomerId> reshred;
    std::set_difference(recorded.begin(), recorded.end(), shredded.begin(), shredded.end(),
                        std::back_inserter(reshred), less);
    for (CustomerId id : reshred) RETURN_IF_ERROR(crypto_.Shred(id));
    std::vector<CustomerId> forget;
    std::set_difference(shredded.begin(), shredded.end(), recorded.begin(), recorded.end(),
                        std::back_inserter(forget), less);
    if (forget.empty()) return Ok();
    return Write([&](WriteTxn& txn) -> Result<void> {
      auto& sqlite_txn = static_cast<SqliteWriteTxn&>(txn);
      ErasureReport ignored;
      for (CustomerId id : forget) RETURN_IF_ERROR(sqlite_txn.ForgetSubject(id, ignored));
      return Ok();
    });
  }

  std::mutex write_mu_;
  // guarded by write_mu_
  std::unique_ptr<Connection> writer_;
  bool storage_full_ = false;  // the last write failed for lack of space (logged once per episode)
  ReadPool readers_;
  FieldCrypto& crypto_;
  int schema_version_ = 0;
};

}  // namespace

Result<std::unique_ptr<Store>> OpenSqliteStore(const StoreOptions& options) { return SqliteStore::Open(options); }

}  // namespace panorama::storage
