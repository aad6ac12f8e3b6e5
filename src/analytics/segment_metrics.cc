#include "analytics/segment_metrics.h"

#include "analytics/lifecycle.h"
#include "analytics/rfm_service.h"

namespace panorama::analytics {
namespace {

enum class Metric { kR, kF, kM, kScore, kSegment, kStage };

Result<Metric> ParseMetric(std::string_view name) {
  if (name == "rfm.r") return Metric::kR;
  if (name == "rfm.f") return Metric::kF;
  if (name == "rfm.m") return Metric::kM;
  if (name == "rfm.score") return Metric::kScore;
  if (name == "rfm.segment") return Metric::kSegment;
  if (name == "lifecycle.stage") return Metric::kStage;
  return Error::InvalidArgument("unknown metric \"" + std::string(name) + "\"");
}

segments::MetricValue RfmValue(Metric metric, const CustomerRfm& rfm) {
  switch (metric) {
    case Metric::kR: return static_cast<double>(rfm.r);
    case Metric::kF: return static_cast<double>(rfm.f);
    case Metric::kM: return static_cast<double>(rfm.m);
    case Metric::kScore: return rfm.Score();
    default: return rfm.segment;
  }
}

}  // namespace

Result<void> SegmentMetrics::Scan(std::string_view name, Timestamp now,
                                  const std::function<void(CustomerId, const segments::MetricValue&)>& fn) const {
  ASSIGN_OR_RETURN(Metric metric, ParseMetric(name));
  if (metric == Metric::kStage) {
    lifecycle_.ReadStages([&](CustomerId id, Stage stage) { fn(id, std::string(StageName(stage))); }, now);
    return {};
  }
  rfm_.ReadScores(
      [&](const RfmResult& result) {
        for (size_t i = 0; i < result.customer_id.size(); ++i) {
          switch (metric) {
            case Metric::kR: fn(CustomerId(result.customer_id[i]), static_cast<double>(result.r[i])); break;
            case Metric::kF: fn(CustomerId(result.customer_id[i]), static_cast<double>(result.f[i])); break;
            case Metric::kM: fn(CustomerId(result.customer_id[i]), static_cast<double>(result.m[i])); break;
            case Metric::kSegment:
              fn(CustomerId(result.customer_id[i]), result.segment_names[result.segment[i]]);
              break;
            default: fn(CustomerId(result.customer_id[i]), result.At(i).Score()); break;
          }
        }
      });  // the cached scores (refreshed by RfmService), not a recomputation as of `now` per rule
  return {};
}

Result<std::optional<segments::MetricValue>> SegmentMetrics::Get(std::string_view name, CustomerId customer,
                                                                 Timestamp now) const {
  ASSIGN_OR_RETURN(Metric metric, ParseMetric(name));
  if (metric == Metric::kStage) {
    auto stage = lifecycle_.Get(customer, now);
    if (!stage) return std::optional<segments::MetricValue>();
    return std::optional<segments::MetricValue>(std::string(StageName(stage->stage)));
  }
  auto rfm = rfm_.Get(customer);  // cached scores: Get(customer, now) would recompute everyone
  if (!rfm || rfm->r == 0) return std::optional<segments::MetricValue>();
  return std::optional<segments::MetricValue>(RfmValue(metric, *rfm));
}

}  // namespace panorama::analytics
