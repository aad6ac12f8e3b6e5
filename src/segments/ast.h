#pragma once
// The checked syntax tree of a segment rule (docs/segments.md, "Rule language"). Public so that tests and tools
// can walk it (the property test's brute-force oracle does); the evaluator in audience_index.cc is the product.
// Plain std types only.

#include <cstdint>
#include <string>
#include <vector>

namespace panorama::segments {

// The value types of the field catalogue, as GET /api/v1/segments/fields names them.
enum class FieldType { kString, kNumber, kMoney, kDate, kBoolean, kList };
const char* FieldTypeName(FieldType type);  // "string", "number", "money", "date", "boolean", "list"

// Which column a comparison reads.
enum class FieldId {
  kCountry, kCity, kGender,            // profile strings ("" when unknown)
  kAge, kBirthday, kCreatedAt,         // age in whole years from the birthday; dates
  kTags,                               // list of strings
  kTrait,                              // traits.<key>[.<key>…]: the JSON value at that path, any scalar type
  kConsent,                            // consent.<purpose>[.<channel>]: granted now (privacy::ConsentService)
  kTotalSpend, kOrderCount, kFirstOrder, kLastOrder, kLastEvent, kEventCount, kEventCount30d,
  kAvgDaysBetweenOrders,               // feature store columns
  kMetric,                             // rfm.* / lifecycle.* through a MetricProvider
};

enum class Op {
  kEq, kNe, kLt, kLe, kGt, kGe,
  kIn, kNotIn,      // value in a list
  kContains,        // list contains a value; string contains a substring
  kBetween,         // two values, inclusive
  kBefore, kAfter,  // dates: strictly before / strictly after a time
  kWithinLast,      // dates: now − d ≤ t ≤ now
  kWithinNext,      // dates: now ≤ t ≤ now + d; birthday: the anniversary falls in the next d days
  kIsTrue,          // a bare boolean field
};

// A literal of the rule, already converted: money to base-currency minor units, dates to epoch milliseconds.
struct Value {
  enum class Kind { kString, kNumber, kMoney, kBool, kTime };
  Kind kind = Kind::kString;
  std::string text;      // kString
  double number = 0;     // kNumber
  int64_t minor = 0;     // kMoney, in base-currency minor units
  bool boolean = false;  // kBool
  int64_t ms = 0;        // kTime: epoch ms, or when `relative`, a duration back from "now" ("30d ago")
  bool relative = false;
};

// `where properties.<path> <op> <value(s)>` inside `did`.
struct PropertyFilter {
  std::vector<std::string> path;  // ["category"] for properties.category
  Op op = Op::kEq;                // kEq kNe kLt kLe kGt kGe kIn kContains
  std::vector<Value> values;
};

struct Node {
  enum class Kind { kAnd, kOr, kNot, kCompare, kDid, kSegment };
  Kind kind = Kind::kAnd;
  int line = 1;  // where the node starts, 1-based
  int column = 1;
  std::vector<Node> children;  // kAnd/kOr: two or more; kNot: one

  // kCompare
  std::string field;                // as written: "country", "traits.plan", "consent.marketing.email"
  FieldId field_id = FieldId::kCountry;
  FieldType type = FieldType::kString;
  std::vector<std::string> path;    // kTrait: the key path; kConsent: {purpose} or {purpose, channel};
                                    // kMetric: {"rfm.segment"} etc.
  Op op = Op::kEq;
  std::vector<Value> values;        // the operands (kWithin*: values[0].ms is the duration)

  // kDid: customers with a count of events named `event` (in the window, matching every filter) that
  // satisfies count_op against count_min (kBetween: count_min..count_max inclusive).
  std::string event;
  Op count_op = Op::kGe;
  int64_t count_min = 1;
  int64_t count_max = 0;
  int64_t window_ms = 0;            // 0: ever (up to now)
  std::vector<PropertyFilter> where;

  // kSegment
  std::string segment;
};

}  // namespace panorama::segments
