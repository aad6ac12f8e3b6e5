#include "ingest/event_privacy.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "privacy/data_class_catalogue.h"

namespace panorama::ingest {
namespace {

bool DefaultPersonal(std::string_view key) {
  std::string k = privacy::CatalogueKey(key);
  for (const auto& e : privacy::DefaultEventPropertyClasses()) {
    if (e.key == k) return privacy::IsPersonalClass(e.data_class);
  }
  return false;
}

TEST(EventPrivacy, PersonalPropertiesAreSplitOutAndTheRestStaysPlain) {
  auto out = ProtectEventData(R"({"plan":"pro","Email":"a@b.cn","phone":"+8613800000000","n":3})", "{}",
                              DefaultPersonal);

  EXPECT_EQ(out.properties_json, R"({"plan":"pro","n":3})");
  EXPECT_EQ(out.personal_json, R"({"properties":{"Email":"a@b.cn","phone":"+8613800000000"}})");
  EXPECT_EQ(out.context_json, "{}");
}

TEST(EventPrivacy, NothingPersonalLeavesTheEventAsItWas) {
  auto out = ProtectEventData(R"({"plan":"pro","nested":{"email":"x@y.cn"}})", R"({"locale":"zh-CN"})",
                              DefaultPersonal);

  EXPECT_EQ(out.properties_json, R"({"plan":"pro","nested":{"email":"x@y.cn"}})");  // top-level keys only
  EXPECT_EQ(out.context_json, R"({"locale":"zh-CN"})");
  EXPECT_TRUE(out.personal_json.empty());
}

TEST(EventPrivacy, ContextIpIsTruncatedAndPersonalContextTraitsAreSealed) {
  auto v4 = ProtectEventData("{}", R"({"ip":"203.0.113.77","traits":{"email":"c@d.cn","tier":"gold"}})",
                             DefaultPersonal);
  auto v6 = ProtectEventData("{}", R"({"ip":"2001:db8:85a3:8d3:1319:8a2e:370:7348"})", DefaultPersonal);
  auto done = ProtectEventData("{}", R"({"ip":"203.0.113.0/24"})", DefaultPersonal);

  EXPECT_EQ(v4.context_json, R"({"ip":"203.0.113.0/24","traits":{"tier":"gold"}})");
  EXPECT_EQ(v4.personal_json, R"({"context.traits":{"email":"c@d.cn"}})");
  EXPECT_EQ(v6.context_json, R"({"ip":"2001:db8:85a3::/48"})");
  EXPECT_EQ(done.context_json, R"({"ip":"203.0.113.0/24"})");  // already truncated: unchanged
}

TEST(EventPrivacy, RestoreRevealsOrNullsThePersonalValues) {
  auto out = ProtectEventData(R"({"plan":"pro","email":"a@b.cn"})", R"({"traits":{"name":"王芳"}})",
                              DefaultPersonal);
  storage::EventRecord e;
  e.properties_json = out.properties_json;
  e.context_json = out.context_json;
  e.personal_json = out.personal_json;
  storage::EventRecord hidden = e;

  RestoreEventData(e, /*reveal=*/true);
  RestoreEventData(hidden, /*reveal=*/false);

  EXPECT_EQ(e.properties_json, R"({"plan":"pro","email":"a@b.cn"})");
  EXPECT_EQ(e.context_json, R"({"traits":{"name":"王芳"}})");
  EXPECT_EQ(hidden.properties_json, R"({"plan":"pro","email":null})");
  EXPECT_EQ(hidden.context_json, R"({"traits":{"name":null}})");
}

TEST(EventPrivacy, CatalogueEntriesAreValidatedNamingTheField) {
  struct Case {
    std::vector<privacy::DataClassEntry> entries;
    const char* field;
  };
  for (const Case& c : {Case{{{"", "personal"}}, "event_properties[0].key"},
                        Case{{{"email", "personal"}, {"plan", "secretive"}}, "event_properties[1].class"},
                        Case{{{"Email", "personal"}, {"email", "internal"}}, "event_properties[1].key"},
                        Case{{{"user.email", "personal"}}, "event_properties[0].key"},
                        Case{{{std::string(65, 'k'), "personal"}}, "event_properties[0].key"}}) {
    auto valid = privacy::ValidateCatalogue(c.entries);
    ASSERT_FALSE(valid.has_value()) << c.field;
    ASSERT_FALSE(valid.error().violations().empty());
    EXPECT_EQ(valid.error().violations().front().field, c.field);
  }
  auto ok = privacy::ValidateCatalogue({{"Wechat_OpenID", "personal"}, {"plan", "public"}});
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->front().key, "plan");
  EXPECT_EQ(ok->back().key, "wechat_openid");
}

}  // namespace
}  // namespace panorama::ingest
