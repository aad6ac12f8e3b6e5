// The rule language: lexing, parsing, type checks and every error kind with its line:column.

#include "segments/rule.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/support/result_matchers.h"

namespace panorama::segments {
namespace {

RuleError ErrorOf(std::string_view text) {
  ParseResult parsed = ParseRule(text);
  if (auto* error = std::get_if<RuleError>(&parsed)) return *error;
  ADD_FAILURE() << "expected an error for: " << text;
  return {};
}

std::shared_ptr<const CompiledRule> Parsed(std::string_view text) {
  auto compiled = Compile(text);
  EXPECT_TRUE(compiled.has_value()) << text << " → " << compiled.error().message();
  return compiled ? *compiled : nullptr;
}

TEST(RuleParser, ParsesComparisonWithAndOrNot) {
  auto rule = Parsed(R"(country = "CN" and (age >= 30 or not gender != "f"))");

  ASSERT_NE(rule, nullptr);
  const Node& root = rule->root();
  ASSERT_EQ(root.kind, Node::Kind::kAnd);
  ASSERT_EQ(root.children.size(), 2u);
  EXPECT_EQ(root.children[0].field, "country");
  EXPECT_EQ(root.children[0].values[0].text, "CN");
  ASSERT_EQ(root.children[1].kind, Node::Kind::kOr);
  EXPECT_EQ(root.children[1].children[1].kind, Node::Kind::kNot);
}

TEST(RuleParser, KeywordsAreCaseInsensitiveAndFieldsAreNot) {
  EXPECT_NE(Parsed(R"(country = "CN" AND Not city IN ("上海", "北京"))"), nullptr);

  EXPECT_NE(ErrorOf(R"(Country = "CN")").message.find("unknown field \"Country\""), std::string::npos);
}

TEST(RuleParser, DecodesEscapesAndUtf8InStrings) {
  auto rule = Parsed(R"(city = "\u4e0a\u6d77\t\"q\"\\" or city = "北京" or city = "\ud83d\ude00")");

  ASSERT_NE(rule, nullptr);
  EXPECT_EQ(rule->root().children[0].values[0].text, "上海\t\"q\"\\");
  EXPECT_EQ(rule->root().children[1].values[0].text, "北京");
  EXPECT_EQ(rule->root().children[2].values[0].text, "\xF0\x9F\x98\x80");
}

TEST(RuleParser, ConvertsMoneyToBaseMinorUnits) {
  ExchangeRates rates;
  rates.SetRate("USD", 7.0);

  auto rule = Compile("total_spend > 1000 CNY or total_spend >= 10.5 usd", {.rates = &rates});

  ASSERT_OK(rule);
  EXPECT_EQ((*rule)->root().children[0].values[0].minor, 100000);
  EXPECT_EQ((*rule)->root().children[1].values[0].minor, 7350);
}

TEST(RuleParser, ParsesDidWithCountWindowAndFilters) {
  auto rule = Parsed(
      R"(did "Product Viewed" >= 3 times within 7d where properties.category = "shoes" and properties.price > 100 )"
      R"(and country = "CN")");

  ASSERT_NE(rule, nullptr);
  const Node& did = rule->root().children[0];
  EXPECT_EQ(did.kind, Node::Kind::kDid);
  EXPECT_EQ(did.event, "Product Viewed");
  EXPECT_EQ(did.count_op, Op::kGe);
  EXPECT_EQ(did.count_min, 3);
  EXPECT_EQ(did.window_ms, 7 * 86'400'000LL);
  ASSERT_EQ(did.where.size(), 2u);
  EXPECT_EQ(did.where[1].path, std::vector<std::string>{"price"});
  EXPECT_EQ(rule->root().children[1].field, "country");
  EXPECT_EQ(rule->event_names(), std::vector<std::string>{"Product Viewed"});
}

TEST(RuleParser, ListsSegmentReferencesOnce) {
  auto rule = Parsed(R"(segment "VIP" and not segment "Churned" or segment "VIP")");

  ASSERT_NE(rule, nullptr);
  EXPECT_EQ(rule->segment_refs(), (std::vector<std::string>{"VIP", "Churned"}));
}

TEST(RuleParser, ParsesDatesRelativeTimesAndBooleans) {
  auto rule = Parsed("created_at before 2024-01-01 and first_order before 30d ago and last_order within 30d and "
                     "birthday within next 7d and consent.marketing.email and consent.profiling = false");

  ASSERT_NE(rule, nullptr);
  const auto& c = rule->root().children;
  EXPECT_EQ(c[0].values[0].ms, 1'704'067'200'000);
  EXPECT_TRUE(c[1].values[0].relative);
  EXPECT_EQ(c[2].op, Op::kWithinLast);
  EXPECT_EQ(c[3].op, Op::kWithinNext);
  EXPECT_EQ(c[4].op, Op::kIsTrue);
  EXPECT_EQ(c[5].kind, Node::Kind::kNot);
}

TEST(RuleParser, AcceptsCommentsAndNewlines) {
  EXPECT_NE(Parsed("# VIPs in China\ncountry = \"CN\"\n  and tags contains \"vip\"  # tagged\n"), nullptr);
}

struct ErrorCase {
  const char* rule;
  int line;
  int column;
  const char* message_part;
};

class RuleErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(RuleErrorTest, PointsAtLineAndColumnWithWhatWasExpected) {
  const ErrorCase& c = GetParam();

  RuleError error = ErrorOf(c.rule);

  EXPECT_EQ(error.line, c.line) << c.rule << " → " << FormatRuleError(error);
  EXPECT_EQ(error.column, c.column) << c.rule << " → " << FormatRuleError(error);
  EXPECT_NE(error.message.find(c.message_part), std::string::npos) << c.rule << " → " << FormatRuleError(error);
}

INSTANTIATE_TEST_SUITE_P(
    AllKinds, RuleErrorTest,
    ::testing::Values(
        ErrorCase{"country = ", 1, 11, "expected a value after \"=\", found end of input"},
        ErrorCase{"", 1, 1, "expected a condition"},
        ErrorCase{"contry = \"CN\"", 1, 1, "did you mean: country"},
        ErrorCase{"country = \"CN\" and\n  totl_spend > 5", 2, 3, "did you mean: total_spend"},
        ErrorCase{"created_at before \"tomorrow\"", 1, 19, "invalid time \"tomorrow\""},
        ErrorCase{"created_at = \"2024-01-01\"", 1, 12, "created_at is a date: use before, after or within"},
        ErrorCase{"age >= \"30\"", 1, 8, "age is a number"},
        ErrorCase{"country > \"CN\"", 1, 9, "country is text"},
        ErrorCase{"total_spend > 1000", 1, 19, "a bare number is ambiguous"},
        ErrorCase{"total_spend > 1000 XYZ", 1, 20, "unknown currency"},
        ErrorCase{"order_count > 2 CNY", 1, 17, "is a number, not money"},
        ErrorCase{"tags = \"vip\"", 1, 6, "tags is a list: use contains"},
        ErrorCase{"city = \"上海\" and 年龄 > 3", 1, 17, "unknown field \"年龄\""},
        ErrorCase{"city = \"上海", 1, 8, "unterminated string"},
        ErrorCase{"city = \"a\\qb\"", 1, 10, "unknown escape \\q"},
        ErrorCase{"city = \"\\ud800\"", 1, 9, "low surrogate"},
        ErrorCase{"(country = \"CN\"", 1, 16, "expected \")\" to close the \"(\" at 1:1"},
        ErrorCase{"country = \"CN\" city = \"x\"", 1, 16, "expected \"and\", \"or\" or end of input"},
        ErrorCase{"did Order", 1, 5, "an event name in quotes"},
        ErrorCase{"did \"X\" >= 2.5 times", 1, 12, "a whole number of times"},
        ErrorCase{"did \"X\" within 7", 1, 16, "a duration such as 7d"},
        ErrorCase{"did \"X\" where category = \"a\"", 1, 15, "a property such as properties.category"},
        ErrorCase{"did \"X\" where properties.price > \"a\"", 1, 34, "compares numbers"},
        ErrorCase{"last_order within 30x", 1, 19, "right after the number 30"},
        ErrorCase{"birthday within 7d", 1, 10, "birthday takes \"within next\""},
        ErrorCase{"consent.marketing.fax", 1, 1, "unknown consent channel"},
        ErrorCase{"consent.spam", 1, 1, "unknown consent purpose"},
        ErrorCase{"country = \"CN\" and and", 1, 20, "expected a condition"},
        ErrorCase{"country in \"CN\"", 1, 12, "expected \"(\" to start the list"},
        ErrorCase{"country in (\"CN\" \"US\")", 1, 18, "expected \",\" or \")\""},
        ErrorCase{"segment VIP", 1, 9, "a segment name in quotes"},
        ErrorCase{"country = “CN”", 1, 11, "expected a quoted value"},
        ErrorCase{"created_at before 2024-02-30", 1, 19, "invalid date"},
        ErrorCase{"traits. = 1", 1, 1, "expected a key after each"},
        ErrorCase{"traits.plan > \"pro\"", 1, 15, "compares numbers"},
        ErrorCase{"country != ", 1, 12, "found end of input"},
        ErrorCase{"last_order within 99999999999999999d", 1, 19, "up to 100 years"},
        ErrorCase{"did \"X\" within 0d", 1, 9, "a window of 0 contains nothing"},
        ErrorCase{"total_spend > 99999999999999999999 CNY", 1, 15, "invalid amount"}));

TEST(RuleErrors, RejectsInvalidUtf8AtItsPosition) {
  RuleError error = ErrorOf("city = \"\xff\"");

  EXPECT_EQ(error.column, 9);
  EXPECT_NE(error.message.find("invalid UTF-8"), std::string::npos);
}

TEST(RuleLimits, RejectsRulesOverTenKilobytes) {
  std::string rule = "country = \"CN\"";
  while (rule.size() <= kMaxRuleBytes) rule += " or country = \"CN\"";

  RuleError error = ErrorOf(rule);

  EXPECT_NE(error.message.find("over the limit of 10240 bytes"), std::string::npos);
}

TEST(RuleLimits, RejectsNestingDeeperThan64) {
  std::string ok = std::string(64, '(') + "country = \"CN\"" + std::string(64, ')');
  std::string deep = std::string(65, '(') + "country = \"CN\"" + std::string(65, ')');
  std::string nots;
  for (int i = 0; i < 65; ++i) nots += "not ";

  EXPECT_NE(Parsed(ok), nullptr);
  EXPECT_NE(ErrorOf(deep).message.find("limit of 64 levels"), std::string::npos);
  EXPECT_EQ(ErrorOf(deep).column, 65);
  EXPECT_NE(ErrorOf(nots + "country = \"CN\"").message.find("limit of 64 levels"), std::string::npos);
}

TEST(RuleLimits, RejectsInListsOverAThousandItems) {
  auto list = [](int n) {
    std::string s = "order_count in (";
    for (int i = 0; i < n; ++i) s += (i ? "," : "") + std::to_string(i);
    return s + ")";
  };

  EXPECT_NE(Parsed(list(1000)), nullptr);
  EXPECT_NE(ErrorOf(list(1001)).message.find("more than 1000 items"), std::string::npos);
}

TEST(RuleCompile, ReportsInvalidFieldRuleWithPosition) {
  auto compiled = Compile("country = ");

  EXPECT_ERROR_CODE(compiled, ErrorCode::kInvalidArgument);
  EXPECT_FIELD_ERROR(compiled, "rule");
  EXPECT_EQ(compiled.error().message(), "rule: 1:11: expected a value after \"=\", found end of input");
}

TEST(QuoteRuleString, RoundTripsAnyNameThroughTheParser) {
  const std::string name = "VIP \"gold\" \\ 上海\n\x01";

  auto rule = Parsed("segment " + QuoteRuleString(name) + " and segment " + QuoteRuleString("B"));

  ASSERT_NE(rule, nullptr);
  EXPECT_EQ(rule->segment_refs(), (std::vector<std::string>{name, "B"}));
}

TEST(FieldCatalogue, ListsTypedFields) {
  const auto& fields = FieldCatalogue();

  auto spend = std::find_if(fields.begin(), fields.end(), [](const FieldInfo& f) { return f.name == "total_spend"; });
  ASSERT_NE(spend, fields.end());
  EXPECT_EQ(spend->type, FieldType::kMoney);
}

}  // namespace
}  // namespace panorama::segments
