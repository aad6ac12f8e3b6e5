#include "ingest/event_privacy.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "privacy/data_class_catalogue.h"

namespace panorama::ingest {
namespace {

privacy::PathClass DefaultPersonal(std::string_view path) {
  return privacy::ClassifyPath(privacy::DefaultEventPropertyClasses(), path);
}

// The event row as ingest stores it after ProtectEventData.
storage::EventRecord StoredAs(const ProtectedEventData& out) {
  storage::EventRecord e;
  e.properties_json = out.properties_json;
  e.context_json = out.context_json;
  e.personal_json = out.personal_json;
  return e;
}

// A classifier over `entries` as an admin would PUT them.
PathClassifier Catalogue(std::vector<privacy::DataClassEntry> entries) {
  auto sorted = std::make_shared<std::vector<privacy::DataClassEntry>>(privacy::ValidateCatalogue(entries).value());
  return [sorted](std::string_view path) { return privacy::ClassifyPath(*sorted, path); };
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

  // "email" classes the top-level key only; a nested one needs its own path ("nested.email").
  EXPECT_EQ(out.properties_json, R"({"plan":"pro","nested":{"email":"x@y.cn"}})");
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
  storage::EventRecord e = StoredAs(out);
  storage::EventRecord hidden = e;

  RestoreEventData(e, /*reveal=*/true);
  RestoreEventData(hidden, /*reveal=*/false);

  EXPECT_EQ(e.properties_json, R"({"plan":"pro","email":"a@b.cn"})");
  EXPECT_EQ(e.context_json, R"({"traits":{"name":"王芳"}})");
  EXPECT_EQ(hidden.properties_json, R"({"plan":"pro","email":null})");
  EXPECT_EQ(hidden.context_json, R"({"traits":{"name":null}})");
}

TEST(EventPrivacy, NestedPathsAreSealedAndTheirParentObjectsStay) {
  auto classify = Catalogue({{"user.email", "personal"},
                             {"User.Address.City", "personal-sensitive"},
                             {"user.age", "internal"},
                             {"profile", "personal"},
                             {"profile.tier", "public"}});  // under a personal parent: sealed all the same

  auto out = ProtectEventData(
      R"({"plan":"pro","user":{"Email":"a@b.cn","age":30,"address":{"city":"杭州","zip":"310000"}},)"
      R"("profile":{"tier":"gold"},"other":{"email":"x@y.cn"},"items":[{"user":{"email":"z@y.cn"}}]})",
      R"({"traits":{"user":{"email":"c@d.cn","id":7}}})", classify);

  EXPECT_EQ(out.properties_json,
            R"({"plan":"pro","user":{"age":30,"address":{"zip":"310000"}},"other":{"email":"x@y.cn"},)"
            R"("items":[{"user":{"email":"z@y.cn"}}]})");  // values inside arrays are not classed
  EXPECT_EQ(out.context_json, R"({"traits":{"user":{"id":7}}})");
  EXPECT_EQ(out.personal_json,
            R"({"properties":{"user":{"Email":"a@b.cn","address":{"city":"杭州"}},"profile":{"tier":"gold"}},)"
            R"("context.traits":{"user":{"email":"c@d.cn"}}})");
}

TEST(EventPrivacy, ANestedPathOverAValueThatIsNotAnObjectLeavesItPlain) {
  auto out = ProtectEventData(R"({"user":"bob","n":{"user":[1]}})", "{}", Catalogue({{"user.email", "personal"}}));

  EXPECT_EQ(out.properties_json, R"({"user":"bob","n":{"user":[1]}})");
  EXPECT_TRUE(out.personal_json.empty());
}

TEST(EventPrivacy, RestorePutsNestedValuesBackInsideTheirParentsOrNullsThem) {
  auto classify = Catalogue({{"user.email", "personal"}, {"user.address.city", "personal"}, {"profile", "personal"}});
  auto out = ProtectEventData(
      R"({"user":{"email":"a@b.cn","address":{"city":"杭州","zip":"310000"}},"profile":{"tier":"gold"}})",
      R"({"traits":{"user":{"email":"c@d.cn"}}})", classify);
  storage::EventRecord e = StoredAs(out);
  storage::EventRecord hidden = e;

  RestoreEventData(e, /*reveal=*/true);
  RestoreEventData(hidden, /*reveal=*/false);

  EXPECT_EQ(e.properties_json,
            R"({"user":{"address":{"zip":"310000","city":"杭州"},"email":"a@b.cn"},"profile":{"tier":"gold"}})");
  EXPECT_EQ(e.context_json, R"({"traits":{"user":{"email":"c@d.cn"}}})");
  // Hidden: each sealed leaf is null where it was; a whole object sealed ("profile") is null as a whole.
  EXPECT_EQ(hidden.properties_json,
            R"({"user":{"address":{"zip":"310000","city":null},"email":null},"profile":null})");
  EXPECT_EQ(hidden.context_json, R"({"traits":{"user":{"email":null}}})");
}

TEST(EventPrivacy, PathsAreClassedThroughTheirParents) {
  auto sorted = privacy::ValidateCatalogue({{"user.email", "personal"},
                                            {"user.age", "internal"},
                                            {"account", "personal"},
                                            {"account.plan", "public"},
                                            {"user_id", "personal"}})
                    .value();
  using privacy::PathClass;

  EXPECT_EQ(privacy::ClassifyPath(sorted, "User.EMAIL"), PathClass::kPersonal);
  EXPECT_EQ(privacy::ClassifyPath(sorted, "user"), PathClass::kHoldsPersonal);
  EXPECT_EQ(privacy::ClassifyPath(sorted, "user.age"), PathClass::kPlain);
  EXPECT_EQ(privacy::ClassifyPath(sorted, "user.email.domain"), PathClass::kPersonal);  // below a personal path
  EXPECT_EQ(privacy::ClassifyPath(sorted, "account.plan"), PathClass::kPersonal);       // the parent decides
  EXPECT_EQ(privacy::ClassifyPath(sorted, "use"), PathClass::kPlain);
  EXPECT_EQ(privacy::ClassifyPath(sorted, "user_id"), PathClass::kPersonal);
  EXPECT_EQ(privacy::ClassifyPath(sorted, "email"), PathClass::kPlain);  // not listed in this catalogue
}

TEST(EventPrivacy, CatalogueEntriesAreValidatedNamingTheField) {
  struct Case {
    std::vector<privacy::DataClassEntry> entries;
    const char* field;
  };
  for (const Case& c : {Case{{{"", "personal"}}, "event_properties[0].key"},
                        Case{{{"email", "personal"}, {"plan", "secretive"}}, "event_properties[1].class"},
                        Case{{{"Email", "personal"}, {"email", "internal"}}, "event_properties[1].key"},
                        Case{{{"plan", "public"}, {".email", "personal"}}, "event_properties[1].key"},
                        Case{{{"user.", "personal"}}, "event_properties[0].key"},
                        Case{{{"user..email", "personal"}}, "event_properties[0].key"},
                        Case{{{".", "personal"}}, "event_properties[0].key"},
                        Case{{{"a.b.c.d.e.f.g.h.i", "personal"}}, "event_properties[0].key"},  // 9 keys deep
                        Case{{{"user.\"email\"", "personal"}}, "event_properties[0].key"},
                        Case{{{"User.Email", "personal"}, {"user.email", "internal"}}, "event_properties[1].key"},
                        Case{{{std::string(129, 'k'), "personal"}}, "event_properties[0].key"}}) {
    auto valid = privacy::ValidateCatalogue(c.entries);
    ASSERT_FALSE(valid.has_value()) << c.field;
    ASSERT_FALSE(valid.error().violations().empty());
    EXPECT_EQ(valid.error().violations().front().field, c.field);
  }
  auto ok = privacy::ValidateCatalogue(
      {{"Wechat_OpenID", "personal"}, {"plan", "public"}, {"User.Address.City", "personal"}, {"a.b.c.d.e.f.g.h", "public"}});
  ASSERT_TRUE(ok.has_value());
  ASSERT_EQ(ok->size(), 4u);
  EXPECT_EQ((*ok)[0].key, "a.b.c.d.e.f.g.h");
  EXPECT_EQ((*ok)[1].key, "plan");
  EXPECT_EQ((*ok)[2].key, "user.address.city");
  EXPECT_EQ((*ok)[3].key, "wechat_openid");
}

}  // namespace
}  // namespace panorama::ingest
