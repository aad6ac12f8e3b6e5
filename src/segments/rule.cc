#include "segments/rule.h"
#include "segments/internal/json_lite.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <optional>
#include <utility>

#include "core/time.h"
#include "privacy/consent_service.h"

namespace panorama::segments {

const char* FieldTypeName(FieldType type) {
  switch (type) {
    case FieldType::kString: return "string";
    case FieldType::kNumber: return "number";
    case FieldType::kMoney: return "money";
    case FieldType::kDate: return "date";
    case FieldType::kBoolean: return "boolean";
    case FieldType::kList: return "list";
  }
  return "string";
}

std::string FormatRuleError(const RuleError& error) {
  return std::to_string(error.line) + ":" + std::to_string(error.column) + ": " + error.message;
}

Error RuleErrorToError(const RuleError& error) { return Error::InvalidField("rule", FormatRuleError(error)); }

namespace {

constexpr int64_t kHourMs = 3'600'000;
constexpr int64_t kDayMs = 24 * kHourMs;
// Durations up to 100 years keep every window arithmetic far from int64 overflow.
constexpr int64_t kMaxDurationMs = 36'525 * kDayMs;

struct CatalogueEntry {
  const char* name;
  FieldId id;
  FieldType type;
  const char* description;
};

constexpr CatalogueEntry kCatalogue[] = {
    {"country", FieldId::kCountry, FieldType::kString, "country, ISO 3166-1 alpha-2 (\"CN\")"},
    {"city", FieldId::kCity, FieldType::kString, "city as recorded (\"上海\")"},
    {"gender", FieldId::kGender, FieldType::kString, "female | male | other | \"\""},
    {"age", FieldId::kAge, FieldType::kNumber, "whole years since the birthday, as of now"},
    {"birthday", FieldId::kBirthday, FieldType::kDate,
     "date of birth; `birthday within next 7d` matches upcoming anniversaries"},
    {"created_at", FieldId::kCreatedAt, FieldType::kDate, "when the customer record was created"},
    {"tags", FieldId::kTags, FieldType::kList, "tags; `tags contains \"vip\"`"},
    {"total_spend", FieldId::kTotalSpend, FieldType::kMoney,
     "sum of completed orders in the base currency; compare with an amount and currency (1000 CNY)"},
    {"order_count", FieldId::kOrderCount, FieldType::kNumber, "completed orders"},
    {"first_order", FieldId::kFirstOrder, FieldType::kDate, "time of the first completed order"},
    {"last_order", FieldId::kLastOrder, FieldType::kDate, "time of the last completed order"},
    {"last_event", FieldId::kLastEvent, FieldType::kDate, "time of the last tracked event"},
    {"event_count", FieldId::kEventCount, FieldType::kNumber, "tracked events, all time"},
    {"event_count_30d", FieldId::kEventCount30d, FieldType::kNumber, "tracked events in the last 30 days"},
    {"avg_days_between_orders", FieldId::kAvgDaysBetweenOrders, FieldType::kNumber,
     "mean days between orders (customers with two or more orders)"},
    {"rfm.segment", FieldId::kMetric, FieldType::kString, "RFM segment name (\"Champions\")"},
    {"rfm.score", FieldId::kMetric, FieldType::kString, "RFM score as three digits (\"545\")"},
    {"rfm.r", FieldId::kMetric, FieldType::kNumber, "RFM recency score 1..5"},
    {"rfm.f", FieldId::kMetric, FieldType::kNumber, "RFM frequency score 1..5"},
    {"rfm.m", FieldId::kMetric, FieldType::kNumber, "RFM monetary score 1..5"},
    {"lifecycle.stage", FieldId::kMetric, FieldType::kString,
     "prospect | new | active | loyal | at_risk | churned"},
};

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

// ---- Lexer ----

enum class Tok { kIdent, kString, kNumber, kDuration, kDate, kLParen, kRParen, kComma, kOp, kEnd };

struct Token {
  Tok kind = Tok::kEnd;
  std::string text;  // ident, decoded string, number digits, op
  int64_t ms = 0;    // kDate: epoch ms; kDuration: length
  std::string raw;   // as written, for messages
  int line = 1;
  int column = 1;
};

struct Failure {
  RuleError error;
};

[[noreturn]] void Fail(int line, int column, std::string message) { throw Failure{{line, column, std::move(message)}}; }

std::string Quote(std::string_view s) {
  std::string out = "\"";
  size_t chars = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80 && ++chars > 40) {
      out += "…";
      break;
    }
    out += s[i];
  }
  return out + "\"";
}

std::string Describe(const Token& t) {
  switch (t.kind) {
    case Tok::kEnd: return "end of input";
    case Tok::kString: return "the string " + Quote(t.text);
    default: return Quote(t.raw);
  }
}

// Byte offset of the first invalid UTF-8 sequence, or npos.
size_t InvalidUtf8At(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (len == 0 || i + len > s.size()) return i;
    uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
    for (size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, surrogates and code points past U+10FFFF are not UTF-8.
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp < 0xE000)) {
      return i;
    }
    i += len;
  }
  return std::string_view::npos;
}

class Lexer {
 public:
  explicit Lexer(std::string_view s) : s_(s) {}

  std::vector<Token> Run() {
    if (size_t bad = InvalidUtf8At(s_); bad != std::string_view::npos) {
      while (pos_ < bad) Advance();
      Fail(line_, column_, "invalid UTF-8 in the rule");
    }
    std::vector<Token> out;
    while (true) {
      SkipSpaceAndComments();
      Token t;
      t.line = line_;
      t.column = column_;
      const size_t start = pos_;
      if (pos_ >= s_.size()) {
        out.push_back(std::move(t));
        return out;
      }
      const char c = s_[pos_];
      if (c == '(' || c == ')' || c == ',') {
        t.kind = c == '(' ? Tok::kLParen : c == ')' ? Tok::kRParen : Tok::kComma;
        Advance();
      } else if (c == '=' || c == '!' || c == '<' || c == '>') {
        t.kind = Tok::kOp;
        Advance();
        if (pos_ < s_.size() && (s_[pos_] == '=' || (c == '<' && s_[pos_] == '>'))) Advance();
        t.text = std::string(s_.substr(start, pos_ - start));
        if (t.text == "==") t.text = "=";
        if (t.text == "<>") t.text = "!=";
        if (t.text == "!") Fail(t.line, t.column, "expected \"!=\", found \"!\"");
      } else if (c == '"') {
        t.kind = Tok::kString;
        t.text = ReadString(t.line, t.column);
      } else if (IsDigit(c) || (c == '-' && pos_ + 1 < s_.size() && IsDigit(s_[pos_ + 1]))) {
        ReadNumberLike(t);
      } else if (IsIdentStart(c)) {
        t.kind = Tok::kIdent;
        while (pos_ < s_.size() && IsIdentPart(s_[pos_])) Advance();
        t.text = std::string(s_.substr(start, pos_ - start));
      } else {
        size_t len = 1;
        const auto u = static_cast<unsigned char>(c);
        if (u >= 0x80) len = (u >> 5) == 0x6 ? 2 : (u >> 4) == 0xE ? 3 : 4;
        Fail(t.line, t.column, "unexpected character " + Quote(s_.substr(pos_, len)));
      }
      t.raw = std::string(s_.substr(start, pos_ - start));
      out.push_back(std::move(t));
    }
  }

 private:
  static bool IsDigit(char c) { return c >= '0' && c <= '9'; }
  static bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
  static bool IsIdentStart(char c) { return IsAlpha(c) || c == '_' || static_cast<unsigned char>(c) >= 0x80; }
  static bool IsIdentPart(char c) { return IsIdentStart(c) || IsDigit(c) || c == '.'; }

  // Columns count characters: only the first byte of a UTF-8 sequence moves the column.
  void Advance() {
    const char c = s_[pos_++];
    if (c == '\n') {
      ++line_;
      column_ = 1;
    } else if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) {
      ++column_;
    }
  }

  void SkipSpaceAndComments() {
    while (pos_ < s_.size()) {
      const char c = s_[pos_];
      if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
        Advance();
      } else if (c == '#') {
        while (pos_ < s_.size() && s_[pos_] != '\n') Advance();
      } else {
        return;
      }
    }
  }

  std::string ReadString(int line, int column) {
    Advance();  // opening quote
    std::string out;
    while (true) {
      if (pos_ >= s_.size()) Fail(line, column, "unterminated string: expected a closing '\"'");
      const char c = s_[pos_];
      if (c == '"') {
        Advance();
        return out;
      }
      if (c == '\n') Fail(line_, column_, "unterminated string: expected a closing '\"' before the end of the line");
      if (c != '\\') {
        out += c;
        Advance();
        continue;
      }
      const int esc_line = line_, esc_column = column_;
      Advance();
      if (pos_ >= s_.size()) Fail(line, column, "unterminated string: expected a closing '\"'");
      const char e = s_[pos_];
      Advance();
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case 'u': {
          uint32_t cp = ReadHex4(esc_line, esc_column);
          if (cp >= 0xD800 && cp < 0xDC00) {
            if (pos_ + 1 >= s_.size() || s_[pos_] != '\\' || s_[pos_ + 1] != 'u') {
              Fail(esc_line, esc_column, "expected a low surrogate \\uDC00..\\uDFFF after a high surrogate");
            }
            Advance();
            Advance();
            const uint32_t low = ReadHex4(esc_line, esc_column);
            if (low < 0xDC00 || low >= 0xE000) {
              Fail(esc_line, esc_column, "expected a low surrogate \\uDC00..\\uDFFF after a high surrogate");
            }
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          } else if (cp >= 0xDC00 && cp < 0xE000) {
            Fail(esc_line, esc_column, "a low surrogate \\u" + std::string(s_.substr(pos_ - 4, 4)) +
                                           " without a high surrogate before it");
          }
          if (cp == 0) Fail(esc_line, esc_column, "\\u0000 is not allowed in a string");
          internal::AppendUtf8(out, cp);
          break;
        }
        default:
          Fail(esc_line, esc_column,
               "unknown escape \\" + std::string(1, e) + " (expected \\\" \\\\ \\/ \\n \\t \\r or \\uXXXX)");
      }
    }
  }

  uint32_t ReadHex4(int line, int column) {
    uint32_t cp = 0;
    for (int i = 0; i < 4; ++i) {
      if (pos_ >= s_.size()) Fail(line, column, "expected four hex digits after \\u");
      const char h = s_[pos_];
      cp <<= 4;
      if (h >= '0' && h <= '9') {
        cp |= static_cast<uint32_t>(h - '0');
      } else if (h >= 'a' && h <= 'f') {
        cp |= static_cast<uint32_t>(h - 'a' + 10);
      } else if (h >= 'A' && h <= 'F') {
        cp |= static_cast<uint32_t>(h - 'A' + 10);
      } else {
        Fail(line, column, "expected four hex digits after \\u");
      }
      Advance();
    }
    return cp;
  }

  // A number, a date (2024-01-01) or a duration (30d, 12h, 2w).
  void ReadNumberLike(Token& t) {
    const size_t start = pos_;
    if (s_[pos_] == '-') Advance();
    while (pos_ < s_.size() && IsDigit(s_[pos_])) Advance();
    if (pos_ - start == 4 && pos_ + 1 < s_.size() && s_[pos_] == '-' && IsDigit(s_[pos_ + 1])) {
      while (pos_ < s_.size() && (IsDigit(s_[pos_]) || s_[pos_] == '-')) Advance();
      const std::string_view text = s_.substr(start, pos_ - start);
      auto parsed = text.size() == 10 ? ParseIso8601(text) : Result<Timestamp>(Error::InvalidArgument(""));
      if (!parsed) Fail(t.line, t.column, "invalid date " + Quote(text) + ": expected YYYY-MM-DD");
      t.kind = Tok::kDate;
      t.ms = ToUnixMillis(*parsed);
      t.text = std::string(text);
      return;
    }
    if (pos_ + 1 < s_.size() && s_[pos_] == '.' && IsDigit(s_[pos_ + 1])) {
      Advance();
      while (pos_ < s_.size() && IsDigit(s_[pos_])) Advance();
    }
    t.kind = Tok::kNumber;
    t.text = std::string(s_.substr(start, pos_ - start));
    if (pos_ >= s_.size() || !IsIdentStart(s_[pos_])) return;
    const size_t unit_start = pos_;
    while (pos_ < s_.size() && IsIdentPart(s_[pos_])) Advance();
    const std::string_view unit = s_.substr(unit_start, pos_ - unit_start);
    int64_t unit_ms = unit == "d" ? kDayMs : unit == "h" ? kHourMs : unit == "w" ? 7 * kDayMs : 0;
    if (unit_ms == 0) {
      Fail(t.line, t.column, "unexpected " + Quote(unit) + " right after the number " + t.text +
                                 ": a duration is written 30d, 12h or 2w, money 1000 CNY (with a space)");
    }
    int64_t n = -1;
    auto [ptr, ec] = std::from_chars(t.text.data(), t.text.data() + t.text.size(), n);
    if (ec != std::errc() || ptr != t.text.data() + t.text.size() || n < 0 || n > kMaxDurationMs / unit_ms) {
      Fail(t.line, t.column, "invalid duration " + Quote(s_.substr(start, pos_ - start)) +
                                 ": expected a whole number of d, h or w up to 100 years");
    }
    t.kind = Tok::kDuration;
    t.ms = n * unit_ms;
  }

  std::string_view s_;
  size_t pos_ = 0;
  int line_ = 1;
  int column_ = 1;
};

// ---- Parser and checker ----

struct FieldSpec {
  FieldId id;
  FieldType type;
  bool any_type = false;  // traits: the literal decides
  std::vector<std::string> path;
};

std::vector<std::string> SplitPath(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    const size_t dot = s.find('.', start);
    out.emplace_back(s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (dot == std::string_view::npos) return out;
    start = dot + 1;
  }
}

std::string JoinNames(const auto& names) {
  std::string out;
  for (const auto& n : names) {
    if (!out.empty()) out += ", ";
    out += std::string(n);
  }
  return out;
}

class Parser {
 public:
  Parser(std::vector<Token> tokens, const ExchangeRates& rates) : t_(std::move(tokens)), rates_(rates) {}

  Node Run() {
    Node root = ParseOr();
    if (Peek().kind != Tok::kEnd) {
      Fail(Peek().line, Peek().column, "expected \"and\", \"or\" or end of input, found " + Describe(Peek()));
    }
    return root;
  }

  std::vector<std::string> segments;
  std::vector<std::string> events;

 private:
  const Token& Peek(size_t ahead = 0) const { return t_[std::min(i_ + ahead, t_.size() - 1)]; }
  const Token& Next() {
    const Token& t = t_[i_];
    if (i_ + 1 < t_.size()) ++i_;
    return t;
  }
  bool IsKw(const Token& t, std::string_view kw) const { return t.kind == Tok::kIdent && EqualsIgnoreCase(t.text, kw); }
  bool AcceptKw(std::string_view kw) {
    if (!IsKw(Peek(), kw)) return false;
    Next();
    return true;
  }
  [[noreturn]] void Expected(const std::string& what) {
    Fail(Peek().line, Peek().column, "expected " + what + ", found " + Describe(Peek()));
  }
  void Enter(const Token& at) {
    if (++depth_ > kMaxRuleDepth) {
      Fail(at.line, at.column, "the rule nests deeper than the limit of " + std::to_string(kMaxRuleDepth) + " levels");
    }
  }

  static void AddUnique(std::vector<std::string>& list, const std::string& name) {
    if (std::find(list.begin(), list.end(), name) == list.end()) list.push_back(name);
  }

  Node ParseOr() {
    Node first = ParseAnd();
    if (!IsKw(Peek(), "or")) return first;
    Node node;
    node.kind = Node::Kind::kOr;
    node.line = first.line;
    node.column = first.column;
    node.children.push_back(std::move(first));
    while (AcceptKw("or")) node.children.push_back(ParseAnd());
    return node;
  }

  Node ParseAnd() {
    Node first = ParseUnary();
    if (!IsKw(Peek(), "and")) return first;
    Node node;
    node.kind = Node::Kind::kAnd;
    node.line = first.line;
    node.column = first.column;
    node.children.push_back(std::move(first));
    while (AcceptKw("and")) node.children.push_back(ParseUnary());
    return node;
  }

  Node ParseUnary() {
    if (IsKw(Peek(), "not") && !IsKw(Peek(1), "in")) {
      const Token& at = Next();
      Enter(at);
      Node node;
      node.kind = Node::Kind::kNot;
      node.line = at.line;
      node.column = at.column;
      node.children.push_back(ParseUnary());
      --depth_;
      return node;
    }
    return ParsePrimary();
  }

  Node ParsePrimary() {
    const Token& at = Peek();
    if (at.kind == Tok::kLParen) {
      Next();
      Enter(at);
      Node inner = ParseOr();
      if (Peek().kind != Tok::kRParen) Expected("\")\" to close the \"(\" at " + std::to_string(at.line) + ":" +
                                                std::to_string(at.column));
      Next();
      --depth_;
      return inner;
    }
    if (IsKw(at, "did")) return ParseDid();
    if (IsKw(at, "segment")) {
      Next();
      if (Peek().kind != Tok::kString) Expected("a segment name in quotes after \"segment\"");
      Node node;
      node.kind = Node::Kind::kSegment;
      node.line = at.line;
      node.column = at.column;
      node.segment = Next().text;
      if (node.segment.empty()) Fail(at.line, at.column, "a segment name cannot be empty");
      AddUnique(segments, node.segment);
      return node;
    }
    if (at.kind == Tok::kIdent && !IsReserved(at.text)) return ParseComparison();
    Expected("a condition (a field such as country, \"did\", \"segment\", \"not\" or \"(\")");
  }

  static bool IsReserved(std::string_view word) {
    for (std::string_view kw : {"and", "or", "not", "in", "contains", "between", "before", "after", "within",
                                "next", "last", "ago", "times", "time", "where", "true", "false"}) {
      if (EqualsIgnoreCase(word, kw)) return true;
    }
    return false;
  }

  FieldSpec ResolveField(const Token& t) {
    const std::string& name = t.text;
    for (const auto& e : kCatalogue) {
      if (name == e.name) {
        FieldSpec spec{e.id, e.type, false, {}};
        if (e.id == FieldId::kMetric) spec.path = {name};
        return spec;
      }
    }
    if (name.starts_with("traits.")) {
      auto path = SplitPath(std::string_view(name).substr(7));
      for (const auto& key : path) {
        if (key.empty()) Fail(t.line, t.column, "expected a key after each \".\" in " + Quote(name));
      }
      return {FieldId::kTrait, FieldType::kString, true, std::move(path)};
    }
    if (name.starts_with("consent.")) {
      auto path = SplitPath(std::string_view(name).substr(8));
      const auto& purposes = privacy::kPurposes;
      const auto& channels = privacy::kChannels;
      if (path.size() > 2 || std::find(purposes.begin(), purposes.end(), path[0]) == purposes.end()) {
        Fail(t.line, t.column, "unknown consent purpose in " + Quote(name) + ": expected consent.<purpose> or "
                               "consent.<purpose>.<channel> with a purpose of " + JoinNames(purposes));
      }
      if (path.size() == 2 && std::find(channels.begin(), channels.end(), path[1]) == channels.end()) {
        Fail(t.line, t.column, "unknown consent channel in " + Quote(name) + ": expected one of " +
                                   JoinNames(channels));
      }
      return {FieldId::kConsent, FieldType::kBoolean, false, std::move(path)};
    }
    // The nearest known names, closest first.
    std::vector<std::pair<size_t, std::string>> near;
    for (const auto& e : kCatalogue) near.emplace_back(EditDistance(name, e.name), e.name);
    near.emplace_back(EditDistance(name, "traits."), "traits.<key>");
    near.emplace_back(EditDistance(name, "consent.marketing"), "consent.<purpose>");
    std::stable_sort(near.begin(), near.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    std::string list;
    for (size_t i = 0; i < 3 && i < near.size(); ++i) list += (i ? ", " : "") + near[i].second;
    Fail(t.line, t.column, "unknown field " + Quote(name) + "; did you mean: " + list + "?");
  }

  static std::string OpsFor(const FieldSpec& f) {
    if (f.any_type) return "=, !=, <, <=, >, >=, in, not in, contains or between";
    switch (f.type) {
      case FieldType::kString: return "=, !=, in, not in or contains";
      case FieldType::kNumber: return "=, !=, <, <=, >, >=, in, not in or between";
      case FieldType::kMoney: return "=, !=, <, <=, >, >= or between";
      case FieldType::kDate:
        return f.id == FieldId::kBirthday ? "before, after or within next" : "before, after, within or within next";
      case FieldType::kBoolean: return "nothing (a condition by itself), = true or = false";
      case FieldType::kList: return "contains";
    }
    return "";
  }

  Value ParseNumber(const Token& t) {
    Value v;
    v.kind = Value::Kind::kNumber;
    auto [ptr, ec] = std::from_chars(t.text.data(), t.text.data() + t.text.size(), v.number);
    if (ec != std::errc() || ptr != t.text.data() + t.text.size()) Fail(t.line, t.column, "invalid number " + Quote(t.raw));
    return v;
  }

  // One operand for a field of the given kind; `after` names what it follows, for the message.
  Value ParseValue(const std::string& field, const FieldSpec& f, const std::string& after) {
    const Token& t = Peek();
    const std::string missing = "a value after " + Quote(after);
    if (t.kind == Tok::kEnd) Expected(missing);
    if (f.any_type) {
      if (t.kind == Tok::kString) {
        Value v;
        v.text = Next().text;
        return v;
      }
      if (t.kind == Tok::kNumber) return ParseNumber(Next());
      if (IsKw(t, "true") || IsKw(t, "false")) {
        Value v;
        v.kind = Value::Kind::kBool;
        v.boolean = IsKw(Next(), "true");
        return v;
      }
      Expected(missing + " (a string, number, true or false)");
    }
    switch (f.type) {
      case FieldType::kString:
      case FieldType::kList:
        if (t.kind != Tok::kString) {
          Fail(t.line, t.column, field + " holds text: expected a quoted value such as \"CN\" after " + Quote(after) +
                                     ", found " + Describe(t));
        }
        {
          Value v;
          v.text = Next().text;
          return v;
        }
      case FieldType::kNumber:
        if (t.kind != Tok::kNumber) {
          Fail(t.line, t.column, field + " is a number: expected a number after " + Quote(after) + ", found " +
                                     Describe(t));
        }
        {
          Value v = ParseNumber(Next());
          if (Peek().kind == Tok::kIdent && Peek().text.size() == 3 && !IsReserved(Peek().text) &&
              NormalizeCurrency(Peek().text)) {
            Fail(Peek().line, Peek().column, field + " is a number, not money: remove the currency " +
                                                 Quote(Peek().text));
          }
          return v;
        }
      case FieldType::kMoney: {
        if (t.kind != Tok::kNumber) {
          Fail(t.line, t.column, field + " is money: expected an amount with its currency such as 1000 CNY after " +
                                     Quote(after) + ", found " + Describe(t));
        }
        const Token& amount = Next();
        const Token& cur = Peek();
        if (cur.kind != Tok::kIdent || IsReserved(cur.text)) {
          Fail(cur.line, cur.column, field + " is money: a bare number is ambiguous, write the currency after it "
                                     "(e.g. " + amount.text + " CNY), found " + Describe(cur));
        }
        auto code = NormalizeCurrency(cur.text);
        if (!code) Fail(cur.line, cur.column, "expected a currency code such as CNY, found " + Describe(cur));
        auto minor = DecimalStringToMinor(amount.text, *code);
        if (!minor) Fail(amount.line, amount.column, "invalid amount " + Quote(amount.text) + " " + *code);
        auto base = rates_.ToBase(Money{*minor, *code});
        if (!base) Fail(cur.line, cur.column, "unknown currency " + Quote(*code) + ": no exchange rate to the base");
        Next();
        Value v;
        v.kind = Value::Kind::kMoney;
        v.minor = *base;
        return v;
      }
      case FieldType::kDate: return ParseTime(field, after);
      case FieldType::kBoolean:
        if (IsKw(t, "true") || IsKw(t, "false")) {
          Value v;
          v.kind = Value::Kind::kBool;
          v.boolean = IsKw(Next(), "true");
          return v;
        }
        Fail(t.line, t.column, field + " is a boolean: expected true or false after " + Quote(after) + ", found " +
                                   Describe(t));
    }
    Expected(missing);
  }

  // 2024-01-01, "2024-01-01T10:00:00Z", or 30d ago.
  Value ParseTime(const std::string& field, const std::string& after) {
    const Token& t = Peek();
    Value v;
    v.kind = Value::Kind::kTime;
    if (t.kind == Tok::kDate) {
      v.ms = Next().ms;
      return v;
    }
    if (t.kind == Tok::kString) {
      auto parsed = ParseIso8601(t.text);
      if (!parsed) Fail(t.line, t.column, "invalid time " + Quote(t.text) + ": expected ISO 8601 such as 2024-01-01");
      Next();
      v.ms = ToUnixMillis(*parsed);
      return v;
    }
    if (t.kind == Tok::kDuration) {
      v.ms = Next().ms;
      v.relative = true;
      if (!AcceptKw("ago")) Expected("\"ago\" after the duration (e.g. 30d ago)");
      return v;
    }
    Fail(t.line, t.column, field + " is a date: expected a date (2024-01-01) or a time ago (30d ago) after " +
                               Quote(after) + ", found " + Describe(t));
  }

  std::vector<Value> ParseList(const std::string& field, const FieldSpec& f, const std::string& after) {
    if (Peek().kind != Tok::kLParen) Expected("\"(\" to start the list after " + Quote(after));
    Next();
    std::vector<Value> values;
    while (true) {
      if (values.size() >= kMaxInListItems) {
        Fail(Peek().line, Peek().column,
             "the list has more than " + std::to_string(kMaxInListItems) + " items (the limit)");
      }
      values.push_back(ParseValue(field, f, values.empty() ? "(" : ","));
      if (Peek().kind == Tok::kComma) {
        Next();
        continue;
      }
      if (Peek().kind == Tok::kRParen) {
        Next();
        return values;
      }
      Expected("\",\" or \")\" in the list");
    }
  }

  Node ParseComparison() {
    const Token& name_tok = Next();
    FieldSpec f = ResolveField(name_tok);
    Node node;
    node.kind = Node::Kind::kCompare;
    node.line = name_tok.line;
    node.column = name_tok.column;
    node.field = name_tok.text;
    node.field_id = f.id;
    node.type = f.type;
    node.path = f.path;
    const std::string& field = node.field;
    const Token& op = Peek();
    auto bad_op = [&]() -> void {
      Fail(op.line, op.column, "expected an operator after " + Quote(field) + " (" + OpsFor(f) + "), found " +
                                   Describe(op));
    };
    auto ordered = [&] { return f.any_type || f.type == FieldType::kNumber || f.type == FieldType::kMoney; };
    auto number_operand = [&](const Value& v, const Token& at) {
      if (f.any_type && v.kind != Value::Kind::kNumber) {
        Fail(at.line, at.column, "\"" + op.text + "\" compares numbers: expected a number after it, found " +
                                     Describe(at));
      }
    };
    if (op.kind == Tok::kOp) {
      Next();
      const std::string sym = op.text;
      node.op = sym == "=" ? Op::kEq : sym == "!=" ? Op::kNe : sym == "<" ? Op::kLt : sym == "<=" ? Op::kLe
              : sym == ">" ? Op::kGt : Op::kGe;
      const bool is_order = node.op != Op::kEq && node.op != Op::kNe;
      if (f.type == FieldType::kDate && !f.any_type) {
        Fail(op.line, op.column, field + " is a date: use before, after or within instead of " + Quote(sym));
      }
      if (f.type == FieldType::kList && !f.any_type) {
        Fail(op.line, op.column, field + " is a list: use contains instead of " + Quote(sym));
      }
      if (is_order && !ordered()) {
        Fail(op.line, op.column, field + " is " + (f.type == FieldType::kBoolean ? "a boolean" : "text") +
                                     ": " + Quote(sym) + " is not defined for it; use " + OpsFor(f));
      }
      const Token& at = Peek();
      Value v = ParseValue(field, f, sym);
      if (is_order) number_operand(v, at);
      if (f.type == FieldType::kBoolean) {
        // consent.x = true → IsTrue; = false or != true → not IsTrue.
        node.op = Op::kIsTrue;
        if (v.boolean != (sym == "=")) {
          Node negated;
          negated.kind = Node::Kind::kNot;
          negated.line = node.line;
          negated.column = node.column;
          negated.children.push_back(std::move(node));
          return negated;
        }
        return node;
      }
      node.values.push_back(std::move(v));
      return node;
    }
    if (IsKw(op, "in") || (IsKw(op, "not") && IsKw(Peek(1), "in"))) {
      if (!(f.any_type || f.type == FieldType::kString || f.type == FieldType::kNumber)) bad_op();
      node.op = IsKw(op, "not") ? Op::kNotIn : Op::kIn;
      if (node.op == Op::kNotIn) Next();
      Next();
      node.values = ParseList(field, f, "in");
      return node;
    }
    if (IsKw(op, "contains")) {
      if (!(f.any_type || f.type == FieldType::kString || f.type == FieldType::kList)) bad_op();
      Next();
      node.op = Op::kContains;
      const Token& at = Peek();
      node.values.push_back(ParseValue(field, f, "contains"));
      if (f.any_type && node.values[0].kind != Value::Kind::kString) {
        Fail(at.line, at.column, "contains looks for text: expected a quoted value, found " + Describe(at));
      }
      return node;
    }
    if (IsKw(op, "between")) {
      if (!ordered()) bad_op();
      Next();
      node.op = Op::kBetween;
      const Token& a = Peek();
      node.values.push_back(ParseValue(field, f, "between"));
      number_operand(node.values[0], a);
      if (!AcceptKw("and")) Expected("\"and\" between the two bounds");
      const Token& b = Peek();
      node.values.push_back(ParseValue(field, f, "and"));
      number_operand(node.values[1], b);
      return node;
    }
    if (IsKw(op, "before") || IsKw(op, "after")) {
      if (f.type != FieldType::kDate || f.any_type) bad_op();
      Next();
      node.op = IsKw(op, "before") ? Op::kBefore : Op::kAfter;
      node.values.push_back(ParseTime(field, op.text));
      return node;
    }
    if (IsKw(op, "within")) {
      if (f.type != FieldType::kDate || f.any_type) bad_op();
      Next();
      if (AcceptKw("next")) {
        node.op = Op::kWithinNext;
      } else {
        AcceptKw("last");
        node.op = Op::kWithinLast;
      }
      if (f.id == FieldId::kBirthday && node.op != Op::kWithinNext) {
        Fail(op.line, op.column, "birthday takes \"within next\" (upcoming anniversaries), not \"within\"");
      }
      const Token& d = Peek();
      if (d.kind != Tok::kDuration) Expected("a duration such as 30d, 12h or 2w after \"within\"");
      if (f.id == FieldId::kBirthday && (d.ms % kDayMs != 0 || d.ms > 366 * kDayMs)) {
        Fail(d.line, d.column, "birthday windows are whole days up to 366d, found " + Quote(d.raw));
      }
      Value v;
      v.kind = Value::Kind::kTime;
      v.ms = Next().ms;
      v.relative = true;
      node.values.push_back(v);
      return node;
    }
    if (f.type == FieldType::kBoolean && !f.any_type) {
      node.op = Op::kIsTrue;
      return node;
    }
    bad_op();
    return node;
  }

  int64_t ParseCount(const std::string& after) {
    const Token& t = Peek();
    int64_t n = -1;
    if (t.kind == Tok::kNumber) {
      auto [ptr, ec] = std::from_chars(t.text.data(), t.text.data() + t.text.size(), n);
      if (ec != std::errc() || ptr != t.text.data() + t.text.size()) n = -1;
    }
    if (n < 0) Expected("a whole number of times (0 or more) after " + Quote(after));
    Next();
    return n;
  }

  Node ParseDid() {
    const Token& at = Next();
    Node node;
    node.kind = Node::Kind::kDid;
    node.line = at.line;
    node.column = at.column;
    if (Peek().kind != Tok::kString) Expected("an event name in quotes after \"did\" (e.g. did \"Order Completed\")");
    node.event = Next().text;
    if (node.event.empty()) Fail(at.line, at.column, "the event name after \"did\" cannot be empty");
    AddUnique(events, node.event);
    bool have_count = false, have_window = false;
    while (true) {
      const Token& t = Peek();
      if (!have_count && t.kind == Tok::kOp) {
        Next();
        node.count_op = t.text == "=" ? Op::kEq : t.text == "!=" ? Op::kNe : t.text == "<" ? Op::kLt
                      : t.text == "<=" ? Op::kLe : t.text == ">" ? Op::kGt : Op::kGe;
        node.count_min = ParseCount(t.text);
        if (!AcceptKw("times")) AcceptKw("time");
        have_count = true;
      } else if (!have_count && IsKw(t, "between")) {
        Next();
        node.count_op = Op::kBetween;
        node.count_min = ParseCount("between");
        if (!AcceptKw("and")) Expected("\"and\" between the two counts");
        node.count_max = ParseCount("and");
        if (!AcceptKw("times")) AcceptKw("time");
        have_count = true;
      } else if (!have_window && IsKw(t, "within")) {
        Next();
        if (Peek().kind != Tok::kDuration) Expected("a duration such as 7d, 12h or 2w after \"within\"");
        node.window_ms = Next().ms;
        if (node.window_ms == 0) Fail(t.line, t.column, "a window of 0 contains nothing; use at least 1h");
        have_window = true;
      } else {
        break;
      }
    }
    if (AcceptKw("where")) {
      node.where.push_back(ParseFilter());
      // `and` continues the filter list only when a properties.… condition follows; otherwise it joins rules.
      while (IsKw(Peek(), "and") && Peek(1).kind == Tok::kIdent && Peek(1).text.starts_with("properties.")) {
        Next();
        node.where.push_back(ParseFilter());
      }
    }
    return node;
  }

  PropertyFilter ParseFilter() {
    const Token& t = Peek();
    if (t.kind != Tok::kIdent || !t.text.starts_with("properties.") || t.text.size() <= 11) {
      Expected("a property such as properties.category after \"where\"");
    }
    Next();
    PropertyFilter filter;
    filter.path = SplitPath(std::string_view(t.text).substr(11));
    for (const auto& key : filter.path) {
      if (key.empty()) Fail(t.line, t.column, "expected a key after each \".\" in " + Quote(t.text));
    }
    const FieldSpec any{FieldId::kTrait, FieldType::kString, true, {}};
    const Token& op = Peek();
    if (op.kind == Tok::kOp) {
      Next();
      filter.op = op.text == "=" ? Op::kEq : op.text == "!=" ? Op::kNe : op.text == "<" ? Op::kLt
                : op.text == "<=" ? Op::kLe : op.text == ">" ? Op::kGt : Op::kGe;
      const Token& at = Peek();
      filter.values.push_back(ParseValue(t.text, any, op.text));
      if (filter.op != Op::kEq && filter.op != Op::kNe && filter.values[0].kind != Value::Kind::kNumber) {
        Fail(at.line, at.column, Quote(op.text) + " compares numbers: expected a number, found " + Describe(at));
      }
    } else if (IsKw(op, "in")) {
      Next();
      filter.op = Op::kIn;
      filter.values = ParseList(t.text, any, "in");
    } else if (IsKw(op, "contains")) {
      Next();
      filter.op = Op::kContains;
      const Token& at = Peek();
      filter.values.push_back(ParseValue(t.text, any, "contains"));
      if (filter.values[0].kind != Value::Kind::kString) {
        Fail(at.line, at.column, "contains looks for text: expected a quoted value, found " + Describe(at));
      }
    } else {
      Fail(op.line, op.column, "expected an operator after " + Quote(t.text) +
                                   " (=, !=, <, <=, >, >=, in or contains), found " + Describe(op));
    }
    return filter;
  }

  std::vector<Token> t_;
  size_t i_ = 0;
  int depth_ = 0;
  const ExchangeRates& rates_;
};

}  // namespace

ParseResult ParseRule(std::string_view text, const CompileOptions& options) {
  if (text.size() > kMaxRuleBytes) {
    return RuleError{1, 1, "the rule is " + std::to_string(text.size()) + " bytes, over the limit of " +
                               std::to_string(kMaxRuleBytes) + " bytes"};
  }
  static const ExchangeRates kDefaultRates;
  try {
    Parser parser(Lexer(text).Run(), options.rates ? *options.rates : kDefaultRates);
    Node root = parser.Run();
    return std::make_shared<const CompiledRule>(std::string(text), std::move(root), std::move(parser.segments),
                                                std::move(parser.events));
  } catch (const Failure& failure) {
    return failure.error;
  }
}

Result<std::shared_ptr<const CompiledRule>> Compile(std::string_view text, const CompileOptions& options) {
  ParseResult parsed = ParseRule(text, options);
  if (auto* error = std::get_if<RuleError>(&parsed)) return RuleErrorToError(*error);
  return std::get<std::shared_ptr<const CompiledRule>>(std::move(parsed));
}

std::string QuoteRuleString(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\u00";
      out += kHex[(c >> 4) & 0xF];
      out += kHex[c & 0xF];
    } else {
      out += c;
    }
  }
  return out + "\"";
}

const std::vector<FieldInfo>& FieldCatalogue() {
  static const std::vector<FieldInfo> kFields = [] {
    std::vector<FieldInfo> out;
    for (const auto& e : kCatalogue) out.push_back({e.name, e.type, e.description});
    return out;
  }();
  return kFields;
}

}  // namespace panorama::segments
