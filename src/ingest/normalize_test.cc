#include "ingest/normalize.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace panorama::ingest {
namespace {

struct GoodCase {
  std::string_view input;
  std::string_view expected;
};

struct BadCase {
  std::string_view input;
  std::string_view reason_part;  // a phrase the violation's reason must contain
};

// Checks a rejection the house way: the code, the single field, and why.
template <typename T>
void ExpectFieldError(const Result<T>& result, std::string_view field, std::string_view reason_part,
                      std::string_view input) {
  ASSERT_FALSE(result.has_value()) << "accepted: " << input;
  EXPECT_EQ(result.error().code(), ErrorCode::kInvalidArgument) << input;
  ASSERT_EQ(result.error().violations().size(), 1u) << input;
  EXPECT_EQ(result.error().violations()[0].field, field) << input;
  EXPECT_NE(result.error().violations()[0].reason.find(reason_part), std::string::npos)
      << input << " → " << result.error().violations()[0].reason;
}

TEST(TrimUtf8, RemovesAsciiNbspIdeographicAndZeroWidthSpaces) {
  const GoodCase cases[] = {
      {"  abc  ", "abc"},
      {"\t\r\nabc\n", "abc"},
      {"\xC2\xA0王小明\xC2\xA0", "王小明"},
      {"\xE3\x80\x80\xE3\x80\x80张三\xE3\x80\x80", "张三"},
      {"\xEF\xBB\xBF"
       "id",
       "id"},
      {"a b", "a b"},
      {"\xE3\x80\x80", ""},
      {"", ""},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(TrimUtf8(c.input), c.expected) << c.input;
  }
}

TEST(FoldFullWidth, MapsFullWidthFormsToAscii) {
  EXPECT_EQ(FoldFullWidth("１３８ ００１３"), "138 0013");
  EXPECT_EQ(FoldFullWidth("ａｂｃ＠ｅｘａｍｐｌｅ．ｃｏｍ"), "abc@example.com");
  EXPECT_EQ(FoldFullWidth("王\xE3\x80\x80小明"), "王 小明");
}

TEST(NormalizePhone, AcceptsCommonWritingsAsE164) {
  struct Case {
    std::string_view input;
    std::string_view region;
    std::string_view expected;
  };
  const Case cases[] = {
      {"138 0013 8000", "CN", "+8613800138000"},
      {"13800138000", "CN", "+8613800138000"},
      {"+86 138-0013-8000", "CN", "+8613800138000"},
      {"+86 138-0013-8000", "US", "+8613800138000"},
      {"0086 138 0013 8000", "CN", "+8613800138000"},
      {"１３８００１３８０００", "CN", "+8613800138000"},
      {"(415) 555-2671", "US", "+14155552671"},
      {"+1 415 555 2671", "CN", "+14155552671"},
      {"010-6552 9988", "CN", "+861065529988"},
      {"+44 20 7946 0958", "CN", "+442079460958"},
      {"  138 0013 8000\xE3\x80\x80", "cn", "+8613800138000"},
  };
  for (const auto& c : cases) {
    auto phone = NormalizePhone(c.input, c.region);
    ASSERT_TRUE(phone.has_value()) << c.input << ": " << phone.error().message();
    EXPECT_EQ(*phone, c.expected) << c.input;
  }
}

TEST(NormalizePhone, RejectsInvalidNumbersWithReason) {
  const BadCase cases[] = {
      {"", "is empty"},
      {"   ", "is empty"},
      {"abc", "not a phone number"},
      {"1", "not a phone number"},
      {"138001", "not a valid number"},
      {"+86 138 0013 8000 1234 5678 9", "too long"},
      {"+999 1234 5678", "country code"},
      {"+1 555 555 555", "too short"},
      {"123456789012345678901234567890123456789012345678901234567890123456789", "too long"},
  };
  for (const auto& c : cases) {
    ExpectFieldError(NormalizePhone(c.input, "CN"), "phone", c.reason_part, c.input);
  }
}

TEST(NormalizePhone, RejectsNationalNumberWhenRegionUnknown) {
  ExpectFieldError(NormalizePhone("13800138000", "ZZ"), "phone", "country code", "ZZ region");
}

// PhoneNumberUtil is a pthread_once singleton and the country index a function-local static; both
// must be safe to first-use from several import workers at once.
TEST(NormalizePhone, IsSafeToCallFromSeveralThreads) {
  std::vector<std::string> results(4);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < results.size(); ++t) {
    threads.emplace_back([&results, t] {
      for (int i = 0; i < 200; ++i) {
        auto phone = NormalizePhone("138 0013 8000", "CN");
        auto country = NormalizeCountry("中国");
        results[t] += (phone ? *phone : "error") + (country ? *country : "error") + "\n";
      }
    });
  }
  for (std::thread& thread : threads) {
    thread.join();
  }

  for (const std::string& r : results) {
    EXPECT_EQ(r, results[0]);
  }
  EXPECT_TRUE(results[0].starts_with("+8613800138000CN\n"));
}

TEST(PhoneDigits, KeepsOnlyDigits) {
  EXPECT_EQ(PhoneDigits("+86 (138) 0013-8000"), "8613800138000");
  EXPECT_EQ(PhoneDigits("１３８-0013"), "1380013");
  EXPECT_EQ(PhoneDigits("n/a"), "");
}

TEST(NormalizeEmail, TrimsLowerCasesAndKeepsIdnDomains) {
  const GoodCase cases[] = {
      {"  Jane.Doe@Example.COM ", "jane.doe@example.com"},
      {"user+tag@sub.example.co.uk", "user+tag@sub.example.co.uk"},
      {"o'brien@example.ie", "o'brien@example.ie"},
      {"ＪＡＮＥ＠ｅｘａｍｐｌｅ．ｃｏｍ", "jane@example.com"},
      {"王@例子.公司", "王@例子.公司"},
      {"info@MÜNCHEN.de", "info@münchen.de"},
      {"a@b.co.", "a@b.co"},
      {"first_last-1@xn--fiqs8s.cn", "first_last-1@xn--fiqs8s.cn"},
  };
  for (const auto& c : cases) {
    auto email = NormalizeEmail(c.input);
    ASSERT_TRUE(email.has_value()) << c.input << ": " << email.error().message();
    EXPECT_EQ(*email, c.expected) << c.input;
  }
}

TEST(NormalizeEmail, RejectsMalformedAddresses) {
  const BadCase cases[] = {
      {"", "is empty"},
      {"plainaddress", "no @"},
      {"a@b@example.com", "more than one @"},
      {"@example.com", "local part is empty"},
      {".jane@example.com", "misplaced dot"},
      {"jane.@example.com", "misplaced dot"},
      {"ja..ne@example.com", "misplaced dot"},
      {"jane doe@example.com", "not allowed"},
      {"\"jane\"@example.com", "not allowed"},
      {"jane@localhost", "two labels"},
      {"jane@", "domain is empty"},
      {"jane@example..com", "empty label"},
      {"jane@-example.com", "hyphen"},
      {"jane@exa_mple.com", "not allowed"},
      {"jane@[127.0.0.1]", "not allowed"},
      {"jane@1.2.3.4", "numeric"},
      {"jane@example.com\xFF", "UTF-8"},
      {"useem@an.r\xE6\x9D\x9C\xC2\xA0.", "space"},       // found by fuzz_normalize: NBSP before a root dot
      {"jane@exa\xE3\x80\x80mple.com", "not allowed"},      // U+3000 folds to an ASCII space first
      {"jane@exa\xE2\x80\x8Bmple.com", "space"},            // U+200B zero-width space
  };
  for (const auto& c : cases) {
    ExpectFieldError(NormalizeEmail(c.input), "email", c.reason_part, c.input);
  }
}

TEST(NormalizeEmail, RejectsOverlongParts) {
  std::string long_local(65, 'a');
  ExpectFieldError(NormalizeEmail(long_local + "@example.com"), "email", "64 bytes", "long local");
  std::string long_label(64, 'b');
  ExpectFieldError(NormalizeEmail("a@" + long_label + ".com"), "email", "63 bytes", "long label");
  std::string long_all = "a@";
  for (int i = 0; i < 5; ++i) {
    long_all += std::string(60, 'c') + ".";
  }
  long_all += "com";  // 310 bytes, every label legal
  ExpectFieldError(NormalizeEmail(long_all), "email", "254 bytes", "long address");
}

TEST(NormalizeCountry, MapsCodesEnglishAndChineseNames) {
  const GoodCase cases[] = {
      {"CN", "CN"},        {"cn", "CN"},
      {"CHN", "CN"},       {"China", "CN"},
      {"中国", "CN"},      {"中国大陆", "CN"},
      {"中國", "CN"},      {"美国", "US"},
      {"USA", "US"},       {"United States", "US"},
      {"U.S.", "US"},      {"香港", "HK"},
      {"Hong Kong", "HK"}, {"台湾", "TW"},
      {"台灣", "TW"},      {"日本", "JP"},
      {"Japan", "JP"},     {"英国", "GB"},
      {"UK", "GB"},        {"United Kingdom", "GB"},
      {"新加坡", "SG"},    {"德国", "DE"},
      {"Germany", "DE"},   {"法国", "FR"},
      {"加拿大", "CA"},    {"澳大利亚", "AU"},
      {"韩国", "KR"},      {"South Korea", "KR"},
      {"澳门", "MO"},      {"EIRE", "IE"},
      {" france ", "FR"},  {"ＣＮ", "CN"},
  };
  for (const auto& c : cases) {
    auto country = NormalizeCountry(c.input);
    ASSERT_TRUE(country.has_value()) << c.input << ": " << country.error().message();
    EXPECT_EQ(*country, c.expected) << c.input;
  }
}

TEST(NormalizeCountry, RejectsUnknownNames) {
  const BadCase cases[] = {
      {"", "is empty"},
      {"Atlantis", "unknown country"},
      {"XX", "unknown country"},
      {"European Community", "unknown country"},
      {"火星", "unknown country"},
  };
  for (const auto& c : cases) {
    ExpectFieldError(NormalizeCountry(c.input), "country", c.reason_part, c.input);
  }
}

// Every Country value in the UCI Online Retail data
// (tests/fixtures/online_retail_sample.csv.ATTRIBUTION): all map except the three that name no
// country.
TEST(NormalizeCountry, MapsEveryCountryOfUciOnlineRetail) {
  const GoodCase cases[] = {
      {"Australia", "AU"},
      {"Austria", "AT"},
      {"Bahrain", "BH"},
      {"Belgium", "BE"},
      {"Brazil", "BR"},
      {"Canada", "CA"},
      {"Cyprus", "CY"},
      {"Czech Republic", "CZ"},
      {"Denmark", "DK"},
      {"EIRE", "IE"},
      {"Finland", "FI"},
      {"France", "FR"},
      {"Germany", "DE"},
      {"Greece", "GR"},
      {"Hong Kong", "HK"},
      {"Iceland", "IS"},
      {"Israel", "IL"},
      {"Italy", "IT"},
      {"Japan", "JP"},
      {"Lebanon", "LB"},
      {"Lithuania", "LT"},
      {"Malta", "MT"},
      {"Netherlands", "NL"},
      {"Norway", "NO"},
      {"Poland", "PL"},
      {"Portugal", "PT"},
      {"RSA", "ZA"},
      {"Saudi Arabia", "SA"},
      {"Singapore", "SG"},
      {"Spain", "ES"},
      {"Sweden", "SE"},
      {"Switzerland", "CH"},
      {"USA", "US"},
      {"United Arab Emirates", "AE"},
      {"United Kingdom", "GB"},
  };
  for (const auto& c : cases) {
    auto country = NormalizeCountry(c.input);
    ASSERT_TRUE(country.has_value()) << c.input;
    EXPECT_EQ(*country, c.expected) << c.input;
  }
  for (std::string_view none : {"Channel Islands", "European Community", "Unspecified"}) {
    ExpectFieldError(NormalizeCountry(none), "country", "unknown country", none);
  }
}

TEST(NormalizeGender, MapsCommonSpellings) {
  const GoodCase cases[] = {
      {"M", "male"},      {"male", "male"},     {"男", "male"},   {"先生", "male"},
      {"f", "female"},    {"Female", "female"}, {"女", "female"}, {"女士", "female"},
      {"other", "other"}, {"其他", "other"},    {"unknown", ""},  {"未知", ""},
  };
  for (const auto& c : cases) {
    auto gender = NormalizeGender(c.input);
    ASSERT_TRUE(gender.has_value()) << c.input;
    EXPECT_EQ(*gender, c.expected) << c.input;
  }
}

TEST(NormalizeGender, RejectsUnknownValues) {
  const BadCase cases[] = {{"", "is empty"}, {"yes", "unknown gender"}, {"男女", "unknown gender"}};
  for (const auto& c : cases) {
    ExpectFieldError(NormalizeGender(c.input), "gender", c.reason_part, c.input);
  }
}

TEST(NormalizeDate, AcceptsYearFirstAndChineseForms) {
  const GoodCase cases[] = {
      {"2024-05-01", "2024-05-01"},         {"2024/5/1", "2024-05-01"},
      {"2024.05.01", "2024-05-01"},         {"20240501", "2024-05-01"},
      {"2024年5月1日", "2024-05-01"},       {"2024年12月31", "2024-12-31"},
      {"２０２４-０２-２９", "2024-02-29"}, {" 1990/1/2 ", "1990-01-02"},
  };
  for (const auto& c : cases) {
    auto date = NormalizeDate(c.input);
    ASSERT_TRUE(date.has_value()) << c.input << ": " << date.error().message();
    EXPECT_EQ(*date, c.expected) << c.input;
  }
}

TEST(NormalizeDate, UsesDateOrderForYearLastForms) {
  EXPECT_EQ(NormalizeDate("12/1/2010", DateOrder::kMdy).value(), "2010-12-01");
  EXPECT_EQ(NormalizeDate("12/1/2010", DateOrder::kDmy).value(), "2010-01-12");
  EXPECT_EQ(NormalizeDate("2010/12/1", DateOrder::kDmy).value(), "2010-12-01");
}

TEST(NormalizeDate, RejectsImpossibleOrAmbiguousDates) {
  const BadCase cases[] = {
      {"", "is empty"},
      {"2023-02-29", "day does not exist"},
      {"2024-13-01", "month is out of range"},
      {"2024-04-31", "day does not exist"},
      {"2024-00-10", "month is out of range"},
      {"12/1/2010", "ambiguous"},
      {"24-05-01", "four digits"},
      {"2024-05", "not a date"},
      {"2024-05/01", "mixes separators"},
      {"May 1, 2024", "not a date"},
      {"2024-5-1-1", "not a date"},
      {"0000-01-01", "year is out of range"},
  };
  for (const auto& c : cases) {
    ExpectFieldError(NormalizeDate(c.input), "date", c.reason_part, c.input);
  }
}

TEST(ParseDateOrder, AcceptsThreeOrdersOnly) {
  EXPECT_EQ(ParseDateOrder("MDY").value(), DateOrder::kMdy);
  EXPECT_EQ(ParseDateOrder("dmy").value(), DateOrder::kDmy);
  EXPECT_EQ(ParseDateOrder("ymd").value(), DateOrder::kYmd);
  ExpectFieldError(ParseDateOrder("ydm"), "date_order", "ymd, mdy or dmy", "ydm");
}

TEST(ParseLocalDateTime, AppliesSourceOffsetOnlyWithoutExplicitZone) {
  struct Case {
    std::string_view input;
    DateOrder order;
    int offset_minutes;
    std::string_view expected_utc;
  };
  const Case cases[] = {
      {"2024-05-01T10:00:00Z", DateOrder::kYmd, 480, "2024-05-01T10:00:00.000Z"},
      {"2024-05-01T10:00:00+08:00", DateOrder::kYmd, 0, "2024-05-01T02:00:00.000Z"},
      {"2024-05-01 10:00:00", DateOrder::kYmd, 480, "2024-05-01T02:00:00.000Z"},
      {"2024-05-01 10:00", DateOrder::kYmd, 0, "2024-05-01T10:00:00.000Z"},
      {"2024-05-01", DateOrder::kYmd, 60, "2024-04-30T23:00:00.000Z"},
      {"2024/5/1 9:05", DateOrder::kYmd, 480, "2024-05-01T01:05:00.000Z"},
      {"12/1/2010 8:26", DateOrder::kMdy, 0, "2010-12-01T08:26:00.000Z"},
      {"1/12/2010 8:26:30", DateOrder::kDmy, -300, "2010-12-01T13:26:30.000Z"},
      {"2024年5月1日 10:00", DateOrder::kYmd, 480, "2024-05-01T02:00:00.000Z"},
  };
  for (const auto& c : cases) {
    auto at = ParseLocalDateTime(c.input, c.order, c.offset_minutes);
    ASSERT_TRUE(at.has_value()) << c.input << ": " << at.error().message();
    EXPECT_EQ(FormatIso8601(*at), c.expected_utc) << c.input;
  }
}

TEST(ParseLocalDateTime, RejectsBadTimes) {
  const BadCase cases[] = {
      {"", "is empty"},
      {"2024-05-01 25:00", "out of range"},
      {"2024-05-01 10:60", "out of range"},
      {"2024-05-01 10", "H:MM"},
      {"2024-05-01 10:5", "H:MM"},
      {"12/1/2010 8:26", "ambiguous"},
      {"2023-02-29 10:00", "day does not exist"},
      {"yesterday", "not a date"},
  };
  for (const auto& c : cases) {
    ExpectFieldError(ParseLocalDateTime(c.input, DateOrder::kYmd, 0), "placed_at", c.reason_part,
                     c.input);
  }
}

TEST(NormalizeExternalId, UndoesSpreadsheetFloats) {
  const GoodCase cases[] = {
      {"17850.0", "17850"}, {"17850.00", "17850"},  {" 17850 ", "17850"}, {"17850.5", "17850.5"},
      {"A-17.0", "A-17.0"}, {"C536379", "C536379"}, {".0", ".0"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(NormalizeExternalId(c.input), c.expected) << c.input;
  }
}

TEST(MaskValue, NeverShowsWholeEmailOrPhone) {
  EXPECT_EQ(MaskValue("email", "jane.doe@example.com"), "j***@example.com");
  EXPECT_EQ(MaskValue("email", "not-an-email"), "***");
  EXPECT_EQ(MaskValue("customer_email", "王@例子.公司"), "王***@例子.公司");
  EXPECT_EQ(MaskValue("phone", "+86 138 0013 8000"), "***8000");
  EXPECT_EQ(MaskValue("customer_phone", "123"), "***");
  EXPECT_EQ(MaskValue("name", "王小明"), "王小明");
  EXPECT_EQ(MaskValue("city", std::string(40, 'x')), std::string(32, 'x') + "…");
  EXPECT_EQ(MaskValue("city", "\xFFok"), "\xEF\xBF\xBDok");
}

}  // namespace
}  // namespace panorama::ingest
