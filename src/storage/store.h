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
// Personal fields are encrypted, so `text` matches by equality through blind indexes only (no substring): the
// full name or the surname (case and spaces ignored), the email (case ignored), the external id, or — when it is
// exactly 4 digits — the last 4 digits of the phone.
struct CustomerQuery {
  std::string text;
  std::string country;
  std::string city;
  std::string tag;
  std::string phone_e164;  // exact phone match, when the caller could normalise the search text as a phone
  int64_t after_id = 0;
  int limit = 50;
  std::optional<RecordScope> scope;  // only customers the caller may see
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
  std::optional<RecordScope> scope;  // orders/interactions: only those of customers in scope
};

// What EraseCustomer removed (the privacy module builds the erasure certificate on it).
struct ErasureReport {
  CustomerId customer;
  bool already_erased = false;
  std::vector<CustomerId> shredded;  // data keys destroyed: the customer and records merged into it
  int64_t customers = 0;             // customer rows deleted (incl. merged-away records)
  int64_t identities = 0;
  int64_t events = 0;
  int64_t orders = 0;
  int64_t order_items = 0;
  int64_t interactions = 0;
  int64_t consents = 0;
  int64_t privacy_flags = 0;
};

// Operations inside one write transaction; valid only during the Store::Write callback.
class WriteTxn {
 public:
  virtual ~WriteTxn() = default;

  virtual Result<CustomerId> InsertCustomer(const CustomerRecord& customer) = 0;
  virtual Result<void> UpdateCustomer(const CustomerRecord& customer) = 0;  // by id; kNotFound if absent
  virtual Result<void> DeleteCustomer(CustomerId id) = 0;  // and every row it owns
  // Erasure with crypto-shredding: destroys the data keys of the customer and of every record merged into it
  // (keystore tombstones, fsynced before any row is touched), deletes their rows and blind indexes, and records
  // the erasure so the id is never reused and a restored older keystore gets the tombstone again. kNotFound for
  // an unknown id; an already erased id returns a report with `already_erased` set and nothing else done.
  virtual Result<ErasureReport> EraseCustomer(CustomerId id) = 0;
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
  // Replaces the key's client-network allowlist (validated CIDRs; empty: any address); kNotFound if absent.
  virtual Result<void> SetApiKeyAllowedCidrs(ApiKeyId id, const std::vector<std::string>& cidrs) = 0;
  // Returns the new session id (the family id).
  virtual Result<int64_t> InsertSession(const SessionRecord& session) = 0;
  // Replaces the row with session.id (token rotation); kNotFound if the session is gone.
  virtual Result<void> UpdateSession(const SessionRecord& session) = 0;
  virtual Result<void> DeleteSession(int64_t session_id) = 0;  // a no-op when absent
  // Records a fresh password (and TOTP) check on the session (step-up); kNotFound if the session is gone.
  virtual Result<void> MarkSessionReauthenticated(int64_t session_id, Timestamp at) = 0;
  virtual Result<void> DeleteUserSessions(UserId user) = 0;
  // Known devices. InsertDevice returns the new id; DeleteDevice is kNotFound unless the device is the user's.
  virtual Result<int64_t> InsertDevice(const DeviceRecord& device) = 0;
  virtual Result<void> DeleteDevice(UserId user, int64_t device_id) = 0;
  virtual Result<void> DeleteUserDevices(UserId user) = 0;
  // Remembers a rotated-out refresh token so that presenting it again is recognised as reuse.
  virtual Result<void> MarkRefreshSpent(std::string_view refresh_sha256, int64_t session_id, Timestamp at) = 0;
  virtual Result<void> PutMfa(const MfaRecord& mfa) = 0;  // insert or replace by user
  virtual Result<void> DeleteMfa(UserId user) = 0;        // and the user's recovery codes
  // Deletes the user's recovery codes and stores `code_hashes` as the new set.
  virtual Result<void> ReplaceRecoveryCodes(UserId user, const std::vector<std::string>& code_hashes) = 0;
  // kAborted when the code was used meanwhile (single use under concurrency), kNotFound when absent.
  virtual Result<void> UseRecoveryCode(int64_t code_id, Timestamp at) = 0;
  virtual Result<void> PutRoleSetting(const RoleSettingRecord& setting) = 0;  // insert or replace by role
  virtual Result<void> PutIdempotency(const IdempotencyRecord& record) = 0;

  // Audit ledger rows; only audit::LedgeredStore calls these (its own transaction wrapper refuses them).
  // kAlreadyExists when the seq is taken.
  virtual Result<void> AppendLedger(const LedgerRow& row) = 0;
  virtual Result<void> InsertCheckpoint(const CheckpointRecord& checkpoint) = 0;
  // Teams and custom roles. kAlreadyExists for a duplicate team name; kNotFound for an absent user or role.
  virtual Result<TeamId> InsertTeam(const TeamRecord& team) = 0;
  virtual Result<void> SetUserTeam(UserId user, std::optional<TeamId> team) = 0;
  virtual Result<void> PutRole(const RoleRecord& role) = 0;  // insert or replace by name
  virtual Result<void> DeleteRole(std::string_view name) = 0;
  virtual Result<void> InsertReveal(const RevealRecord& reveal) = 0;

  // Privacy (privacy/). Pure virtual, so a decorator (audit::LedgeredStore) cannot forget to forward one.
  virtual Result<int64_t> InsertConsent(const ConsentRecord& consent) = 0;
  virtual Result<int64_t> InsertPrivacyRequest(const PrivacyRequestRecord& request) = 0;
  // Status, completed_at, note, result and verification, by id; kNotFound if absent.
  virtual Result<void> UpdatePrivacyRequest(const PrivacyRequestRecord& request) = 0;
  virtual Result<void> PutPrivacyFlags(const PrivacyFlagsRecord& flags) = 0;
  // Deletes every row that refers to `id` — the customer row and records merged into it, merge lineage, and
  // every table with a customer_id column except those in `keep_tables` — and returns the count per table.
  // The tables are found from the schema, so a table added later is erased without changing this code.
  virtual Result<std::vector<TableCount>> EraseSubjectRows(CustomerId id,
                                                          const std::vector<std::string>& keep_tables) = 0;
  virtual Result<void> AddErasureSuppression(std::string_view hash, int64_t request_id, Timestamp at) = 0;
  // Self-service requests (migration 11): insert or replace the code of a request, by request_id; append a
  // message to the notification outbox and return its id.
  virtual Result<void> PutVerificationCode(const VerificationCodeRecord& code) = 0;
  virtual Result<int64_t> InsertOutbox(const OutboxRecord& message) = 0;
  // Rows changed (deleted or anonymised); 0 when nothing is left to do, so a second run is a no-op.
  virtual Result<int64_t> ApplyRetention(const RetentionRule& rule) = 0;

  // Deletes expired sessions, spent refresh tokens, known devices, verification codes and sign-in throttle
  // counters, and old stored Idempotency-Key answers (HousekeepingRule); a second run with the same rule deletes
  // nothing.
  virtual Result<HousekeepingReport> PurgeExpired(const HousekeepingRule&) { return Unsupported("PurgeExpired"); }

  // Sign-in throttle counters (security/login_throttle.h): insert or replace by (kind, key); delete (a no-op
  // when absent). Default kInternal so test fakes need not implement them.
  virtual Result<void> PutThrottle(const ThrottleRecord&) { return Unsupported("PutThrottle"); }
  virtual Result<void> DeleteThrottle(std::string_view, std::string_view) { return Unsupported("DeleteThrottle"); }

  // Analytics settings (analytics/): insert or replace by key. Default kInternal, as for privacy.
  virtual Result<void> PutAnalyticsSetting(const AnalyticsSettingRecord&) { return Unsupported("PutAnalyticsSetting"); }

  // Data-class catalogue (privacy/data_class_catalogue.h): replaces every entry of `scope`. Default kInternal.
  virtual Result<void> ReplaceDataClasses(std::string_view, const std::vector<DataClassRecord>&) {
    return Unsupported("ReplaceDataClasses");
  }

  // Segments (segments/service/). Defaults return kInternal so test fakes need not implement them.
  // InsertSegment: kAlreadyExists for a taken name. UpdateSegment: name, description, rule, updated_at by id
  // (kNotFound, kAlreadyExists). DeleteSegment: the segment, its members and its events (kNotFound).
  virtual Result<SegmentId> InsertSegment(const SegmentRecord&) { return Unsupported("InsertSegment"); }
  virtual Result<void> UpdateSegment(const SegmentRecord&) { return Unsupported("UpdateSegment"); }
  virtual Result<void> DeleteSegment(SegmentId) { return Unsupported("DeleteSegment"); }
  // Adds and removes member rows, appends one entered/exited event per change and sets size and evaluated_at.
  // Changes of erased customers (the erasures table) are skipped, so a late diff never re-creates their rows.
  virtual Result<void> ApplySegmentChanges(const SegmentChanges&) { return Unsupported("ApplySegmentChanges"); }

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

  // Re-encrypts every encrypted row of the customer under a new data key version, commits, then destroys the
  // older versions (SECURITY.md §2.7). kNotFound for an unknown id.
  virtual Result<void> RotateCustomerKey(CustomerId id) = 0;
  // Customers erased so far (ascending).
  virtual Result<std::vector<CustomerId>> ListErasures() = 0;

  // Customers
  virtual Result<CustomerRecord> GetCustomer(CustomerId id) = 0;
  // The customer if it is in `scope`; kNotFound (the same error as for an absent id) otherwise.
  virtual Result<CustomerRecord> GetCustomerInScope(CustomerId id, const RecordScope& scope) = 0;
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
  // Every customer record, ascending id, with its creation time and, for a merged-away record, the survivor
  // (lineage is one hop). Lifecycle history uses it so a customer exists only from its creation. Default
  // kInternal so test fakes need not implement it.
  struct CustomerFact {
    CustomerId customer;
    std::optional<CustomerId> merged_into;
    Timestamp created_at;
  };
  virtual Result<void> ScanCustomerFacts(const std::function<void(const CustomerFact&)>&) {
    return Unsupported("ScanCustomerFacts");
  }

  // Events named `name` with from <= timestamp <= to, ascending time, of one customer when `customer` is set
  // (segment rules' `did`, behaviour analytics). Reads the events(name, ts) index (v7); properties are the
  // stored plaintext JSON. Defaults return kInternal so test fakes need not implement them.
  struct NamedEventFact {
    CustomerId customer;
    Timestamp timestamp;
    std::string properties_json;
  };
  virtual Result<void> ScanEventsByName(std::string_view, Timestamp, Timestamp, std::optional<CustomerId>,
                                        const std::function<void(const NamedEventFact&)>&) {
    return Unsupported("ScanEventsByName");
  }
  // Distinct non-empty event names, ascending, at most `limit` (the segment builder's autocomplete).
  virtual Result<std::vector<std::string>> ListEventNames(int) { return Unsupported("ListEventNames"); }

  // Event scan for behaviour analytics (funnels, paths): events of live (not merged-away) customers in
  // (customer, timestamp, id) order, so a caller can process one customer at a time. Optional filters: event
  // names (empty: all), a time range [from, to). For each row it also extracts the requested properties
  // (`properties` are paths inside the properties object, "category" or "cart.total"; each segment
  // [A-Za-z0-9_-]+, else kInvalidArgument) as text (JSON strings unquoted, numbers as written, true/false as
  // 1/0, objects as JSON; nullopt when absent), and one customer attribute when `customer_attribute` is
  // "country", "city" or "gender" (empty when unset). The row's views are valid during the callback only.
  struct EventScan {
    std::vector<std::string> names;
    std::optional<Timestamp> from;
    std::optional<Timestamp> to;
    std::vector<std::string> properties;
    std::string customer_attribute;
  };
  struct EventRow {
    CustomerId customer;
    Timestamp timestamp;
    int64_t id = 0;
    std::string_view name;
    const std::vector<std::optional<std::string>>* properties = nullptr;  // one per EventScan::properties
    std::string_view customer_attribute;
  };
  virtual Result<void> ScanEvents(const EventScan&, const std::function<void(const EventRow&)>&) {
    return Unsupported("ScanEvents");
  }

  // Staff, keys, sessions, idempotency
  virtual Result<UserRecord> FindUserByName(std::string_view username) = 0;
  virtual Result<UserRecord> GetUser(UserId id) = 0;
  virtual Result<std::vector<UserRecord>> ListUsers() = 0;
  virtual Result<ApiKeyRecord> FindApiKeyBySecretHash(std::string_view secret_sha256) = 0;
  virtual Result<std::vector<ApiKeyRecord>> ListApiKeys() = 0;
  virtual Result<void> TouchApiKey(ApiKeyId id, Timestamp at) = 0;  // last-used time, best effort
  // By the hash of the access or of the current refresh token; kNotFound when absent.
  virtual Result<SessionRecord> FindSessionByAccess(std::string_view access_sha256) = 0;
  virtual Result<SessionRecord> FindSessionByRefresh(std::string_view refresh_sha256) = 0;
  // The session a spent (rotated-out) refresh token belonged to, if it is one.
  virtual Result<std::optional<int64_t>> FindSpentRefresh(std::string_view refresh_sha256) = 0;
  virtual Result<std::vector<SessionRecord>> ListUserSessions(UserId user) = 0;  // oldest first
  // By the hash of the device token; kNotFound when absent (expired rows are returned: the caller checks).
  virtual Result<DeviceRecord> FindDeviceByToken(std::string_view token_sha256) = 0;
  virtual Result<std::vector<DeviceRecord>> ListUserDevices(UserId user) = 0;  // oldest first
  virtual Result<void> TouchDevice(int64_t device_id, Timestamp at) = 0;      // last-used time, best effort
  virtual Result<std::optional<MfaRecord>> GetMfa(UserId user) = 0;
  virtual Result<std::vector<RecoveryCodeRecord>> ListRecoveryCodes(UserId user) = 0;  // unused and used
  virtual Result<std::vector<RoleSettingRecord>> ListRoleSettings() = 0;  // roles never set are absent
  virtual Result<std::optional<IdempotencyRecord>> FindIdempotency(std::string_view key) = 0;
  virtual Result<std::vector<TeamRecord>> ListTeams() = 0;
  virtual Result<std::vector<RoleRecord>> ListRoles() = 0;  // custom roles, by name
  virtual Result<std::optional<RoleRecord>> FindRole(std::string_view name) = 0;
  virtual Result<std::vector<RevealRecord>> ListReveals(CustomerId customer) = 0;  // oldest first

  // Audit ledger: the newest row (nullopt when empty), rows in ascending seq after `after_seq`, a filtered
  // page (newest first), and every checkpoint in ascending to_seq.
  virtual Result<std::optional<LedgerRow>> LastLedgerRow() = 0;
  virtual Result<void> ScanLedger(int64_t after_seq, const std::function<void(const LedgerRow&)>& fn) = 0;
  virtual Result<std::vector<LedgerRow>> ListLedger(const LedgerQuery& query) = 0;
  virtual Result<std::vector<CheckpointRecord>> ListCheckpoints() = 0;

  // Privacy (privacy/). Pure virtual, so a decorator (audit::LedgeredStore) cannot forget to forward one.
  virtual Result<std::vector<ConsentRecord>> ListConsents(CustomerId id) = 0;  // oldest first
  virtual Result<void> ScanConsents(const std::function<void(const ConsentRecord&)>& fn) = 0;  // oldest first
  virtual Result<PrivacyRequestRecord> GetPrivacyRequest(int64_t id) = 0;
  virtual Result<std::vector<PrivacyRequestRecord>> ListPrivacyRequests(const PrivacyRequestQuery& query) = 0;
  virtual Result<PrivacyFlagsRecord> GetPrivacyFlags(CustomerId id) = 0;
  virtual Result<void> ScanPrivacyFlags(const std::function<void(const PrivacyFlagsRecord&)>& fn) = 0;
  // Tables holding a customer_id column, read from the schema (the DSAR schema walker).
  virtual Result<std::vector<std::string>> ListSubjectTables() = 0;
  // Every row referring to `id` (see WriteTxn::EraseSubjectRows for which), one entry per table, empty
  // tables included.
  virtual Result<std::vector<SubjectTable>> ExportSubjectRows(CustomerId id) = 0;
  virtual Result<bool> IsErasureSuppressed(std::string_view hash) = 0;
  // The verification code of a self-service request; nullopt when it has none.
  virtual Result<std::optional<VerificationCodeRecord>> GetVerificationCode(int64_t request_id) = 0;
  // Outbox messages of one customer, oldest first (tests, the future messaging module).
  virtual Result<std::vector<OutboxRecord>> ListOutbox(CustomerId customer) = 0;

  // Sign-in throttle counters whose expires_at is after `now`, in no particular order. Default kInternal.
  virtual Result<std::vector<ThrottleRecord>> ListThrottle(Timestamp) { return Unsupported("ListThrottle"); }

  // Analytics settings (analytics/): the stored value, nullopt when never set. Default kInternal.
  virtual Result<std::optional<AnalyticsSettingRecord>> GetAnalyticsSetting(std::string_view) {
    return Unsupported("GetAnalyticsSetting");
  }

  // Data-class catalogue: every entry, by scope and key. Default kInternal.
  virtual Result<std::vector<DataClassRecord>> ListDataClasses() { return Unsupported("ListDataClasses"); }

  // Segments (segments/service/). Defaults return kInternal so test fakes need not implement them.
  virtual Result<std::vector<SegmentRecord>> ListSegments() { return Unsupported("ListSegments"); }  // by id
  // Every member of the segment, ascending customer id.
  virtual Result<void> ScanSegmentMembers(SegmentId, const std::function<void(const SegmentMemberRecord&)>&) {
    return Unsupported("ScanSegmentMembers");
  }
  virtual Result<std::vector<SegmentEventRecord>> ListSegmentEvents(const SegmentEventQuery&) {
    return Unsupported("ListSegmentEvents");
  }
  // The memberships of one customer, by segment id.
  virtual Result<std::vector<SegmentMemberRecord>> ListCustomerSegments(CustomerId) {
    return Unsupported("ListCustomerSegments");
  }

  // Runs the backend's own consistency check (SQLite: PRAGMA integrity_check); kInternal naming the problem.
  virtual Result<void> CheckIntegrity() = 0;

  // Schema version after migrations (for /readyz and tests).
  virtual int SchemaVersion() const = 0;

 protected:
  static Error Unsupported(const char* what) { return Error::Internal(std::string(what) + " not supported by this store"); }
};

class FieldCrypto;

struct StoreOptions {
  std::string path;               // SQLite file; the directory must exist
  // Required: encrypts personal fields and computes blind indexes; must outlive the store.
  FieldCrypto* crypto = nullptr;
  bool synchronous_full = true;   // fsync on every commit (durable acks); false only for bulk demo loads
  int read_connections = 4;
  // SQLite VFS to open the files with; empty means the default (unix). Tests register a fault-injecting VFS
  // under its own name and pass it here (SECURITY.md R5).
  std::string vfs;
  // For the ledger verifier, which needs no key: opens without `crypto`; any personal-data operation then fails
  // with kFailedPrecondition, and erasures are not reconciled (that needs the keystore).
  bool ledger_only = false;
};

// Opens (creating if needed) the SQLite store and applies pending migrations, then reconciles erasures with the
// keystore: tombstoned customers still present (an older database restored) are deleted, erasures recorded here
// but missing from the keystore (an older keystore restored) are shredded again. kInvalidArgument without
// `crypto`; kFailedPrecondition for a database holding plaintext customer data from before field encryption.
Result<std::unique_ptr<Store>> OpenSqliteStore(const StoreOptions& options);

}  // namespace panorama::storage
