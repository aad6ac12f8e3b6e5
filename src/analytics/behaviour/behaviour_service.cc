#include "analytics/behaviour/behaviour_service.h"

#include <algorithm>

#include "storage/store.h"

namespace panorama::behaviour {
namespace {

bool ValidPropertyPath(std::string_view path) {
  if (path.empty() || path.size() > 200)
    return false;
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    std::string_view segment =
        path.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (segment.empty() || segment.size() > 64)
      return false;
    for (char c : segment) {
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '_' || c == '-';
      if (!ok)
        return false;
    }
    if (dot == std::string_view::npos)
      return true;
    start = dot + 1;
  }
}

bool ValidEventName(const std::string& name) { return !name.empty() && name.size() <= 200; }

Timestamp Earlier(Timestamp a, std::optional<Timestamp> b) { return b && *b < a ? *b : a; }

}  // namespace

Result<CohortMatrix> BehaviourService::Cohorts(const CohortQuery& query) const {
  if (query.months < 1 || query.months > kMaxCohortMonths) {
    return Error::InvalidField("months",
                               "must be between 1 and " + std::to_string(kMaxCohortMonths));
  }
  if (query.from && query.to && *query.from > *query.to) {
    return Error::InvalidField("from", "must not be after to");
  }
  if (query.from && query.to && *query.to - *query.from >= kMaxCohortMonths) {
    return Error::InvalidField(
        "to", "at most " + std::to_string(kMaxCohortMonths) + " cohorts per request");
  }
  // Only complete months count: the month holding as_of is still running, and its low activity would
  // read as a drop in retention. Rows run to the last complete month even where nobody ordered.
  Timestamp as_of = query.as_of.value_or(clock_.Now());
  const MonthIndex through = MonthOf(as_of) - 1;
  const Timestamp end = MonthStart(through + 1);
  CohortBuilder builder;
  RETURN_IF_ERROR(store_.ScanOrderFacts([&](const storage::Store::OrderFact& order) {
    if (order.placed_at < end)
      builder.Add(order.customer, order.placed_at);
  }));
  return builder.Build(
      {.from = query.from, .to = query.to, .months = query.months, .through = through});
}

Result<FunnelResult> BehaviourService::Funnel(const FunnelQuery& query) const {
  int n = static_cast<int>(query.steps.size());
  if (n < kMinFunnelSteps || n > kMaxFunnelSteps) {
    return Error::InvalidField("steps", "must have between " + std::to_string(kMinFunnelSteps) +
                                            " and " + std::to_string(kMaxFunnelSteps) + " steps");
  }
  for (int i = 0; i < n; ++i) {
    const auto& step = query.steps[static_cast<size_t>(i)];
    std::string field = "steps[" + std::to_string(i) + "]";
    if (!ValidEventName(step.event))
      return Error::InvalidField(field + ".event", "must be 1..200 bytes");
    if (step.where.size() > 10)
      return Error::InvalidField(field + ".where", "at most 10 filters");
    for (const auto& [path, value] : step.where) {
      if (path.rfind("properties.", 0) != 0 || !ValidPropertyPath(path.substr(11))) {
        return Error::InvalidField(field + ".where",
                                   "keys must be properties.<a.b> of [A-Za-z0-9_-]");
      }
    }
  }
  if (query.window <= std::chrono::milliseconds(0))
    return Error::InvalidField("window", "must be positive");
  if (query.from && query.to && *query.from >= *query.to) {
    return Error::InvalidField("from", "must be before to");
  }
  if (query.min_group_size < 1 || query.min_group_size > kMaxMinGroupSize) {
    return Error::InvalidField("min_group_size",
                               "must be between 1 and " + std::to_string(kMaxMinGroupSize));
  }
  FunnelSpec spec;
  spec.window = query.window;
  spec.from = query.from;
  spec.to = query.to;
  for (const auto& step : query.steps) {
    FunnelStepSpec s{step.event, {}};
    for (const auto& [path, value] : step.where) s.where.emplace_back(path.substr(11), value);
    spec.steps.push_back(std::move(s));
  }
  storage::Store::EventScan scan;
  if (!query.breakdown.empty()) {
    if (query.breakdown.rfind("properties.", 0) == 0 &&
        ValidPropertyPath(query.breakdown.substr(11))) {
      spec.breakdown = BreakdownKind::kProperty;
      spec.breakdown_key = query.breakdown.substr(11);
    } else if (query.breakdown == "country" || query.breakdown == "city" ||
               query.breakdown == "gender") {
      spec.breakdown = BreakdownKind::kCustomerAttribute;
      spec.breakdown_key = query.breakdown;
      scan.customer_attribute = query.breakdown;
    } else {
      return Error::InvalidField("breakdown", "must be properties.<key>, country, city or gender");
    }
    // Every breakdown folds small groups: a free-form value (a coupon code) names one person, and
    // so does an attribute held by few (the one customer in a small city, or of a rare gender).
    spec.min_group_size = query.min_group_size;
  }
  FunnelCalculator calculator(spec);
  for (const auto& step : spec.steps) {
    if (std::find(scan.names.begin(), scan.names.end(), step.event) == scan.names.end()) {
      scan.names.push_back(step.event);
    }
  }
  scan.properties = calculator.PropertyPaths();
  scan.from = query.from;
  // Later steps may happen up to one window after the last step-1 event allowed.
  Timestamp as_of = query.as_of.value_or(clock_.Now());
  scan.to = query.to ? Earlier(*query.to + query.window + std::chrono::milliseconds(1),
                               as_of + std::chrono::milliseconds(1))
                     : as_of + std::chrono::milliseconds(1);

  std::vector<FunnelEvent> events;
  CustomerId current;
  std::string attribute;
  RETURN_IF_ERROR(store_.ScanEvents(scan, [&](const storage::Store::EventRow& row) {
    if (row.customer != current) {
      if (!events.empty())
        calculator.AddCustomer(events, attribute);
      events.clear();
      current = row.customer;
      attribute = std::string(row.customer_attribute);
    }
    events.push_back({row.timestamp, row.id, std::string(row.name), *row.properties});
  }));
  if (!events.empty())
    calculator.AddCustomer(events, attribute);
  return calculator.Finish();
}

Result<PathsResult> BehaviourService::Paths(const PathsQuery& query) const {
  if (!ValidEventName(query.from_event))
    return Error::InvalidField("from_event", "must be 1..200 bytes");
  if (query.to_event.size() > 200)
    return Error::InvalidField("to_event", "must be at most 200 bytes");
  if (query.max_steps < 1 || query.max_steps > kMaxPathSteps) {
    return Error::InvalidField("max_steps",
                               "must be between 1 and " + std::to_string(kMaxPathSteps));
  }
  if (query.limit < 1 || query.limit > kMaxPathLimit) {
    return Error::InvalidField("limit", "must be between 1 and " + std::to_string(kMaxPathLimit));
  }
  if (query.window <= std::chrono::milliseconds(0))
    return Error::InvalidField("window", "must be positive");
  Timestamp as_of = query.as_of.value_or(clock_.Now());
  if (query.from && *query.from > as_of)
    return Error::InvalidField("from", "must not be after as_of");
  PathCounter counter({.from_event = query.from_event,
                       .to_event = query.to_event,
                       .max_steps = query.max_steps,
                       .limit = query.limit,
                       .window = query.window});
  storage::Store::EventScan scan;
  scan.from = query.from;
  scan.to = as_of + std::chrono::milliseconds(1);
  std::vector<PathEvent> events;
  CustomerId current;
  RETURN_IF_ERROR(store_.ScanEvents(scan, [&](const storage::Store::EventRow& row) {
    if (row.customer != current) {
      if (!events.empty())
        counter.AddCustomer(events);
      events.clear();
      current = row.customer;
    }
    events.push_back({row.timestamp, std::string(row.name)});
  }));
  if (!events.empty())
    counter.AddCustomer(events);
  return counter.Finish();
}

}  // namespace panorama::behaviour
