#pragma once
// Test-only RuleEngine: a tiny language over in-memory customers, so the service's bookkeeping is tested
// without the real engine, and a brute-force oracle is one line per customer.
//   expr := term (("and" | "or") term)*        (left to right, no precedence)
//   term := "not" term | "tag" STRING | "score" ">=" NUMBER | "segment" STRING | "(" expr ")"
// A syntax error reports its 1-based column on line 1.

#include <cctype>
#include <map>
#include <mutex>
#include <set>
#include <string>

#include "segments/service/rule_engine.h"

namespace panorama::segments::testing {

struct FakeCustomer {
  std::set<std::string> tags;
  int score = 0;
};

class FakeRuleEngine final : public RuleEngine {
 public:
  // The customers (live ones); tests change them and then call the service's hooks.
  void Put(CustomerId id, FakeCustomer c) {
    std::lock_guard lock(mu_);
    customers_[id.value()] = std::move(c);
  }
  void Remove(CustomerId id) {
    std::lock_guard lock(mu_);
    customers_.erase(id.value());
  }
  FakeCustomer Get(CustomerId id) const {
    std::lock_guard lock(mu_);
    auto it = customers_.find(id.value());
    return it == customers_.end() ? FakeCustomer{} : it->second;
  }

  struct Node;
  using NodePtr = std::shared_ptr<const Node>;
  struct Node {
    char op;  // 't' tag, 's' score, 'g' segment, '!' not, '&' and, '|' or
    std::string text;
    int number = 0;
    NodePtr left, right;
  };
  class Rule final : public SegmentRule {
   public:
    Rule(NodePtr root, std::vector<std::string> refs) : root_(std::move(root)), refs_(std::move(refs)) {}
    const std::vector<std::string>& references() const override { return refs_; }
    // The fake language's fields (tag, score) are not customer fields of the masking catalogue.
    const std::vector<std::string>& fields() const override { return fields_; }
    const Node& root() const { return *root_; }

   private:
    NodePtr root_;
    std::vector<std::string> refs_;
    std::vector<std::string> fields_;
  };

  // RuleEngine
  Result<std::shared_ptr<const SegmentRule>> Compile(std::string_view text, RuleDiagnostic* diagnostic) const override {
    Parser p{text, 0, {}, {}};
    auto root = p.Expr();
    p.Space();
    if (root && p.pos != text.size()) root = p.Fail("expected \"and\", \"or\" or end of input");
    if (!root) {
      if (diagnostic) *diagnostic = p.diagnostic;
      return Error::InvalidField("rule", "1:" + std::to_string(p.diagnostic.column) + ": " + p.diagnostic.message);
    }
    return std::shared_ptr<const SegmentRule>(std::make_shared<Rule>(*root, std::vector<std::string>(p.refs.begin(), p.refs.end())));
  }
  Result<MemberSet> Evaluate(const SegmentRule& rule, Timestamp, const SegmentLookup& lookup) const override {
    std::lock_guard lock(mu_);
    MemberSet out;
    for (const auto& [id, c] : customers_) {
      if (Eval(static_cast<const Rule&>(rule).root(), id, c, lookup)) out.add(static_cast<uint32_t>(id));
    }
    return out;
  }
  Result<bool> Matches(const SegmentRule& rule, CustomerId customer, Timestamp, const SegmentLookup& lookup) const override {
    std::lock_guard lock(mu_);
    auto it = customers_.find(customer.value());
    if (it == customers_.end()) return false;
    return Eval(static_cast<const Rule&>(rule).root(), it->first, it->second, lookup);
  }
  MemberSet All() const override {
    std::lock_guard lock(mu_);
    MemberSet out;
    for (const auto& [id, c] : customers_) out.add(static_cast<uint32_t>(id));
    return out;
  }
  BuilderCatalogue Fields() const override {
    return {{{"tag", "list", "a tag", {}}, {"score", "number", "a score", {}}}, {"Signed Up"}};
  }

  // The oracle: the rule evaluated straight over the structs, with `members` for segment references.
  static bool Eval(const Node& n, int64_t id, const FakeCustomer& c, const SegmentLookup& lookup) {
    switch (n.op) {
      case 't': return c.tags.count(n.text) > 0;
      case 's': return c.score >= n.number;
      case 'g': {
        const MemberSet* m = lookup(n.text);
        return m != nullptr && m->contains(static_cast<uint32_t>(id));
      }
      case '!': return !Eval(*n.left, id, c, lookup);
      case '&': return Eval(*n.left, id, c, lookup) && Eval(*n.right, id, c, lookup);
      default: return Eval(*n.left, id, c, lookup) || Eval(*n.right, id, c, lookup);
    }
  }

 private:
  struct Parser {
    std::string_view text;
    size_t pos;
    RuleDiagnostic diagnostic;
    std::set<std::string> refs;

    void Space() {
      while (pos < text.size() && std::isspace(static_cast<unsigned char>(text[pos]))) ++pos;
    }
    std::optional<NodePtr> Fail(std::string message) {
      diagnostic = {1, static_cast<int>(pos) + 1, std::move(message)};
      return std::nullopt;
    }
    bool Word(std::string_view w) {
      Space();
      if (text.substr(pos, w.size()) != w) return false;
      size_t end = pos + w.size();
      if (end < text.size() && std::isalnum(static_cast<unsigned char>(text[end]))) return false;
      pos = end;
      return true;
    }
    std::optional<std::string> String() {
      Space();
      if (pos >= text.size() || text[pos] != '"') return std::nullopt;
      std::string out;
      for (++pos; pos < text.size() && text[pos] != '"'; ++pos) {
        if (text[pos] == '\\' && pos + 1 < text.size()) ++pos;
        out += text[pos];
      }
      if (pos >= text.size()) return std::nullopt;
      ++pos;
      return out;
    }
    std::optional<NodePtr> Expr() {
      auto left = Term();
      if (!left) return left;
      while (true) {
        char op = Word("and") ? '&' : Word("or") ? '|' : 0;
        if (op == 0) return left;
        auto right = Term();
        if (!right) return right;
        left = std::make_shared<const Node>(Node{op, "", 0, *left, *right});
      }
    }
    std::optional<NodePtr> Term() {
      Space();
      if (Word("not")) {
        auto inner = Term();
        if (!inner) return inner;
        return std::make_shared<const Node>(Node{'!', "", 0, *inner, nullptr});
      }
      if (pos < text.size() && text[pos] == '(') {
        ++pos;
        auto inner = Expr();
        if (!inner) return inner;
        Space();
        if (pos >= text.size() || text[pos] != ')') return Fail("expected \")\"");
        ++pos;
        return inner;
      }
      if (Word("tag")) {
        auto s = String();
        if (!s) return Fail("expected a string after \"tag\"");
        return std::make_shared<const Node>(Node{'t', *s, 0, nullptr, nullptr});
      }
      if (Word("segment")) {
        auto s = String();
        if (!s) return Fail("expected a segment name after \"segment\"");
        refs.insert(*s);
        return std::make_shared<const Node>(Node{'g', *s, 0, nullptr, nullptr});
      }
      if (Word("score")) {
        Space();
        if (text.substr(pos, 2) != ">=") return Fail("expected \">=\" after \"score\"");
        pos += 2;
        Space();
        size_t start = pos;
        while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) ++pos;
        if (start == pos) return Fail("expected a number after \">=\"");
        return std::make_shared<const Node>(Node{'s', "", std::stoi(std::string(text.substr(start, pos - start))), nullptr, nullptr});
      }
      if (pos >= text.size()) return Fail("expected a condition, found end of input");
      return Fail("expected a condition");
    }
  };

  mutable std::mutex mu_;
  std::map<int64_t, FakeCustomer> customers_;
};

}  // namespace panorama::segments::testing
