#pragma once
// RFM scores and lifecycle stages as segment metrics (segments::MetricProvider): `rfm.r`, `rfm.f`, `rfm.m`
// (1..5), `rfm.score` ("545"), `rfm.segment` (named segment) and `lifecycle.stage`. app/ hands this to the
// audience index, so segments never depends on analytics.

#include "segments/metric_provider.h"

namespace panorama::analytics {

class RfmService;
class LifecycleService;

class SegmentMetrics final : public segments::MetricProvider {
 public:
  // Both services must outlive this object.
  SegmentMetrics(RfmService& rfm, const LifecycleService& lifecycle) : rfm_(rfm), lifecycle_(lifecycle) {}

  Result<void> Scan(std::string_view metric, Timestamp now,
                    const std::function<void(CustomerId, const segments::MetricValue&)>& fn) const override;
  Result<std::optional<segments::MetricValue>> Get(std::string_view metric, CustomerId customer,
                                                   Timestamp now) const override;

 private:
  RfmService& rfm_;  // not const: reading may refresh its cached result
  const LifecycleService& lifecycle_;
};

}  // namespace panorama::analytics
