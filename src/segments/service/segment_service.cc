#include "segments/service/segment_service.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <thread>
#include <unordered_map>

#include "segments/rule.h"  // QuoteRuleString
#include "segments/service/rule_engine.h"
#include "storage/store.h"

namespace panorama::segments {

namespace {

constexpr size_t kMaxNameChars = 100;
constexpr size_t kMaxDescriptionBytes = 2000;
constexpr size_t kSampleSize = 10;

// UTF-8 characters, not bytes: a Chinese name of 100 characters is allowed.
size_t Utf8Length(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

uint32_t Slot(CustomerId id) { return static_cast<uint32_t>(id.value()); }

int64_t MillisSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
}

std::vector<CustomerId> Sample(const MemberSet& bitmap) {
  std::vector<CustomerId> out;
  for (auto it = bitmap.begin(); it != bitmap.end() && out.size() < kSampleSize; ++it) out.emplace_back(*it);
  return out;
}

std::vector<CustomerId> Ids(const MemberSet& bitmap) {
  std::vector<CustomerId> out;
  out.reserve(bitmap.cardinality());
  for (uint32_t v : bitmap) out.emplace_back(v);
  return out;
}

}  // namespace

struct SegmentService::Impl {
  struct Entry {
    storage::SegmentRecord record;
    std::shared_ptr<const SegmentRule> rule;  // null: the stored rule no longer compiles
    MemberSet members;
  };
  using Entries = std::map<int64_t, Entry>;  // by segment id

  Impl(storage::Store& s, RuleEngine& e, const Clock& c, SegmentServiceOptions o)
      : store(s), engine(e), clock(c), options(o) {}

  storage::Store& store;
  RuleEngine& engine;
  const Clock& clock;
  SegmentServiceOptions options;

  std::mutex write_mu;  // serialises writers; held while they compute, so `entries` is stable for them
  mutable std::shared_mutex mu;
  // guarded by mu (written only with write_mu held too)
  Entries entries;

  std::mutex queue_mu;
  std::condition_variable wake;
  // guarded by queue_mu
  std::set<int64_t> dirty;
  bool stopping = false;
  bool running = false;
  std::thread worker;

  // --- helpers (callers hold write_mu or a shared lock on mu) ---

  const Entry* ByName(std::string_view name) const {
    for (const auto& [id, e] : entries) {
      if (e.record.name == name) return &e;
    }
    return nullptr;
  }

  SegmentLookup LookupOver(const Entries& es) const {
    return [&es](std::string_view name) -> const MemberSet* {
      for (const auto& [id, e] : es) {
        if (e.record.name == name) return &e.members;
      }
      return nullptr;
    };
  }

  // Segment ids in dependency order (referenced first); kInvalidArgument naming "rule" for a cycle or an
  // unknown reference. `es` may hold a candidate definition.
  static Result<std::vector<int64_t>> Order(const Entries& es) {
    std::unordered_map<std::string, int64_t> by_name;
    for (const auto& [id, e] : es) by_name[e.record.name] = id;
    std::vector<int64_t> out;
    std::map<int64_t, int> state;  // 0 new, 1 visiting, 2 done
    std::function<Result<void>(int64_t, std::vector<std::string>&)> visit =
        [&](int64_t id, std::vector<std::string>& path) -> Result<void> {
      int& st = state[id];
      const Entry& e = es.at(id);
      if (st == 2) return Ok();
      if (st == 1) {
        std::string cycle;
        for (const auto& p : path) cycle += p + " → ";
        return Error::InvalidField("rule", "segment references form a cycle: " + cycle + e.record.name);
      }
      st = 1;
      path.push_back(e.record.name);
      if (e.rule) {
        for (const auto& ref : e.rule->references()) {
          auto found = by_name.find(ref);
          if (found == by_name.end()) {
            return Error::InvalidField("rule", "unknown segment " + QuoteRuleString(ref) + " in segment " +
                                                   QuoteRuleString(e.record.name));
          }
          RETURN_IF_ERROR(visit(found->second, path));
        }
      }
      path.pop_back();
      state[id] = 2;
      out.push_back(id);
      return Ok();
    };
    for (const auto& [id, e] : es) {
      std::vector<std::string> path;
      RETURN_IF_ERROR(visit(id, path));
    }
    return out;
  }

  Result<std::shared_ptr<const SegmentRule>> CompileRule(std::string_view text, RuleDiagnostic* diagnostic) const {
    if (text.empty()) return Error::InvalidField("rule", "must not be empty");
    if (personal_property) {
      // Parse errors are left to the engine below, which reports them with their position.
      if (auto parsed = Compile(text)) RETURN_IF_ERROR(RefusePersonalProperties((*parsed)->root()));
    }
    return engine.Compile(text, diagnostic);
  }

  Result<void> RefusePersonalProperties(const Node& node) const {
    for (const auto& filter : node.where) {
      if (filter.path.empty()) continue;
      // The whole path: a nested "user.email" is classed like a top-level key (and under a personal "user").
      std::string path;
      for (const auto& key : filter.path) path += (path.empty() ? "" : ".") + key;
      if (personal_property(path)) {
        return Error::InvalidField("rule", "properties." + path +
                                               " is classed personal: its values are sealed at ingest and cannot"
                                               " be used in segment rules");
      }
    }
    for (const auto& child : node.children) RETURN_IF_ERROR(RefusePersonalProperties(child));
    return Ok();
  }

  std::function<bool(std::string_view)> personal_property;

  Result<void> CheckName(std::string_view name, std::optional<int64_t> self) const {
    size_t chars = Utf8Length(name);
    if (chars == 0 || chars > kMaxNameChars) return Error::InvalidField("name", "must be 1..100 characters");
    const Entry* other = ByName(name);
    if (other != nullptr && (!self || other->record.id.value() != *self)) {
      return Error::AlreadyExists("segment name already taken");
    }
    return Ok();
  }

  // Evaluates the segments in `order` (all of them when `only` is empty, else those and their dependents)
  // into `next` (a copy of the current entries), and returns the diffs.
  Result<std::vector<storage::SegmentChanges>> Evaluate(Entries& next, const std::vector<int64_t>& order,
                                                         const std::set<int64_t>& only, Timestamp now) const {
    std::vector<storage::SegmentChanges> changes;
    std::set<std::string> changed_names;
    SegmentLookup lookup = LookupOver(next);
    for (int64_t id : order) {
      Entry& e = next.at(id);
      if (!e.rule) continue;
      bool wanted = only.empty() || only.count(id) > 0;
      for (const auto& ref : e.rule->references()) wanted = wanted || changed_names.count(ref) > 0;
      if (!wanted) continue;
      changed_names.insert(e.record.name);
      ASSIGN_OR_RETURN(MemberSet now_members, engine.Evaluate(*e.rule, now, lookup));
      storage::SegmentChanges c;
      c.segment = e.record.id;
      c.at = now;
      c.entered = Ids(now_members - e.members);
      c.exited = Ids(e.members - now_members);
      c.size = static_cast<int64_t>(now_members.cardinality());
      e.members = std::move(now_members);
      e.record.size = c.size;
      e.record.evaluated_at = now;
      changes.push_back(std::move(c));
    }
    return changes;
  }

  Result<void> Persist(const std::vector<storage::SegmentChanges>& changes) {
    if (changes.empty()) return Ok();
    return store.Write([&](storage::WriteTxn& txn) -> Result<void> {
      for (const auto& c : changes) RETURN_IF_ERROR(txn.ApplySegmentChanges(c));
      return Ok();
    });
  }

  static EvaluationReport Report(const std::vector<storage::SegmentChanges>& changes,
                                 std::chrono::steady_clock::time_point start) {
    EvaluationReport r;
    r.segments = static_cast<int>(changes.size());
    for (const auto& c : changes) {
      r.entered += static_cast<int64_t>(c.entered.size());
      r.exited += static_cast<int64_t>(c.exited.size());
    }
    r.elapsed_ms = MillisSince(start);
    return r;
  }

  void Publish(Entries next) {
    std::unique_lock lock(mu);
    entries = std::move(next);
  }

  Result<EvaluationReport> UpdateLocked(const std::vector<CustomerId>& customers) {
    auto start = std::chrono::steady_clock::now();
    // The engine reloads each customer's profile first: an identify, a consent or an API edit may have changed
    // it, and doing it here keeps the reload off the ingest thread.
    for (CustomerId customer : customers) engine.OnCustomerChanged(customer);
    Timestamp now = clock.Now();
    ASSIGN_OR_RETURN(std::vector<int64_t> order, Order(entries));
    std::vector<storage::SegmentChanges> changes;
    // Matching reads the bitmaps of referenced segments as this batch changes them: writers hold write_mu, and
    // readers are kept out for the batch (one customer's matches are microseconds).
    std::unique_lock lock(mu);
    SegmentLookup lookup = LookupOver(entries);
    for (int64_t id : order) {
      Entry& e = entries.at(id);
      if (!e.rule) continue;
      storage::SegmentChanges c;
      c.segment = e.record.id;
      c.at = now;
      for (CustomerId customer : customers) {
        auto matches = engine.Matches(*e.rule, customer, now, lookup);
        if (!matches) {
          Revert(changes);
          return std::move(matches.error());
        }
        bool member = e.members.contains(Slot(customer));
        if (*matches && !member) {
          e.members.add(Slot(customer));
          c.entered.push_back(customer);
        } else if (!*matches && member) {
          e.members.remove(Slot(customer));
          c.exited.push_back(customer);
        }
      }
      if (c.entered.empty() && c.exited.empty()) continue;
      c.size = static_cast<int64_t>(e.members.cardinality());
      changes.push_back(std::move(c));
    }
    if (auto written = Persist(changes); !written) {
      Revert(changes);
      return std::move(written.error());
    }
    for (const auto& c : changes) {
      Entry& e = entries.at(c.segment.value());
      e.record.size = c.size;
      e.record.evaluated_at = now;
    }
    return Report(changes, start);
  }

  // Undoes in-memory changes whose write failed (caller holds mu exclusively).
  void Revert(const std::vector<storage::SegmentChanges>& changes) {
    for (const auto& c : changes) {
      Entry& e = entries.at(c.segment.value());
      for (CustomerId x : c.entered) e.members.remove(Slot(x));
      for (CustomerId x : c.exited) e.members.add(Slot(x));
    }
  }

  void Loop() {
    auto next_full = std::chrono::steady_clock::now() + options.refresh_interval;
    std::unique_lock lock(queue_mu);
    while (!stopping) {
      wake.wait_until(lock, next_full, [this] { return stopping || !dirty.empty(); });
      if (stopping) break;
      std::set<int64_t> batch;
      batch.swap(dirty);
      lock.unlock();
      if (!batch.empty()) {
        std::vector<CustomerId> customers;
        for (int64_t v : batch) customers.emplace_back(v);
        std::lock_guard write(write_mu);
        if (auto done = UpdateLocked(customers); !done) {
          spdlog::error("segment update of {} customers failed: {}", customers.size(), done.error().message());
        }
      }
      if (std::chrono::steady_clock::now() >= next_full) {
        if (auto done = owner->EvaluateAll(); !done) {
          spdlog::error("segment re-evaluation failed: {}", done.error().message());
        } else if (done->entered + done->exited > 0) {
          spdlog::info("segments re-evaluated: {} entered, {} exited in {} ms", done->entered, done->exited,
                       done->elapsed_ms);
        }
        next_full = std::chrono::steady_clock::now() + options.refresh_interval;
      }
      lock.lock();
    }
  }

  SegmentService* owner = nullptr;
};

SegmentService::SegmentService(storage::Store& store, RuleEngine& engine, const Clock& clock,
                               SegmentServiceOptions options)
    : impl_(std::make_unique<Impl>(store, engine, clock, options)) {
  impl_->owner = this;
}

SegmentService::~SegmentService() { Stop(); }

Result<void> SegmentService::Load() {
  std::lock_guard write(impl_->write_mu);
  ASSIGN_OR_RETURN(std::vector<storage::SegmentRecord> records, impl_->store.ListSegments());
  Impl::Entries next;
  for (auto& record : records) {
    Impl::Entry e;
    auto rule = impl_->engine.Compile(record.rule, nullptr);
    if (rule) {
      e.rule = std::move(*rule);
    } else {
      spdlog::warn("segment {} is not evaluated: its rule no longer compiles: {}", record.id.value(),
                   rule.error().message());
    }
    Result<void> scanned = impl_->store.ScanSegmentMembers(
        record.id, [&](const storage::SegmentMemberRecord& m) { e.members.add(Slot(m.customer)); });
    RETURN_IF_ERROR(scanned);
    e.record = std::move(record);
    next.emplace(e.record.id.value(), std::move(e));
  }
  // A stored set that no longer orders (should not happen: writes check it) evaluates nothing rather than
  // guessing; the error is logged by EvaluateAll.
  impl_->Publish(std::move(next));
  return Ok();
}

Result<storage::SegmentRecord> SegmentService::Create(const SegmentInput& input, RuleDiagnostic* diagnostic) {
  // Changes still queued for the worker first, so the new segment's members reflect every committed write.
  if (auto flushed = Flush(); !flushed) return std::move(flushed.error());
  std::lock_guard write(impl_->write_mu);
  if (impl_->entries.size() >= impl_->options.max_segments) {
    return Error::ResourceExhausted("at most " + std::to_string(impl_->options.max_segments) + " segments");
  }
  RETURN_IF_ERROR(impl_->CheckName(input.name, std::nullopt));
  if (input.description.size() > kMaxDescriptionBytes) {
    return Error::InvalidField("description", "must be at most 2000 bytes");
  }
  ASSIGN_OR_RETURN(auto rule, impl_->CompileRule(input.rule, diagnostic));
  Timestamp now = impl_->clock.Now();
  storage::SegmentRecord record;
  record.name = input.name;
  record.description = input.description;
  record.rule = input.rule;
  record.created_by = input.actor;
  record.created_at = now;
  record.updated_at = now;

  // Check references and order with a provisional id, before anything is stored.
  Impl::Entries next = impl_->entries;
  constexpr int64_t kProvisional = INT64_MAX;
  next.emplace(kProvisional, Impl::Entry{record, rule, {}});
  ASSIGN_OR_RETURN(std::vector<int64_t> order, Impl::Order(next));
  ASSIGN_OR_RETURN(auto changes, impl_->Evaluate(next, order, {kProvisional}, now));

  Impl::Entry entry = std::move(next.at(kProvisional));
  next.erase(kProvisional);
  Result<void> written = impl_->store.Write([&](storage::WriteTxn& txn) -> Result<void> {
    ASSIGN_OR_RETURN(record.id, txn.InsertSegment(record));
    for (auto& c : changes) {
      c.segment = record.id;
      RETURN_IF_ERROR(txn.ApplySegmentChanges(c));
    }
    return Ok();
  });
  RETURN_IF_ERROR(written);
  entry.record.id = record.id;
  record = entry.record;
  next.emplace(record.id.value(), std::move(entry));
  impl_->Publish(std::move(next));
  return record;
}

Result<storage::SegmentRecord> SegmentService::Update(SegmentId id, const SegmentPatch& patch,
                                                      RuleDiagnostic* diagnostic) {
  if (auto flushed = Flush(); !flushed) return std::move(flushed.error());  // as in Create
  std::lock_guard write(impl_->write_mu);
  auto found = impl_->entries.find(id.value());
  if (found == impl_->entries.end()) return Error::NotFound("segment " + id.ToString() + " not found");
  Impl::Entries next = impl_->entries;
  Impl::Entry& e = next.at(id.value());
  std::string old_name = e.record.name;
  if (patch.name && *patch.name != old_name) {
    RETURN_IF_ERROR(impl_->CheckName(*patch.name, id.value()));
    for (const auto& [other_id, other] : impl_->entries) {
      if (other.rule == nullptr || other_id == id.value()) continue;
      const auto& refs = other.rule->references();
      if (std::find(refs.begin(), refs.end(), old_name) != refs.end()) {
        return Error::FailedPrecondition("segment " + id.ToString() + " is referred to by segment " +
                                         QuoteRuleString(other.record.name) + "; change that rule first");
      }
    }
    e.record.name = *patch.name;
  }
  if (patch.description) {
    if (patch.description->size() > kMaxDescriptionBytes) {
      return Error::InvalidField("description", "must be at most 2000 bytes");
    }
    e.record.description = *patch.description;
  }
  bool rule_changed = patch.rule && *patch.rule != e.record.rule;
  if (rule_changed) {
    ASSIGN_OR_RETURN(e.rule, impl_->CompileRule(*patch.rule, diagnostic));
    e.record.rule = *patch.rule;
  }
  Timestamp now = impl_->clock.Now();
  e.record.updated_at = now;
  ASSIGN_OR_RETURN(std::vector<int64_t> order, Impl::Order(next));
  std::vector<storage::SegmentChanges> changes;
  if (rule_changed) {
    ASSIGN_OR_RETURN(changes, impl_->Evaluate(next, order, {id.value()}, now));
  }
  storage::SegmentRecord record = next.at(id.value()).record;
  Result<void> written = impl_->store.Write([&](storage::WriteTxn& txn) -> Result<void> {
    RETURN_IF_ERROR(txn.UpdateSegment(record));
    for (const auto& c : changes) RETURN_IF_ERROR(txn.ApplySegmentChanges(c));
    return Ok();
  });
  RETURN_IF_ERROR(written);
  impl_->Publish(std::move(next));
  return record;
}

Result<void> SegmentService::Delete(SegmentId id) {
  std::lock_guard write(impl_->write_mu);
  auto found = impl_->entries.find(id.value());
  if (found == impl_->entries.end()) return Error::NotFound("segment " + id.ToString() + " not found");
  for (const auto& [other_id, other] : impl_->entries) {
    if (other.rule == nullptr || other_id == id.value()) continue;
    const auto& refs = other.rule->references();
    if (std::find(refs.begin(), refs.end(), found->second.record.name) != refs.end()) {
      return Error::FailedPrecondition("segment " + id.ToString() + " is referred to by segment " +
                                       QuoteRuleString(other.record.name));
    }
  }
  RETURN_IF_ERROR(impl_->store.Write([&](storage::WriteTxn& txn) { return txn.DeleteSegment(id); }));
  Impl::Entries next = impl_->entries;
  next.erase(id.value());
  impl_->Publish(std::move(next));
  return Ok();
}

Result<storage::SegmentRecord> SegmentService::Get(SegmentId id) const {
  std::shared_lock lock(impl_->mu);
  auto found = impl_->entries.find(id.value());
  if (found == impl_->entries.end()) return Error::NotFound("segment " + id.ToString() + " not found");
  return found->second.record;
}

Result<storage::SegmentRecord> SegmentService::FindByName(std::string_view name) const {
  std::shared_lock lock(impl_->mu);
  const Impl::Entry* e = impl_->ByName(name);
  if (e == nullptr) return Error::NotFound("segment " + QuoteRuleString(name) + " not found");
  return e->record;
}

std::vector<storage::SegmentRecord> SegmentService::List() const {
  std::shared_lock lock(impl_->mu);
  std::vector<storage::SegmentRecord> out;
  for (const auto& [id, e] : impl_->entries) out.push_back(e.record);
  return out;
}

Result<EvaluationReport> SegmentService::EvaluateAll() {
  auto start = std::chrono::steady_clock::now();
  std::lock_guard write(impl_->write_mu);
  Timestamp now = impl_->clock.Now();
  ASSIGN_OR_RETURN(std::vector<int64_t> order, Impl::Order(impl_->entries));
  Impl::Entries next = impl_->entries;
  ASSIGN_OR_RETURN(auto changes, impl_->Evaluate(next, order, {}, now));
  RETURN_IF_ERROR(impl_->Persist(changes));
  impl_->Publish(std::move(next));
  return Impl::Report(changes, start);
}

Result<EvaluationReport> SegmentService::UpdateCustomers(const std::vector<CustomerId>& customers) {
  std::lock_guard write(impl_->write_mu);
  return impl_->UpdateLocked(customers);
}

void SegmentService::OnCustomerChanged(CustomerId customer) {
  {
    std::lock_guard lock(impl_->queue_mu);
    impl_->dirty.insert(customer.value());
  }
  impl_->wake.notify_one();
}

void SegmentService::OnCustomersChanged(const std::vector<CustomerId>& customers) {
  if (customers.empty()) return;
  {
    std::lock_guard lock(impl_->queue_mu);
    for (CustomerId customer : customers) impl_->dirty.insert(customer.value());
  }
  impl_->wake.notify_one();
}

void SegmentService::OnEvent(CustomerId customer, Timestamp at) {
  impl_->engine.OnEvent(customer, at);
  OnCustomerChanged(customer);
}

void SegmentService::OnOrder(CustomerId customer, Timestamp at, int64_t total_base_minor) {
  impl_->engine.OnOrder(customer, at, total_base_minor);
  OnCustomerChanged(customer);
}

void SegmentService::OnMerged(CustomerId from, CustomerId into) {
  impl_->engine.OnMerged(from, into);
  OnCustomerChanged(from);  // merged away: matches nothing any more, so it exits its segments
  OnCustomerChanged(into);
}

void SegmentService::set_personal_property_check(std::function<bool(std::string_view key)> check) {
  impl_->personal_property = std::move(check);
}

void SegmentService::OnErased(CustomerId customer) {
  impl_->engine.OnErased(customer);
  std::lock_guard write(impl_->write_mu);
  std::unique_lock lock(impl_->mu);
  for (auto& [id, e] : impl_->entries) {
    if (e.members.contains(Slot(customer))) {
      e.members.remove(Slot(customer));
      e.record.size = static_cast<int64_t>(e.members.cardinality());
    }
  }
  std::lock_guard queue(impl_->queue_mu);
  impl_->dirty.erase(customer.value());
}

Result<EvaluationReport> SegmentService::Flush() {
  std::set<int64_t> batch;
  {
    std::lock_guard lock(impl_->queue_mu);
    batch.swap(impl_->dirty);
  }
  if (batch.empty()) return EvaluationReport{};
  std::vector<CustomerId> customers;
  for (int64_t v : batch) customers.emplace_back(v);
  return UpdateCustomers(customers);
}

void SegmentService::Start() {
  std::lock_guard lock(impl_->queue_mu);
  if (impl_->running) return;
  impl_->running = true;
  impl_->stopping = false;
  impl_->worker = std::thread([this] { impl_->Loop(); });
}

void SegmentService::Stop() {
  {
    std::lock_guard lock(impl_->queue_mu);
    if (!impl_->running) return;
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  if (impl_->worker.joinable()) impl_->worker.join();
  std::lock_guard lock(impl_->queue_mu);
  impl_->running = false;
}

Result<AudienceSample> SegmentService::Preview(std::string_view rule_text, RuleDiagnostic* diagnostic) const {
  auto start = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(auto rule, impl_->CompileRule(rule_text, diagnostic));
  std::shared_lock lock(impl_->mu);
  for (const auto& ref : rule->references()) {
    if (impl_->ByName(ref) == nullptr) {
      return Error::InvalidField("rule", "unknown segment " + QuoteRuleString(ref));
    }
  }
  ASSIGN_OR_RETURN(MemberSet members,
                   impl_->engine.Evaluate(*rule, impl_->clock.Now(), impl_->LookupOver(impl_->entries)));
  return AudienceSample{static_cast<int64_t>(members.cardinality()), MillisSince(start), Sample(members)};
}

Result<std::vector<std::string>> SegmentService::RuleFields(std::string_view rule_text,
                                                            RuleDiagnostic* diagnostic) const {
  ASSIGN_OR_RETURN(auto rule, impl_->CompileRule(rule_text, diagnostic));
  return rule->fields();
}

Result<std::vector<CustomerId>> SegmentService::Members(SegmentId id, CustomerId after, size_t limit,
                                                        bool* more) const {
  std::shared_lock lock(impl_->mu);
  auto found = impl_->entries.find(id.value());
  if (found == impl_->entries.end()) return Error::NotFound("segment " + id.ToString() + " not found");
  std::vector<CustomerId> out;
  if (more != nullptr) *more = false;
  const MemberSet& members = found->second.members;
  auto it = members.begin();
  if (after.value() > 0) it.equalorlarger(static_cast<uint32_t>(after.value()) + 1);
  for (; it != members.end(); ++it) {
    if (out.size() == limit) {
      if (more != nullptr) *more = true;
      break;
    }
    out.emplace_back(*it);
  }
  return out;
}

bool SegmentService::Contains(SegmentId id, CustomerId customer) const {
  std::shared_lock lock(impl_->mu);
  auto found = impl_->entries.find(id.value());
  return found != impl_->entries.end() && found->second.members.contains(Slot(customer));
}

Result<AudienceSample> SegmentService::Combine(CombineOp op, const std::vector<SegmentId>& ids) const {
  auto start = std::chrono::steady_clock::now();
  if (ids.size() < 2 || ids.size() > 20) return Error::InvalidField("segments", "must list 2..20 segment ids");
  std::shared_lock lock(impl_->mu);
  std::vector<const MemberSet*> sets;
  for (SegmentId id : ids) {
    auto found = impl_->entries.find(id.value());
    if (found == impl_->entries.end()) return Error::NotFound("segment " + id.ToString() + " not found");
    sets.push_back(&found->second.members);
  }
  MemberSet result = *sets[0];
  for (size_t i = 1; i < sets.size(); ++i) {
    switch (op) {
      case CombineOp::kAnd: result &= *sets[i]; break;
      case CombineOp::kOr: result |= *sets[i]; break;
      case CombineOp::kMinus: result -= *sets[i]; break;
    }
  }
  return AudienceSample{static_cast<int64_t>(result.cardinality()), MillisSince(start), Sample(result)};
}

Result<std::string> SegmentService::CombinedRule(CombineOp op, const std::vector<SegmentId>& ids) const {
  if (ids.size() < 2 || ids.size() > 20) return Error::InvalidField("segments", "must list 2..20 segment ids");
  std::shared_lock lock(impl_->mu);
  std::string rule;
  for (size_t i = 0; i < ids.size(); ++i) {
    auto found = impl_->entries.find(ids[i].value());
    if (found == impl_->entries.end()) return Error::NotFound("segment " + ids[i].ToString() + " not found");
    std::string term = "segment " + QuoteRuleString(found->second.record.name);
    if (i == 0) {
      rule = term;
    } else if (op == CombineOp::kAnd) {
      rule += " and " + term;
    } else if (op == CombineOp::kOr) {
      rule += " or " + term;
    } else {
      rule += " and not " + term;
    }
  }
  return rule;
}

Result<std::vector<std::vector<int64_t>>> SegmentService::Overlap(const std::vector<SegmentId>& ids) const {
  if (ids.empty() || ids.size() > 50) return Error::InvalidField("ids", "must list 1..50 segment ids");
  std::shared_lock lock(impl_->mu);
  std::vector<const MemberSet*> sets;
  for (SegmentId id : ids) {
    auto found = impl_->entries.find(id.value());
    if (found == impl_->entries.end()) return Error::NotFound("segment " + id.ToString() + " not found");
    sets.push_back(&found->second.members);
  }
  std::vector<std::vector<int64_t>> matrix(ids.size(), std::vector<int64_t>(ids.size(), 0));
  for (size_t i = 0; i < sets.size(); ++i) {
    for (size_t j = i; j < sets.size(); ++j) {
      auto n = static_cast<int64_t>(sets[i]->and_cardinality(*sets[j]));
      matrix[i][j] = n;
      matrix[j][i] = n;
    }
  }
  return matrix;
}

Result<std::vector<storage::SegmentEventRecord>> SegmentService::Events(SegmentId id, int64_t after_id,
                                                                        int limit) const {
  RETURN_IF_ERROR(Get(id));
  return impl_->store.ListSegmentEvents({id, after_id, limit});
}

Result<std::vector<CustomerSegment>> SegmentService::CustomerSegments(CustomerId customer) const {
  ASSIGN_OR_RETURN(auto rows, impl_->store.ListCustomerSegments(customer));
  std::shared_lock lock(impl_->mu);
  std::vector<CustomerSegment> out;
  for (const auto& row : rows) {
    auto found = impl_->entries.find(row.segment.value());
    if (found == impl_->entries.end()) continue;
    out.push_back({row.segment, found->second.record.name, row.entered_at});
  }
  return out;
}

BuilderCatalogue SegmentService::Fields() const { return impl_->engine.Fields(); }

}  // namespace panorama::segments
