#pragma once
// The segment rule language (docs/segments.md, "Rule language"): text → checked, immutable CompiledRule.
//
//   country = "CN" and (total_spend > 1000 CNY or did "Order Completed" >= 2 times within 90d)
//
// Parse errors and type errors carry the 1-based line and column (in characters, not bytes) and say what was
// expected. Thread-safety: Compile is a pure function; a CompiledRule is immutable and may be shared.

#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/money.h"
#include "core/result.h"
#include "segments/ast.h"

namespace panorama::segments {

// Limits; each breach is a RuleError naming the limit.
inline constexpr size_t kMaxRuleBytes = 10 * 1024;
inline constexpr int kMaxRuleDepth = 64;
inline constexpr size_t kMaxInListItems = 1000;

struct RuleError {
  int line = 1;
  int column = 1;
  std::string message;  // what was expected and what was found, without the "line:column: " prefix
};

// "line:column: message", as the HTTP layer and Compile report it.
std::string FormatRuleError(const RuleError& error);
// Error::InvalidField("rule", "L:C: message").
Error RuleErrorToError(const RuleError& error);

class CompiledRule {
 public:
  CompiledRule(std::string text, Node root, std::vector<std::string> segments, std::vector<std::string> events)
      : text_(std::move(text)), root_(std::move(root)), segments_(std::move(segments)), events_(std::move(events)) {}

  const std::string& text() const { return text_; }
  const Node& root() const { return root_; }
  // Names of the segments the rule refers to (`segment "VIP"`), each once, in order of first use.
  const std::vector<std::string>& segment_refs() const { return segments_; }
  // Event names used by `did`, each once.
  const std::vector<std::string>& event_names() const { return events_; }

 private:
  std::string text_;
  Node root_;
  std::vector<std::string> segments_;
  std::vector<std::string> events_;
};

struct CompileOptions {
  // Converts money literals to the base currency; nullptr: the built-in reference rates.
  const ExchangeRates* rates = nullptr;
};

using ParseResult = std::variant<std::shared_ptr<const CompiledRule>, RuleError>;

// Parses and type-checks against the field catalogue.
ParseResult ParseRule(std::string_view text, const CompileOptions& options = {});
// The same, with a RuleError turned into RuleErrorToError (kInvalidArgument on field "rule").
Result<std::shared_ptr<const CompiledRule>> Compile(std::string_view text, const CompileOptions& options = {});

// `text` as a rule string literal with quotes and escapes, e.g. for building `segment "A" and segment "B"` from
// segment names (POST /segments/combine with save_as). Control characters become \uXXXX; a NUL cannot be
// written in a rule, so names must not contain one.
std::string QuoteRuleString(std::string_view text);

// The fixed fields of the catalogue, for the builder's autocomplete (GET /api/v1/segments/fields). Besides
// these: "traits.<key>" (any custom attribute) and "consent.<purpose>[.<channel>]" (boolean).
struct FieldInfo {
  std::string name;
  FieldType type;
  std::string description;
};
const std::vector<FieldInfo>& FieldCatalogue();

}  // namespace panorama::segments
