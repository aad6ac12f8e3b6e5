#include "analytics/behaviour/cohorts.h"

#include <algorithm>
#include <map>

namespace panorama::behaviour {

void CohortBuilder::Add(CustomerId customer, Timestamp placed_at) {
  entries_.push_back({customer.value(), static_cast<int32_t>(MonthOf(placed_at))});
}

CohortMatrix CohortBuilder::Build(const CohortOptions& options) {
  // Sorting by (customer, month) puts each customer's first month first and makes duplicates
  // adjacent, so one pass counts distinct active customers per (cohort, offset) — the pandas
  // nunique of the reference.
  std::sort(entries_.begin(), entries_.end(), [](const Entry& a, const Entry& b) {
    return a.customer != b.customer ? a.customer < b.customer : a.month < b.month;
  });
  entries_.erase(std::unique(entries_.begin(), entries_.end(),
                             [](const Entry& a, const Entry& b) {
                               return a.customer == b.customer && a.month == b.month;
                             }),
                 entries_.end());
  CohortMatrix matrix;
  matrix.through = options.through;
  if (options.through) {
    std::erase_if(entries_, [&](const Entry& e) { return e.month > *options.through; });
  }
  if (entries_.empty())
    return matrix;
  MonthIndex data_end = 0;
  for (const Entry& e : entries_) data_end = std::max<MonthIndex>(data_end, e.month);
  data_end = options.through.value_or(data_end);
  matrix.through = data_end;

  std::map<MonthIndex, CohortRow> rows;
  int64_t current = -1;
  MonthIndex first = 0;
  CohortRow* row = nullptr;
  for (const Entry& e : entries_) {
    if (e.customer != current) {
      current = e.customer;
      first = e.month;
      bool listed =
          (!options.from || first >= *options.from) && (!options.to || first <= *options.to);
      row = nullptr;
      if (!listed)
        continue;
      row = &rows[first];
      if (row->active.empty()) {
        row->cohort = first;
        int64_t length = std::min<int64_t>(options.months, data_end - first + 1);
        row->active.assign(static_cast<size_t>(length), 0);
      }
      ++row->size;
    }
    if (row == nullptr)
      continue;
    int64_t k = e.month - first;
    if (k < static_cast<int64_t>(row->active.size()))
      ++row->active[static_cast<size_t>(k)];
  }
  for (auto& [month, r] : rows) {
    r.retention.reserve(r.active.size());
    for (int64_t a : r.active)
      r.retention.push_back(static_cast<double>(a) / static_cast<double>(r.size));
    matrix.months = std::max(matrix.months, static_cast<int>(r.active.size()));
    matrix.cohorts.push_back(std::move(r));
  }
  return matrix;
}

}  // namespace panorama::behaviour
