#pragma once
// RecordingStore: an in-memory fake Store for unit tests and benchmarks. It records what is written
// (in order, as a running 64-bit digest and, optionally, the records themselves), keeps the facts
// the feature store scans, and enforces the uniqueness rules of the contract (identities, event
// message ids, order external ids) so a writer that breaks them fails here as it would on SQLite.
// Write() is all-or-nothing: a failed callback leaves nothing behind and does not advance the id
// counters.
//
// Implemented: Write with Insert/Update/Delete/GetCustomer,
// FindIdentity/ListIdentities/AddIdentity, Nested, MergeCustomers, InsertEvent, UpsertProduct,
// FindProductBySku, InsertOrder, InsertInteraction; GetCustomer, CountCustomers, FindIdentity, the
// three Scan* methods and SchemaVersion. Everything else returns kInternal ("not implemented by
// RecordingStore"): a test that needs it should extend the fake. Not thread-safe beyond what one
// test thread needs.

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "storage/store.h"

namespace panorama::testing {

// FNV-1a over a canonical, length-prefixed serialisation: equal digests mean equal write sequences.
class Digest {
 public:
  void Add(std::string_view text);
  void Add(int64_t value);
  uint64_t value() const { return hash_; }

 private:
  void AddBytes(const void* data, size_t size);
  uint64_t hash_ = 14695981039346656037ull;
};

struct RecordingStoreOptions {
  bool keep_records = true;      // false: only digest, counts and facts (for large runs)
  bool check_uniqueness = true;  // false: skip the identity / message id / external id maps
};

struct RecordedCustomer {
  storage::CustomerRecord record;
  bool merged = false;
};

class RecordingStore : public storage::Store {
 public:
  explicit RecordingStore(RecordingStoreOptions options = {});
  ~RecordingStore() override;

  // Store
  Result<void> Write(const std::function<Result<void>(storage::WriteTxn&)>& fn) override;
  Result<storage::CustomerRecord> GetCustomer(CustomerId id) override;
  Result<std::vector<storage::CustomerRecord>> ListCustomers(
      const storage::CustomerQuery& query) override;
  Result<int64_t> CountCustomers() override;
  Result<std::vector<storage::IdentityRecord>> ListIdentities(CustomerId id) override;
  Result<std::optional<CustomerId>> FindIdentity(std::string_view type,
                                                 std::string_view value) override;
  Result<void> CheckIntegrity() override;
  // The ledger is empty here: RecordingStore is never wrapped in audit::LedgeredStore.
  Result<std::optional<storage::LedgerRow>> LastLedgerRow() override;
  Result<void> ScanLedger(int64_t after_seq, const std::function<void(const storage::LedgerRow&)>& fn) override;
  Result<std::vector<storage::LedgerRow>> ListLedger(const storage::LedgerQuery& query) override;
  Result<std::vector<storage::CheckpointRecord>> ListCheckpoints() override;
  Result<std::vector<storage::MergeRecord>> ListMerges(CustomerId id) override;
  Result<std::vector<storage::TimelineEntry>> ListTimeline(
      const storage::TimelineQuery& query) override;
  Result<std::vector<storage::EventRecord>> GetEvents(const std::vector<int64_t>& ids) override;
  Result<std::vector<storage::OrderRecord>> GetOrders(const std::vector<int64_t>& ids) override;
  Result<std::vector<storage::InteractionRecord>> GetInteractions(
      const std::vector<int64_t>& ids) override;
  Result<std::vector<storage::OrderRecord>> ListOrders(const storage::PageQuery& query) override;
  Result<std::vector<storage::ProductRecord>> ListProducts(
      const storage::PageQuery& query) override;
  Result<storage::ProductRecord> GetProduct(ProductId id) override;
  Result<std::vector<storage::InteractionRecord>> ListInteractions(
      const storage::PageQuery& query) override;
  Result<void> ScanOrderFacts(const std::function<void(const OrderFact&)>& fn) override;
  Result<void> ScanEventFacts(const std::function<void(const EventFact&)>& fn) override;
  Result<void> ScanCustomerIds(const std::function<void(CustomerId, bool merged)>& fn) override;
  Result<storage::UserRecord> FindUserByName(std::string_view username) override;
  Result<storage::UserRecord> GetUser(UserId id) override;
  Result<std::vector<storage::UserRecord>> ListUsers() override;
  Result<storage::ApiKeyRecord> FindApiKeyBySecretHash(std::string_view secret_sha256) override;
  Result<std::vector<storage::ApiKeyRecord>> ListApiKeys() override;
  Result<void> TouchApiKey(ApiKeyId id, Timestamp at) override;
  Result<storage::SessionRecord> FindSessionByAccess(std::string_view access_sha256) override;
  Result<storage::SessionRecord> FindSessionByRefresh(std::string_view refresh_sha256) override;
  Result<std::optional<int64_t>> FindSpentRefresh(std::string_view refresh_sha256) override;
  Result<std::vector<storage::SessionRecord>> ListUserSessions(UserId user) override;
  Result<storage::DeviceRecord> FindDeviceByToken(std::string_view token_sha256) override;
  Result<std::vector<storage::DeviceRecord>> ListUserDevices(UserId user) override;
  Result<void> TouchDevice(int64_t device_id, Timestamp at) override;
  Result<std::optional<storage::MfaRecord>> GetMfa(UserId user) override;
  Result<std::vector<storage::RecoveryCodeRecord>> ListRecoveryCodes(UserId user) override;
  Result<std::vector<storage::RoleSettingRecord>> ListRoleSettings() override;
  Result<std::optional<storage::IdempotencyRecord>> FindIdempotency(std::string_view key) override;
  Result<void> RotateCustomerKey(CustomerId) override;
  Result<std::vector<CustomerId>> ListErasures() override;
  Result<storage::CustomerRecord> GetCustomerInScope(CustomerId id,
                                                     const storage::RecordScope& scope) override;
  Result<std::vector<storage::TeamRecord>> ListTeams() override;
  Result<std::vector<storage::RoleRecord>> ListRoles() override;
  Result<std::optional<storage::RoleRecord>> FindRole(std::string_view name) override;
  Result<std::vector<storage::RevealRecord>> ListReveals(CustomerId customer) override;
  // Privacy: not modelled here (kInternal); privacy tests run on SQLite.
  Result<std::vector<storage::ConsentRecord>> ListConsents(CustomerId id) override;
  Result<void> ScanConsents(const std::function<void(const storage::ConsentRecord&)>& fn) override;
  Result<storage::PrivacyRequestRecord> GetPrivacyRequest(int64_t id) override;
  Result<std::vector<storage::PrivacyRequestRecord>> ListPrivacyRequests(
      const storage::PrivacyRequestQuery& query) override;
  Result<storage::PrivacyFlagsRecord> GetPrivacyFlags(CustomerId id) override;
  Result<void> ScanPrivacyFlags(const std::function<void(const storage::PrivacyFlagsRecord&)>& fn) override;
  Result<std::vector<std::string>> ListSubjectTables() override;
  Result<std::vector<storage::SubjectTable>> ExportSubjectRows(CustomerId id) override;
  Result<bool> IsErasureSuppressed(std::string_view hash) override;
  Result<std::optional<storage::VerificationCodeRecord>> GetVerificationCode(int64_t request_id) override;
  Result<std::vector<storage::OutboxRecord>> ListOutbox(CustomerId customer) override;
  int SchemaVersion() const override { return 1; }

  // What has been committed.
  uint64_t digest() const { return state_.digest.value(); }
  int64_t transactions() const { return state_.transactions; }
  const std::vector<RecordedCustomer>& customers() const { return state_.customers; }
  const std::vector<storage::IdentityRecord>& identities() const { return state_.identities; }
  const std::vector<storage::ProductRecord>& products() const { return state_.products; }
  const std::vector<storage::OrderRecord>& orders() const { return state_.orders; }
  const std::vector<storage::EventRecord>& events() const { return state_.events; }
  const std::vector<storage::InteractionRecord>& interactions() const {
    return state_.interactions;
  }
  int64_t customer_count() const { return state_.next_customer - 1; }
  int64_t order_count() const { return state_.next_order - 1; }
  int64_t event_count() const { return state_.next_event - 1; }
  int64_t interaction_count() const { return state_.next_interaction - 1; }
  int64_t identity_count() const { return state_.identity_count; }

  // Facts as the Scan* methods return them; benchmarks fill these directly to skip building
  // records.
  std::vector<std::pair<CustomerId, bool>>& customer_facts() { return state_.customer_facts; }
  std::vector<OrderFact>& order_facts() { return state_.order_facts; }
  std::vector<EventFact>& event_facts() { return state_.event_facts; }

  // Everything a transaction may change; a failed Write replays its undo log over it.
  struct State {
    Digest digest;
    int64_t transactions = 0;
    int64_t next_customer = 1, next_order = 1, next_event = 1, next_interaction = 1,
            next_product = 1;
    int64_t identity_count = 0;
    std::vector<RecordedCustomer> customers;
    std::vector<storage::IdentityRecord> identities;
    std::vector<storage::ProductRecord> products;
    std::vector<storage::OrderRecord> orders;
    std::vector<storage::EventRecord> events;
    std::vector<storage::InteractionRecord> interactions;
    std::vector<std::pair<CustomerId, bool>> customer_facts;  // index = id − 1
    std::vector<OrderFact> order_facts;
    std::vector<EventFact> event_facts;
    std::map<std::pair<std::string, std::string>, CustomerId> identity_owner;
    std::unordered_set<std::string> message_ids;
    std::unordered_set<std::string> order_external_ids;
    std::unordered_map<std::string, int64_t> product_by_sku;
  };

 private:
  RecordingStoreOptions options_;
  State state_;
};

}  // namespace panorama::testing
