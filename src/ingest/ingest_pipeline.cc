#include "ingest/ingest_pipeline.h"

#include <future>

#include <spdlog/spdlog.h>

#include "ingest/event_privacy.h"
#include "privacy/data_class_catalogue.h"
#include "privacy/suppression.h"
#include "storage/store.h"

namespace panorama::ingest {

std::vector<IdentityKey> IdentityKeysOf(const SegmentMessage& m) {
  std::vector<IdentityKey> keys;
  if (!m.user_id.empty()) keys.push_back({"user_id", m.user_id});
  if (!m.anonymous_id.empty()) keys.push_back({"anonymous_id", m.anonymous_id});
  if (m.profile.email) keys.push_back({"email", *m.profile.email});
  if (m.profile.phone) keys.push_back({"phone", *m.profile.phone});
  return keys;
}

Result<std::optional<SegmentMessage>> WithoutSuppressedIdentity(privacy::SuppressionCheck& check,
                                                                const SegmentMessage& m) {
  ASSIGN_OR_RETURN(bool user, m.user_id.empty() ? Result<bool>(false) : check.IsSuppressed("user_id", m.user_id));
  ASSIGN_OR_RETURN(bool anonymous,
                   m.anonymous_id.empty() ? Result<bool>(false) : check.IsSuppressed("anonymous_id", m.anonymous_id));
  ASSIGN_OR_RETURN(bool email, m.profile.email ? check.IsSuppressed("email", *m.profile.email) : Result<bool>(false));
  ASSIGN_OR_RETURN(bool phone, m.profile.phone ? check.IsSuppressed("phone", *m.profile.phone) : Result<bool>(false));
  bool previous = false;
  if (!m.previous_id.empty()) {
    ASSIGN_OR_RETURN(bool as_user, check.IsSuppressed("user_id", m.previous_id));
    ASSIGN_OR_RETURN(bool as_anonymous, check.IsSuppressed("anonymous_id", m.previous_id));
    previous = as_user || as_anonymous;
  }
  if (!user && !anonymous && !email && !phone && !previous) return std::optional<SegmentMessage>();
  SegmentMessage out = m;
  if (user) out.user_id.clear();
  if (anonymous) out.anonymous_id.clear();
  if (previous) out.previous_id.clear();
  // Whatever else the message says about the person would re-create them: keep only the event itself.
  out.profile = {};
  out.traits_json = "{}";
  out.context_json = "{}";
  out.consents.clear();
  return std::optional<SegmentMessage>(std::move(out));
}

IngestPipeline::IngestPipeline(storage::Store& store, const ExchangeRates& rates, IngestObserver* observer,
                               IngestOptions options)
    : store_(store), rates_(rates), observer_(observer), options_(options) {}

IngestPipeline::~IngestPipeline() { Stop(); }

std::shared_ptr<const std::vector<privacy::DataClassEntry>> IngestPipeline::PropertyClasses() const {
  if (catalogue_) return catalogue_->Snapshot();
  static const auto kDefaults =
      std::make_shared<const std::vector<privacy::DataClassEntry>>(privacy::DefaultEventPropertyClasses());
  return kDefaults;
}

void IngestPipeline::Start() {
  std::lock_guard lock(mu_);
  if (running_) return;
  running_ = true;
  stopping_ = false;
  writer_ = std::thread([this] { Run(); });
}

void IngestPipeline::Stop() {
  {
    std::lock_guard lock(mu_);
    if (!running_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  writer_.join();
  std::lock_guard lock(mu_);
  running_ = false;
}

void IngestPipeline::Submit(std::vector<SegmentMessage> messages, Done done) {
  {
    std::lock_guard lock(mu_);
    if (!running_ || stopping_) {
      done(Error::Unavailable("ingestion is shutting down"));
      return;
    }
    if (queued_messages_ + messages.size() > options_.max_queued_messages) {
      done(Error::ResourceExhausted("ingestion queue is full; retry later"));
      return;
    }
    queued_messages_ += messages.size();
    queue_.push_back({std::move(messages), std::move(done), CurrentActor()});
  }
  wake_.notify_one();
}

Result<IngestStats> IngestPipeline::SubmitAndWait(std::vector<SegmentMessage> messages) {
  std::promise<Result<IngestStats>> promise;
  auto future = promise.get_future();
  Submit(std::move(messages), [&promise](Result<IngestStats> r) { promise.set_value(std::move(r)); });
  return future.get();
}

void IngestPipeline::Run() {
  while (true) {
    std::vector<Pending> group;
    {
      std::unique_lock lock(mu_);
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty() && stopping_) return;
      size_t taken = 0;
      while (!queue_.empty() && (group.empty() || taken + queue_.front().messages.size() <= options_.max_group_messages)) {
        taken += queue_.front().messages.size();
        group.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      queued_messages_ -= taken;
    }
    WriteGroup(group);
  }
}

void IngestPipeline::WriteGroup(std::vector<Pending>& group) {
  std::vector<Result<IngestStats>> outcomes(group.size(), IngestStats{});
  std::vector<IngestEffects> effects(group.size());
  Result<void> committed = store_.Write([&](storage::WriteTxn& txn) -> Result<void> {
    for (size_t i = 0; i < group.size(); ++i) {
      effects[i] = {};
      IngestStats stats;
      // One savepoint per request: a request that fails (e.g. a broken invariant) is rolled back alone.
      auto applied = txn.Nested([&]() -> Result<void> {
        ActorScope actor(group[i].actor);
        for (const auto& message : group[i].messages) {
          ASSIGN_OR_RETURN(IngestStats one, Apply(txn, message, effects[i]));
          stats.accepted += one.accepted;
          stats.duplicates += one.duplicates;
          stats.orders += one.orders;
          stats.suppressed += one.suppressed;
        }
        return Ok();
      });
      if (applied) {
        outcomes[i] = stats;
      } else {
        // Storage failures end the whole group so nothing is acknowledged that is not on disk.
        if (applied.error().code() == ErrorCode::kUnavailable ||
            applied.error().code() == ErrorCode::kResourceExhausted) {
          return std::move(applied.error());
        }
        outcomes[i] = std::move(applied.error());
        effects[i] = {};
      }
    }
    return Ok();
  });
  if (!committed) {
    for (auto& pending : group) pending.done(committed.error());
    return;
  }
  int64_t suppressed = 0;
  for (const auto& outcome : outcomes) suppressed += outcome ? outcome->suppressed : 0;
  if (suppressed > 0) {
    // A count only: the identifiers are exactly what must not be written anywhere again.
    spdlog::info("ingest: {} messages named erased subjects; their identifying traits were dropped", suppressed);
  }
  for (size_t i = 0; i < group.size(); ++i) {
    if (outcomes[i]) PublishEffects(observer_, effects[i]);
    group[i].done(std::move(outcomes[i]));
  }
}

void PublishEffects(IngestObserver* observer, const IngestEffects& effects) {
  if (!observer) return;
  for (CustomerId c : effects.created) observer->OnCustomerCreated(c);
  for (auto [from, into] : effects.merges) observer->OnMerged(from, into);
  for (auto [customer, at] : effects.events) observer->OnEvent(customer, at);
  for (const auto& o : effects.orders) observer->OnOrder(o.customer, o.at, o.total_base_minor);
  for (const auto& c : effects.consents) observer->OnConsent(c);
  if (!effects.updated.empty()) observer->OnCustomersUpdated(effects.updated);
}

Result<IngestStats> IngestPipeline::Apply(storage::WriteTxn& txn, const SegmentMessage& original,
                                          IngestEffects& effects) {
  IngestStats stats;
  IngestEffects local;
  std::optional<SegmentMessage> scrubbed;
  if (suppression_) {
    ASSIGN_OR_RETURN(scrubbed, WithoutSuppressedIdentity(*suppression_, original));
    if (scrubbed) {
      stats.suppressed = 1;
      suppressed_total_.fetch_add(1);
      // Nothing left to attach the event to without re-creating the erased person: accepted (the sender sees
      // the same answer as for any event) and dropped.
      if (IdentityKeysOf(*scrubbed).empty()) {
        stats.accepted = 1;
        return stats;
      }
    }
  }
  const SegmentMessage& m = scrubbed ? *scrubbed : original;
  // A duplicate messageId is a retried delivery: it must change nothing, including identity merges, so the
  // message runs in a savepoint that is rolled back when its event turns out to exist.
  auto applied = txn.Nested([&]() -> Result<void> {
    std::vector<IdentityKey> keys = IdentityKeysOf(m);
    bool alias = m.type == "alias" && !m.previous_id.empty();
    if (alias) {
      // previousId is whatever the caller knew the person as before: an older user id if one is on record,
      // otherwise an anonymous id.
      ASSIGN_OR_RETURN(auto old_user, txn.FindIdentity("user_id", m.previous_id));
      keys.push_back({old_user ? "user_id" : "anonymous_id", m.previous_id});
    }
    ASSIGN_OR_RETURN(Resolution resolved,
                     resolver_.Resolve(txn, keys, m.profile, m.timestamp, alias ? "alias" : "shared identifier",
                                       /*explicit_link=*/alias));
    if (resolved.created) local.created.push_back(resolved.customer);
    for (const auto& merge : resolved.merges) local.merges.emplace_back(merge.from, merge.into);
    storage::EventRecord event;
    event.customer = resolved.customer;
    event.message_id = m.message_id;
    event.type = m.type;
    event.name = m.type == "track" ? m.event : m.name;
    event.anonymous_id = m.anonymous_id;
    event.user_id = m.user_id;
    // One catalogue snapshot per event: every path of it is classed against the same entries.
    auto classes = PropertyClasses();
    ProtectedEventData data = ProtectEventData(
        m.type == "identify" || m.type == "group" ? m.traits_json : m.properties_json, m.context_json,
        [&classes](std::string_view path) { return privacy::ClassifyPath(*classes, path); });
    event.properties_json = std::move(data.properties_json);
    event.context_json = std::move(data.context_json);
    event.personal_json = std::move(data.personal_json);
    event.timestamp = m.timestamp;
    event.sent_at = m.sent_at;
    event.received_at = m.received_at;
    if (auto inserted = txn.InsertEvent(event); !inserted) {
      if (inserted.error().code() == ErrorCode::kAlreadyExists) return Error::Aborted("duplicate message");
      return std::move(inserted.error());
    }
    local.events.emplace_back(resolved.customer, m.timestamp);
    for (const auto& trait : m.consents) {
      storage::ConsentRecord c;
      c.customer = resolved.customer;
      c.purpose = trait.purpose;
      c.channel = trait.channel;
      c.granted = trait.granted;
      c.lawful_basis = "consent";
      c.source = "ingest";
      c.policy_version = trait.policy_version;
      c.actor = "segment:" + m.message_id;
      c.at = m.timestamp;
      ASSIGN_OR_RETURN(c.id, txn.InsertConsent(c));
      local.consents.push_back(std::move(c));
    }
    if (m.order) {
      ASSIGN_OR_RETURN(auto existing, txn.FindOrderByExternalId(m.order->order_id));
      if (!existing) {
        storage::OrderRecord order;
        order.customer = resolved.customer;
        order.external_id = m.order->order_id;
        order.total = m.order->total;
        order.status = m.order->status;
        order.placed_at = m.timestamp;
        auto base = rates_.ToBase(order.total);
        if (!base) return Error::InvalidField("properties.currency", base.error().message());
        order.total_base_minor = *base;
        for (const auto& line : m.order->lines) {
          storage::OrderItemRecord item;
          item.sku = line.sku;
          item.name = line.name;
          item.quantity = line.quantity;
          item.unit_price_minor = line.unit_price_minor;
          ASSIGN_OR_RETURN(auto product, txn.FindProductBySku(line.sku));
          if (!product) {
            storage::ProductRecord p{ProductId(), line.sku, line.name, line.category,
                                     Money{line.unit_price_minor, order.total.currency}};
            ASSIGN_OR_RETURN(ProductId id, txn.UpsertProduct(p));
            product = id;
          }
          item.product = product;
          order.items.push_back(std::move(item));
        }
        RETURN_IF_ERROR(txn.InsertOrder(order));
        local.orders.push_back({resolved.customer, order.placed_at, order.total_base_minor});
        stats.orders = 1;
      }
    }
    return Ok();
  });
  if (!applied) {
    if (applied.error().code() == ErrorCode::kAborted) {
      stats = {};
      stats.duplicates = 1;
      return stats;
    }
    return std::move(applied.error());
  }
  stats.accepted = 1;
  auto append = [](auto& to, const auto& from) { to.insert(to.end(), from.begin(), from.end()); };
  append(effects.created, local.created);
  append(effects.merges, local.merges);
  append(effects.events, local.events);
  append(effects.orders, local.orders);
  append(effects.consents, local.consents);
  return stats;
}

}  // namespace panorama::ingest
