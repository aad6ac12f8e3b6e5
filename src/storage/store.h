#pragma once
// The narrow storage interface (STYLE.md §2). Domain code sees Store and WriteTxn only; app/ picks the backend.
//
// Thread-safety: every Store method may be called from any thread. Write() serialises writers (one write
// transaction at a time, as SQLite allows); reads run concurrently on their own connections and see the last
// committed state. Errors: kNotFound for absent rows, kAlreadyExists for unique-key collisions, kUnavailable
// when the database is busy or the disk is full, kInternal for a broken invariant.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "storage/records.h"

namespace panorama::storage {

// Filters for the customer list; every field optional. Paging is by ascending id ("after" is exclusive).
struct CustomerQuery {
  std::string text;     // matches name (substring, Chinese or Latin), email (prefix), phone digits, external id
  std::string country;
  std::string city;
  std::string tag;
  std::string phone_e164;  // exact phone match, when the caller could normalise the search text as a phone
  int64_t after_id = 0;
  int limit = 50;
};

// Keyset page of the timeline: entries strictly older than (before_at, before_kind, before_id).
struct TimelineQuery {
  CustomerId customer;
  std::optional<Timestamp> before_at;
  std::string before_kind;
  int64_t before_id = 0;
  int limit = 50;
};

struct PageQuery {
  int64_t after_id = 0;
  int limit = 50;
  std::optional<CustomerId> customer;
};

// Operations inside one write transaction; valid only during the Store::Write callback.
class WriteTxn {
 public:
  virtual ~WriteTxn() = default;

  virtual Result<CustomerId> InsertCustomer(const CustomerRecord& customer) = 0;
  virtual Result<void> UpdateCustomer(const CustomerRecord& customer) = 0;  // by id; kNotFound if absent
  virtual Result<void> DeleteCustomer(CustomerId id) = 0;  // and every row it owns
  virtual Result<CustomerRecord> GetCustomer(CustomerId id) = 0;

  virtual Result<std::optional<CustomerId>> FindIdentity(std::string_view type, std::string_view value) = 0;
  virtual Result<std::vector<IdentityRecord>> ListIdentities(CustomerId id) = 0;
  // Adds (type, value) → customer; a no-op if already there for this customer, kAlreadyExists for another one.
  virtual Result<void> AddIdentity(const IdentityRecord& identity) = 0;
  // Moves every identity, event, order and interaction of `from` to `into`, marks `from` merged, records lineage.
  virtual Result<void> MergeCustomers(const MergeRecord& merge) = 0;

  // kAlreadyExists when the message id was seen before (a retried delivery).
  virtual Result<EventId> InsertEvent(const EventRecord& event) = 0;
  // Inserts or updates by SKU.
  virtual Result<ProductId> UpsertProduct(const ProductRecord& product) = 0;
  virtual Result<std::optional<ProductId>> FindProductBySku(std::string_view sku) = 0;
  // kAlreadyExists when the external id exists (re-import); items are written with the order.
  virtual Result<OrderId> InsertOrder(const OrderRecord& order) = 0;
  virtual Result<std::optional<OrderId>> FindOrderByExternalId(std::string_view external_id) = 0;
  virtual Result<InteractionId> InsertInteraction(const InteractionRecord& interaction) = 0;

  virtual Result<UserId> InsertUser(const UserRecord& user) = 0;
  virtual Result<void> UpdateUser(const UserRecord& user) = 0;
  virtual Result<ApiKeyId> InsertApiKey(const ApiKeyRecord& key) = 0;
  virtual Result<void> RevokeApiKey(ApiKeyId id) = 0;
  virtual Result<void> InsertSession(const SessionRecord& session) = 0;
  virtual Result<void> DeleteSession(std::string_view token_sha256) = 0;
  virtual Result<void> DeleteUserSessions(UserId user) = 0;
  virtual Result<void> PutIdempotency(const IdempotencyRecord& record) = 0;

  // Privacy (privacy/). Defaults return kInternal so test fakes need not implement them.
  virtual Result<int64_t> InsertConsent(const ConsentRecord&) { return Unsupported("InsertConsent"); }
  virtual Result<int64_t> InsertPrivacyRequest(const PrivacyRequestRecord&) {
    return Unsupported("InsertPrivacyRequest");
  }
  // Status, completed_at, note and result, by id; kNotFound if absent.
  virtual Result<void> UpdatePrivacyRequest(const PrivacyRequestRecord&) { return Unsupported("UpdatePrivacyRequest"); }
  virtual Result<void> PutPrivacyFlags(const PrivacyFlagsRecord&) { return Unsupported("PutPrivacyFlags"); }
  // Deletes every row that refers to `id` — the customer row and records merged into it, merge lineage, and
  // every table with a customer_id column except those in `keep_tables` — and returns the count per table.
  // The tables are found from the schema, so a table added later is erased without changing this code.
  virtual Result<std::vector<TableCount>> EraseSubjectRows(CustomerId, const std::vector<std::string>&) {
    return Unsupported("EraseSubjectRows");
  }
  virtual Result<void> AddErasureSuppression(std::string_view, int64_t, Timestamp) {
    return Unsupported("AddErasureSuppression");
  }
  // Rows changed (deleted or anonymised); 0 when nothing is left to do, so a second run is a no-op.
  virtual Result<int64_t> ApplyRetention(const RetentionRule&) { return Unsupported("ApplyRetention"); }

 protected:
  static Error Unsupported(const char* what) { return Error::Internal(std::string(what) + " not supported by this store"); }

 public:
  // Runs `fn` inside a savepoint: if it fails, only its own changes are rolled back and its error returned,
  // while the enclosing transaction goes on (group commit of many independent requests).
  virtual Result<void> Nested(const std::function<Result<void>()>& fn) = 0;
};

class Store {
 public:
  virtual ~Store() = default;

  // Runs `fn` in one transaction: commits (durably, fsync) if it returns ok, rolls back and returns its error
  // otherwise. Nothing of a failed callback is visible afterwards.
  virtual Result<void> Write(const std::function<Result<void>(WriteTxn&)>& fn) = 0;

  // Customers
  virtual Result<CustomerRecord> GetCustomer(CustomerId id) = 0;
  virtual Result<std::vector<CustomerRecord>> ListCustomers(const CustomerQuery& query) = 0;
  virtual Result<int64_t> CountCustomers() = 0;  // live (not merged away)
  virtual Result<std::vector<IdentityRecord>> ListIdentities(CustomerId id) = 0;
  virtual Result<std::optional<CustomerId>> FindIdentity(std::string_view type, std::string_view value) = 0;
  virtual Result<std::vector<MergeRecord>> ListMerges(CustomerId id) = 0;  // merges into or out of id

  // Timeline pieces, newest first.
  virtual Result<std::vector<TimelineEntry>> ListTimeline(const TimelineQuery& query) = 0;
  virtual Result<std::vector<EventRecord>> GetEvents(const std::vector<int64_t>& ids) = 0;
  virtual Result<std::vector<OrderRecord>> GetOrders(const std::vector<int64_t>& ids) = 0;  // with items
  virtual Result<std::vector<InteractionRecord>> GetInteractions(const std::vector<int64_t>& ids) = 0;

  virtual Result<std::vector<OrderRecord>> ListOrders(const PageQuery& query) = 0;  // ascending id, with items
  virtual Result<std::vector<ProductRecord>> ListProducts(const PageQuery& query) = 0;
  virtual Result<ProductRecord> GetProduct(ProductId id) = 0;
  virtual Result<std::vector<InteractionRecord>> ListInteractions(const PageQuery& query) = 0;

  // Full scans used to rebuild the feature store at start; callbacks run on the calling thread. Order facts
  // cover completed orders only (pending, cancelled and refunded orders are not purchases).
  struct OrderFact {
    CustomerId customer;
    Timestamp placed_at;
    int64_t total_base_minor;
  };
  struct EventFact {
    CustomerId customer;
    Timestamp timestamp;
  };
  virtual Result<void> ScanOrderFacts(const std::function<void(const OrderFact&)>& fn) = 0;
  virtual Result<void> ScanEventFacts(const std::function<void(const EventFact&)>& fn) = 0;
  virtual Result<void> ScanCustomerIds(const std::function<void(CustomerId, bool merged)>& fn) = 0;

  // Staff, keys, sessions, idempotency
  virtual Result<UserRecord> FindUserByName(std::string_view username) = 0;
  virtual Result<UserRecord> GetUser(UserId id) = 0;
  virtual Result<std::vector<UserRecord>> ListUsers() = 0;
  virtual Result<ApiKeyRecord> FindApiKeyBySecretHash(std::string_view secret_sha256) = 0;
  virtual Result<std::vector<ApiKeyRecord>> ListApiKeys() = 0;
  virtual Result<void> TouchApiKey(ApiKeyId id, Timestamp at) = 0;  // last-used time, best effort
  virtual Result<SessionRecord> FindSession(std::string_view token_sha256) = 0;
  virtual Result<std::optional<IdempotencyRecord>> FindIdempotency(std::string_view key) = 0;

  // Privacy (privacy/). Defaults return kInternal so test fakes need not implement them.
  virtual Result<std::vector<ConsentRecord>> ListConsents(CustomerId) { return Unsupported("ListConsents"); }  // oldest first
  virtual Result<void> ScanConsents(const std::function<void(const ConsentRecord&)>&) {  // oldest first
    return Unsupported("ScanConsents");
  }
  virtual Result<PrivacyRequestRecord> GetPrivacyRequest(int64_t) { return Unsupported("GetPrivacyRequest"); }
  virtual Result<std::vector<PrivacyRequestRecord>> ListPrivacyRequests(const PrivacyRequestQuery&) {
    return Unsupported("ListPrivacyRequests");
  }
  virtual Result<PrivacyFlagsRecord> GetPrivacyFlags(CustomerId) { return Unsupported("GetPrivacyFlags"); }
  virtual Result<void> ScanPrivacyFlags(const std::function<void(const PrivacyFlagsRecord&)>&) {
    return Unsupported("ScanPrivacyFlags");
  }
  // Tables holding a customer_id column, read from the schema (the DSAR schema walker).
  virtual Result<std::vector<std::string>> ListSubjectTables() { return Unsupported("ListSubjectTables"); }
  // Every row referring to `id` (see WriteTxn::EraseSubjectRows for which), one entry per table, empty
  // tables included.
  virtual Result<std::vector<SubjectTable>> ExportSubjectRows(CustomerId) { return Unsupported("ExportSubjectRows"); }
  virtual Result<bool> IsErasureSuppressed(std::string_view) { return Unsupported("IsErasureSuppressed"); }

  // Runs the backend's own consistency check (SQLite: PRAGMA integrity_check); kInternal naming the problem.
  virtual Result<void> CheckIntegrity() = 0;

  // Schema version after migrations (for /readyz and tests).
  virtual int SchemaVersion() const = 0;

 protected:
  static Error Unsupported(const char* what) { return Error::Internal(std::string(what) + " not supported by this store"); }
};

struct StoreOptions {
  std::string path;               // SQLite file; the directory must exist
  bool synchronous_full = true;   // fsync on every commit (durable acks); false only for bulk demo loads
  int read_connections = 4;
};

// Opens (creating if needed) the SQLite store and applies pending migrations.
Result<std::unique_ptr<Store>> OpenSqliteStore(const StoreOptions& options);

}  // namespace panorama::storage
