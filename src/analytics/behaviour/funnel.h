#pragma once
// Ordered funnels over events, counted in unique customers (docs/segments.md "Funnels").

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/time.h"

namespace panorama::behaviour {

struct FunnelStepSpec {
  std::string event;
  // Property path (inside the event's properties, e.g. "category") → the value it must have, as
  // text (numbers as written, booleans as 1/0). Every pair must match.
  std::vector<std::pair<std::string, std::string>> where;
};

enum class BreakdownKind { kNone, kProperty, kCustomerAttribute };

struct FunnelSpec {
  std::vector<FunnelStepSpec> steps;                       // 2..10 (the caller validates)
  std::chrono::milliseconds window{7 * 24 * 3'600'000LL};  // from the step-1 event, inclusive
  std::optional<Timestamp> from;                           // step-1 events at or after
  std::optional<Timestamp> to;                             // step-1 events before
  BreakdownKind breakdown = BreakdownKind::kNone;
  std::string breakdown_key;  // property path of the step-1 event, or country | city | gender
  int breakdown_top = 20;     // values listed; the rest are merged into "(other)"
  // Values (property or customer attribute) with fewer step-1 customers than this are merged into
  // "(other)" before the top values are chosen, so a rare value (which can single a person out) is
  // never listed. 1: every value may show.
  int min_group_size = 1;
};

// One event of one customer as the funnel sees it. `properties` follow
// FunnelCalculator::PropertyPaths().
struct FunnelEvent {
  Timestamp timestamp;
  int64_t id = 0;  // storage order: breaks ties between equal timestamps
  std::string name;
  std::vector<std::optional<std::string>> properties;
};

struct FunnelStepResult {
  std::string event;
  int64_t customers = 0;
  double conversion_from_start = 0;
  double conversion_from_previous = 0;
  std::optional<double>
      median_seconds_from_previous;  // none for step 1 or when nobody reached the step
};

struct FunnelBreakdownRow {
  std::string value;
  std::vector<FunnelStepResult> steps;
};

struct FunnelResult {
  std::vector<FunnelStepResult> steps;
  std::vector<FunnelBreakdownRow> breakdown;  // empty without a breakdown
};

// Feeds customers one at a time; each customer counts once (uniques). Not thread-safe.
class FunnelCalculator {
 public:
  explicit FunnelCalculator(FunnelSpec spec);

  // The property paths every FunnelEvent must carry, in this order (the step filters, then the
  // breakdown).
  const std::vector<std::string>& PropertyPaths() const { return paths_; }

  // One customer's events in (timestamp, id) order; `attribute` is its breakdown attribute when the
  // breakdown is a customer attribute.
  void AddCustomer(const std::vector<FunnelEvent>& events, const std::string& attribute = "");

  FunnelResult Finish() const;

 private:
  struct Group {
    int64_t entrants = 0;
    std::vector<int64_t> reached;                 // per step
    std::vector<std::vector<int64_t>> deltas_ms;  // per step: time from the previous step
  };
  bool Matches(const FunnelEvent& event, size_t step) const;
  std::vector<FunnelStepResult> Steps(const Group& group) const;
  void Merge(Group& into, const Group& from) const;

  FunnelSpec spec_;
  std::vector<std::string> paths_;
  std::vector<std::vector<std::pair<size_t, std::string>>>
      filters_;  // per step: (path index, value)
  size_t breakdown_path_ = 0;
  Group total_;
  std::map<std::string, Group> groups_;
};

}  // namespace panorama::behaviour
