#pragma once
// Computed per-customer metrics that live outside the segments context (RFM scores, lifecycle stage; built in
// analytics/), reached through this small interface so segments does not depend on analytics. app/ wires the
// real provider; tests use a fake.
//
// Metric names: "rfm.segment" (text), "rfm.score" (text, e.g. "545"), "rfm.r", "rfm.f", "rfm.m" (1..5),
// "lifecycle.stage" (text: prospect | new | active | loyal | at_risk | churned).

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "core/ids.h"
#include "core/result.h"
#include "core/time.h"

namespace panorama::segments {

using MetricValue = std::variant<double, std::string>;

class MetricProvider {
 public:
  virtual ~MetricProvider() = default;
  // Calls `fn` for every customer that has a value of `metric` as of `now` (customers without one, e.g. no
  // orders for rfm.*, are skipped). kInvalidArgument for an unknown metric.
  virtual Result<void> Scan(std::string_view metric, Timestamp now,
                            const std::function<void(CustomerId, const MetricValue&)>& fn) const = 0;
  // One customer's value; nullopt when it has none.
  virtual Result<std::optional<MetricValue>> Get(std::string_view metric, CustomerId customer,
                                                 Timestamp now) const = 0;
};

}  // namespace panorama::segments
