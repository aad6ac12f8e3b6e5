#include "tests/support/recording_store.h"

#include <algorithm>
#include <functional>
#include <utility>

namespace panorama::testing {

void Digest::AddBytes(const void* data, size_t size) {
  const auto* bytes = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < size; ++i) {
    hash_ ^= bytes[i];
    hash_ *= 1099511628211ull;
  }
}

void Digest::Add(std::string_view text) {
  Add(static_cast<int64_t>(text.size()));
  AddBytes(text.data(), text.size());
}

void Digest::Add(int64_t value) {
  unsigned char bytes[8];
  for (int i = 0; i < 8; ++i) {
    bytes[i] = static_cast<unsigned char>(static_cast<uint64_t>(value) >> (8 * i));
  }
  AddBytes(bytes, sizeof bytes);
}

namespace {

Error NotImplemented(const char* what) {
  return Error::Internal(std::string(what) + " not implemented by RecordingStore");
}

void AddTime(Digest& d, Timestamp t) { d.Add(ToUnixMillis(t)); }

void AddCustomer(Digest& d, CustomerId id, const storage::CustomerRecord& c) {
  d.Add("customer");
  d.Add(id.value());
  for (const std::string* s : {&c.name, &c.email, &c.phone, &c.gender, &c.birthday, &c.city,
                               &c.country, &c.traits_json, &c.external_id}) {
    d.Add(*s);
  }
  d.Add(static_cast<int64_t>(c.tags.size()));
  for (const auto& tag : c.tags) {
    d.Add(tag);
  }
  AddTime(d, c.created_at);
  AddTime(d, c.updated_at);
}

class RecordingTxn final : public storage::WriteTxn {
 public:
  RecordingTxn(RecordingStore::State& state, const RecordingStoreOptions& options)
      : s_(state), options_(options), digest_before_(state.digest) {}

  void Rollback() { RollbackTo(0, digest_before_); }

  void RollbackTo(size_t mark, const Digest& digest) {
    while (undo_.size() > mark) {
      undo_.back()();
      undo_.pop_back();
    }
    s_.digest = digest;
  }

  // WriteTxn
  Result<CustomerId> InsertCustomer(const storage::CustomerRecord& customer) override {
    CustomerId id(s_.next_customer++);
    storage::CustomerRecord copy = options_.keep_records ? customer : storage::CustomerRecord{};
    copy.id = id;
    if (options_.keep_records) {
      s_.customers.push_back({std::move(copy), false});
      undo_.push_back([this] { s_.customers.pop_back(); });
    }
    AddCustomer(s_.digest, id, customer);
    s_.customer_facts.emplace_back(id, false);
    undo_.push_back([this] {
      s_.customer_facts.pop_back();
      --s_.next_customer;
    });
    return id;
  }

  Result<void> UpdateCustomer(const storage::CustomerRecord& customer) override {
    RecordedCustomer* found = Find(customer.id);
    if (found == nullptr) {
      return Error::NotFound("customer " + customer.id.ToString() + " not found");
    }
    storage::CustomerRecord before = found->record;
    found->record = customer;
    AddCustomer(s_.digest, customer.id, customer);
    auto index = static_cast<size_t>(customer.id.value() - 1);
    undo_.push_back([this, index, before] { s_.customers[index].record = before; });
    return Ok();
  }

  Result<void> DeleteCustomer(CustomerId id) override {
    if (!Exists(id)) {
      return Error::NotFound("customer " + id.ToString() + " not found");
    }
    auto orders = s_.order_facts;
    auto events = s_.event_facts;
    std::erase_if(s_.order_facts, [id](const auto& f) { return f.customer == id; });
    std::erase_if(s_.event_facts, [id](const auto& f) { return f.customer == id; });
    auto& fact = s_.customer_facts[static_cast<size_t>(id.value() - 1)];
    auto fact_before = fact;
    fact.first = CustomerId();  // a deleted customer is no longer scanned
    s_.digest.Add("delete");
    s_.digest.Add(id.value());
    undo_.push_back([this, orders, events, id, fact_before] {
      s_.order_facts = orders;
      s_.event_facts = events;
      s_.customer_facts[static_cast<size_t>(id.value() - 1)] = fact_before;
    });
    return Ok();
  }

  Result<storage::CustomerRecord> GetCustomer(CustomerId id) override {
    RecordedCustomer* found = Find(id);
    if (found == nullptr) {
      return Error::NotFound("customer " + id.ToString() + " not found");
    }
    return found->record;
  }

  Result<std::optional<CustomerId>> FindIdentity(std::string_view type,
                                                 std::string_view value) override {
    auto it = s_.identity_owner.find({std::string(type), std::string(value)});
    if (it == s_.identity_owner.end()) {
      return std::optional<CustomerId>();
    }
    return std::optional<CustomerId>(it->second);
  }

  Result<std::vector<storage::IdentityRecord>> ListIdentities(CustomerId id) override {
    if (!options_.keep_records) {
      return NotImplemented("ListIdentities without keep_records");
    }
    std::vector<storage::IdentityRecord> out;
    for (const auto& identity : s_.identities) {
      if (identity.customer == id) {
        out.push_back(identity);
      }
    }
    return out;
  }

  Result<void> AddIdentity(const storage::IdentityRecord& identity) override {
    if (options_.check_uniqueness) {
      auto key = std::make_pair(identity.type, identity.value);
      auto it = s_.identity_owner.find(key);
      if (it != s_.identity_owner.end()) {
        if (it->second == identity.customer) {
          return Ok();
        }
        return Error::AlreadyExists("identity of type " + identity.type +
                                    " belongs to another customer");
      }
      s_.identity_owner.emplace(key, identity.customer);
      undo_.push_back([this, key] { s_.identity_owner.erase(key); });
    }
    if (options_.keep_records) {
      s_.identities.push_back(identity);
      undo_.push_back([this] { s_.identities.pop_back(); });
    }
    ++s_.identity_count;
    undo_.push_back([this] { --s_.identity_count; });
    s_.digest.Add("identity");
    s_.digest.Add(identity.type);
    s_.digest.Add(identity.value);
    s_.digest.Add(identity.customer.value());
    AddTime(s_.digest, identity.first_seen);
    return Ok();
  }

  Result<void> MergeCustomers(const storage::MergeRecord& merge) override {
    if (!Exists(merge.from) || !Exists(merge.into)) {
      return Error::NotFound("merge of unknown customer");
    }
    auto orders = s_.order_facts;
    auto events = s_.event_facts;
    for (auto& f : s_.order_facts) {
      if (f.customer == merge.from) {
        f.customer = merge.into;
      }
    }
    for (auto& f : s_.event_facts) {
      if (f.customer == merge.from) {
        f.customer = merge.into;
      }
    }
    auto& fact = s_.customer_facts[static_cast<size_t>(merge.from.value() - 1)];
    fact.second = true;
    CustomerId from = merge.from;
    undo_.push_back([this, orders, events, from] {
      s_.order_facts = orders;
      s_.event_facts = events;
      s_.customer_facts[static_cast<size_t>(from.value() - 1)].second = false;
    });
    s_.digest.Add("merge");
    s_.digest.Add(merge.from.value());
    s_.digest.Add(merge.into.value());
    return Ok();
  }

  Result<EventId> InsertEvent(const storage::EventRecord& event) override {
    if (options_.check_uniqueness) {
      if (!s_.message_ids.insert(event.message_id).second) {
        return Error::AlreadyExists("event message id seen before");
      }
      undo_.push_back([this, m = event.message_id] { s_.message_ids.erase(m); });
    }
    EventId id(s_.next_event++);
    if (options_.keep_records) {
      s_.events.push_back(event);
      s_.events.back().id = id;
      undo_.push_back([this] { s_.events.pop_back(); });
    }
    s_.event_facts.push_back({event.customer, event.timestamp});
    undo_.push_back([this] {
      s_.event_facts.pop_back();
      --s_.next_event;
    });
    Digest& d = s_.digest;
    d.Add("event");
    d.Add(id.value());
    d.Add(event.customer.value());
    for (const std::string* s : {&event.message_id, &event.type, &event.name, &event.anonymous_id,
                                 &event.user_id, &event.properties_json, &event.context_json}) {
      d.Add(*s);
    }
    AddTime(d, event.timestamp);
    d.Add(event.sent_at ? ToUnixMillis(*event.sent_at) : -1);
    AddTime(d, event.received_at);
    return id;
  }

  Result<ProductId> UpsertProduct(const storage::ProductRecord& product) override {
    auto it = s_.product_by_sku.find(product.sku);
    ProductId id =
        it == s_.product_by_sku.end() ? ProductId(s_.next_product) : ProductId(it->second);
    if (it == s_.product_by_sku.end()) {
      ++s_.next_product;
      s_.product_by_sku.emplace(product.sku, id.value());
      s_.products.push_back(product);
      s_.products.back().id = id;
      undo_.push_back([this, sku = product.sku] {
        s_.product_by_sku.erase(sku);
        s_.products.pop_back();
        --s_.next_product;
      });
    } else {
      auto index = static_cast<size_t>(id.value() - 1);
      auto before = s_.products[index];
      s_.products[index] = product;
      s_.products[index].id = id;
      undo_.push_back([this, index, before] { s_.products[index] = before; });
    }
    Digest& d = s_.digest;
    d.Add("product");
    d.Add(id.value());
    d.Add(product.sku);
    d.Add(product.name);
    d.Add(product.category);
    d.Add(product.price.minor);
    d.Add(product.price.currency);
    return id;
  }

  Result<std::optional<ProductId>> FindProductBySku(std::string_view sku) override {
    auto it = s_.product_by_sku.find(std::string(sku));
    if (it == s_.product_by_sku.end()) {
      return std::optional<ProductId>();
    }
    return std::optional<ProductId>(ProductId(it->second));
  }

  Result<OrderId> InsertOrder(const storage::OrderRecord& order) override {
    if (options_.check_uniqueness && !order.external_id.empty()) {
      if (!s_.order_external_ids.insert(order.external_id).second) {
        return Error::AlreadyExists("order external id exists");
      }
      undo_.push_back([this, e = order.external_id] { s_.order_external_ids.erase(e); });
    }
    OrderId id(s_.next_order++);
    if (options_.keep_records) {
      s_.orders.push_back(order);
      s_.orders.back().id = id;
      undo_.push_back([this] { s_.orders.pop_back(); });
    }
    // Order facts are purchases: completed orders only, as the Store contract says.
    bool purchase = order.status == "completed";
    if (purchase) s_.order_facts.push_back({order.customer, order.placed_at, order.total_base_minor});
    undo_.push_back([this, purchase] {
      if (purchase) s_.order_facts.pop_back();
      --s_.next_order;
    });
    Digest& d = s_.digest;
    d.Add("order");
    d.Add(id.value());
    d.Add(order.customer.value());
    d.Add(order.external_id);
    d.Add(order.total.minor);
    d.Add(order.total.currency);
    d.Add(order.total_base_minor);
    d.Add(order.status);
    AddTime(d, order.placed_at);
    d.Add(static_cast<int64_t>(order.items.size()));
    for (const auto& item : order.items) {
      d.Add(item.product ? item.product->value() : -1);
      d.Add(item.sku);
      d.Add(item.name);
      d.Add(item.quantity);
      d.Add(item.unit_price_minor);
    }
    return id;
  }

  Result<std::optional<OrderId>> FindOrderByExternalId(std::string_view) override {
    return NotImplemented("FindOrderByExternalId");
  }

  Result<InteractionId> InsertInteraction(const storage::InteractionRecord& interaction) override {
    InteractionId id(s_.next_interaction++);
    if (options_.keep_records) {
      s_.interactions.push_back(interaction);
      s_.interactions.back().id = id;
      undo_.push_back([this] { s_.interactions.pop_back(); });
    }
    undo_.push_back([this] { --s_.next_interaction; });
    Digest& d = s_.digest;
    d.Add("interaction");
    d.Add(id.value());
    d.Add(interaction.customer.value());
    d.Add(interaction.kind);
    d.Add(interaction.subject);
    d.Add(interaction.body);
    d.Add(interaction.direction);
    AddTime(d, interaction.occurred_at);
    d.Add(interaction.author ? interaction.author->value() : -1);
    return id;
  }

  Result<void> Nested(const std::function<Result<void>()>& fn) override {
    const size_t mark = undo_.size();
    const Digest digest = s_.digest;
    Result<void> result = fn();
    if (!result) {
      RollbackTo(mark, digest);
    }
    return result;
  }

  Result<UserId> InsertUser(const storage::UserRecord&) override {
    return NotImplemented("InsertUser");
  }
  Result<void> UpdateUser(const storage::UserRecord&) override {
    return NotImplemented("UpdateUser");
  }
  Result<ApiKeyId> InsertApiKey(const storage::ApiKeyRecord&) override {
    return NotImplemented("InsertApiKey");
  }
  Result<void> RevokeApiKey(ApiKeyId) override { return NotImplemented("RevokeApiKey"); }
  Result<int64_t> InsertConsent(const storage::ConsentRecord&) override { return NotImplemented("InsertConsent"); }
  Result<int64_t> InsertPrivacyRequest(const storage::PrivacyRequestRecord&) override {
    return NotImplemented("InsertPrivacyRequest");
  }
  Result<void> UpdatePrivacyRequest(const storage::PrivacyRequestRecord&) override {
    return NotImplemented("UpdatePrivacyRequest");
  }
  Result<void> PutPrivacyFlags(const storage::PrivacyFlagsRecord&) override { return NotImplemented("PutPrivacyFlags"); }
  Result<std::vector<storage::TableCount>> EraseSubjectRows(CustomerId, const std::vector<std::string>&) override {
    return NotImplemented("EraseSubjectRows");
  }
  Result<void> PutVerificationCode(const storage::VerificationCodeRecord&) override {
    return NotImplemented("PutVerificationCode");
  }
  Result<int64_t> InsertOutbox(const storage::OutboxRecord&) override { return NotImplemented("InsertOutbox"); }
  Result<void> AddErasureSuppression(std::string_view, int64_t, Timestamp) override {
    return NotImplemented("AddErasureSuppression");
  }
  Result<int64_t> ApplyRetention(const storage::RetentionRule&) override { return NotImplemented("ApplyRetention"); }
  Result<void> SetApiKeyAllowedCidrs(ApiKeyId, const std::vector<std::string>&) override {
    return NotImplemented("SetApiKeyAllowedCidrs");
  }
  Result<storage::ErasureReport> EraseCustomer(CustomerId) override { return NotImplemented("EraseCustomer"); }
  Result<int64_t> InsertSession(const storage::SessionRecord&) override {
    return NotImplemented("InsertSession");
  }
  Result<void> UpdateSession(const storage::SessionRecord&) override { return NotImplemented("UpdateSession"); }
  Result<void> DeleteSession(int64_t) override { return NotImplemented("DeleteSession"); }
  Result<void> MarkSessionReauthenticated(int64_t, Timestamp) override {
    return NotImplemented("MarkSessionReauthenticated");
  }
  Result<void> DeleteUserSessions(UserId) override { return NotImplemented("DeleteUserSessions"); }
  Result<int64_t> InsertDevice(const storage::DeviceRecord&) override { return NotImplemented("InsertDevice"); }
  Result<void> DeleteDevice(UserId, int64_t) override { return NotImplemented("DeleteDevice"); }
  Result<void> DeleteUserDevices(UserId) override { return NotImplemented("DeleteUserDevices"); }
  Result<void> MarkRefreshSpent(std::string_view, int64_t, Timestamp) override {
    return NotImplemented("MarkRefreshSpent");
  }
  Result<void> PutMfa(const storage::MfaRecord&) override { return NotImplemented("PutMfa"); }
  Result<void> DeleteMfa(UserId) override { return NotImplemented("DeleteMfa"); }
  Result<void> ReplaceRecoveryCodes(UserId, const std::vector<std::string>&) override {
    return NotImplemented("ReplaceRecoveryCodes");
  }
  Result<void> UseRecoveryCode(int64_t, Timestamp) override { return NotImplemented("UseRecoveryCode"); }
  Result<void> PutRoleSetting(const storage::RoleSettingRecord&) override {
    return NotImplemented("PutRoleSetting");
  }
  Result<void> PutIdempotency(const storage::IdempotencyRecord&) override {
    return NotImplemented("PutIdempotency");
  }
  Result<void> AppendLedger(const storage::LedgerRow&) override { return NotImplemented("AppendLedger"); }
  Result<void> InsertCheckpoint(const storage::CheckpointRecord&) override {
    return NotImplemented("InsertCheckpoint");
  }
  Result<TeamId> InsertTeam(const storage::TeamRecord&) override { return NotImplemented("InsertTeam"); }
  Result<void> SetUserTeam(UserId, std::optional<TeamId>) override { return NotImplemented("SetUserTeam"); }
  Result<void> PutRole(const storage::RoleRecord&) override { return NotImplemented("PutRole"); }
  Result<void> DeleteRole(std::string_view) override { return NotImplemented("DeleteRole"); }
  Result<void> InsertReveal(const storage::RevealRecord&) override { return NotImplemented("InsertReveal"); }

 private:
  bool Exists(CustomerId id) const {
    return id.valid() && id.value() < s_.next_customer &&
           s_.customer_facts[static_cast<size_t>(id.value() - 1)].first.valid();
  }

  RecordedCustomer* Find(CustomerId id) {
    if (!options_.keep_records || !Exists(id)) {
      return nullptr;
    }
    return &s_.customers[static_cast<size_t>(id.value() - 1)];
  }

  RecordingStore::State& s_;
  const RecordingStoreOptions& options_;
  Digest digest_before_;
  std::vector<std::function<void()>> undo_;
};

}  // namespace

RecordingStore::RecordingStore(RecordingStoreOptions options) : options_(options) {}
RecordingStore::~RecordingStore() = default;

Result<void> RecordingStore::Write(const std::function<Result<void>(storage::WriteTxn&)>& fn) {
  RecordingTxn txn(state_, options_);
  Result<void> result = fn(txn);
  if (!result) {
    txn.Rollback();
    return result;
  }
  ++state_.transactions;
  return Ok();
}

Result<storage::CustomerRecord> RecordingStore::GetCustomer(CustomerId id) {
  if (!options_.keep_records || !id.valid() || id.value() >= state_.next_customer ||
      !state_.customer_facts[static_cast<size_t>(id.value() - 1)].first.valid()) {
    return Error::NotFound("customer " + id.ToString() + " not found");
  }
  return state_.customers[static_cast<size_t>(id.value() - 1)].record;
}

Result<int64_t> RecordingStore::CountCustomers() {
  int64_t live = 0;
  for (const auto& [id, merged] : state_.customer_facts) {
    live += (id.valid() && !merged) ? 1 : 0;
  }
  return live;
}

Result<std::optional<CustomerId>> RecordingStore::FindIdentity(std::string_view type,
                                                               std::string_view value) {
  auto it = state_.identity_owner.find({std::string(type), std::string(value)});
  if (it == state_.identity_owner.end()) {
    return std::optional<CustomerId>();
  }
  return std::optional<CustomerId>(it->second);
}

Result<void> RecordingStore::ScanOrderFacts(const std::function<void(const OrderFact&)>& fn) {
  for (const auto& fact : state_.order_facts) {
    fn(fact);
  }
  return Ok();
}

Result<void> RecordingStore::ScanEventFacts(const std::function<void(const EventFact&)>& fn) {
  for (const auto& fact : state_.event_facts) {
    fn(fact);
  }
  return Ok();
}

Result<void> RecordingStore::ScanCustomerIds(
    const std::function<void(CustomerId, bool merged)>& fn) {
  for (const auto& [id, merged] : state_.customer_facts) {
    if (id.valid()) {
      fn(id, merged);
    }
  }
  return Ok();
}

Result<std::vector<storage::CustomerRecord>> RecordingStore::ListCustomers(
    const storage::CustomerQuery&) {
  return NotImplemented("ListCustomers");
}
Result<void> RecordingStore::CheckIntegrity() { return Ok(); }

Result<std::optional<storage::LedgerRow>> RecordingStore::LastLedgerRow() {
  return std::optional<storage::LedgerRow>();
}
Result<void> RecordingStore::ScanLedger(int64_t, const std::function<void(const storage::LedgerRow&)>&) {
  return Ok();
}
Result<std::vector<storage::LedgerRow>> RecordingStore::ListLedger(const storage::LedgerQuery&) {
  return std::vector<storage::LedgerRow>();
}
Result<std::vector<storage::CheckpointRecord>> RecordingStore::ListCheckpoints() {
  return std::vector<storage::CheckpointRecord>();
}
Result<void> RecordingStore::RotateCustomerKey(CustomerId) { return NotImplemented("RotateCustomerKey"); }

Result<std::vector<CustomerId>> RecordingStore::ListErasures() { return NotImplemented("ListErasures"); }

Result<std::vector<storage::IdentityRecord>> RecordingStore::ListIdentities(CustomerId) {
  return NotImplemented("ListIdentities");
}
Result<std::vector<storage::MergeRecord>> RecordingStore::ListMerges(CustomerId) {
  return NotImplemented("ListMerges");
}
Result<std::vector<storage::TimelineEntry>> RecordingStore::ListTimeline(
    const storage::TimelineQuery&) {
  return NotImplemented("ListTimeline");
}
Result<std::vector<storage::EventRecord>> RecordingStore::GetEvents(const std::vector<int64_t>&) {
  return NotImplemented("GetEvents");
}
Result<std::vector<storage::OrderRecord>> RecordingStore::GetOrders(const std::vector<int64_t>&) {
  return NotImplemented("GetOrders");
}
Result<std::vector<storage::InteractionRecord>> RecordingStore::GetInteractions(
    const std::vector<int64_t>&) {
  return NotImplemented("GetInteractions");
}
Result<std::vector<storage::OrderRecord>> RecordingStore::ListOrders(const storage::PageQuery&) {
  return NotImplemented("ListOrders");
}
Result<std::vector<storage::ProductRecord>> RecordingStore::ListProducts(
    const storage::PageQuery&) {
  return NotImplemented("ListProducts");
}
Result<storage::ProductRecord> RecordingStore::GetProduct(ProductId) {
  return NotImplemented("GetProduct");
}
Result<std::vector<storage::InteractionRecord>> RecordingStore::ListInteractions(
    const storage::PageQuery&) {
  return NotImplemented("ListInteractions");
}
Result<storage::UserRecord> RecordingStore::FindUserByName(std::string_view) {
  return NotImplemented("FindUserByName");
}
Result<storage::UserRecord> RecordingStore::GetUser(UserId) { return NotImplemented("GetUser"); }
Result<std::vector<storage::UserRecord>> RecordingStore::ListUsers() {
  return NotImplemented("ListUsers");
}
Result<storage::ApiKeyRecord> RecordingStore::FindApiKeyBySecretHash(std::string_view) {
  return NotImplemented("FindApiKeyBySecretHash");
}
Result<std::vector<storage::ApiKeyRecord>> RecordingStore::ListApiKeys() {
  return NotImplemented("ListApiKeys");
}
Result<void> RecordingStore::TouchApiKey(ApiKeyId, Timestamp) {
  return NotImplemented("TouchApiKey");
}
Result<storage::SessionRecord> RecordingStore::FindSessionByAccess(std::string_view) {
  return NotImplemented("FindSessionByAccess");
}
Result<storage::SessionRecord> RecordingStore::FindSessionByRefresh(std::string_view) {
  return NotImplemented("FindSessionByRefresh");
}
Result<std::optional<int64_t>> RecordingStore::FindSpentRefresh(std::string_view) {
  return NotImplemented("FindSpentRefresh");
}
Result<std::vector<storage::SessionRecord>> RecordingStore::ListUserSessions(UserId) {
  return NotImplemented("ListUserSessions");
}
Result<storage::DeviceRecord> RecordingStore::FindDeviceByToken(std::string_view) {
  return NotImplemented("FindDeviceByToken");
}
Result<std::vector<storage::DeviceRecord>> RecordingStore::ListUserDevices(UserId) {
  return NotImplemented("ListUserDevices");
}
Result<void> RecordingStore::TouchDevice(int64_t, Timestamp) { return NotImplemented("TouchDevice"); }
Result<std::optional<storage::MfaRecord>> RecordingStore::GetMfa(UserId) { return NotImplemented("GetMfa"); }
Result<std::vector<storage::RecoveryCodeRecord>> RecordingStore::ListRecoveryCodes(UserId) {
  return NotImplemented("ListRecoveryCodes");
}
Result<std::vector<storage::RoleSettingRecord>> RecordingStore::ListRoleSettings() {
  return NotImplemented("ListRoleSettings");
}
Result<std::optional<storage::IdempotencyRecord>> RecordingStore::FindIdempotency(
    std::string_view) {
  return NotImplemented("FindIdempotency");
}

Result<storage::CustomerRecord> RecordingStore::GetCustomerInScope(CustomerId,
                                                                   const storage::RecordScope&) {
  return NotImplemented("GetCustomerInScope");
}
Result<std::vector<storage::TeamRecord>> RecordingStore::ListTeams() { return NotImplemented("ListTeams"); }
Result<std::vector<storage::RoleRecord>> RecordingStore::ListRoles() { return NotImplemented("ListRoles"); }
Result<std::vector<storage::RevealRecord>> RecordingStore::ListReveals(CustomerId) {
  return NotImplemented("ListReveals");
}
Result<std::vector<storage::ConsentRecord>> RecordingStore::ListConsents(CustomerId) {
  return NotImplemented("ListConsents");
}
Result<void> RecordingStore::ScanConsents(const std::function<void(const storage::ConsentRecord&)>&) {
  return NotImplemented("ScanConsents");
}
Result<storage::PrivacyRequestRecord> RecordingStore::GetPrivacyRequest(int64_t) {
  return NotImplemented("GetPrivacyRequest");
}
Result<std::vector<storage::PrivacyRequestRecord>> RecordingStore::ListPrivacyRequests(
    const storage::PrivacyRequestQuery&) {
  return NotImplemented("ListPrivacyRequests");
}
Result<storage::PrivacyFlagsRecord> RecordingStore::GetPrivacyFlags(CustomerId) {
  return NotImplemented("GetPrivacyFlags");
}
Result<void> RecordingStore::ScanPrivacyFlags(const std::function<void(const storage::PrivacyFlagsRecord&)>&) {
  return NotImplemented("ScanPrivacyFlags");
}
Result<std::vector<std::string>> RecordingStore::ListSubjectTables() { return NotImplemented("ListSubjectTables"); }
Result<std::vector<storage::SubjectTable>> RecordingStore::ExportSubjectRows(CustomerId) {
  return NotImplemented("ExportSubjectRows");
}
Result<bool> RecordingStore::IsErasureSuppressed(std::string_view) { return NotImplemented("IsErasureSuppressed"); }
Result<std::optional<storage::VerificationCodeRecord>> RecordingStore::GetVerificationCode(int64_t) {
  return NotImplemented("GetVerificationCode");
}
Result<std::vector<storage::OutboxRecord>> RecordingStore::ListOutbox(CustomerId) { return NotImplemented("ListOutbox"); }
Result<std::optional<storage::RoleRecord>> RecordingStore::FindRole(std::string_view) {
  return NotImplemented("FindRole");
}

}  // namespace panorama::testing
