#pragma once
// Cohort retention by first-purchase month (docs/segments.md "Cohorts").

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "analytics/behaviour/calendar.h"
#include "core/ids.h"

namespace panorama::behaviour {

struct CohortOptions {
  std::optional<MonthIndex> from;  // first cohort listed (inclusive); default: the earliest
  std::optional<MonthIndex> to;    // last cohort listed (inclusive); default: the latest
  int months = 12;                 // periods per cohort, 1..120 (the caller validates)
  // The last month counted (inclusive): later orders are dropped and every row runs up to it (a
  // month with no orders is a real 0). Default: the month of the latest order seen.
  std::optional<MonthIndex> through;
};

struct CohortRow {
  MonthIndex cohort = 0;
  int64_t size = 0;  // customers whose first order falls in the cohort month
  std::vector<int64_t>
      active;  // active[k]: of those, customers with >= 1 order in month cohort + k
  std::vector<double> retention;  // active[k] / size
};

struct CohortMatrix {
  std::vector<CohortRow> cohorts;  // ascending, only months that have new customers
  int months = 0;                  // the longest row
  std::optional<MonthIndex> through;  // the last month counted; empty for no orders and no `through`
};

// Collects orders (customer, time), then builds the matrix. Every order up to `through` counts (the
// caller drops orders that are not purchases). Rows stop at `through` (by default the month of the
// latest order seen), or after `months` periods. Memory: 12 bytes per order. Not thread-safe.
class CohortBuilder {
 public:
  void Add(CustomerId customer, Timestamp placed_at);
  CohortMatrix Build(const CohortOptions& options);

 private:
  struct Entry {
    int64_t customer;
    int32_t month;
  };
  std::vector<Entry> entries_;
};

}  // namespace panorama::behaviour
