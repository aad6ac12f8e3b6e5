#pragma once
// Lifecycle stages (docs/segments.md "Lifecycle"): every live customer is in one of six stages, decided by
// configurable thresholds in days and orders, tried in this order:
//   prospect  no completed order
//   churned   last order more than churned_days ago
//   at_risk   last order more than active_days ago
//   new       first order at most new_days ago
//   loyal     at least loyal_min_orders orders (and last order within active_days)
//   active    otherwise (last order within active_days)
// "Days ago" is whole days from the order to as_of (floor). The thresholds are stored in the Store
// (analytics_settings "lifecycle.thresholds") and editable by an admin.
//
// Thread-safety: LifecycleService may be called from any thread; a mutex guards the thresholds.

#include <array>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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

enum class Stage : uint8_t { kProspect = 0, kNew, kActive, kLoyal, kAtRisk, kChurned };
inline constexpr int kStageCount = 6;
const char* StageName(Stage stage);  // "prospect", "new", "active", "loyal", "at_risk", "churned"

struct LifecycleThresholds {
  int new_days = 30;
  int active_days = 90;
  int loyal_min_orders = 3;
  int churned_days = 365;
  friend bool operator==(const LifecycleThresholds&, const LifecycleThresholds&) = default;
};

// kInvalidArgument naming each bad field: new_days 1..3650, active_days 1..3650 and ≥ new_days,
// churned_days 1..3650 and > active_days, loyal_min_orders 2..1000.
Result<void> ValidateThresholds(const LifecycleThresholds& t);
// Stored form: "new_days=30\nactive_days=90\nloyal_min_orders=3\nchurned_days=365\n".
std::string EncodeThresholds(const LifecycleThresholds& t);
Result<LifecycleThresholds> DecodeThresholds(std::string_view text);

// `first_ms`/`last_ms` are ignored when order_count is 0.
Stage ClassifyStage(int64_t order_count, int64_t first_ms, int64_t last_ms, int64_t as_of_ms,
                    const LifecycleThresholds& t);

struct CustomerLifecycle {
  Stage stage = Stage::kProspect;
  // When the customer entered the stage, where the aggregates tell: new = first order; at_risk and churned =
  // the instant the last order became older than the threshold. Empty for prospect, active and loyal.
  std::optional<Timestamp> since;
};

struct StageCounts {
  std::array<int64_t, kStageCount> counts{};
};

struct MonthPoint {
  std::string month;  // "2011-01"
  Timestamp at;       // last millisecond of the month (UTC)
  StageCounts counts;
};

inline constexpr const char* kThresholdsSettingKey = "lifecycle.thresholds";
inline constexpr int kMaxHistoryMonths = 120;

// A calendar month, for history ranges.
struct YearMonth {
  int year = 0;
  int month = 0;  // 1..12
  static Result<YearMonth> Parse(std::string_view text, const std::string& field);  // "YYYY-MM"
  int Index() const { return year * 12 + month - 1; }
};

class LifecycleService {
 public:
  // `store`, `features` and `clock` must outlive the service.
  LifecycleService(storage::Store& store, const features::FeatureStore& features, const Clock& clock);

  // Reads the stored thresholds (defaults when never set).
  Result<void> Load();
  LifecycleThresholds thresholds() const;
  // Validates, stores through a write transaction (audited), returns the stored thresholds.
  Result<LifecycleThresholds> PutThresholds(const LifecycleThresholds& t, const std::string& actor);

  // Empty for unknown, merged-away and erased customers.
  std::optional<CustomerLifecycle> Get(CustomerId id, std::optional<Timestamp> as_of = std::nullopt) const;
  StageCounts Counts(std::optional<Timestamp> as_of = std::nullopt) const;
  // Every live customer and its stage, under the feature store's shared lock: keep `fn` cheap.
  void ReadStages(const std::function<void(CustomerId, Stage)>& fn, std::optional<Timestamp> as_of = std::nullopt) const;
  // Stage counts at each month end in [from, to] (at most kMaxHistoryMonths, else kInvalidArgument naming
  // "to"), from a scan of the stored customers and orders. Customers are today's live customers, each counted
  // only from when it existed: the earliest of its created_at, the created_at of records merged into it and
  // its first order (an import may bring orders older than the record). Before that it is in no stage.
  Result<std::vector<MonthPoint>> History(YearMonth from, YearMonth to) const;

 private:
  storage::Store& store_;
  const features::FeatureStore& features_;
  const Clock& clock_;

  // Guarded by mutex_:
  mutable std::mutex mutex_;
  LifecycleThresholds thresholds_;
};

}  // namespace panorama::analytics
