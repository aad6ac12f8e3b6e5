#include "ingest/event_privacy.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <chrono>
#include <iterator>
#include <memory>
#include <random>
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

std::string Serialize(const rapidjson::Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

// Equal as JSON values (members in any order: restoring appends what it puts back).
bool SameJson(const std::string& a, const std::string& b) {
  rapidjson::Document x;
  rapidjson::Document y;
  x.Parse(a.c_str());
  y.Parse(b.c_str());
  return !x.HasParseError() && !y.HasParseError() && x == y;
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
            R"("items":[{"user":{"email":"z@y.cn"}}]})");  // at path items.user.email, which is not listed
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
                        Case{{{std::string(129, 'k'), "personal"}}, "event_properties[0].key"},
                        Case{{{"plan", "public"}, {"contacts[].email", "personal"}}, "event_properties[1].key"}}) {
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

TEST(EventPrivacy, ArrayElementsHaveThePathOfTheirArrayAndArePutBackInTheirPlaces) {
  auto classify = Catalogue({{"contacts.email", "personal"},
                             {"groups.members.phone", "personal"},
                             {"emails", "personal"},
                             {"contacts.role", "public"}});

  auto out = ProtectEventData(
      R"({"contacts":[{"email":"a@x.cn","role":"cto"},{"role":"cfo"},"loose",{"email":"b@y.cn"},7,{"role":"ceo"}],)"
      R"("groups":[[{"members":[{"phone":"13900000001","id":1}]}],[],[{"members":[{"id":2}]}]],)"
      R"("emails":["c@z.cn","d@z.cn"],"other":[{"email":"x@y.cn"}]})",
      R"({"traits":{"contacts":[{"email":"e@w.cn"}]}})", classify);
  storage::EventRecord e = StoredAs(out);
  storage::EventRecord hidden = e;
  RestoreEventData(e, /*reveal=*/true);
  RestoreEventData(hidden, /*reveal=*/false);

  // Plain: every element keeps its place (an emptied object stays); a personal array ("emails") goes whole;
  // "other.email" is not listed ("email" classes the top-level key only).
  EXPECT_EQ(out.properties_json,
            R"({"contacts":[{"role":"cto"},{"role":"cfo"},"loose",{},7,{"role":"ceo"}],)"
            R"("groups":[[{"members":[{"id":1}]}],[],[{"members":[{"id":2}]}]],"other":[{"email":"x@y.cn"}]})");
  EXPECT_EQ(out.context_json, R"({"traits":{"contacts":[{}]}})");
  // Sealed: what was taken from element i at index i, null where nothing was, no trailing nulls.
  EXPECT_EQ(out.personal_json,
            R"({"properties":{"contacts":[{"email":"a@x.cn"},null,null,{"email":"b@y.cn"}],)"
            R"("groups":[[{"members":[{"phone":"13900000001"}]}]],"emails":["c@z.cn","d@z.cn"]},)"
            R"("context.traits":{"contacts":[{"email":"e@w.cn"}]}})");
  EXPECT_EQ(e.properties_json,
            R"({"contacts":[{"role":"cto","email":"a@x.cn"},{"role":"cfo"},"loose",{"email":"b@y.cn"},7,)"
            R"({"role":"ceo"}],"groups":[[{"members":[{"id":1,"phone":"13900000001"}]}],[],[{"members":[{"id":2}]}]],)"
            R"("other":[{"email":"x@y.cn"}],"emails":["c@z.cn","d@z.cn"]})");
  EXPECT_EQ(e.context_json, R"({"traits":{"contacts":[{"email":"e@w.cn"}]}})");
  EXPECT_EQ(hidden.properties_json,
            R"({"contacts":[{"role":"cto","email":null},{"role":"cfo"},"loose",{"email":null},7,{"role":"ceo"}],)"
            R"("groups":[[{"members":[{"id":1,"phone":null}]}],[],[{"members":[{"id":2}]}]],)"
            R"("other":[{"email":"x@y.cn"}],"emails":null})");
  EXPECT_EQ(hidden.context_json, R"({"traits":{"contacts":[{"email":null}]}})");
}

TEST(EventPrivacy, ArraysNestedTooDeepToLookIntoAreSealedWhole) {
  auto classify = Catalogue({{"deep.email", "personal"}});
  auto nested = [](int depth) {
    return std::string(depth, '[') + R"({"email":"a@x.cn","n":1})" + std::string(depth, ']');
  };

  auto within = ProtectEventData(R"({"deep":)" + nested(16) + "}", "{}", classify);
  auto beyond = ProtectEventData(R"({"deep":)" + nested(17) + R"(,"plan":"pro"})", "{}", classify);

  EXPECT_EQ(within.properties_json, R"({"deep":)" + std::string(16, '[') + R"({"n":1})" + std::string(16, ']') + "}");
  EXPECT_EQ(beyond.properties_json, R"({"plan":"pro"})");
  EXPECT_EQ(beyond.personal_json, R"({"properties":{"deep":)" + nested(17) + "}}");
}

// An event with a 10k-element array of objects (more than a 32 KB message can carry) is split and restored in
// linear time: each element costs one classification per member.
TEST(EventPrivacy, ALargeArrayOfObjectsIsSealedAndRestoredQuickly) {
  constexpr int kElements = 10000;
  std::string properties = R"({"contacts":[)";
  for (int i = 0; i < kElements; ++i) {
    properties += (i ? "," : "") + std::string(R"({"email":"u)") + std::to_string(i) + R"(@x.cn","n":)" +
                  std::to_string(i) + "}";
  }
  properties += "]}";
  auto classify = Catalogue({{"contacts.email", "personal"}});

  auto start = std::chrono::steady_clock::now();
  auto out = ProtectEventData(properties, "{}", classify);
  storage::EventRecord e = StoredAs(out);
  RestoreEventData(e, /*reveal=*/true);
  auto elapsed = std::chrono::steady_clock::now() - start;

  EXPECT_EQ(out.properties_json.find("@x.cn"), std::string::npos);
  EXPECT_NE(out.personal_json.find(R"({"email":"u9999@x.cn"}]}})"), std::string::npos);
  rapidjson::Document original;
  rapidjson::Document restored;
  original.Parse(properties.c_str());
  restored.Parse(e.properties_json.c_str());
  EXPECT_TRUE(original == restored);
  // Measured 17 ms (Release, split and restore); quadratic work over 10k elements would take seconds.
  EXPECT_LT(std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count(), 1500);
}

// Property test: for random JSON (objects, arrays of arrays, scalars) and a random catalogue over the same keys,
// the plain JSON holds no value at a personal path and every other value, and restoring gives back the original
// for personal.read and the original with every personal value nulled otherwise.
class RandomEvent {
 public:
  explicit RandomEvent(uint32_t seed) : rng_(seed) {}

  rapidjson::Value Object(int depth, rapidjson::Document::AllocatorType& alloc) {
    rapidjson::Value obj(rapidjson::kObjectType);
    std::vector<const char*> keys(std::begin(kKeys), std::end(kKeys));
    std::shuffle(keys.begin(), keys.end(), rng_);
    for (size_t i = 0, n = Pick(5); i < n; ++i) {
      obj.AddMember(rapidjson::Value(keys[i], alloc), Any(depth + 1, alloc), alloc);  // distinct keys
    }
    return obj;
  }

  // Mostly paths of two or three keys, so that many of them lead through arrays rather than seal a whole
  // top-level value; classes drawn personal half of the time.
  std::vector<privacy::DataClassEntry> Catalogue() {
    static constexpr const char* kClasses[] = {"personal", "personal-sensitive", "internal", "public"};
    std::vector<privacy::DataClassEntry> entries;
    for (size_t i = 0, n = 1 + Pick(5); i < n; ++i) {
      std::string path = kKeys[Pick(std::size(kKeys))];
      for (size_t k = 0, more = Pick(4) == 0 ? 0 : 1 + Pick(2); k < more; ++k) {
        path += std::string(".") + kKeys[Pick(std::size(kKeys))];
      }
      bool listed = false;
      for (const auto& e : entries) listed = listed || e.key == path;
      if (!listed) entries.push_back({path, kClasses[Pick(std::size(kClasses))]});
    }
    return entries;
  }

 private:
  static constexpr const char* kKeys[] = {"email", "user", "contacts", "Phone"};

  size_t Pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }

  // Object members: objects, arrays (of objects, arrays and scalars) and scalars down to depth 5, then scalars.
  rapidjson::Value Any(int depth, rapidjson::Document::AllocatorType& alloc, bool in_array = false) {
    static constexpr int kMember[] = {0, 1, 1, 2, 3, 4};  // 0 object, 1 array, 2 number, 3 true/null, 4 string
    static constexpr int kElement[] = {0, 0, 1, 2, 3, 4};
    int kind = depth >= 5 ? 2 + static_cast<int>(Pick(3)) : (in_array ? kElement : kMember)[Pick(6)];
    if (kind == 0) return Object(depth, alloc);
    if (kind == 1) {
      rapidjson::Value array(rapidjson::kArrayType);
      for (size_t i = 0, n = Pick(5); i < n; ++i) array.PushBack(Any(depth + 1, alloc, true), alloc);
      return array;
    }
    if (kind == 2) return rapidjson::Value(static_cast<int64_t>(Pick(1000)));
    if (kind == 3) return Pick(2) ? rapidjson::Value(true) : rapidjson::Value();
    std::string s = "s" + std::to_string(100000 + next_++) + "x";  // unique, none a prefix of another
    return rapidjson::Value(s.c_str(), static_cast<rapidjson::SizeType>(s.size()), alloc);
  }

  std::mt19937 rng_;
  int next_ = 0;
};

// What restoring without personal.read must give: `value` (at `path`) with every personal value null. Collects
// the strings at personal paths and the other strings.
void NullPersonal(rapidjson::Value& value, const std::string& path, const PathClassifier& classify,
                  std::vector<std::string>& personal, std::vector<std::string>& plain, bool under_personal) {
  if (value.IsString()) {
    (under_personal ? personal : plain).emplace_back(value.GetString(), value.GetStringLength());
  } else if (value.IsArray()) {
    for (auto& element : value.GetArray()) NullPersonal(element, path, classify, personal, plain, under_personal);
  } else if (value.IsObject()) {
    for (auto& m : value.GetObject()) {
      std::string child = (path.empty() ? "" : path + ".") + m.name.GetString();
      bool is_personal = under_personal || classify(child) == privacy::PathClass::kPersonal;
      NullPersonal(m.value, child, classify, personal, plain, is_personal);
      if (is_personal && !under_personal) m.value.SetNull();
    }
  }
}

TEST(EventPrivacy, SealingThenRestoringRandomJsonGivesBackTheOriginal) {
  int from_arrays = 0;  // events with values taken from objects inside arrays
  for (uint32_t seed = 1; seed <= 2000; ++seed) {
    RandomEvent random(seed);
    auto classify = Catalogue(random.Catalogue());
    rapidjson::Document doc(rapidjson::kObjectType);
    doc.AddMember("properties", random.Object(0, doc.GetAllocator()), doc.GetAllocator());
    doc.AddMember("traits", random.Object(0, doc.GetAllocator()), doc.GetAllocator());
    const std::string properties = Serialize(doc["properties"]);
    const std::string context = R"({"traits":)" + Serialize(doc["traits"]) + "}";
    std::vector<std::string> personal;
    std::vector<std::string> plain;
    NullPersonal(doc["properties"], "", classify, personal, plain, false);
    NullPersonal(doc["traits"], "", classify, personal, plain, false);
    const std::string nulled_properties = Serialize(doc["properties"]);
    const std::string nulled_context = R"({"traits":)" + Serialize(doc["traits"]) + "}";

    auto out = ProtectEventData(properties, context, classify);
    storage::EventRecord shown = StoredAs(out);
    storage::EventRecord hidden = StoredAs(out);
    RestoreEventData(shown, /*reveal=*/true);
    RestoreEventData(hidden, /*reveal=*/false);

    if (out.personal_json.find("[{") != std::string::npos) ++from_arrays;
    SCOPED_TRACE("seed " + std::to_string(seed) + ": " + properties + " " + context);
    for (const auto& s : personal) {
      EXPECT_EQ(out.properties_json.find(s), std::string::npos) << s;
      EXPECT_EQ(out.context_json.find(s), std::string::npos) << s;
      EXPECT_NE(out.personal_json.find(s), std::string::npos) << s;
      EXPECT_EQ(hidden.properties_json.find(s), std::string::npos) << s;
      EXPECT_EQ(hidden.context_json.find(s), std::string::npos) << s;
    }
    for (const auto& s : plain) {
      EXPECT_TRUE(out.properties_json.find(s) != std::string::npos || out.context_json.find(s) != std::string::npos)
          << s;
      EXPECT_EQ(out.personal_json.find(s), std::string::npos) << s;
    }
    EXPECT_TRUE(SameJson(shown.properties_json, properties)) << shown.properties_json;
    EXPECT_TRUE(SameJson(shown.context_json, context)) << shown.context_json;
    EXPECT_TRUE(SameJson(hidden.properties_json, nulled_properties)) << hidden.properties_json;
    EXPECT_TRUE(SameJson(hidden.context_json, nulled_context)) << hidden.context_json;
  }
  EXPECT_GT(from_arrays, 100);  // 185 with these seeds: the walk through arrays is exercised
}

}  // namespace
}  // namespace panorama::ingest
