#pragma once
// LedgeredStore: the Store decorator that makes every write leave its audit ledger entry in the same
// transaction (SECURITY.md §2.6). Write() hands the callback a wrapping WriteTxn that forwards each mutating
// call and appends the matching entry; a new WriteTxn method is a compile error here until it is forwarded,
// and the raw AppendLedger/InsertCheckpoint are refused to callers, so nothing bypasses the chain.
// The actor, request id and IP come from CurrentActor() (core/actor_context.h) on the writing thread.
//
// Thread-safety: as Store. The chain head (last seq and hash) is cached in memory under mu_, so appends cost
// no extra read; it advances only when the enclosing transaction commits.

#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "audit/ledger_entry.h"
#include "storage/store.h"

namespace panorama::audit {

class LedgerSigner;

class LedgeredStore final : public storage::Store {
 public:
  // Takes over `inner` and reads the chain head and the entries since the last checkpoint.
  static Result<std::unique_ptr<LedgeredStore>> Open(std::unique_ptr<storage::Store> inner, const Clock& clock);

  // Appends `entries` (seq, time and hash are set here; actor fields are kept if set, else CurrentActor())
  // in one transaction of their own: the batched read log.
  Result<void> AppendEntries(std::vector<LedgerEntry> entries);

  // Writes a signed checkpoint over the entries since the last one; nullopt when there are none.
  // kFailedPrecondition naming the seq when the unsigned tail was found broken at Open.
  Result<std::optional<storage::CheckpointRecord>> Checkpoint(const LedgerSigner& signer);

  int64_t last_seq() const;
  int64_t entries_since_checkpoint() const;
  storage::Store& inner() { return *inner_; }

  // Store
  Result<void> Write(const std::function<Result<void>(storage::WriteTxn&)>& fn) override;
  Result<storage::CustomerRecord> GetCustomer(CustomerId id) override { return inner_->GetCustomer(id); }
  Result<std::vector<storage::CustomerRecord>> ListCustomers(const storage::CustomerQuery& q) override {
    return inner_->ListCustomers(q);
  }
  Result<int64_t> CountCustomers() override { return inner_->CountCustomers(); }
  Result<std::vector<storage::IdentityRecord>> ListIdentities(CustomerId id) override {
    return inner_->ListIdentities(id);
  }
  Result<std::optional<CustomerId>> FindIdentity(std::string_view type, std::string_view value) override {
    return inner_->FindIdentity(type, value);
  }
  Result<std::vector<storage::MergeRecord>> ListMerges(CustomerId id) override { return inner_->ListMerges(id); }
  Result<std::vector<storage::TimelineEntry>> ListTimeline(const storage::TimelineQuery& q) override {
    return inner_->ListTimeline(q);
  }
  Result<std::vector<storage::EventRecord>> GetEvents(const std::vector<int64_t>& ids) override {
    return inner_->GetEvents(ids);
  }
  Result<std::vector<storage::OrderRecord>> GetOrders(const std::vector<int64_t>& ids) override {
    return inner_->GetOrders(ids);
  }
  Result<std::vector<storage::InteractionRecord>> GetInteractions(const std::vector<int64_t>& ids) override {
    return inner_->GetInteractions(ids);
  }
  Result<std::vector<storage::OrderRecord>> ListOrders(const storage::PageQuery& q) override {
    return inner_->ListOrders(q);
  }
  Result<std::vector<storage::ProductRecord>> ListProducts(const storage::PageQuery& q) override {
    return inner_->ListProducts(q);
  }
  Result<storage::ProductRecord> GetProduct(ProductId id) override { return inner_->GetProduct(id); }
  Result<std::vector<storage::InteractionRecord>> ListInteractions(const storage::PageQuery& q) override {
    return inner_->ListInteractions(q);
  }
  Result<void> ScanOrderFacts(const std::function<void(const OrderFact&)>& fn) override {
    return inner_->ScanOrderFacts(fn);
  }
  Result<void> ScanEventFacts(const std::function<void(const EventFact&)>& fn) override {
    return inner_->ScanEventFacts(fn);
  }
  Result<void> ScanCustomerIds(const std::function<void(CustomerId, bool)>& fn) override {
    return inner_->ScanCustomerIds(fn);
  }
  Result<void> ScanCustomerFacts(const std::function<void(const CustomerFact&)>& fn) override {
    return inner_->ScanCustomerFacts(fn);
  }
  Result<void> ScanEvents(const EventScan& scan, const std::function<void(const EventRow&)>& fn) override {
    return inner_->ScanEvents(scan, fn);
  }
  Result<void> RotateCustomerKey(CustomerId id) override;
  Result<std::vector<CustomerId>> ListErasures() override { return inner_->ListErasures(); }
  Result<storage::CustomerRecord> GetCustomerInScope(CustomerId id, const storage::RecordScope& scope) override {
    return inner_->GetCustomerInScope(id, scope);
  }
  Result<std::vector<storage::TeamRecord>> ListTeams() override { return inner_->ListTeams(); }
  Result<std::vector<storage::ConsentRecord>> ListConsents(CustomerId id) override { return inner_->ListConsents(id); }
  Result<void> ScanConsents(const std::function<void(const storage::ConsentRecord&)>& fn) override {
    return inner_->ScanConsents(fn);
  }
  Result<storage::PrivacyRequestRecord> GetPrivacyRequest(int64_t id) override { return inner_->GetPrivacyRequest(id); }
  Result<std::vector<storage::PrivacyRequestRecord>> ListPrivacyRequests(const storage::PrivacyRequestQuery& q) override {
    return inner_->ListPrivacyRequests(q);
  }
  Result<storage::PrivacyFlagsRecord> GetPrivacyFlags(CustomerId id) override { return inner_->GetPrivacyFlags(id); }
  Result<std::optional<storage::VerificationCodeRecord>> GetVerificationCode(int64_t request_id) override {
    return inner_->GetVerificationCode(request_id);
  }
  Result<std::vector<storage::OutboxRecord>> ListOutbox(CustomerId customer) override {
    return inner_->ListOutbox(customer);
  }
  Result<void> ScanPrivacyFlags(const std::function<void(const storage::PrivacyFlagsRecord&)>& fn) override {
    return inner_->ScanPrivacyFlags(fn);
  }
  Result<std::vector<std::string>> ListSubjectTables() override { return inner_->ListSubjectTables(); }
  Result<std::vector<storage::SubjectTable>> ExportSubjectRows(CustomerId id) override {
    return inner_->ExportSubjectRows(id);
  }
  Result<bool> IsErasureSuppressed(std::string_view hash) override { return inner_->IsErasureSuppressed(hash); }
  Result<std::vector<storage::DataClassRecord>> ListDataClasses() override { return inner_->ListDataClasses(); }
  Result<std::vector<storage::SegmentRecord>> ListSegments() override { return inner_->ListSegments(); }
  Result<void> ScanSegmentMembers(SegmentId id,
                                  const std::function<void(const storage::SegmentMemberRecord&)>& fn) override {
    return inner_->ScanSegmentMembers(id, fn);
  }
  Result<std::vector<storage::SegmentEventRecord>> ListSegmentEvents(const storage::SegmentEventQuery& q) override {
    return inner_->ListSegmentEvents(q);
  }
  Result<std::vector<storage::SegmentMemberRecord>> ListCustomerSegments(CustomerId id) override {
    return inner_->ListCustomerSegments(id);
  }
  Result<std::vector<storage::RoleRecord>> ListRoles() override { return inner_->ListRoles(); }
  Result<std::optional<storage::RoleRecord>> FindRole(std::string_view name) override {
    return inner_->FindRole(name);
  }
  Result<std::vector<storage::RevealRecord>> ListReveals(CustomerId customer) override {
    return inner_->ListReveals(customer);
  }
  Result<storage::UserRecord> FindUserByName(std::string_view username) override {
    return inner_->FindUserByName(username);
  }
  Result<storage::UserRecord> GetUser(UserId id) override { return inner_->GetUser(id); }
  Result<std::vector<storage::UserRecord>> ListUsers() override { return inner_->ListUsers(); }
  Result<storage::ApiKeyRecord> FindApiKeyBySecretHash(std::string_view h) override {
    return inner_->FindApiKeyBySecretHash(h);
  }
  Result<std::vector<storage::ApiKeyRecord>> ListApiKeys() override { return inner_->ListApiKeys(); }
  // Last-used time only, best effort and high-frequency: not a ledger entry (documented in docs/security.md).
  Result<void> TouchApiKey(ApiKeyId id, Timestamp at) override { return inner_->TouchApiKey(id, at); }
  Result<storage::SessionRecord> FindSessionByAccess(std::string_view h) override {
    return inner_->FindSessionByAccess(h);
  }
  Result<storage::SessionRecord> FindSessionByRefresh(std::string_view h) override {
    return inner_->FindSessionByRefresh(h);
  }
  Result<std::optional<int64_t>> FindSpentRefresh(std::string_view h) override { return inner_->FindSpentRefresh(h); }
  Result<std::vector<storage::SessionRecord>> ListUserSessions(UserId user) override {
    return inner_->ListUserSessions(user);
  }
  Result<storage::DeviceRecord> FindDeviceByToken(std::string_view token_sha256) override {
    return inner_->FindDeviceByToken(token_sha256);
  }
  Result<std::vector<storage::DeviceRecord>> ListUserDevices(UserId user) override {
    return inner_->ListUserDevices(user);
  }
  // Last-used time: best effort and frequent, like TouchApiKey; not a ledger entry.
  Result<void> TouchDevice(int64_t device_id, Timestamp at) override { return inner_->TouchDevice(device_id, at); }
  Result<std::vector<storage::ThrottleRecord>> ListThrottle(Timestamp now) override {
    return inner_->ListThrottle(now);
  }
  Result<std::optional<storage::MfaRecord>> GetMfa(UserId user) override { return inner_->GetMfa(user); }
  Result<std::vector<storage::RecoveryCodeRecord>> ListRecoveryCodes(UserId user) override {
    return inner_->ListRecoveryCodes(user);
  }
  Result<std::vector<storage::RoleSettingRecord>> ListRoleSettings() override { return inner_->ListRoleSettings(); }
  Result<std::optional<storage::AnalyticsSettingRecord>> GetAnalyticsSetting(std::string_view key) override {
    return inner_->GetAnalyticsSetting(key);
  }
  Result<std::optional<storage::IdempotencyRecord>> FindIdempotency(std::string_view key) override {
    return inner_->FindIdempotency(key);
  }
  Result<std::optional<storage::LedgerRow>> LastLedgerRow() override { return inner_->LastLedgerRow(); }
  Result<void> ScanLedger(int64_t after_seq, const std::function<void(const storage::LedgerRow&)>& fn) override {
    return inner_->ScanLedger(after_seq, fn);
  }
  Result<std::vector<storage::LedgerRow>> ListLedger(const storage::LedgerQuery& q) override {
    return inner_->ListLedger(q);
  }
  Result<std::vector<storage::CheckpointRecord>> ListCheckpoints() override { return inner_->ListCheckpoints(); }
  Result<void> CheckIntegrity() override { return inner_->CheckIntegrity(); }
  int SchemaVersion() const override { return inner_->SchemaVersion(); }

  // The chain as a transaction sees it: committed head plus what this transaction appended so far.
  struct Chain {
    int64_t seq = 0;
    Hash head{};
    std::vector<Hash> appended;
  };

 private:
  LedgeredStore(std::unique_ptr<storage::Store> inner, const Clock& clock) : inner_(std::move(inner)), clock_(clock) {}

  std::unique_ptr<storage::Store> inner_;
  const Clock& clock_;

  mutable std::mutex mu_;
  // guarded by mu_ (held for the whole of each Write, so transactions see a stable head)
  Chain committed_;
  int64_t checkpoint_seq_ = 0;          // to_seq of the last checkpoint
  std::vector<Hash> since_checkpoint_;  // entry hashes after checkpoint_seq_
  int64_t tail_broken_at_ = 0;          // first broken seq after the last checkpoint, found at Open
};

}  // namespace panorama::audit
