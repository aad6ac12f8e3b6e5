#pragma once
// Keeps the last full RFM result (per-customer scores, cut points, grid, segment totals) over the feature
// store, with the score map stored in the Store (analytics_settings "rfm.score_map").
//
// When it computes: a full computation runs on Recompute(), on a score-map change, and on a read of the
// current result when the cached one is older than `max_age` (default 10 minutes), so results never lag a
// full recomputation by more than that. Between full runs OnOrder(customer) rescores that customer against
// the current cut points (ScoreAgainstCuts) and updates the grid and segment totals. A read with an explicit
// `as_of` computes a fresh result for that instant and does not replace the cached one.
//
// Thread-safety: every method may be called from any thread; a mutex guards the cached result. Full
// computations run outside it, so readers are served from the previous result meanwhile.

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "analytics/rfm.h"
#include "core/ids.h"
#include "core/result.h"
#include "core/time.h"

namespace panorama::storage {
class Store;
}
namespace panorama::features {
class FeatureStore;
}

namespace panorama::analytics {

inline constexpr const char* kScoreMapSettingKey = "rfm.score_map";

struct RfmServiceOptions {
  std::chrono::milliseconds max_age = std::chrono::minutes(10);
};

class RfmService {
 public:
  // `store`, `features` and `clock` must outlive the service.
  RfmService(storage::Store& store, const features::FeatureStore& features, const Clock& clock,
             RfmServiceOptions options = {});
  ~RfmService();

  // Reads the stored score map (the default when never set). The store's errors; kInvalidArgument for a
  // corrupt stored value.
  Result<void> Load();

  ScoreMap score_map() const;
  // Validates (kInvalidArgument naming rules[i].r, …), stores it through a write transaction (so the audit
  // ledger records it), then recomputes. Returns the stored map.
  Result<ScoreMap> PutScoreMap(const ScoreMap& map, const std::string& actor);

  // The summary as of `as_of` (default: the cached result, refreshed when older than max_age).
  RfmSummary Summary(std::optional<Timestamp> as_of = std::nullopt);
  // Full computation now; replaces the cached result when `as_of` is empty.
  RfmSummary Recompute(std::optional<Timestamp> as_of = std::nullopt);
  // Empty for customers without an order (and for unknown ones: callers check existence themselves).
  std::optional<CustomerRfm> Get(CustomerId id, std::optional<Timestamp> as_of = std::nullopt);
  // Calls `read` with the current full result (refreshed when stale) under the lock: keep it to a scan. With
  // `as_of`, with a fresh result for that instant instead (not cached).
  void ReadScores(const std::function<void(const RfmResult&)>& read, std::optional<Timestamp> as_of = std::nullopt);

  // A committed order of `customer` (after the feature store saw it): rescore against the current cuts.
  void OnOrder(CustomerId customer);

 private:
  // `reuse`: a result nobody reads any more, whose arrays the computation may fill (RfmComputation).
  std::shared_ptr<RfmResult> Compute(Timestamp as_of, const ScoreMap& map, RfmResult reuse = {}) const;
  std::shared_ptr<RfmResult> Current();

  storage::Store& store_;
  const features::FeatureStore& features_;
  const Clock& clock_;
  RfmServiceOptions options_;

  // Guarded by mutex_:
  mutable std::mutex mutex_;
  ScoreMap map_;
  std::shared_ptr<RfmResult> current_;
  // The result current_ replaced: its memory is recycled by the next full computation when nobody holds it.
  std::shared_ptr<RfmResult> spare_;
};

}  // namespace panorama::analytics
