#include <gtest/gtest.h>

#include <regex>

#include "security/access/masking.h"
#include "security/access/permissions.h"

namespace panorama::security::access {
namespace {

TEST(Masking, ShowsChineseMobileInNationalFormWithMiddleHidden) {
  EXPECT_EQ(MaskPhone("+8613812345678"), "138****5678");
}

TEST(Masking, KeepsCountryPrefixForOtherPhones) {
  EXPECT_EQ(MaskPhone("+447700900123"), "+447*****0123");
}

TEST(Masking, KeepsFirstLetterAndDomainOfEmail) {
  EXPECT_EQ(MaskEmail("zhang.wei@example.com"), "z***@example.com");
}

TEST(Masking, KeepsFirstCharacterOfEachNameWord) {
  EXPECT_EQ(MaskName("王小明"), "王**");
  EXPECT_EQ(MaskName("Jane Doe"), "J*** D**");
}

storage::CustomerRecord Sample() {
  storage::CustomerRecord c;
  c.name = "王小明";
  c.email = "zhang@example.com";
  c.phone = "+8613812345678";
  c.gender = "male";
  c.birthday = "1990-01-02";
  c.city = "上海";
  c.country = "CN";
  c.traits_json = R"({"vip":true})";
  return c;
}

TEST(Masking, AnalystSeesMaskedContactAndNoAddressOrBirthday) {
  auto c = Sample();

  auto masked = MaskCustomer(c, *BuiltInRolePermissions("analyst"));

  EXPECT_EQ(c.phone, "138****5678");
  EXPECT_EQ(c.email, "z***@example.com");
  EXPECT_EQ(c.name, "王**");
  EXPECT_EQ(c.city, "");
  EXPECT_EQ(c.birthday, "");
  EXPECT_EQ(c.traits_json, "{}");
  EXPECT_EQ(c.country, "CN");
  EXPECT_EQ(masked, (std::vector<std::string>{"name", "email", "phone", "gender", "birthday",
                                              "city", "address", "traits"}));
}

TEST(Masking, SupportSeesContactButNotBirthday) {
  auto c = Sample();

  auto masked = MaskCustomer(c, *BuiltInRolePermissions("support"));

  EXPECT_EQ(c.phone, "+8613812345678");
  EXPECT_EQ(c.city, "上海");
  EXPECT_EQ(c.birthday, "");
  EXPECT_EQ(masked, std::vector<std::string>{"birthday"});
}

TEST(Masking, AdminAndSalesSeeEverything) {
  for (const char* role : {"admin", "sales"}) {
    auto c = Sample();

    auto masked = MaskCustomer(c, *BuiltInRolePermissions(role));

    EXPECT_TRUE(masked.empty()) << role;
    EXPECT_EQ(c.birthday, "1990-01-02") << role;
  }
}

TEST(Masking, EveryCustomerFieldHasADataClass) {
  for (const char* field : {"name", "email", "phone", "gender", "birthday", "city", "address",
                            "country", "tags", "traits", "external_id", "owner_id", "team_id"}) {
    EXPECT_NE(FindCustomerField(field), nullptr) << field;
  }
}

TEST(Masking, DerivedAndQualifiedNamesReadTheirSourceField) {
  ASSERT_NE(SourceCustomerField("age"), nullptr);
  EXPECT_EQ(SourceCustomerField("age")->field, "birthday");
  ASSERT_NE(SourceCustomerField("traits.vip.level"), nullptr);
  EXPECT_EQ(SourceCustomerField("traits.vip.level")->field, "traits");
  ASSERT_NE(SourceCustomerField("city"), nullptr);
  EXPECT_EQ(SourceCustomerField("city")->data_class, DataClass::kPersonal);
  EXPECT_EQ(SourceCustomerField("total_spend"), nullptr);
  EXPECT_EQ(SourceCustomerField("consent.marketing"), nullptr);
  // Only the exact prefix counts: "traitsx" is no trait path.
  EXPECT_EQ(SourceCustomerField("traitsx"), nullptr);
  PermissionSet marketing = *BuiltInRolePermissions("marketing");
  EXPECT_TRUE(CanRead(marketing, SourceCustomerField("city")->data_class));
  EXPECT_FALSE(CanRead(marketing, SourceCustomerField("age")->data_class));
}

TEST(Permissions, NamesRoundTrip) {
  for (Permission p : AllPermissions()) {
    EXPECT_EQ(ParsePermission(PermissionName(p)), p);
  }
  EXPECT_EQ(ParsePermission("customers.everything"), std::nullopt);
}

TEST(Permissions, OnlyAdminManagesUsersKeysAndRoles) {
  for (std::string_view role : kBuiltInRoles) {
    auto set = *BuiltInRolePermissions(role);
    bool admin = role == "admin";
    EXPECT_EQ(set.Has(Permission::kUsersManage), admin) << role;
    EXPECT_EQ(set.Has(Permission::kRolesManage), admin) << role;
  }
  EXPECT_EQ(BuiltInRolePermissions("root"), std::nullopt);
}

TEST(Permissions, KeyScopesGrantOnlyTheirKindOfAccess) {
  EXPECT_EQ(KeyScopePermissions("ingest"), PermissionSet{Permission::kEventsIngest});
  EXPECT_FALSE(KeyScopePermissions("read").Has(Permission::kCustomersWrite));
  EXPECT_TRUE(KeyScopePermissions("read-write").Has(Permission::kCustomersWrite));
  EXPECT_FALSE(KeyScopePermissions("read-write").Has(Permission::kUsersManage));
  EXPECT_TRUE(KeyScopePermissions("admin").empty());
}

}  // namespace
}  // namespace panorama::security::access
