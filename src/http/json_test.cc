#include "http/json.h"

#include <limits>

#include <gtest/gtest.h>

namespace panorama::http {
namespace {

TEST(JsonWriter, WritesNestedValuesCompactly) {
  JsonWriter json;

  json.StartObject();
  json.Key("id").Int64(-42);
  json.Key("n").Uint64(18446744073709551615u);
  json.Key("ok").Bool(true);
  json.Key("none").Null();
  json.Key("tags").StartArray().String("a").String("b").EndArray();
  json.EndObject();

  EXPECT_EQ(json.TakeString(),
            R"({"id":-42,"n":18446744073709551615,"ok":true,"none":null,"tags":["a","b"]})");
}

TEST(JsonWriter, EscapesQuotesAndControlCharactersKeepsUtf8) {
  JsonWriter json;

  json.String("say \"你好\"\n\t");

  EXPECT_EQ(json.TakeString(), "\"say \\\"你好\\\"\\n\\t\"");
}

TEST(JsonWriter, NonFiniteDoubleIsNull) {
  JsonWriter json;

  json.StartArray().Double(1.5).Double(std::numeric_limits<double>::quiet_NaN()).EndArray();

  EXPECT_EQ(json.TakeString(), "[1.5,null]");
}

TEST(JsonWriter, RawJsonIsInsertedAsOneValue) {
  JsonWriter json;

  json.StartObject().Key("a").RawJson(R"({"x":[1,2]})").Key("b").Int64(1).EndObject();

  EXPECT_EQ(json.TakeString(), R"({"a":{"x":[1,2]},"b":1})");
}

TEST(JsonWriter, TakeStringResetsForTheNextValue) {
  JsonWriter json;
  json.StartArray().EndArray();
  (void)json.TakeString();

  json.StartObject().EndObject();

  EXPECT_EQ(json.TakeString(), "{}");
}

}  // namespace
}  // namespace panorama::http
