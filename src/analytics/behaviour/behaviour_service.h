#pragma once
// Behaviour analytics over the Store: cohort retention, funnels and paths (docs/segments.md). Each
// call validates its query (kInvalidArgument naming the field: "months", "from", "to", "steps",
// "steps[i].event", "steps[i].where", "window", "breakdown", "min_group_size", "from_event", "to_event", "max_steps",
// "limit") and then scans the store; kUnavailable/kInternal from the store pass through. Stateless
// apart from its references; thread-safe as the Store is.

#include <optional>
#include <string>
#include <vector>

#include "analytics/behaviour/cohorts.h"
#include "analytics/behaviour/funnel.h"
#include "analytics/behaviour/paths.h"
#include "core/result.h"
#include "core/time.h"

namespace panorama::storage {
class Store;
}

namespace panorama::behaviour {

inline constexpr int kMaxCohortMonths = 120;
inline constexpr int kMinFunnelSteps = 2;
inline constexpr int kMaxFunnelSteps = 10;
inline constexpr int kMaxPathSteps = 20;
inline constexpr int kMaxPathLimit = 100;
inline constexpr int kDefaultMinGroupSize = 5;
inline constexpr int kMaxMinGroupSize = 1000;

struct CohortQuery {
  std::optional<MonthIndex> from;
  std::optional<MonthIndex> to;
  int months = 12;                 // 1..120
  // Only months complete at as_of count (default the clock): orders from the month holding as_of on
  // are ignored and rows end with the month before it.
  std::optional<Timestamp> as_of;
};

struct FunnelQuery {
  std::vector<FunnelStepSpec> steps;
  std::chrono::milliseconds window{7 * 24 * 3'600'000LL};
  std::optional<Timestamp> from;
  std::optional<Timestamp> to;
  std::string breakdown;           // "", "properties.<path>", "country", "city" or "gender"
  // Any breakdown (properties.<path>, country, city, gender) lists only values with at least this
  // many step-1 customers (1..1000); rarer values, "(none)" included, are merged into "(other)".
  int min_group_size = kDefaultMinGroupSize;
  std::optional<Timestamp> as_of;  // events after it are ignored; default the clock
};

struct PathsQuery {
  std::string from_event;
  std::string to_event;
  int max_steps = 5;
  int limit = 10;
  std::chrono::milliseconds window{7 * 24 * 3'600'000LL};
  std::optional<Timestamp> from;
  std::optional<Timestamp> as_of;
};

class BehaviourService {
 public:
  BehaviourService(storage::Store& store, const Clock& clock) : store_(store), clock_(clock) {}

  // Completed orders of live customers (merged-away records have none; erased ones are gone), in
  // complete months; CohortMatrix::through is the last of them.
  Result<CohortMatrix> Cohorts(const CohortQuery& query) const;
  Result<FunnelResult> Funnel(const FunnelQuery& query) const;
  Result<PathsResult> Paths(const PathsQuery& query) const;

 private:
  storage::Store& store_;
  const Clock& clock_;
};

}  // namespace panorama::behaviour
