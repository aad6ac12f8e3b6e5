#include "analytics/rfm_service.h"

#include <atomic>
#include <utility>

#include "features/feature_store.h"
#include "storage/store.h"

namespace panorama::analytics {

RfmService::RfmService(storage::Store& store, const features::FeatureStore& features, const Clock& clock,
                       RfmServiceOptions options)
    : store_(store), features_(features), clock_(clock), options_(options), map_(DefaultScoreMap()) {}

RfmService::~RfmService() = default;

Result<void> RfmService::Load() {
  ASSIGN_OR_RETURN(auto stored, store_.GetAnalyticsSetting(kScoreMapSettingKey));
  ScoreMap map = DefaultScoreMap();
  if (stored) {
    ASSIGN_OR_RETURN(map, DecodeScoreMap(stored->value));
  }
  std::lock_guard lock(mutex_);
  map_ = std::move(map);
  current_.reset();
  return Ok();
}

ScoreMap RfmService::score_map() const {
  std::lock_guard lock(mutex_);
  return map_;
}

Result<ScoreMap> RfmService::PutScoreMap(const ScoreMap& map, const std::string& actor) {
  RETURN_IF_ERROR(ValidateScoreMap(map));
  storage::AnalyticsSettingRecord record{kScoreMapSettingKey, EncodeScoreMap(map), actor, clock_.Now()};
  RETURN_IF_ERROR(store_.Write([&](storage::WriteTxn& txn) { return txn.PutAnalyticsSetting(record); }));
  {
    std::lock_guard lock(mutex_);
    map_ = map;
  }
  Recompute();
  return map;
}

std::shared_ptr<RfmResult> RfmService::Compute(Timestamp as_of, const ScoreMap& map, RfmResult reuse) const {
  RfmComputation computation(std::move(reuse));
  features_.ReadColumns([&](const features::FeatureColumns& columns) { computation.Take(columns, as_of); });
  return std::make_shared<RfmResult>(computation.Score(map, clock_.Now()));
}

RfmSummary RfmService::Recompute(std::optional<Timestamp> as_of) {
  ScoreMap map = score_map();
  if (as_of) return Compute(*as_of, map)->summary;
  // Compute into the arrays of the result before the current one, unless a reader still holds it.
  RfmResult reuse;
  {
    std::lock_guard lock(mutex_);
    if (spare_ && spare_.use_count() == 1) {
      std::atomic_thread_fence(std::memory_order_acquire);  // pairs with the release of the last reader's copy
      reuse = std::move(*spare_);
    }
    spare_.reset();
  }
  auto result = Compute(clock_.Now(), map, std::move(reuse));
  std::lock_guard lock(mutex_);
  spare_ = std::move(current_);
  current_ = result;
  return result->summary;
}

std::shared_ptr<RfmResult> RfmService::Current() {
  {
    std::lock_guard lock(mutex_);
    if (current_ && clock_.Now() - current_->summary.computed_at < options_.max_age) return current_;
  }
  Recompute();
  std::lock_guard lock(mutex_);
  return current_;
}

RfmSummary RfmService::Summary(std::optional<Timestamp> as_of) {
  if (as_of) return Compute(*as_of, score_map())->summary;
  auto current = Current();
  std::lock_guard lock(mutex_);  // OnOrder changes the totals in place
  return current->summary;
}

std::optional<CustomerRfm> RfmService::Get(CustomerId id, std::optional<Timestamp> as_of) {
  if (as_of) {
    auto result = Compute(*as_of, score_map());
    if (auto i = result->Find(id)) return result->At(*i);
    return std::nullopt;
  }
  auto current = Current();
  std::lock_guard lock(mutex_);
  if (auto i = current->Find(id)) return current->At(*i);
  return std::nullopt;
}

void RfmService::ReadScores(const std::function<void(const RfmResult&)>& read, std::optional<Timestamp> as_of) {
  if (as_of) {
    read(*Compute(*as_of, score_map()));
    return;
  }
  auto current = Current();
  std::lock_guard lock(mutex_);
  read(*current);
}

void RfmService::OnOrder(CustomerId customer) {
  std::lock_guard lock(mutex_);
  if (!current_) return;  // the next read computes everything anyway
  RfmResult& result = *current_;
  RfmSummary& s = result.summary;
  auto features = features_.Get(customer, s.as_of);
  if (!features || features->order_count == 0 || !features->last_order_at) return;

  CustomerRfm rfm;
  rfm.customer = customer;
  int64_t diff = ToUnixMillis(s.as_of) - ToUnixMillis(*features->last_order_at);
  rfm.recency_days = diff <= 0 ? 0 : diff / 86'400'000;
  rfm.frequency = features->order_count;
  rfm.monetary_minor = features->total_spend_base_minor;
  ScoreAgainstCuts(s.cuts, map_, rfm);
  const auto segment = static_cast<uint8_t>(SegmentOf(map_, result.segment_names, rfm.r, rfm.f, rfm.m));

  auto index = result.Find(customer);
  if (index) {
    const size_t i = *index;
    RfmCell& old_cell = s.grid[(result.r[i] - 1) * 5 + (result.f[i] - 1)];
    --old_cell.customers;
    old_cell.revenue_minor -= result.monetary_minor[i];
    --s.segments[result.segment[i]].customers;
    s.segments[result.segment[i]].revenue_minor -= result.monetary_minor[i];
  } else {
    index = result.customer_id.size();
    result.tail_index[customer.value()] = *index;
    result.customer_id.push_back(customer.value());
    result.last_order_ms.push_back(0);
    result.recency_days.push_back(0);
    result.frequency.push_back(0);
    result.monetary_minor.push_back(0);
    result.r.push_back(0);
    result.f.push_back(0);
    result.m.push_back(0);
    result.segment.push_back(0);
    ++s.scored;
  }
  const size_t i = *index;
  result.last_order_ms[i] = ToUnixMillis(*features->last_order_at);
  result.recency_days[i] = static_cast<int32_t>(rfm.recency_days);
  result.frequency[i] = rfm.frequency;
  result.monetary_minor[i] = rfm.monetary_minor;
  result.r[i] = static_cast<uint8_t>(rfm.r);
  result.f[i] = static_cast<uint8_t>(rfm.f);
  result.m[i] = static_cast<uint8_t>(rfm.m);
  result.segment[i] = segment;
  RfmCell& cell = s.grid[(rfm.r - 1) * 5 + (rfm.f - 1)];
  ++cell.customers;
  cell.revenue_minor += rfm.monetary_minor;
  ++s.segments[segment].customers;
  s.segments[segment].revenue_minor += rfm.monetary_minor;
}

}  // namespace panorama::analytics
