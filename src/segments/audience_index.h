#pragma once
// The audience index (DESIGN.md §5): in-memory columns over every live customer, keyed by the customer id as a
// dense uint32 (SQLite rowids are dense), and the evaluation of a CompiledRule over them into a CRoaring bitmap.
//
// What it reads, and from where:
//   - profile fields (country, city, gender, birthday/age, created_at, tags, traits): loaded from the Store at
//     Rebuild and per customer on OnCustomerChanged; country, city, gender, tags and the birthday's month-day
//     have value → bitmap inverted indexes, the rest are scanned.
//   - order and event aggregates (total_spend, order_count, first/last_order, last_event, event_count,
//     event_count_30d, avg_days_between_orders): the FeatureStore's columns (ReadColumns), which ingest keeps
//     current; OnOrder/OnEvent need not be called for them.
//   - consent.*: privacy::ConsentService's "granted now" bitmaps (privacy/consent_bitmaps.h, one AND per
//     condition); Matches asks MaySend / MayProcess.
//   - rfm.* and lifecycle.*: a MetricProvider.
//   - `did "Event" …`: the Store's events, read at evaluation time with Store::ScanEventsByName over the
//     events(name, ts) index (v7): a full evaluation costs one indexed range scan per `did` (rows of that
//     name in the window), Matches one scan restricted to the customer. Nothing about events is kept in memory.
// A rule that needs a source that was not given fails with kFailedPrecondition naming it.
//
// Full evaluation (Evaluate) and per-customer evaluation (Matches) agree for every rule; the property test
// checks both against a brute-force oracle.
//
// Thread-safety: every method may be called from any thread. Evaluate/Matches/All take a shared lock, the
// On* updates and Rebuild's swap an exclusive one; Rebuild loads without holding the lock.

#include <cstdint>
#include <functional>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/ids.h"
#include "core/result.h"
#include "core/time.h"
#include "segments/bitmap.h"
#include "segments/rule.h"

namespace panorama::storage {
class Store;
struct CustomerRecord;
}
namespace panorama::features {
class FeatureStore;
}
namespace panorama::privacy {
class ConsentService;
}

namespace panorama::segments {

class MetricProvider;

namespace internal {
struct AudienceData;
}

// Every source but the store is optional; all must outlive the index.
struct AudienceSources {
  const features::FeatureStore* features = nullptr;
  const privacy::ConsentService* consents = nullptr;
  const MetricProvider* metrics = nullptr;
};

// The current members of another segment, for `segment "Name"`; kNotFound for an unknown name. nullptr when the
// caller has no segments (a rule with a reference then fails with kFailedPrecondition). Called once per
// referenced name before the index is locked, so it may evaluate other rules on the same index.
using SegmentResolver = std::function<Result<Bitmap>(std::string_view name)>;

class AudienceIndex {
 public:
  explicit AudienceIndex(storage::Store& store, AudienceSources sources = {});
  ~AudienceIndex();
  AudienceIndex(const AudienceIndex&) = delete;
  AudienceIndex& operator=(const AudienceIndex&) = delete;

  // Full load of every live customer from the store. On error the previous contents stay. kFailedPrecondition
  // for a customer id above 2^32 − 1 (the dense index is 32-bit).
  Result<void> Rebuild();
  // A customer was created, changed (profile, traits, tags) or merged away: reloads that row from the store.
  Result<void> OnCustomerChanged(CustomerId id);
  // Behaviour is read from the store and orders from the feature store at evaluation time, so these are
  // no-ops kept for callers that notify every change; a new customer still needs OnCustomerChanged.
  void OnEvent(CustomerId id, std::string_view name, Timestamp at);
  void OnOrder(CustomerId id, Timestamp at, int64_t total_base_minor);
  void OnMerge(CustomerId from, CustomerId into);  // `from` leaves the index; reload `into` with OnCustomerChanged
  void OnErase(CustomerId id);

  // Everyone matching, as of `now`. Errors: kFailedPrecondition for a missing source, the resolver's errors for
  // `segment` references, the store's errors for `did`.
  Result<Bitmap> Evaluate(const CompiledRule& rule, Timestamp now, const SegmentResolver& segments = nullptr) const;
  // Whether one customer matches (false for an unknown or merged-away customer); the same answers as Evaluate.
  Result<bool> Matches(const CompiledRule& rule, CustomerId id, Timestamp now,
                       const SegmentResolver& segments = nullptr) const;
  Bitmap All() const;  // live customers
  int64_t size() const;

  // Adds or replaces one live customer without reading the store (benchmarks building synthetic indexes).
  void PutCustomerForTest(const storage::CustomerRecord& customer);

  // Known values of a categorical field ("country", "city", "gender", "tags"), most common first, for the
  // builder's autocomplete; empty for other fields.
  std::vector<std::string> KnownValues(std::string_view field, size_t limit = 100) const;

 private:
  class Evaluator;
  storage::Store& store_;
  AudienceSources sources_;

  // Guarded by mutex_:
  mutable std::shared_mutex mutex_;
  std::unique_ptr<internal::AudienceData> data_;
};

}  // namespace panorama::segments
