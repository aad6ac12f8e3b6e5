#pragma once
// The real RuleEngine: the rule language (segments/rule.h) evaluated by the AudienceIndex.

#include <memory>

#include "core/money.h"
#include "segments/service/rule_engine.h"

namespace panorama::storage {
class Store;
}

namespace panorama::segments {

class AudienceIndex;

class AudienceRuleEngine final : public RuleEngine {
 public:
  // `index` and `store` (for the known event names) must outlive the engine; `rates` converts money literals
  // (nullptr: the built-in reference rates).
  AudienceRuleEngine(AudienceIndex& index, storage::Store& store, const ExchangeRates* rates = nullptr)
      : index_(index), store_(store), rates_(rates) {}

  // RuleEngine
  Result<std::shared_ptr<const SegmentRule>> Compile(std::string_view text, RuleDiagnostic* diagnostic) const override;
  Result<MemberSet> Evaluate(const SegmentRule& rule, Timestamp now, const SegmentLookup& lookup) const override;
  Result<bool> Matches(const SegmentRule& rule, CustomerId customer, Timestamp now,
                       const SegmentLookup& lookup) const override;
  MemberSet All() const override;
  BuilderCatalogue Fields() const override;
  void OnCustomerChanged(CustomerId customer) override;
  void OnMerged(CustomerId from, CustomerId into) override;
  void OnErased(CustomerId customer) override;
  Result<void> Rebuild() override;

 private:
  AudienceIndex& index_;
  storage::Store& store_;
  const ExchangeRates* rates_;
};

}  // namespace panorama::segments
