#pragma once
// SegmentService: saved segments as a service. Definitions and memberships live in the Store (migration 9);
// the current members of every segment are also held in memory as roaring bitmaps (pimpl, so this header
// stays light). Memberships change in three ways, each diffed against the stored membership and written with
// one entered/exited event per change (the outbox journeys read):
//   - full evaluation of every segment in dependency order (start, on demand, and periodically for
//     time-based rules such as `last_order within 30d`);
//   - incremental update of one customer after ingestion (events, orders, profile changes): the customer is
//     matched against every segment with RuleEngine::Matches, referenced segments first;
//   - a rule change (PATCH), which re-evaluates that segment and the segments that refer to it.
// Memberships survive a restart, so nothing is re-emitted for customers whose membership did not change.
//
// Thread-safety: every method may be called from any thread. Writers (create, update, delete, evaluations,
// incremental updates) are serialised by one mutex and compute without blocking readers; they publish their
// result under a reader-writer lock held only for the swap (incremental updates hold it while matching one
// batch). Readers (Get, List, Members, Combine, Overlap, Preview) run concurrently with each other and with
// ingestion.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/ids.h"
#include "core/result.h"
#include "core/time.h"
#include "storage/records.h"

namespace panorama::storage {
class Store;
}

namespace panorama::segments {

class RuleEngine;
struct RuleDiagnostic;
struct BuilderCatalogue;

struct SegmentServiceOptions {
  std::chrono::milliseconds refresh_interval{60'000};  // periodic full re-evaluation while started
  size_t max_segments = 1000;
};

struct SegmentInput {
  std::string name;
  std::string description;
  std::string rule;
  std::string actor;  // created_by: "user:3", "key:7", "cli"
};

// PATCH: absent members stay as they are.
struct SegmentPatch {
  std::optional<std::string> name;
  std::optional<std::string> description;
  std::optional<std::string> rule;
};

struct EvaluationReport {
  int segments = 0;
  int64_t entered = 0;
  int64_t exited = 0;
  int64_t elapsed_ms = 0;
};

struct AudienceSample {
  int64_t size = 0;
  int64_t elapsed_ms = 0;
  std::vector<CustomerId> sample;  // the first ids, at most 10
};

enum class CombineOp { kAnd, kOr, kMinus };

struct CustomerSegment {
  SegmentId id;
  std::string name;
  Timestamp entered_at;
};

class SegmentService {
 public:
  SegmentService(storage::Store& store, RuleEngine& engine, const Clock& clock, SegmentServiceOptions options = {});
  ~SegmentService();
  SegmentService(const SegmentService&) = delete;
  SegmentService& operator=(const SegmentService&) = delete;

  // Reads the definitions and stored memberships (no evaluation, no events). A rule that no longer compiles
  // (the field catalogue changed) keeps its stored members and is skipped by evaluations, with a warning.
  Result<void> Load();

  // Validates (name 1..100 characters and unique, rule compiles, referenced segments exist), stores the
  // definition and evaluates its members (entered events) before returning. kInvalidArgument naming "name" or
  // "rule" (`diagnostic` gets line/column), kAlreadyExists for a taken name, kResourceExhausted past
  // max_segments.
  Result<storage::SegmentRecord> Create(const SegmentInput& input, RuleDiagnostic* diagnostic = nullptr);
  // As Create for the given members; a rule change re-evaluates this segment and those referring to it, a
  // change that would make a cycle is kInvalidArgument naming "rule"; renaming a segment that others refer to
  // is kFailedPrecondition. kNotFound for an unknown id.
  Result<storage::SegmentRecord> Update(SegmentId id, const SegmentPatch& patch, RuleDiagnostic* diagnostic = nullptr);
  // kNotFound; kFailedPrecondition while other segments refer to it.
  Result<void> Delete(SegmentId id);
  Result<storage::SegmentRecord> Get(SegmentId id) const;
  Result<storage::SegmentRecord> FindByName(std::string_view name) const;
  std::vector<storage::SegmentRecord> List() const;  // by id

  // Full re-evaluation of every segment (dependency order) at the clock's now; diffs become events.
  Result<EvaluationReport> EvaluateAll();
  // Reloads `customers` in the engine, re-evaluates them against every segment and records the changes (one
  // transaction).
  Result<EvaluationReport> UpdateCustomers(const std::vector<CustomerId>& customers);

  // Ingestion hooks (after commit): the customer is queued for an incremental update, which the background
  // worker runs (Start), or Flush() on the calling thread; the update first asks the engine to reload the
  // customer (RuleEngine::OnCustomerChanged), since an event (identify) or a consent may change the profile.
  void OnCustomerChanged(CustomerId customer);
  // The same for many customers at once (a CSV import): one queue lock, one wake-up, one incremental batch.
  void OnCustomersChanged(const std::vector<CustomerId>& customers);
  void OnEvent(CustomerId customer, Timestamp at);
  void OnOrder(CustomerId customer, Timestamp at, int64_t total_base_minor);
  void OnMerged(CustomerId from, CustomerId into);
  // After an erasure committed: drops the customer from the in-memory bitmaps; no event (the rows are gone).
  void OnErased(CustomerId customer);
  // Event property paths whose values are sealed at ingest (privacy/data_class_catalogue.h; called with the dotted
  // path, "email" or "user.email"): a new or changed rule (and a preview) filtering on one
  // (`where properties.email = …`) is refused, 400 on "rule" naming the property, as it could never match.
  // Unset: no check. Set before serving.
  void set_personal_property_check(std::function<bool(std::string_view key)> check);
  // Runs the queued incremental updates now.
  Result<EvaluationReport> Flush();

  // The background worker: queued updates as they come, a full re-evaluation every refresh_interval.
  void Start();
  void Stop();

  // Reads over the current memberships.
  Result<AudienceSample> Preview(std::string_view rule, RuleDiagnostic* diagnostic = nullptr) const;
  // The profile fields `rule` compares (SegmentRule::fields), without evaluating it; the same errors as
  // Preview for a rule that does not compile. Lets the caller check field permissions before a write.
  Result<std::vector<std::string>> RuleFields(std::string_view rule, RuleDiagnostic* diagnostic = nullptr) const;
  // Members with id > after, ascending, at most `limit`; `more` says whether others follow.
  Result<std::vector<CustomerId>> Members(SegmentId id, CustomerId after, size_t limit, bool* more = nullptr) const;
  bool Contains(SegmentId id, CustomerId customer) const;
  // 2..20 segments. kInvalidArgument naming "segments" / kNotFound for an unknown id.
  Result<AudienceSample> Combine(CombineOp op, const std::vector<SegmentId>& ids) const;
  // The rule text equivalent to Combine (for "save_as").
  Result<std::string> CombinedRule(CombineOp op, const std::vector<SegmentId>& ids) const;
  // n[i][j] = |S_i ∩ S_j|. 1..50 segments.
  Result<std::vector<std::vector<int64_t>>> Overlap(const std::vector<SegmentId>& ids) const;
  Result<std::vector<storage::SegmentEventRecord>> Events(SegmentId id, int64_t after_id, int limit) const;
  Result<std::vector<CustomerSegment>> CustomerSegments(CustomerId customer) const;
  BuilderCatalogue Fields() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace panorama::segments
