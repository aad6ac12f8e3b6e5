#pragma once
// What the segment service needs from the rule language (segments/): compile a rule, evaluate it over every
// live customer, match one customer. An interface of its own so the service's bookkeeping (memberships,
// entered/exited diffs, dependency order) is tested with a tiny engine as well as with the real one, and so
// the service sees nothing of the engine's internals. Includes roaring.hh: only segments code includes it.

#include "segments/bitmap.h"

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/ids.h"
#include "core/result.h"
#include "core/time.h"

namespace panorama::segments {

// Where a rule text is wrong (1-based line and column) and what was expected.
struct RuleDiagnostic {
  int line = 0;
  int column = 0;
  std::string message;
};

// A compiled rule; immutable and shared between threads.
class SegmentRule {
 public:
  virtual ~SegmentRule() = default;
  // Names of the segments the rule refers to (`segment "VIP"`), each once.
  virtual const std::vector<std::string>& references() const = 0;
  // Profile fields the rule compares, as written ("city", "traits.vip", "age"), each once, in order of
  // first use; the HTTP layer refuses a rule over a field the caller may not read (docs/security.md).
  // Event properties inside `did … where` are not listed (they are not classified).
  virtual const std::vector<std::string>& fields() const = 0;
};

// A set of customer ids (segments/bitmap.h).
using MemberSet = Bitmap;

// The current members of a referenced segment by name; nullptr for an unknown name.
using SegmentLookup = std::function<const MemberSet*(std::string_view name)>;

// One entry of the builder's field catalogue.
struct BuilderField {
  std::string name;
  std::string type;  // string | number | money | date | boolean | list
  std::string description;
  std::vector<std::string> values;  // known values, may be empty
};

struct BuilderCatalogue {
  std::vector<BuilderField> fields;
  std::vector<std::string> events;  // known event names
};

// Thread-safety: every method may be called concurrently with the others, including the change hooks (the
// engine guards its own indexes). Customer ids are the bitmap values (uint32).
class RuleEngine {
 public:
  virtual ~RuleEngine() = default;

  // kInvalidArgument naming "rule" ("L:C: what was expected") for a syntax or type error; `diagnostic`, when
  // given, receives the line and column.
  virtual Result<std::shared_ptr<const SegmentRule>> Compile(std::string_view text,
                                                             RuleDiagnostic* diagnostic) const = 0;
  // Every live customer matching `rule` at `now`; `lookup` resolves `segment "Name"` references.
  virtual Result<MemberSet> Evaluate(const SegmentRule& rule, Timestamp now,
                                            const SegmentLookup& lookup) const = 0;
  // Whether one customer matches; must agree with Evaluate. A customer that is not live (merged away, erased,
  // unknown) matches nothing.
  virtual Result<bool> Matches(const SegmentRule& rule, CustomerId customer, Timestamp now,
                               const SegmentLookup& lookup) const = 0;
  // Every live customer.
  virtual MemberSet All() const = 0;
  virtual BuilderCatalogue Fields() const = 0;

  // Committed changes, so the engine's indexes follow (called before the customer is re-evaluated).
  virtual void OnCustomerChanged(CustomerId) {}
  virtual void OnEvent(CustomerId, Timestamp) {}
  virtual void OnOrder(CustomerId, Timestamp, int64_t /*total_base_minor*/) {}
  virtual void OnMerged(CustomerId /*from*/, CustomerId /*into*/) {}
  virtual void OnErased(CustomerId) {}
  // Reloads the indexes from the store (start, after retention).
  virtual Result<void> Rebuild() { return Ok(); }
};

}  // namespace panorama::segments
