#include "segments/service/audience_rule_engine.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "segments/audience_index.h"
#include "segments/rule.h"
#include "storage/store.h"

namespace panorama::segments {

namespace {

// Every compared field of the tree, each once, in order of first use.
void CollectFields(const Node& node, std::vector<std::string>& out) {
  if (node.kind == Node::Kind::kCompare &&
      std::find(out.begin(), out.end(), node.field) == out.end()) {
    out.push_back(node.field);
  }
  for (const Node& child : node.children) CollectFields(child, out);
}

class CompiledSegmentRule final : public SegmentRule {
 public:
  explicit CompiledSegmentRule(std::shared_ptr<const CompiledRule> rule) : rule_(std::move(rule)) {
    CollectFields(rule_->root(), fields_);
  }
  const std::vector<std::string>& references() const override { return rule_->segment_refs(); }
  const std::vector<std::string>& fields() const override { return fields_; }
  const CompiledRule& rule() const { return *rule_; }

 private:
  std::shared_ptr<const CompiledRule> rule_;
  std::vector<std::string> fields_;
};

const CompiledRule& Unwrap(const SegmentRule& rule) { return static_cast<const CompiledSegmentRule&>(rule).rule(); }

}  // namespace

Result<std::shared_ptr<const SegmentRule>> AudienceRuleEngine::Compile(std::string_view text,
                                                                       RuleDiagnostic* diagnostic) const {
  ParseResult parsed = ParseRule(text, {.rates = rates_});
  if (const auto* error = std::get_if<RuleError>(&parsed)) {
    if (diagnostic != nullptr) *diagnostic = {error->line, error->column, error->message};
    return RuleErrorToError(*error);
  }
  return std::shared_ptr<const SegmentRule>(
      std::make_shared<CompiledSegmentRule>(std::get<std::shared_ptr<const CompiledRule>>(parsed)));
}

Result<MemberSet> AudienceRuleEngine::Evaluate(const SegmentRule& rule, Timestamp now,
                                               const SegmentLookup& lookup) const {
  return index_.Evaluate(Unwrap(rule), now, [&lookup](std::string_view name) -> Result<Bitmap> {
    const MemberSet* members = lookup(name);
    if (members == nullptr) return Error::NotFound("segment \"" + std::string(name) + "\" not found");
    return *members;
  });
}

Result<bool> AudienceRuleEngine::Matches(const SegmentRule& rule, CustomerId customer, Timestamp now,
                                         const SegmentLookup& lookup) const {
  // Matching one customer only asks whether that customer is in a referenced segment: hand the index a
  // one-element (or empty) set instead of copying the whole membership for every call.
  return index_.Matches(Unwrap(rule), customer, now, [&lookup, customer](std::string_view name) -> Result<Bitmap> {
    const MemberSet* members = lookup(name);
    if (members == nullptr) return Error::NotFound("segment \"" + std::string(name) + "\" not found");
    Bitmap one;
    auto slot = static_cast<uint32_t>(customer.value());
    if (members->contains(slot)) one.add(slot);
    return one;
  });
}

MemberSet AudienceRuleEngine::All() const { return index_.All(); }

BuilderCatalogue AudienceRuleEngine::Fields() const {
  BuilderCatalogue out;
  for (const auto& f : FieldCatalogue()) {
    out.fields.push_back({f.name, FieldTypeName(f.type), f.description, index_.KnownValues(f.name, 50)});
  }
  if (auto names = store_.ListEventNames(200)) out.events = std::move(*names);
  return out;
}

void AudienceRuleEngine::OnCustomerChanged(CustomerId customer) {
  if (auto loaded = index_.OnCustomerChanged(customer); !loaded) {
    spdlog::error("audience index: reloading customer {} failed: {}", customer.value(), loaded.error().message());
  }
}

void AudienceRuleEngine::OnMerged(CustomerId from, CustomerId into) {
  index_.OnMerge(from, into);
  OnCustomerChanged(into);
}

void AudienceRuleEngine::OnErased(CustomerId customer) { index_.OnErase(customer); }

Result<void> AudienceRuleEngine::Rebuild() { return index_.Rebuild(); }

}  // namespace panorama::segments
