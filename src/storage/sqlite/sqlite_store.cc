// The embedded SQLite backend of Store: one write connection (SQLite allows one writer) guarded by a mutex,
// and a small pool of read-only connections so reads proceed beside a write in WAL mode.

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "storage/migrations/sqlite_migrations.h"
#include "storage/sqlite/sqlite_db.h"
#include "storage/store.h"

namespace panorama::storage {
namespace {

using sqlite::Connection;
using sqlite::Statement;

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
    "updated_at, merged_into";

CustomerRecord ReadCustomer(const Statement& s) {
  CustomerRecord c;
  c.id = CustomerId(s.Int(0));
  c.name = s.Text(1);
  c.email = s.Text(2);
  c.phone = s.Text(3);
  c.gender = s.Text(4);
  c.birthday = s.Text(5);
  c.city = s.Text(6);
  c.country = s.Text(7);
  c.tags = TagsFromJson(s.Text(8));
  c.traits_json = s.Text(9);
  c.external_id = s.Text(10);
  c.created_at = FromUnixMillis(s.Int(11));
  c.updated_at = FromUnixMillis(s.Int(12));
  if (auto m = s.OptInt(13)) c.merged_into = CustomerId(*m);
  return c;
}

Result<CustomerRecord> GetCustomerOn(Connection& db, CustomerId id) {
  ASSIGN_OR_RETURN(Statement s, db.Prepare(std::string("SELECT ") + kCustomerColumns +
                                           " FROM customers WHERE id = ?"));
  s.Bind(1, id.value());
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return Error::NotFound("customer " + id.ToString() + " not found");
  return ReadCustomer(s);
}

Result<std::optional<CustomerId>> FindIdentityOn(Connection& db, std::string_view type, std::string_view value) {
  ASSIGN_OR_RETURN(Statement s, db.Prepare("SELECT customer_id FROM identities WHERE type = ? AND value = ?"));
  s.Bind(1, type).Bind(2, value);
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return std::optional<CustomerId>();
  return std::optional<CustomerId>(CustomerId(s.Int(0)));
}

Result<std::vector<IdentityRecord>> ListIdentitiesOn(Connection& db, CustomerId id) {
  ASSIGN_OR_RETURN(Statement s, db.Prepare(
      "SELECT type, value, customer_id, first_seen FROM identities WHERE customer_id = ? "
      "ORDER BY first_seen, type, value"));
  s.Bind(1, id.value());
  std::vector<IdentityRecord> out;
  RETURN_IF_ERROR(ForEachRow(s, [&] { out.push_back({s.Text(0), s.Text(1), CustomerId(s.Int(2)), FromUnixMillis(s.Int(3))}); }));
  return out;
}

Result<std::vector<OrderItemRecord>> ItemsOf(Connection& db, int64_t order_id) {
  ASSIGN_OR_RETURN(Statement s, db.Prepare("SELECT product_id, sku, name, quantity, unit_price_minor "
                                           "FROM order_items WHERE order_id = ? ORDER BY line"));
  s.Bind(1, order_id);
  std::vector<OrderItemRecord> items;
  while (true) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    OrderItemRecord item;
    if (auto p = s.OptInt(0)) item.product = ProductId(*p);
    item.sku = s.Text(1);
    item.name = s.Text(2);
    item.quantity = s.Int(3);
    item.unit_price_minor = s.Int(4);
    items.push_back(std::move(item));
  }
  return items;
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
    "id, customer_id, kind, jurisdiction, status, received_at, due_at, completed_at, note, result";

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
  return r;
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

// The schema walker: every table with a customer_id column.
Result<std::vector<std::string>> SubjectTablesOn(Connection& db) {
  ASSIGN_OR_RETURN(Statement s, db.Prepare(
      "SELECT m.name FROM sqlite_master m JOIN pragma_table_info(m.name) p"
      " WHERE m.type = 'table' AND p.name = 'customer_id' ORDER BY m.name"));
  std::vector<std::string> out;
  RETURN_IF_ERROR(ForEachRow(s, [&] { out.push_back(s.Text(0)); }));
  return out;
}

// The customer row itself and the records merged into it: one person.
Result<std::vector<int64_t>> SubjectIdsOn(Connection& db, CustomerId id) {
  ASSIGN_OR_RETURN(Statement s, db.Prepare("SELECT id FROM customers WHERE id = ?1 OR merged_into = ?1 ORDER BY id"));
  s.Bind(1, id.value());
  std::vector<int64_t> out;
  RETURN_IF_ERROR(ForEachRow(s, [&] { out.push_back(s.Int(0)); }));
  return out;
}

Result<SubjectTable> DumpRowsOn(Connection& db, const std::string& table, const std::string& where,
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
  for (int c = 0; c < s.ColumnCount(); ++c) out.columns.push_back(s.ColumnName(c));
  RETURN_IF_ERROR(ForEachRow(s, [&] {
    std::vector<SubjectValue> row;
    for (int c = 0; c < s.ColumnCount(); ++c) {
      switch (s.ColumnType(c)) {
        case SQLITE_NULL: row.emplace_back(std::monostate{}); break;
        case SQLITE_INTEGER: row.emplace_back(s.Int(c)); break;
        case SQLITE_FLOAT: row.emplace_back(s.Double(c)); break;
        default: row.emplace_back(s.Text(c)); break;
      }
    }
    out.rows.push_back(std::move(row));
  }));
  return out;
}

class SqliteWriteTxn final : public WriteTxn {
 public:
  explicit SqliteWriteTxn(Connection& db) : db_(db) {}

  // WriteTxn
  Result<CustomerId> InsertCustomer(const CustomerRecord& c) override {
    ASSIGN_OR_RETURN(Statement s, db_.Prepare(
        "INSERT INTO customers (name, email, phone, gender, birthday, city, country, tags, traits, external_id,"
        " created_at, updated_at, merged_into) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,NULL)"));
    BindCustomer(s, c);
    RETURN_IF_ERROR(s.Run());
    return CustomerId(db_.LastInsertId());
  }

  Result<void> UpdateCustomer(const CustomerRecord& c) override {
    ASSIGN_OR_RETURN(Statement s, db_.Prepare(
        "UPDATE customers SET name=?, email=?, phone=?, gender=?, birthday=?, city=?, country=?, tags=?,"
        " traits=?, external_id=?, created_at=?, updated_at=? WHERE id=?"));
    BindCustomer(s, c);
    s.Bind(13, c.id.value());
    RETURN_IF_ERROR(s.Run());
    if (db_.Changes() == 0) return Error::NotFound("customer " + c.id.ToString() + " not found");
    return Ok();
  }

  Result<void> DeleteCustomer(CustomerId id) override {
    static constexpr const char* kOwned[] = {
        "DELETE FROM identities WHERE customer_id = ?", "DELETE FROM events WHERE customer_id = ?",
        "DELETE FROM order_items WHERE customer_id = ?", "DELETE FROM orders WHERE customer_id = ?",
        "DELETE FROM interactions WHERE customer_id = ?", "DELETE FROM consents WHERE customer_id = ?",
        "DELETE FROM privacy_flags WHERE customer_id = ?"};
    for (const char* sql : kOwned) {
      ASSIGN_OR_RETURN(Statement s, db_.Prepare(sql));
      s.Bind(1, id.value());
      RETURN_IF_ERROR(s.Run());
    }
    ASSIGN_OR_RETURN(Statement s, db_.Prepare("DELETE FROM customers WHERE id = ?"));
    s.Bind(1, id.value());
    RETURN_IF_ERROR(s.Run());
    if (db_.Changes() == 0) return Error::NotFound("customer " + id.ToString() + " not found");
    return Ok();
  }

  Result<CustomerRecord> GetCustomer(CustomerId id) override { return GetCustomerOn(db_, id); }

  Result<std::optional<CustomerId>> FindIdentity(std::string_view type, std::string_view value) override {
    return FindIdentityOn(db_, type, value);
  }

  Result<std::vector<IdentityRecord>> ListIdentities(CustomerId id) override { return ListIdentitiesOn(db_, id); }

  Result<void> AddIdentity(const IdentityRecord& identity) override {
    ASSIGN_OR_RETURN(auto existing, FindIdentityOn(db_, identity.type, identity.value));
    if (existing) {
      if (*existing == identity.customer) return Ok();
      return Error::AlreadyExists(identity.type + " identity belongs to customer " + existing->ToString());
    }
    ASSIGN_OR_RETURN(Statement s, db_.Prepare(
        "INSERT INTO identities (type, value, customer_id, first_seen) VALUES (?,?,?,?)"));
    s.Bind(1, identity.type).Bind(2, identity.value).Bind(3, identity.customer.value());
    s.Bind(4, ToUnixMillis(identity.first_seen));
    return s.Run();
  }

  Result<void> MergeCustomers(const MergeRecord& m) override {
    if (m.from == m.into) return Error::InvalidArgument("cannot merge a customer into itself");
    static constexpr const char* kMove[] = {
        "UPDATE identities SET customer_id = ?1 WHERE customer_id = ?2",
        "UPDATE events SET customer_id = ?1 WHERE customer_id = ?2",
        "UPDATE orders SET customer_id = ?1 WHERE customer_id = ?2",
        "UPDATE order_items SET customer_id = ?1 WHERE customer_id = ?2",
        "UPDATE interactions SET customer_id = ?1 WHERE customer_id = ?2",
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
    ASSIGN_OR_RETURN(Statement s, db_.Prepare(
        "INSERT INTO events (customer_id, message_id, type, name, anonymous_id, user_id, properties, context,"
        " ts, sent_at, received_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)"));
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
    ASSIGN_OR_RETURN(Statement s, db_.Prepare(
        "INSERT INTO interactions (customer_id, kind, subject, body, direction, occurred_at, author_id)"
        " VALUES (?,?,?,?,?,?,?)"));
    s.Bind(1, i.customer.value()).Bind(2, i.kind).Bind(3, i.subject).Bind(4, i.body).Bind(5, i.direction);
    s.Bind(6, ToUnixMillis(i.occurred_at));
    if (i.author) {
      s.Bind(7, i.author->value());
    } else {
      s.BindNull(7);
    }
    RETURN_IF_ERROR(s.Run());
    return InteractionId(db_.LastInsertId());
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
    RETURN_IF_ERROR(s.Run());
    if (db_.Changes() == 0) return Error::NotFound("user " + u.id.ToString() + " not found");
    return Ok();
  }

  Result<ApiKeyId> InsertApiKey(const ApiKeyRecord& k) override {
    ASSIGN_OR_RETURN(Statement s, db_.Prepare(
        "INSERT INTO api_keys (name, kind, scope, prefix, secret_sha256, owner_id, created_at, revoked)"
        " VALUES (?,?,?,?,?,?,?,0)"));
    s.Bind(1, k.name).Bind(2, k.kind).Bind(3, k.scope).Bind(4, k.prefix).Bind(5, k.secret_sha256);
    if (k.owner) {
      s.Bind(6, k.owner->value());
    } else {
      s.BindNull(6);
    }
    s.Bind(7, ToUnixMillis(k.created_at));
    RETURN_IF_ERROR(s.Run());
    return ApiKeyId(db_.LastInsertId());
  }

  Result<void> RevokeApiKey(ApiKeyId id) override {
    ASSIGN_OR_RETURN(Statement s, db_.Prepare("UPDATE api_keys SET revoked = 1 WHERE id = ?"));
    s.Bind(1, id.value());
    RETURN_IF_ERROR(s.Run());
    if (db_.Changes() == 0) return Error::NotFound("api key " + id.ToString() + " not found");
    return Ok();
  }

  Result<void> InsertSession(const SessionRecord& session) override {
    ASSIGN_OR_RETURN(Statement s, db_.Prepare(
        "INSERT INTO sessions (token_sha256, user_id, created_at, expires_at) VALUES (?,?,?,?)"));
    s.Bind(1, session.token_sha256).Bind(2, session.user.value()).Bind(3, ToUnixMillis(session.created_at));
    s.Bind(4, ToUnixMillis(session.expires_at));
    return s.Run();
  }

  Result<void> DeleteSession(std::string_view token_sha256) override {
    ASSIGN_OR_RETURN(Statement s, db_.Prepare("DELETE FROM sessions WHERE token_sha256 = ?"));
    s.Bind(1, token_sha256);
    return s.Run();
  }

  Result<void> DeleteUserSessions(UserId user) override {
    ASSIGN_OR_RETURN(Statement s, db_.Prepare("DELETE FROM sessions WHERE user_id = ?"));
    s.Bind(1, user.value());
    return s.Run();
  }

  Result<void> PutIdempotency(const IdempotencyRecord& r) override {
    ASSIGN_OR_RETURN(Statement s, db_.Prepare(
        "INSERT INTO idempotency (key, request_hash, status, response_body, created_at) VALUES (?,?,?,?,?)"));
    s.Bind(1, r.key).Bind(2, r.request_hash).Bind(3, r.status).Bind(4, r.response_body);
    s.Bind(5, ToUnixMillis(r.created_at));
    return s.Run();
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
        " completed_at, note, result) VALUES (?,?,?,?,?,?,?,?,?)"));
    s.Bind(1, r.customer.value()).Bind(2, r.kind).Bind(3, r.jurisdiction).Bind(4, r.status);
    s.Bind(5, ToUnixMillis(r.received_at)).Bind(6, ToUnixMillis(r.due_at));
    if (r.completed_at) {
      s.Bind(7, ToUnixMillis(*r.completed_at));
    } else {
      s.BindNull(7);
    }
    s.Bind(8, r.note).Bind(9, r.result_json);
    RETURN_IF_ERROR(s.Run());
    return db_.LastInsertId();
  }

  Result<void> UpdatePrivacyRequest(const PrivacyRequestRecord& r) override {
    ASSIGN_OR_RETURN(Statement s, db_.Prepare(
        "UPDATE privacy_requests SET status = ?, completed_at = ?, note = ?, result = ? WHERE id = ?"));
    s.Bind(1, r.status);
    if (r.completed_at) {
      s.Bind(2, ToUnixMillis(*r.completed_at));
    } else {
      s.BindNull(2);
    }
    s.Bind(3, r.note).Bind(4, r.result_json).Bind(5, r.id);
    RETURN_IF_ERROR(s.Run());
    if (db_.Changes() == 0) return Error::NotFound("privacy request " + std::to_string(r.id) + " not found");
    return Ok();
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
    if (ids.empty()) return Error::NotFound("customer " + id.ToString() + " not found");
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

  Result<int64_t> ApplyRetention(const RetentionRule& rule) override {
    static constexpr const char* kHold =
        " AND customer_id NOT IN (SELECT customer_id FROM privacy_flags WHERE legal_hold = 1)";
    std::string sql;
    if (rule.data_class == "events") {
      sql = rule.anonymise
                ? "UPDATE events SET anonymous_id = '', user_id = '', properties = '{}', context = '{}' WHERE ts < ?"
                  " AND (anonymous_id <> '' OR user_id <> '' OR properties <> '{}' OR context <> '{}')"
                : "DELETE FROM events WHERE ts < ?";
    } else if (rule.data_class == "interactions") {
      sql = rule.anonymise ? "UPDATE interactions SET subject = '', body = '' WHERE occurred_at < ?"
                             " AND (subject <> '' OR body <> '')"
                           : "DELETE FROM interactions WHERE occurred_at < ?";
    } else {
      return Error::InvalidField("data_class", "must be events or interactions");
    }
    ASSIGN_OR_RETURN(Statement s, db_.Prepare(sql + kHold));
    s.Bind(1, ToUnixMillis(rule.cutoff));
    RETURN_IF_ERROR(s.Run());
    return static_cast<int64_t>(db_.Changes());
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
  // The id of the row whose unique key equals `key`, if any.
  template <typename Id>
  Result<std::optional<Id>> FindIdBy(const char* sql, std::string_view key) {
    ASSIGN_OR_RETURN(Statement s, db_.Prepare(sql));
    s.Bind(1, key);
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return std::optional<Id>();
    return std::optional<Id>(Id(s.Int(0)));
  }

  static void BindCustomer(Statement& s, const CustomerRecord& c) {
    s.Bind(1, c.name).Bind(2, c.email).Bind(3, c.phone).Bind(4, c.gender).Bind(5, c.birthday);
    s.Bind(6, c.city).Bind(7, c.country).Bind(8, TagsToJson(c.tags)).Bind(9, c.traits_json);
    s.Bind(10, c.external_id).Bind(11, ToUnixMillis(c.created_at)).Bind(12, ToUnixMillis(c.updated_at));
  }

  Connection& db_;
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

class SqliteStore final : public Store {
 public:
  static Result<std::unique_ptr<Store>> Open(const StoreOptions& options) {
    auto store = std::unique_ptr<SqliteStore>(new SqliteStore());
    ASSIGN_OR_RETURN(store->writer_, Connection::Open(options.path, /*read_only=*/false));
    // WAL: readers never block the writer. synchronous=FULL fsyncs the WAL at every commit, which is what makes
    // an acknowledged write survive power loss; group commit (ingest/) amortises that fsync over many requests.
    RETURN_IF_ERROR(store->writer_->Exec("PRAGMA journal_mode=WAL"));
    RETURN_IF_ERROR(store->writer_->Exec(options.synchronous_full ? "PRAGMA synchronous=FULL"
                                                                  : "PRAGMA synchronous=OFF"));
    RETURN_IF_ERROR(store->writer_->Exec("PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY"));
    RETURN_IF_ERROR(store->Migrate());
    for (int i = 0; i < std::max(1, options.read_connections); ++i) {
      ASSIGN_OR_RETURN(auto reader, Connection::Open(options.path, /*read_only=*/true));
      RETURN_IF_ERROR(reader->Exec("PRAGMA cache_size=-32768"));
      store->readers_.Add(std::move(reader));
    }
    return std::unique_ptr<Store>(std::move(store));
  }

  // Store
  Result<void> Write(const std::function<Result<void>(WriteTxn&)>& fn) override {
    std::lock_guard lock(write_mu_);
    RETURN_IF_ERROR(writer_->Exec("BEGIN IMMEDIATE"));
    SqliteWriteTxn txn(*writer_);
    Result<void> result = fn(txn);
    if (result) {
      auto committed = writer_->Exec("COMMIT");
      if (committed) return Ok();
      result = std::move(committed.error());
    }
    (void)writer_->Exec("ROLLBACK");
    return result;
  }

  Result<CustomerRecord> GetCustomer(CustomerId id) override {
    auto db = readers_.Acquire();
    return GetCustomerOn(*db, id);
  }

  Result<std::vector<CustomerRecord>> ListCustomers(const CustomerQuery& q) override {
    std::string sql = std::string("SELECT ") + kCustomerColumns + " FROM customers WHERE merged_into IS NULL AND id > ?";
    std::vector<std::string> args;
    if (!q.text.empty() || !q.phone_e164.empty()) {
      std::string any = " AND (0";
      if (!q.text.empty()) {
        if (q.text.find('@') != std::string::npos) {
          any += " OR email = lower(?)";
          args.push_back(q.text);
        }
        // Names: the trigram index answers 3+ character queries; shorter Chinese names ("王芳") fall back to
        // a substring scan, which is what a user typing two characters expects.
        size_t letters = CountUtf8Letters(q.text);
        if (letters >= 3) {
          any += " OR id IN (SELECT rowid FROM customers_name_fts WHERE name MATCH ?)";
          args.push_back(FtsPhrase(q.text));
        } else {
          any += " OR instr(name, ?) > 0";
          args.push_back(q.text);
        }
        any += " OR external_id = ?";
        args.push_back(q.text);
      }
      if (!q.phone_e164.empty()) {
        any += " OR phone = ?";
        args.push_back(q.phone_e164);
      }
      sql += any + ")";
    }
    if (!q.country.empty()) {
      sql += " AND country = ?";
      args.push_back(q.country);
    }
    if (!q.city.empty()) {
      sql += " AND city = ?";
      args.push_back(q.city);
    }
    if (!q.tag.empty()) {
      sql += " AND EXISTS (SELECT 1 FROM json_each(customers.tags) WHERE value = ?)";
      args.push_back(q.tag);
    }
    sql += " ORDER BY id LIMIT ?";
    auto db = readers_.Acquire();
    ASSIGN_OR_RETURN(Statement s, db->Prepare(sql));
    int index = 1;
    s.Bind(index++, q.after_id);
    for (const auto& a : args) s.Bind(index++, a);
    s.Bind(index, std::clamp(q.limit, 1, 1000));
    std::vector<CustomerRecord> out;
    RETURN_IF_ERROR(ForEachRow(s, [&] { out.push_back(ReadCustomer(s)); }));
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
    return ListIdentitiesOn(*db, id);
  }

  Result<std::optional<CustomerId>> FindIdentity(std::string_view type, std::string_view value) override {
    auto db = readers_.Acquire();
    return FindIdentityOn(*db, type, value);
  }

  Result<std::vector<MergeRecord>> ListMerges(CustomerId id) override {
    auto db = readers_.Acquire();
    ASSIGN_OR_RETURN(Statement s, db->Prepare(
        "SELECT from_customer, into_customer, reason, at FROM merges WHERE from_customer = ?1 OR "
        "into_customer = ?1 ORDER BY at, id"));
    s.Bind(1, id.value());
    std::vector<MergeRecord> out;
    RETURN_IF_ERROR(ForEachRow(s, [&] { out.push_back({CustomerId(s.Int(0)), CustomerId(s.Int(1)), s.Text(2), FromUnixMillis(s.Int(3))}); }));
    return out;
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
    std::vector<EventRecord> out;
    if (ids.empty()) return out;
    auto db = readers_.Acquire();
    ASSIGN_OR_RETURN(Statement s, db->Prepare(
        "SELECT id, customer_id, message_id, type, name, anonymous_id, user_id, properties, context, ts, sent_at,"
        " received_at FROM events WHERE id IN (" + Placeholders(ids.size()) + ")"));
    for (size_t i = 0; i < ids.size(); ++i) s.Bind(static_cast<int>(i + 1), ids[i]);
    while (true) {
      ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
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
      out.push_back(std::move(e));
    }
    return out;
  }

  Result<std::vector<OrderRecord>> GetOrders(const std::vector<int64_t>& ids) override {
    std::vector<OrderRecord> out;
    if (ids.empty()) return out;
    auto db = readers_.Acquire();
    ASSIGN_OR_RETURN(Statement s, db->Prepare(std::string("SELECT ") + kOrderColumns +
                                              " FROM orders WHERE id IN (" + Placeholders(ids.size()) + ")"));
    for (size_t i = 0; i < ids.size(); ++i) s.Bind(static_cast<int>(i + 1), ids[i]);
    while (true) {
      ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      ASSIGN_OR_RETURN(OrderRecord o, ReadOrder(*db, s));
      out.push_back(std::move(o));
    }
    return out;
  }

  Result<std::vector<InteractionRecord>> GetInteractions(const std::vector<int64_t>& ids) override {
    std::vector<InteractionRecord> out;
    if (ids.empty()) return out;
    auto db = readers_.Acquire();
    ASSIGN_OR_RETURN(Statement s, db->Prepare(
        "SELECT id, customer_id, kind, subject, body, direction, occurred_at, author_id FROM interactions "
        "WHERE id IN (" + Placeholders(ids.size()) + ")"));
    for (size_t i = 0; i < ids.size(); ++i) s.Bind(static_cast<int>(i + 1), ids[i]);
    RETURN_IF_ERROR(ForEachRow(s, [&] { out.push_back(ReadInteraction(s)); }));
    return out;
  }

  Result<std::vector<OrderRecord>> ListOrders(const PageQuery& q) override {
    auto db = readers_.Acquire();
    std::string sql = std::string("SELECT ") + kOrderColumns + " FROM orders WHERE id > ?1" +
                      (q.customer ? " AND customer_id = ?3" : "") + " ORDER BY id LIMIT ?2";
    ASSIGN_OR_RETURN(Statement s, db->Prepare(sql));
    s.Bind(1, q.after_id).Bind(2, std::clamp(q.limit, 1, 1000));
    if (q.customer) s.Bind(3, q.customer->value());
    std::vector<OrderRecord> out;
    while (true) {
      ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      ASSIGN_OR_RETURN(OrderRecord o, ReadOrder(*db, s));
      out.push_back(std::move(o));
    }
    return out;
  }

  Result<std::vector<ProductRecord>> ListProducts(const PageQuery& q) override {
    auto db = readers_.Acquire();
    ASSIGN_OR_RETURN(Statement s, db->Prepare(
        "SELECT id, sku, name, category, price_minor, currency FROM products WHERE id > ? ORDER BY id LIMIT ?"));
    s.Bind(1, q.after_id).Bind(2, std::clamp(q.limit, 1, 1000));
    std::vector<ProductRecord> out;
    RETURN_IF_ERROR(ForEachRow(s, [&] { out.push_back({ProductId(s.Int(0)), s.Text(1), s.Text(2), s.Text(3), Money{s.Int(4), s.Text(5)}}); }));
    return out;
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
        "WHERE id > ?1" + std::string(q.customer ? " AND customer_id = ?3" : "") + " ORDER BY id LIMIT ?2";
    ASSIGN_OR_RETURN(Statement s, db->Prepare(sql));
    s.Bind(1, q.after_id).Bind(2, std::clamp(q.limit, 1, 1000));
    if (q.customer) s.Bind(3, q.customer->value());
    std::vector<InteractionRecord> out;
    RETURN_IF_ERROR(ForEachRow(s, [&] { out.push_back(ReadInteraction(s)); }));
    return out;
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

  Result<void> ScanCustomerIds(const std::function<void(CustomerId, bool)>& fn) override {
    auto db = readers_.Acquire();
    ASSIGN_OR_RETURN(Statement s, db->Prepare("SELECT id, merged_into IS NOT NULL FROM customers ORDER BY id"));
    RETURN_IF_ERROR(ForEachRow(s, [&] { fn(CustomerId(s.Int(0)), s.Int(1) != 0); }));
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
    std::vector<UserRecord> out;
    RETURN_IF_ERROR(ForEachRow(s, [&] { out.push_back(ReadUser(s)); }));
    return out;
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
    std::vector<ApiKeyRecord> out;
    RETURN_IF_ERROR(ForEachRow(s, [&] { out.push_back(ReadKey(s)); }));
    return out;
  }

  Result<void> TouchApiKey(ApiKeyId id, Timestamp at) override {
    return Write([&](WriteTxn&) -> Result<void> {
      ASSIGN_OR_RETURN(Statement s, writer_->Prepare("UPDATE api_keys SET last_used_at = ? WHERE id = ?"));
      s.Bind(1, ToUnixMillis(at)).Bind(2, id.value());
      return s.Run();
    });
  }

  Result<SessionRecord> FindSession(std::string_view token_sha256) override {
    auto db = readers_.Acquire();
    ASSIGN_OR_RETURN(Statement s, db->Prepare(
        "SELECT token_sha256, user_id, created_at, expires_at FROM sessions WHERE token_sha256 = ?"));
    s.Bind(1, token_sha256);
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return Error::NotFound("session not found");
    return SessionRecord{s.Text(0), UserId(s.Int(1)), FromUnixMillis(s.Int(2)), FromUnixMillis(s.Int(3))};
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

  Result<std::vector<ConsentRecord>> ListConsents(CustomerId id) override {
    auto db = readers_.Acquire();
    ASSIGN_OR_RETURN(Statement s, db->Prepare(std::string("SELECT ") + kConsentColumns +
                                              " FROM consents WHERE customer_id = ? ORDER BY id"));
    s.Bind(1, id.value());
    std::vector<ConsentRecord> out;
    RETURN_IF_ERROR(ForEachRow(s, [&] { out.push_back(ReadConsent(s)); }));
    return out;
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
    sql += " ORDER BY id LIMIT ?4";
    ASSIGN_OR_RETURN(Statement s, db->Prepare(sql));
    s.Bind(1, q.after_id).Bind(4, q.limit);
    if (q.customer) s.Bind(2, q.customer->value());
    if (q.overdue_at) s.Bind(3, ToUnixMillis(*q.overdue_at));
    std::vector<PrivacyRequestRecord> out;
    RETURN_IF_ERROR(ForEachRow(s, [&] { out.push_back(ReadRequest(s)); }));
    return out;
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
      ASSIGN_OR_RETURN(SubjectTable customers, DumpRowsOn(*db, "customers", "id IN ?", ids));
      out.push_back(std::move(customers));
      ASSIGN_OR_RETURN(SubjectTable merges, DumpRowsOn(*db, "merges", "from_customer IN ? OR into_customer IN ?", ids));
      out.push_back(std::move(merges));
      ASSIGN_OR_RETURN(std::vector<std::string> tables, SubjectTablesOn(*db));
      for (const auto& table : tables) {
        ASSIGN_OR_RETURN(SubjectTable rows, DumpRowsOn(*db, table, "customer_id IN ?", ids));
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
  SqliteStore() = default;

  static constexpr const char* kUserColumns =
      "id, username, password_hash, role, display_name, created_at, disabled";
  static constexpr const char* kKeyColumns =
      "id, name, kind, scope, prefix, secret_sha256, owner_id, created_at, last_used_at, revoked";

  static UserRecord ReadUser(const Statement& s) {
    return UserRecord{UserId(s.Int(0)), s.Text(1), s.Text(2), s.Text(3), s.Text(4), FromUnixMillis(s.Int(5)),
                      s.Int(6) != 0};
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
    return k;
  }

  static InteractionRecord ReadInteraction(const Statement& s) {
    InteractionRecord i;
    i.id = InteractionId(s.Int(0));
    i.customer = CustomerId(s.Int(1));
    i.kind = s.Text(2);
    i.subject = s.Text(3);
    i.body = s.Text(4);
    i.direction = s.Text(5);
    i.occurred_at = FromUnixMillis(s.Int(6));
    if (auto author = s.OptInt(7)) i.author = UserId(*author);
    return i;
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

  static size_t CountUtf8Letters(std::string_view text) {
    size_t n = 0;
    for (unsigned char c : text) n += (c & 0xC0) != 0x80;
    return n;
  }

  // A quoted FTS5 phrase, so user text is never parsed as query syntax.
  static std::string FtsPhrase(std::string_view text) {
    std::string out = "\"";
    for (char c : text) {
      if (c == '"') out += '"';
      out += c;
    }
    return out + "\"";
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

  std::mutex write_mu_;
  // guarded by write_mu_
  std::unique_ptr<Connection> writer_;
  ReadPool readers_;
  int schema_version_ = 0;
};

}  // namespace

Result<std::unique_ptr<Store>> OpenSqliteStore(const StoreOptions& options) { return SqliteStore::Open(options); }

}  // namespace panorama::storage
