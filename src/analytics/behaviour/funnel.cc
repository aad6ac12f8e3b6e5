#include "analytics/behaviour/funnel.h"

#include <algorithm>

namespace panorama::behaviour {
namespace {

const char kNone[] = "(none)";
const char kOther[] = "(other)";

// The median as pandas computes it: the mean of the two middle values for an even count.
std::optional<double> Median(std::vector<int64_t> values) {
  if (values.empty())
    return std::nullopt;
  size_t mid = values.size() / 2;
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(mid), values.end());
  double upper = static_cast<double>(values[mid]);
  if (values.size() % 2 == 1)
    return upper / 1000.0;
  double lower = static_cast<double>(
      *std::max_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(mid)));
  return (lower + upper) / 2.0 / 1000.0;
}

}  // namespace

FunnelCalculator::FunnelCalculator(FunnelSpec spec) : spec_(std::move(spec)) {
  auto index_of = [&](const std::string& path) {
    auto it = std::find(paths_.begin(), paths_.end(), path);
    if (it != paths_.end())
      return static_cast<size_t>(it - paths_.begin());
    paths_.push_back(path);
    return paths_.size() - 1;
  };
  for (const auto& step : spec_.steps) {
    std::vector<std::pair<size_t, std::string>> filters;
    for (const auto& [path, value] : step.where) filters.emplace_back(index_of(path), value);
    filters_.push_back(std::move(filters));
  }
  if (spec_.breakdown == BreakdownKind::kProperty)
    breakdown_path_ = index_of(spec_.breakdown_key);
  total_.reached.assign(spec_.steps.size(), 0);
  total_.deltas_ms.assign(spec_.steps.size(), {});
}

bool FunnelCalculator::Matches(const FunnelEvent& event, size_t step) const {
  if (event.name != spec_.steps[step].event)
    return false;
  for (const auto& [index, value] : filters_[step]) {
    if (index >= event.properties.size() || !event.properties[index] ||
        *event.properties[index] != value) {
      return false;
    }
  }
  return true;
}

void FunnelCalculator::AddCustomer(const std::vector<FunnelEvent>& events,
                                   const std::string& attribute) {
  const size_t n = spec_.steps.size();
  // Which steps each event can fill (an event fills at most one step of an attempt: later steps
  // must come strictly after the previous one in (timestamp, id) order).
  std::vector<uint32_t> masks(events.size(), 0);
  for (size_t i = 0; i < events.size(); ++i) {
    for (size_t s = 0; s < n; ++s) {
      if (Matches(events[i], s))
        masks[i] |= 1u << s;
    }
  }
  // Every step-1 event in the date range starts an attempt that takes, for each next step, the
  // earliest matching event after the previous step and within the window. Greedy earliest matching
  // reaches the furthest step an attempt can reach; the customer keeps the attempt that goes
  // furthest (the earliest such).
  size_t best_level = 0;
  size_t best_start = 0;
  std::vector<Timestamp> best_times;
  std::vector<Timestamp> times(n);
  for (size_t i = 0; i < events.size() && best_level < n; ++i) {
    if ((masks[i] & 1u) == 0)
      continue;
    Timestamp start = events[i].timestamp;
    if ((spec_.from && start < *spec_.from) || (spec_.to && start >= *spec_.to))
      continue;
    Timestamp deadline = start + spec_.window;
    times[0] = start;
    size_t level = 1;
    for (size_t j = i + 1; j < events.size() && level < n; ++j) {
      if (events[j].timestamp > deadline)
        break;
      if (masks[j] & (1u << level)) {
        times[level] = events[j].timestamp;
        ++level;
      }
    }
    if (level > best_level) {
      best_level = level;
      best_start = i;
      best_times.assign(times.begin(), times.begin() + static_cast<std::ptrdiff_t>(level));
    }
  }
  if (best_level == 0)
    return;

  std::string value;
  if (spec_.breakdown == BreakdownKind::kProperty) {
    const auto& p = events[best_start].properties;
    value = breakdown_path_ < p.size() && p[breakdown_path_] && !p[breakdown_path_]->empty()
                ? *p[breakdown_path_]
                : kNone;
  } else if (spec_.breakdown == BreakdownKind::kCustomerAttribute) {
    value = attribute.empty() ? kNone : attribute;
  }
  auto record = [&](Group& g) {
    if (g.reached.empty()) {
      g.reached.assign(n, 0);
      g.deltas_ms.assign(n, {});
    }
    ++g.entrants;
    for (size_t s = 0; s < best_level; ++s) {
      ++g.reached[s];
      if (s > 0)
        g.deltas_ms[s].push_back((best_times[s] - best_times[s - 1]).count());
    }
  };
  record(total_);
  if (spec_.breakdown != BreakdownKind::kNone)
    record(groups_[value]);
}

std::vector<FunnelStepResult> FunnelCalculator::Steps(const Group& g) const {
  std::vector<FunnelStepResult> out;
  for (size_t s = 0; s < spec_.steps.size(); ++s) {
    FunnelStepResult r;
    r.event = spec_.steps[s].event;
    r.customers = g.reached.empty() ? 0 : g.reached[s];
    int64_t start = g.reached.empty() ? 0 : g.reached[0];
    int64_t previous = s == 0 ? start : g.reached[s - 1];
    r.conversion_from_start =
        start == 0 ? 0.0 : static_cast<double>(r.customers) / static_cast<double>(start);
    r.conversion_from_previous =
        previous == 0 ? 0.0 : static_cast<double>(r.customers) / static_cast<double>(previous);
    if (s > 0 && !g.deltas_ms.empty())
      r.median_seconds_from_previous = Median(g.deltas_ms[s]);
    out.push_back(std::move(r));
  }
  return out;
}

void FunnelCalculator::Merge(Group& into, const Group& from) const {
  if (into.reached.empty()) {
    into.reached.assign(spec_.steps.size(), 0);
    into.deltas_ms.assign(spec_.steps.size(), {});
  }
  into.entrants += from.entrants;
  for (size_t s = 0; s < spec_.steps.size(); ++s) {
    into.reached[s] += from.reached[s];
    into.deltas_ms[s].insert(into.deltas_ms[s].end(), from.deltas_ms[s].begin(),
                             from.deltas_ms[s].end());
  }
}

FunnelResult FunnelCalculator::Finish() const {
  FunnelResult result;
  result.steps = Steps(total_);
  if (spec_.breakdown == BreakdownKind::kNone)
    return result;
  // Values below the minimum group size go to "(other)" first; of the rest, the top values by
  // entrants (ties by value) are listed and everything after them joins "(other)".
  std::vector<const std::pair<const std::string, Group>*> order;
  Group other;
  for (const auto& entry : groups_) {
    if (entry.second.entrants < spec_.min_group_size) {
      Merge(other, entry.second);
    } else {
      order.push_back(&entry);
    }
  }
  std::stable_sort(order.begin(), order.end(),
                   [](auto* a, auto* b) { return a->second.entrants > b->second.entrants; });
  for (size_t i = 0; i < order.size(); ++i) {
    if (static_cast<int>(i) < spec_.breakdown_top) {
      result.breakdown.push_back({order[i]->first, Steps(order[i]->second)});
    } else {
      Merge(other, order[i]->second);
    }
  }
  if (other.entrants > 0)
    result.breakdown.push_back({kOther, Steps(other)});
  return result;
}

}  // namespace panorama::behaviour
