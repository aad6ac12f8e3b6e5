#include "audit/ledgered_store.h"

#include "audit/merkle.h"
#include "core/actor_context.h"

namespace panorama::audit {
namespace {

using storage::WriteTxn;

std::vector<std::string> CustomerFieldNames(const storage::CustomerRecord& c) {
  std::vector<std::string> out;
  auto add = [&](const char* name, bool present) {
    if (present) out.emplace_back(name);
  };
  add("name", !c.name.empty());
  add("email", !c.email.empty());
  add("phone", !c.phone.empty());
  add("gender", !c.gender.empty());
  add("birthday", !c.birthday.empty());
  add("address", !c.address.empty());
  add("city", !c.city.empty());
  add("country", !c.country.empty());
  add("tags", !c.tags.empty());
  add("traits", !c.traits_json.empty() && c.traits_json != "{}");
  add("external_id", !c.external_id.empty());
  return out;
}

std::vector<std::string> ChangedCustomerFields(const storage::CustomerRecord& a, const storage::CustomerRecord& b) {
  std::vector<std::string> out;
  auto add = [&](const char* name, bool changed) {
    if (changed) out.emplace_back(name);
  };
  add("name", a.name != b.name);
  add("email", a.email != b.email);
  add("phone", a.phone != b.phone);
  add("gender", a.gender != b.gender);
  add("birthday", a.birthday != b.birthday);
  add("address", a.address != b.address);
  add("city", a.city != b.city);
  add("country", a.country != b.country);
  add("tags", a.tags != b.tags);
  add("traits", a.traits_json != b.traits_json);
  add("external_id", a.external_id != b.external_id);
  return out;
}

// Appends one entry to `chain` through `txn` (seq, time, actor and hash filled in).
Result<void> AppendTo(WriteTxn& txn, LedgeredStore::Chain& chain, const Clock& clock, LedgerEntry entry) {
  entry.seq = chain.seq + 1;
  entry.at = clock.Now();
  if (entry.actor.empty()) {
    const ActorContext& who = CurrentActor();
    entry.actor = who.actor;
    entry.request_id = who.request_id;
    entry.ip = who.ip;
  }
  std::string body = CanonicalJson(entry);
  Hash hash = EntryHash(chain.head, body);
  RETURN_IF_ERROR(txn.AppendLedger({entry.seq, std::move(body), ToHex(chain.head), ToHex(hash)}));
  chain.seq = entry.seq;
  chain.head = hash;
  chain.appended.push_back(hash);
  return Ok();
}

LedgerEntry Entry(std::string action, std::string object_type, std::string object_id,
                  std::vector<std::string> fields = {}, std::vector<std::string> ids = {}) {
  LedgerEntry e;
  e.action = std::move(action);
  e.object_type = std::move(object_type);
  e.object_id = std::move(object_id);
  e.fields = std::move(fields);
  e.ids = std::move(ids);
  return e;
}

// Forwards every WriteTxn call to the real transaction and records each mutation in the ledger. Reads inside
// the transaction are forwarded without an entry.
class LedgeredTxn final : public WriteTxn {
 public:
  LedgeredTxn(WriteTxn& inner, LedgeredStore::Chain& chain, const Clock& clock)
      : inner_(inner), chain_(chain), clock_(clock) {}

  Result<void> Record(LedgerEntry entry) { return AppendTo(inner_, chain_, clock_, std::move(entry)); }

  // WriteTxn
  Result<CustomerId> InsertCustomer(const storage::CustomerRecord& c) override {
    ASSIGN_OR_RETURN(CustomerId id, inner_.InsertCustomer(c));
    RETURN_IF_ERROR(Record(Entry("customer.create", "customer", id.ToString(), CustomerFieldNames(c))));
    return id;
  }
  Result<void> UpdateCustomer(const storage::CustomerRecord& c) override {
    ASSIGN_OR_RETURN(storage::CustomerRecord before, inner_.GetCustomer(c.id));
    RETURN_IF_ERROR(inner_.UpdateCustomer(c));
    return Record(Entry("customer.update", "customer", c.id.ToString(), ChangedCustomerFields(before, c)));
  }
  Result<void> DeleteCustomer(CustomerId id) override {
    RETURN_IF_ERROR(inner_.DeleteCustomer(id));
    return Record(Entry("customer.delete", "customer", id.ToString()));
  }
  Result<storage::ErasureReport> EraseCustomer(CustomerId id) override {
    ASSIGN_OR_RETURN(storage::ErasureReport report, inner_.EraseCustomer(id));
    std::vector<std::string> shredded;
    for (CustomerId s : report.shredded) shredded.push_back(s.ToString());
    RETURN_IF_ERROR(Record(Entry("customer.erase", "customer", id.ToString(), {}, std::move(shredded))));
    return report;
  }
  Result<storage::CustomerRecord> GetCustomer(CustomerId id) override { return inner_.GetCustomer(id); }
  Result<std::optional<CustomerId>> FindIdentity(std::string_view type, std::string_view value) override {
    return inner_.FindIdentity(type, value);
  }
  Result<std::vector<storage::IdentityRecord>> ListIdentities(CustomerId id) override {
    return inner_.ListIdentities(id);
  }
  Result<void> AddIdentity(const storage::IdentityRecord& identity) override {
    RETURN_IF_ERROR(inner_.AddIdentity(identity));
    // The identity type is a field name; its value is personal data and stays out.
    return Record(Entry("identity.add", "customer", identity.customer.ToString(), {identity.type}));
  }
  Result<void> MergeCustomers(const storage::MergeRecord& merge) override {
    RETURN_IF_ERROR(inner_.MergeCustomers(merge));
    return Record(Entry("customer.merge", "customer", merge.from.ToString(), {}, {merge.into.ToString()}));
  }
  Result<EventId> InsertEvent(const storage::EventRecord& event) override {
    ASSIGN_OR_RETURN(EventId id, inner_.InsertEvent(event));
    // The Segment messageId too, so an entry can be matched with what the sender logged (bounded: it is
    // client-chosen).
    std::vector<std::string> ids = {event.customer.ToString()};
    if (!event.message_id.empty()) ids.push_back("message:" + event.message_id.substr(0, 200));
    RETURN_IF_ERROR(Record(Entry("event.ingest", "event", id.ToString(), {}, std::move(ids))));
    return id;
  }
  Result<ProductId> UpsertProduct(const storage::ProductRecord& product) override {
    ASSIGN_OR_RETURN(ProductId id, inner_.UpsertProduct(product));
    RETURN_IF_ERROR(Record(Entry("product.upsert", "product", id.ToString())));
    return id;
  }
  Result<std::optional<ProductId>> FindProductBySku(std::string_view sku) override {
    return inner_.FindProductBySku(sku);
  }
  Result<OrderId> InsertOrder(const storage::OrderRecord& order) override {
    ASSIGN_OR_RETURN(OrderId id, inner_.InsertOrder(order));
    RETURN_IF_ERROR(Record(Entry("order.create", "order", id.ToString(), {}, {order.customer.ToString()})));
    return id;
  }
  Result<std::optional<OrderId>> FindOrderByExternalId(std::string_view external_id) override {
    return inner_.FindOrderByExternalId(external_id);
  }
  Result<InteractionId> InsertInteraction(const storage::InteractionRecord& i) override {
    ASSIGN_OR_RETURN(InteractionId id, inner_.InsertInteraction(i));
    RETURN_IF_ERROR(Record(Entry("interaction.create", "interaction", id.ToString(), {}, {i.customer.ToString()})));
    return id;
  }
  Result<UserId> InsertUser(const storage::UserRecord& user) override {
    ASSIGN_OR_RETURN(UserId id, inner_.InsertUser(user));
    RETURN_IF_ERROR(Record(Entry("user.create", "user", id.ToString(), {"role"})));
    return id;
  }
  Result<void> UpdateUser(const storage::UserRecord& user) override {
    RETURN_IF_ERROR(inner_.UpdateUser(user));
    return Record(Entry("user.update", "user", user.id.ToString()));
  }
  Result<ApiKeyId> InsertApiKey(const storage::ApiKeyRecord& key) override {
    ASSIGN_OR_RETURN(ApiKeyId id, inner_.InsertApiKey(key));
    RETURN_IF_ERROR(Record(Entry("apikey.create", "api_key", id.ToString(), {"kind", "scope"})));
    return id;
  }
  Result<void> RevokeApiKey(ApiKeyId id) override {
    RETURN_IF_ERROR(inner_.RevokeApiKey(id));
    return Record(Entry("apikey.revoke", "api_key", id.ToString()));
  }
  Result<void> SetApiKeyAllowedCidrs(ApiKeyId id, const std::vector<std::string>& cidrs) override {
    RETURN_IF_ERROR(inner_.SetApiKeyAllowedCidrs(id, cidrs));
    return Record(Entry("apikey.allowlist", "api_key", id.ToString(), {"allowed_cidrs"}));
  }
  Result<int64_t> InsertSession(const storage::SessionRecord& session) override {
    ASSIGN_OR_RETURN(int64_t id, inner_.InsertSession(session));
    RETURN_IF_ERROR(Record(Entry("session.create", "session", std::to_string(id), {}, {session.user.ToString()})));
    return id;
  }
  // A refresh (token rotation, last-used time): frequent and not a change of who may do what; the sign-in that
  // created the session and its end are entries.
  Result<void> UpdateSession(const storage::SessionRecord& session) override { return inner_.UpdateSession(session); }
  Result<void> MarkSessionReauthenticated(int64_t session_id, Timestamp at) override {
    RETURN_IF_ERROR(inner_.MarkSessionReauthenticated(session_id, at));
    return Record(Entry("session.step_up", "session", std::to_string(session_id)));
  }
  Result<void> DeleteSession(int64_t session_id) override {
    RETURN_IF_ERROR(inner_.DeleteSession(session_id));
    return Record(Entry("session.delete", "session", std::to_string(session_id)));
  }
  Result<int64_t> InsertDevice(const storage::DeviceRecord& device) override {
    ASSIGN_OR_RETURN(int64_t id, inner_.InsertDevice(device));
    RETURN_IF_ERROR(Record(Entry("device.create", "device", std::to_string(id), {}, {device.user.ToString()})));
    return id;
  }
  Result<void> DeleteDevice(UserId user, int64_t device_id) override {
    RETURN_IF_ERROR(inner_.DeleteDevice(user, device_id));
    return Record(Entry("device.delete", "device", std::to_string(device_id), {}, {user.ToString()}));
  }
  Result<void> DeleteUserDevices(UserId user) override {
    RETURN_IF_ERROR(inner_.DeleteUserDevices(user));
    return Record(Entry("device.delete_all", "user", user.ToString()));
  }
  // Throttle counters change at every failed sign-in; an entry each would let guessing grow the ledger.
  Result<void> PutThrottle(const storage::ThrottleRecord& record) override { return inner_.PutThrottle(record); }
  Result<void> DeleteThrottle(std::string_view kind, std::string_view key) override {
    return inner_.DeleteThrottle(kind, key);
  }
  Result<void> MarkRefreshSpent(std::string_view refresh_sha256, int64_t session_id, Timestamp at) override {
    return inner_.MarkRefreshSpent(refresh_sha256, session_id, at);
  }
  Result<void> PutMfa(const storage::MfaRecord& mfa) override {
    RETURN_IF_ERROR(inner_.PutMfa(mfa));
    return Record(Entry("mfa.put", "user", mfa.user.ToString()));
  }
  Result<void> DeleteMfa(UserId user) override {
    RETURN_IF_ERROR(inner_.DeleteMfa(user));
    return Record(Entry("mfa.reset", "user", user.ToString()));
  }
  Result<void> ReplaceRecoveryCodes(UserId user, const std::vector<std::string>& code_hashes) override {
    RETURN_IF_ERROR(inner_.ReplaceRecoveryCodes(user, code_hashes));
    return Record(Entry("mfa.recovery_codes", "user", user.ToString()));
  }
  Result<void> UseRecoveryCode(int64_t code_id, Timestamp at) override {
    RETURN_IF_ERROR(inner_.UseRecoveryCode(code_id, at));
    return Record(Entry("mfa.recovery_code_used", "recovery_code", std::to_string(code_id)));
  }
  Result<void> PutRoleSetting(const storage::RoleSettingRecord& setting) override {
    RETURN_IF_ERROR(inner_.PutRoleSetting(setting));
    return Record(Entry("role.mfa_policy", "role", setting.role, {"mfa_required"}));
  }
  Result<void> PutAnalyticsSetting(const storage::AnalyticsSettingRecord& setting) override {
    RETURN_IF_ERROR(inner_.PutAnalyticsSetting(setting));
    return Record(Entry("analytics.setting", "analytics_setting", setting.key, {"value"}));
  }
  Result<void> DeleteUserSessions(UserId user) override {
    RETURN_IF_ERROR(inner_.DeleteUserSessions(user));
    return Record(Entry("session.delete_all", "user", user.ToString()));
  }
  Result<TeamId> InsertTeam(const storage::TeamRecord& team) override {
    ASSIGN_OR_RETURN(TeamId id, inner_.InsertTeam(team));
    RETURN_IF_ERROR(Record(Entry("team.create", "team", id.ToString(), {"name"})));
    return id;
  }
  Result<void> SetUserTeam(UserId user, std::optional<TeamId> team) override {
    RETURN_IF_ERROR(inner_.SetUserTeam(user, team));
    return Record(Entry("user.team", "user", user.ToString(), {"team_id"}));
  }
  Result<void> PutRole(const storage::RoleRecord& role) override {
    RETURN_IF_ERROR(inner_.PutRole(role));
    return Record(Entry("role.put", "role", role.name, {"permissions"}));
  }
  Result<void> DeleteRole(std::string_view name) override {
    RETURN_IF_ERROR(inner_.DeleteRole(name));
    return Record(Entry("role.delete", "role", std::string(name)));
  }
  // A reveal of masked personal data: the fields shown in clear (names only) are the entry's fields.
  Result<void> InsertReveal(const storage::RevealRecord& reveal) override {
    RETURN_IF_ERROR(inner_.InsertReveal(reveal));
    return Record(Entry("customer.reveal", "customer", reveal.customer.ToString(), reveal.fields));
  }
  // Privacy writes (pure virtual in WriteTxn, so the compiler checks each is forwarded).
  Result<int64_t> InsertConsent(const storage::ConsentRecord& c) override {
    ASSIGN_OR_RETURN(int64_t id, inner_.InsertConsent(c));
    RETURN_IF_ERROR(Record(Entry("consent.change", "customer", c.customer.ToString(), {c.purpose, c.channel})));
    return id;
  }
  Result<int64_t> InsertPrivacyRequest(const storage::PrivacyRequestRecord& r) override {
    ASSIGN_OR_RETURN(int64_t id, inner_.InsertPrivacyRequest(r));
    RETURN_IF_ERROR(Record(Entry("privacy_request.open", "privacy_request", std::to_string(id), {r.kind},
                                 {r.customer.ToString()})));
    return id;
  }
  Result<void> UpdatePrivacyRequest(const storage::PrivacyRequestRecord& r) override {
    RETURN_IF_ERROR(inner_.UpdatePrivacyRequest(r));
    // Scheduling an erasure and cancelling it in its grace period are entries of their own kind.
    std::string action = r.status == "scheduled"   ? "privacy_request.schedule"
                         : r.status == "cancelled" ? "privacy_request.cancel"
                                                   : "privacy_request.update";
    return Record(Entry(std::move(action), "privacy_request", std::to_string(r.id), {"status", "verification"}));
  }
  Result<void> PutPrivacyFlags(const storage::PrivacyFlagsRecord& f) override {
    RETURN_IF_ERROR(inner_.PutPrivacyFlags(f));
    return Record(Entry("privacy_flags.put", "customer", f.customer.ToString()));
  }
  Result<std::vector<storage::TableCount>> EraseSubjectRows(CustomerId id, const std::vector<std::string>& keep) override {
    ASSIGN_OR_RETURN(auto counts, inner_.EraseSubjectRows(id, keep));
    std::vector<std::string> tables;
    for (const auto& c : counts) tables.push_back(c.table);
    RETURN_IF_ERROR(Record(Entry("customer.erase_rows", "customer", id.ToString(), std::move(tables))));
    return counts;
  }
  Result<void> AddErasureSuppression(std::string_view hash, int64_t request_id, Timestamp at) override {
    return inner_.AddErasureSuppression(hash, request_id, at);  // recorded with the erasure it belongs to
  }
  // A new or spent code of a self-service request (never the code or its hash in the entry).
  Result<void> PutVerificationCode(const storage::VerificationCodeRecord& c) override {
    RETURN_IF_ERROR(inner_.PutVerificationCode(c));
    return Record(Entry("privacy_request.code", "privacy_request", std::to_string(c.request_id), {"attempts", "used_at"}));
  }
  Result<int64_t> InsertOutbox(const storage::OutboxRecord& m) override {
    ASSIGN_OR_RETURN(int64_t id, inner_.InsertOutbox(m));
    RETURN_IF_ERROR(Record(Entry("outbox.enqueue", "customer", m.customer.ToString(), {m.template_name, m.channel})));
    return id;
  }
  Result<int64_t> ApplyRetention(const storage::RetentionRule& rule) override {
    ASSIGN_OR_RETURN(int64_t rows, inner_.ApplyRetention(rule));
    if (rows > 0) RETURN_IF_ERROR(Record(Entry("retention.apply", "data_class", rule.data_class)));
    return rows;
  }
  // One entry per run that deleted something; the ids field carries "table=rows" per table.
  Result<storage::HousekeepingReport> PurgeExpired(const storage::HousekeepingRule& rule) override {
    ASSIGN_OR_RETURN(storage::HousekeepingReport report, inner_.PurgeExpired(rule));
    if (report.total() > 0) {
      std::vector<std::string> counts;
      for (const auto& t : report.tables) counts.push_back(t.table + "=" + std::to_string(t.rows));
      RETURN_IF_ERROR(Record(Entry("housekeeping.purge", "system", "credentials", {}, std::move(counts))));
    }
    return report;
  }
  // Segment definitions are audited like any configuration change (the rule text is not personal data).
  // Membership diffs are not: they are derived from audited writes (events, orders, profiles) and recomputable.
  Result<SegmentId> InsertSegment(const storage::SegmentRecord& r) override {
    ASSIGN_OR_RETURN(SegmentId id, inner_.InsertSegment(r));
    RETURN_IF_ERROR(Record(Entry("segment.create", "segment", id.ToString(), {"name", "description", "rule"})));
    return id;
  }
  Result<void> UpdateSegment(const storage::SegmentRecord& r) override {
    RETURN_IF_ERROR(inner_.UpdateSegment(r));
    return Record(Entry("segment.update", "segment", r.id.ToString(), {"name", "description", "rule"}));
  }
  Result<void> DeleteSegment(SegmentId id) override {
    RETURN_IF_ERROR(inner_.DeleteSegment(id));
    return Record(Entry("segment.delete", "segment", id.ToString()));
  }
  Result<void> ReplaceDataClasses(std::string_view scope,
                                  const std::vector<storage::DataClassRecord>& entries) override {
    RETURN_IF_ERROR(inner_.ReplaceDataClasses(scope, entries));
    // Keys only: they are property names chosen by the admin, never customer values.
    std::vector<std::string> keys;
    for (const auto& e : entries) keys.push_back(e.key + "=" + e.data_class);
    return Record(Entry("privacy.catalogue", "data_classes", std::string(scope), std::move(keys)));
  }
  Result<void> ApplySegmentChanges(const storage::SegmentChanges& c) override {
    return inner_.ApplySegmentChanges(c);
  }
  // A cached response for a retried request; the write it replays has its own entry.
  Result<void> PutIdempotency(const storage::IdempotencyRecord& record) override {
    return inner_.PutIdempotency(record);
  }
  Result<void> AppendLedger(const storage::LedgerRow&) override {
    return Error::PermissionDenied("ledger rows are appended by the ledger only");
  }
  Result<void> InsertCheckpoint(const storage::CheckpointRecord&) override {
    return Error::PermissionDenied("ledger checkpoints are written by the ledger only");
  }
  // A failed savepoint rolls back its ledger rows too, so the in-memory chain goes back with it.
  Result<void> Nested(const std::function<Result<void>()>& fn) override {
    LedgeredStore::Chain saved{chain_.seq, chain_.head, {}};
    size_t appended = chain_.appended.size();
    Result<void> result = inner_.Nested(fn);
    if (!result) {
      chain_.seq = saved.seq;
      chain_.head = saved.head;
      chain_.appended.resize(appended);
    }
    return result;
  }

 private:
  WriteTxn& inner_;
  LedgeredStore::Chain& chain_;
  const Clock& clock_;
};

}  // namespace

Result<std::unique_ptr<LedgeredStore>> LedgeredStore::Open(std::unique_ptr<storage::Store> inner,
                                                           const Clock& clock) {
  auto store = std::unique_ptr<LedgeredStore>(new LedgeredStore(std::move(inner), clock));
  ASSIGN_OR_RETURN(auto last, store->inner_->LastLedgerRow());
  if (last) {
    auto head = HashFromHex(last->entry_hash);
    if (!head) return Error::Internal("ledger entry " + std::to_string(last->seq) + " has a malformed hash");
    store->committed_.seq = last->seq;
    store->committed_.head = *head;
  }
  ASSIGN_OR_RETURN(auto checkpoints, store->inner_->ListCheckpoints());
  Hash prev{};
  if (!checkpoints.empty()) {
    store->checkpoint_seq_ = checkpoints.back().to_seq;
    prev = HashFromHex(checkpoints.back().head_hash).value_or(Hash{});
  }
  // The entries after the last checkpoint are about to be signed by the next one: re-check their chain first,
  // so an edit made while the server was down is never signed over.
  int64_t expected = store->checkpoint_seq_ + 1;
  RETURN_IF_ERROR(store->inner_->ScanLedger(store->checkpoint_seq_, [&](const storage::LedgerRow& row) {
    Hash hash = EntryHash(prev, row.body);
    if (store->tail_broken_at_ == 0 &&
        (row.seq != expected || row.prev_hash != ToHex(prev) || ToHex(hash) != row.entry_hash)) {
      store->tail_broken_at_ = expected;
    }
    store->since_checkpoint_.push_back(hash);
    prev = hash;
    ++expected;
  }));
  return store;
}

Result<void> LedgeredStore::Write(const std::function<Result<void>(storage::WriteTxn&)>& fn) {
  std::lock_guard lock(mu_);
  Chain chain{committed_.seq, committed_.head, {}};
  RETURN_IF_ERROR(inner_->Write([&](storage::WriteTxn& txn) -> Result<void> {
    LedgeredTxn ledgered(txn, chain, clock_);
    return fn(ledgered);
  }));
  committed_.seq = chain.seq;
  committed_.head = chain.head;
  since_checkpoint_.insert(since_checkpoint_.end(), chain.appended.begin(), chain.appended.end());
  return Ok();
}

Result<void> LedgeredStore::RotateCustomerKey(CustomerId id) {
  // The inner store re-encrypts in its own transactions; the rotation is recorded once it has committed.
  RETURN_IF_ERROR(inner_->RotateCustomerKey(id));
  LedgerEntry entry = Entry("customer.key_rotate", "customer", id.ToString());
  return AppendEntries({std::move(entry)});
}

Result<void> LedgeredStore::AppendEntries(std::vector<LedgerEntry> entries) {
  if (entries.empty()) return Ok();
  return Write([&](storage::WriteTxn& txn) -> Result<void> {
    auto& ledgered = static_cast<LedgeredTxn&>(txn);
    for (auto& entry : entries) RETURN_IF_ERROR(ledgered.Record(std::move(entry)));
    return Ok();
  });
}

Result<std::optional<storage::CheckpointRecord>> LedgeredStore::Checkpoint(const LedgerSigner& signer) {
  std::lock_guard lock(mu_);
  if (tail_broken_at_ != 0) {
    return Error::FailedPrecondition("ledger broken at seq " + std::to_string(tail_broken_at_) +
                                     ": refusing to sign a checkpoint over it (run panorama audit verify)");
  }
  if (since_checkpoint_.empty()) return std::optional<storage::CheckpointRecord>();
  storage::CheckpointRecord record;
  record.from_seq = checkpoint_seq_;
  record.to_seq = committed_.seq;
  record.merkle_root = ToHex(MerkleRootOfHashes(since_checkpoint_));
  record.head_hash = ToHex(committed_.head);
  record.created_at = clock_.Now();
  record.signature = signer.SignHex(CheckpointMessage(record.from_seq, record.to_seq, record.merkle_root,
                                                      record.head_hash, ToUnixMillis(record.created_at)));
  RETURN_IF_ERROR(inner_->Write([&](storage::WriteTxn& txn) { return txn.InsertCheckpoint(record); }));
  checkpoint_seq_ = record.to_seq;
  since_checkpoint_.clear();
  return std::optional<storage::CheckpointRecord>(record);
}

int64_t LedgeredStore::last_seq() const {
  std::lock_guard lock(mu_);
  return committed_.seq;
}

int64_t LedgeredStore::entries_since_checkpoint() const {
  std::lock_guard lock(mu_);
  return static_cast<int64_t>(since_checkpoint_.size());
}

}  // namespace panorama::audit
