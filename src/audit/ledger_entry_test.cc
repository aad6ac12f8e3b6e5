#include "audit/ledger_entry.h"

#include <gtest/gtest.h>

#include "tests/support/result_matchers.h"

namespace panorama::audit {
namespace {

LedgerEntry SampleEntry() {
  LedgerEntry e;
  e.seq = 5;
  e.at = FromUnixMillis(1700000000123);
  e.actor = "user:7";
  e.action = "customer.update";
  e.object_type = "customer";
  e.object_id = "42";
  e.fields = {"city", "email"};
  e.request_id = "req-1";
  e.ip = "203.0.113.0/24";
  return e;
}

constexpr const char* kSampleJson =
    R"({"action":"customer.update","actor":"user:7","at":1700000000123,"fields":["city","email"],"ids":[],)"
    R"("ip":"203.0.113.0/24","object_id":"42","object_type":"customer","outcome":"ok","request_id":"req-1",)"
    R"("seq":5})";

TEST(CanonicalJson, WritesSortedKeysWithoutWhitespace) {
  EXPECT_EQ(CanonicalJson(SampleEntry()), kSampleJson);
}

TEST(CanonicalJson, EscapesQuotesBackslashesAndControlCharactersOnly) {
  LedgerEntry e = SampleEntry();
  e.request_id = "a\"b\\c\nd\x01王";

  std::string json = CanonicalJson(e);

  EXPECT_NE(json.find(R"("request_id":"a\"b\\c\nd\u0001王")"), std::string::npos) << json;
}

TEST(CanonicalJson, ParsesBackWhatItWrote) {
  LedgerEntry e = SampleEntry();
  e.ids = {"1", "2"};
  e.request_id = "x\"\t\x02";

  auto parsed = ParseCanonicalJson(CanonicalJson(e));

  ASSERT_OK(parsed);
  EXPECT_EQ(CanonicalJson(*parsed), CanonicalJson(e));
}

TEST(CanonicalJson, RejectsDocumentsItDidNotWrite) {
  struct Case {
    std::string json;
    std::string field;
  };
  std::string good = kSampleJson;
  std::vector<Case> cases = {
      {"", "body"},
      {"[]", "body"},
      {good.substr(0, good.size() - 1), "body"},
      {good + " ", "body"},
      {R"({"actor":"x"})", "action"},
      {std::string(kSampleJson).replace(good.find("1700000000123"), 13, "\"now\""), "at"},
      {std::string(kSampleJson).replace(good.find("[\"city\""), 1, "{"), "fields"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.json);
    EXPECT_FIELD_ERROR(ParseCanonicalJson(c.json), c.field);
  }
}

// Reference values from Python: hashlib.sha256(b"pano-ledger-v1" + prev + body).hexdigest().
TEST(EntryHash, MatchesAnIndependentReference) {
  Hash prev;
  for (size_t i = 0; i < prev.size(); ++i) prev[i] = static_cast<unsigned char>(i);

  EXPECT_EQ(ToHex(EntryHash(prev, kSampleJson)), "6a772664467aedd871977e9f69d9db8f9e839bf160f37ed06201eba42ad4ef6d");
  EXPECT_EQ(ToHex(EntryHash(Hash{}, kSampleJson)),
            "5576ea9a2681746a2cbe4b0b013bdf6cd0f9a042cf267e4a2ba47db42439256d");
}

TEST(EntryHash, ChangesWithThePreviousHash) {
  Hash other{};
  other[31] = 1;

  EXPECT_NE(EntryHash(Hash{}, kSampleJson), EntryHash(other, kSampleJson));
}

TEST(HashHex, RoundTripsAndRejectsMalformed) {
  Hash h = Sha256("abc");

  EXPECT_EQ(ToHex(h), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(HashFromHex(ToHex(h)), h);
  EXPECT_FALSE(HashFromHex("abc"));
  EXPECT_FALSE(HashFromHex(std::string(64, 'g')));
}

}  // namespace
}  // namespace panorama::audit
