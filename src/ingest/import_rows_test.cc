#include "ingest/import_rows.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace panorama::ingest {
namespace {

CsvTable Table(std::string_view csv) {
  auto table = ReadCsv(csv);
  EXPECT_TRUE(table.has_value()) << (table ? "" : table.error().message());
  return table ? std::move(table).value() : CsvTable{};
}

ColumnMapping Mapping(std::string_view spec, ImportKind kind, const CsvTable& table) {
  auto mapping = ParseColumnMapping(spec, kind, table.header);
  EXPECT_TRUE(mapping.has_value()) << (mapping ? "" : mapping.error().message());
  return mapping ? std::move(mapping).value() : ColumnMapping{};
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// --- ColumnMapping
// -------------------------------------------------------------------------------------

TEST(ParseColumnMapping, BindsTargetsToHeaderColumns) {
  std::vector<std::string> header = {"姓名", "邮箱", "手机", "城市", "VIP等级"};

  auto mapping =
      ParseColumnMapping("name=姓名,email=邮箱，phone=手机, city = 城市,traits.vip=VIP等级",
                         ImportKind::kCustomers, header);

  ASSERT_TRUE(mapping.has_value()) << mapping.error().message();
  EXPECT_EQ(mapping->bindings.size(), 5u);
  EXPECT_EQ(mapping->ColumnOf("phone"), 2u);
  EXPECT_EQ(mapping->ColumnOf("traits.vip"), 4u);
  EXPECT_FALSE(mapping->ColumnOf("country").has_value());
}

TEST(ParseColumnMapping, MatchesHeaderCaseInsensitivelyAsFallback) {
  auto mapping = ParseColumnMapping("order_id=invoiceno", ImportKind::kOrders, {"InvoiceNo"});

  ASSERT_TRUE(mapping.has_value());
  EXPECT_EQ(mapping->ColumnOf("order_id"), 0u);
}

TEST(ParseColumnMapping, RejectsBadSpecsNamingTheProblem) {
  struct Case {
    std::string_view spec;
    ImportKind kind;
    std::string_view reason_part;
  };
  const std::vector<std::string> header = {"姓名", "邮箱", "dup", "dup"};
  const Case cases[] = {
      {"nickname=姓名", ImportKind::kCustomers, "unknown target field \"nickname\""},
      {"sku=姓名", ImportKind::kCustomers, "unknown target field \"sku\""},
      {"traits.x=姓名", ImportKind::kOrders, "unknown target field \"traits.x\""},
      {"name=昵称", ImportKind::kCustomers, "source column \"昵称\" is not in the header"},
      {"name", ImportKind::kCustomers, "is not target=source"},
      {"name=姓名,name=邮箱", ImportKind::kCustomers, "\"name\" is mapped twice"},
      {"traits.=姓名", ImportKind::kCustomers, "needs a traits key"},
      {"name=dup", ImportKind::kCustomers, "appears more than once"},
      {"", ImportKind::kCustomers, "maps no columns"},
  };
  for (const auto& c : cases) {
    auto mapping = ParseColumnMapping(c.spec, c.kind, header);
    ASSERT_FALSE(mapping.has_value()) << c.spec;
    EXPECT_EQ(mapping.error().code(), ErrorCode::kInvalidArgument) << c.spec;
    ASSERT_FALSE(mapping.error().violations().empty()) << c.spec;
    EXPECT_EQ(mapping.error().violations()[0].field, "mapping") << c.spec;
    EXPECT_NE(mapping.error().violations()[0].reason.find(c.reason_part), std::string::npos)
        << c.spec << " → " << mapping.error().violations()[0].reason;
  }
}

TEST(ParseColumnMapping, ReportsEveryProblemAtOnce) {
  auto mapping = ParseColumnMapping("nickname=a,name=missing", ImportKind::kCustomers, {"a"});

  ASSERT_FALSE(mapping.has_value());
  EXPECT_EQ(mapping.error().violations().size(), 2u);
}

TEST(IdentityColumnMapping, MapsKnownHeaderNamesAndIgnoresOthers) {
  auto mapping =
      IdentityColumnMapping(ImportKind::kCustomers, {"Email", "name", "notes", "traits.Tier"});

  ASSERT_TRUE(mapping.has_value());
  EXPECT_EQ(mapping->bindings.size(), 3u);
  EXPECT_EQ(mapping->ColumnOf("email"), 0u);
  EXPECT_EQ(mapping->ColumnOf("traits.Tier"), 3u);
}

TEST(IdentityColumnMapping, RejectsHeaderWithoutKnownTargets) {
  auto mapping = IdentityColumnMapping(ImportKind::kOrders, {"姓名", "邮箱"});

  ASSERT_FALSE(mapping.has_value());
  EXPECT_EQ(mapping.error().violations()[0].field, "mapping");
}

// --- Customers
// -----------------------------------------------------------------------------------------

TEST(ParseCustomerRows, NormalisesAValidRow) {
  CsvTable table = Table(
      "编号,姓名,邮箱,手机,性别,生日,城市,国家,标签,VIP等级,备注\n"
      "C001.0,\xE3\x80\x80王小明 , Wang@Example.COM ,138 0013 8000,男,1990年1月2日,北京,中国,"
      "vip；新客户|vip,金卡,\"说 \"\"你好\"\"\n第二行\"\n");
  ColumnMapping mapping = Mapping(
      "external_id=编号,name=姓名,email=邮箱,phone=手机,gender=性别,birthday=生日,city=城市,"
      "country=国家,"
      "tags=标签,traits.vip_level=VIP等级,traits.note=备注",
      ImportKind::kCustomers, table);

  auto parsed = ParseCustomerRows(table, mapping);

  ASSERT_TRUE(parsed.errors.empty()) << parsed.errors[0].field << ": " << parsed.errors[0].reason;
  ASSERT_EQ(parsed.drafts.size(), 1u);
  const storage::CustomerRecord& c = parsed.drafts[0].customer;
  EXPECT_EQ(parsed.drafts[0].line, 2);
  EXPECT_EQ(c.external_id, "C001.0");
  EXPECT_EQ(c.name, "王小明");
  EXPECT_EQ(c.email, "wang@example.com");
  EXPECT_EQ(c.phone, "+8613800138000");
  EXPECT_EQ(c.gender, "male");
  EXPECT_EQ(c.birthday, "1990-01-02");
  EXPECT_EQ(c.city, "北京");
  EXPECT_EQ(c.country, "CN");
  EXPECT_EQ(c.tags, (std::vector<std::string>{"vip", "新客户"}));
  EXPECT_EQ(c.traits_json, "{\"vip_level\":\"金卡\",\"note\":\"说 \\\"你好\\\"\\n第二行\"}");
  EXPECT_EQ(parsed.detected_encoding, "UTF-8");
  EXPECT_EQ(parsed.rows_total, 1u);
}

TEST(ParseCustomerRows, ReportsEachBrokenRowWithLineFieldAndReason) {
  CsvTable table = Table(
      "external_id,name,email,phone,gender,birthday,country\n"   // line 1
      "1,Ann,ann@example.com,+1 415 555 2671,f,1990-01-02,US\n"  // line 2: good
      "2,Bob,bob@@example.com,,m,,\n"                            // line 3: bad email
      ",\"Multi\nLine\",,12345,,,\n"                             // line 4-5: bad phone, then no key
      "4,Dee,dee@example.com,,x?,2023-02-29,Mars\n"              // line 6: three bad cells
      ",Eve,,,,,\n"                                              // line 7: no key
      "6,Fay,ANN@example.com,,,,\n"                     // line 8: duplicate email of line 2
      "1,Gus,gus@example.com,,,,\n"                     // line 9: duplicate external id
      "8,Hal\n"                                         // line 10: short row
      "9,Ivy,ivy@example.com,13800138000,女,,中国\n");  // line 11: good
  auto mapping = IdentityColumnMapping(ImportKind::kCustomers, table.header);
  ASSERT_TRUE(mapping.has_value());

  auto parsed = ParseCustomerRows(table, *mapping);

  const std::vector<RowError> expected = {
      {3, "email", "b***@@example.com", "has more than one @"},
      {4, "phone", "***2345", "is not a valid number for its country"},
      {6, "gender", "x?", "unknown gender (use male, female or other)"},
      {6, "birthday", "2023-02-29", "day does not exist in that month"},
      {6, "country", "Mars", "unknown country (use an ISO 3166-1 code or name)"},
      {7, "", "", "needs at least one of external_id, email or phone"},
      {8, "email", "a***@example.com", "duplicates line 2"},
      {9, "external_id", "1", "duplicates line 2"},
      {10, "", "", "has 2 fields; the header has 7"},
  };
  EXPECT_EQ(parsed.errors, expected);
  ASSERT_EQ(parsed.drafts.size(), 2u);
  EXPECT_EQ(parsed.drafts[0].line, 2);
  EXPECT_EQ(parsed.drafts[1].line, 11);
  EXPECT_EQ(parsed.drafts[1].customer.phone, "+8613800138000");
  EXPECT_EQ(parsed.rows_total, 9u);
}

TEST(ParseCustomerRows, UsesDefaultRegionForNationalPhones) {
  CsvTable table = Table("phone\n(415) 555-2671\n");
  auto mapping = IdentityColumnMapping(ImportKind::kCustomers, table.header);

  auto parsed = ParseCustomerRows(table, *mapping, {.default_region = "US"});

  ASSERT_EQ(parsed.drafts.size(), 1u);
  EXPECT_EQ(parsed.drafts[0].customer.phone, "+14155552671");
}

TEST(ParseCustomerRows, ReadsGbkFile) {
  // "姓名,手机\n王小明,13800138000\n" in GBK (iconv -t GBK), written out as bytes.
  const std::string gbk =
      "\xD0\xD5\xC3\xFB,\xCA\xD6\xBB\xFA\n\xCD\xF5\xD0\xA1\xC3\xF7,13800138000\n";
  CsvTable table = Table(gbk);
  ColumnMapping mapping = Mapping("name=姓名,phone=手机", ImportKind::kCustomers, table);

  auto parsed = ParseCustomerRows(table, mapping);

  EXPECT_EQ(parsed.detected_encoding, "GBK");
  ASSERT_EQ(parsed.drafts.size(), 1u);
  EXPECT_EQ(parsed.drafts[0].customer.name, "王小明");
}

// --- Orders
// --------------------------------------------------------------------------------------------

TEST(ParseOrderRows, GroupsLineItemsIntoOrders) {
  CsvTable table = Table(
      "order_id,customer_email,placed_at,currency,sku,product_name,category,quantity,unit_price,"
      "status\n"
      "A1,ann@example.com,2024-05-01 10:00,CNY,S1,茶杯,厨房,2,19.90,已完成\n"
      "B7,bob@example.com,2024-05-02 11:00,usd,S2,Mug,,1,5,\n"
      "A1,,,,S3,茶壶,厨房,1,99,\n");
  auto mapping = IdentityColumnMapping(ImportKind::kOrders, table.header);

  auto parsed = ParseOrderRows(table, *mapping, {.source_utc_offset_minutes = 480});

  ASSERT_TRUE(parsed.errors.empty()) << parsed.errors[0].field << ": " << parsed.errors[0].reason;
  ASSERT_EQ(parsed.drafts.size(), 2u);
  const OrderDraft& a1 = parsed.drafts[0];
  EXPECT_EQ(a1.order.external_id, "A1");
  EXPECT_EQ(a1.first_line, 2);
  EXPECT_EQ(a1.customer_ref.email, "ann@example.com");
  EXPECT_EQ(FormatIso8601(a1.order.placed_at), "2024-05-01T02:00:00.000Z");
  EXPECT_EQ(a1.order.total, (Money{2 * 1990 + 9900, "CNY"}));
  EXPECT_EQ(a1.order.status, "completed");
  ASSERT_EQ(a1.order.items.size(), 2u);
  EXPECT_EQ(a1.order.items[1].sku, "S3");
  EXPECT_EQ(a1.order.items[1].unit_price_minor, 9900);
  EXPECT_EQ(a1.item_categories, (std::vector<std::string>{"厨房", "厨房"}));
  EXPECT_EQ(parsed.drafts[1].order.total, (Money{500, "USD"}));
}

TEST(ParseOrderRows, ExplicitTotalWinsOverItemSum) {
  CsvTable table =
      Table("order_id,customer_external_id,placed_at,total\nX,17850.0,2024-05-01,100.5\n");
  auto mapping = IdentityColumnMapping(ImportKind::kOrders, table.header);

  auto parsed = ParseOrderRows(table, *mapping, {.currency = "gbp"});

  ASSERT_EQ(parsed.drafts.size(), 1u);
  EXPECT_EQ(parsed.drafts[0].order.total, (Money{10050, "GBP"}));
  EXPECT_EQ(parsed.drafts[0].customer_ref.external_id, "17850");
  EXPECT_TRUE(parsed.drafts[0].order.items.empty());
}

TEST(ParseOrderRows, DisagreeingRowDropsWholeOrderWithErrorOnThatRow) {
  CsvTable table = Table(
      "order_id,customer_phone,placed_at,sku,quantity,unit_price\n"
      "A1,13800138000,2024-05-01 10:00,S1,1,10\n"
      "A1,13800138000,2024-05-02 10:00,S2,1,10\n"
      "A1,13900139000,2024-05-01 10:00,S3,1,10\n"
      "B2,13800138000,2024-05-01 10:00,S1,1,10\n");
  auto mapping = IdentityColumnMapping(ImportKind::kOrders, table.header);

  auto parsed = ParseOrderRows(table, *mapping, {.currency = "CNY"});

  const std::vector<RowError> expected = {
      {3, "placed_at", "", "differs from line 2 of the same order"},
      {4, "customer_phone", "***9000", "differs from line 2 of the same order"},
  };
  EXPECT_EQ(parsed.errors, expected);
  ASSERT_EQ(parsed.drafts.size(), 1u);
  EXPECT_EQ(parsed.drafts[0].order.external_id, "B2");
  EXPECT_EQ(parsed.drafts[0].customer_ref.phone, "+8613800138000");
}

TEST(ParseOrderRows, RejectsBadRowsNamingFieldAndReason) {
  CsvTable table = Table(
      "order_id,customer_email,placed_at,currency,total,sku,product_name,quantity,unit_price,"
      "status\n"
      ",a@example.com,2024-05-01,CNY,,S1,,1,1,\n"       // 2: no order id
      "O3,,2024-05-01,CNY,,S1,,1,1,\n"                  // 3: no customer reference
      "O4,a@example.com,,CNY,,S1,,1,1,\n"               // 4: no placed_at
      "O5,a@example.com,2024-05-01,,,S1,,1,1,\n"        // 5: no currency, no default
      "O6,a@example.com,2024-05-01,CNY,,,,2,1,\n"       // 6: item without sku or name
      "O7,a@example.com,2024-05-01,CNY,,S1,,0,1,\n"     // 7: zero quantity
      "O8,a@example.com,2024-05-01,CNY,,S1,,1.5,1,\n"   // 8: fractional quantity
      "O9,a@example.com,2024-05-01,CNY,,S1,,1,-1,\n"    // 9: negative price
      "O10,a@example.com,2024-05-01,CNY,,S1,,1,abc,\n"  // 10: price not a number
      "O11,a@example.com,2024-05-01,CNY,,S1,,1,,\n"     // 11: item without price
      "O12,a@example.com,2024-05-01,CNY,,,,,,\n"        // 12: neither total nor items
      "O13,a@example.com,2024-13-01,CNY,1,,,,,\n"       // 13: bad date
      "O14,a@example.com,2024-05-01,RMB1,1,,,,,\n"      // 14: bad currency
      "O15,a@example.com,2024-05-01,CNY,1,,,,,??\n"     // 15: bad status
      "O16,not-an-email,2024-05-01,CNY,1,,,,,\n");      // 16: bad email
  auto mapping = IdentityColumnMapping(ImportKind::kOrders, table.header);

  auto parsed = ParseOrderRows(table, *mapping);

  const std::vector<RowError> expected = {
      {2, "order_id", "", "is required"},
      {3, "customer_ref", "",
       "customer reference is missing: fill customer_external_id, customer_email or "
       "customer_phone"},
      {4, "placed_at", "", "is required"},
      {5, "currency", "", "is required: map a currency column or set a default currency"},
      {6, "sku", "", "a line item needs sku or product_name"},
      {7, "quantity", "0", "must not be zero"},
      {8, "quantity", "1.5", "is not a whole number"},
      {9, "unit_price", "-1", "must not be negative"},
      {10, "unit_price", "abc", "amount is not a number"},
      {11, "unit_price", "", "is required for a line item"},
      {12, "total", "", "is required when the order has no line items"},
      {13, "placed_at", "2024-13-01", "month is out of range"},
      {14, "currency", "RMB1", "currency must be a three-letter ISO 4217 code"},
      {15, "status", "??", "must be a word such as completed, pending, cancelled or refunded"},
      {16, "customer_email", "***", "has no @"},
  };
  EXPECT_EQ(parsed.errors, expected);
  EXPECT_TRUE(parsed.drafts.empty());
  EXPECT_EQ(parsed.rows_total, 15u);
}

// UCI Online Retail, lines 1-300 and 1445-1451 of the concatenated file
// (tests/fixtures/*.ATTRIBUTION). Expected figures computed independently with Python's csv and
// decimal modules:
//   rows 306; 34 invoices with a CustomerID; invoice 536544 (7 rows) has none;
//   sum(Quantity*UnitPrice): 536365 = 139.12, 536381 = 449.98, C536391 = -141.48, 536394 = 1024.68.
class OnlineRetailSampleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto table = ReadCsv(ReadFile("tests/fixtures/online_retail_sample.csv"));
    ASSERT_TRUE(table.has_value()) << table.error().message();
    table_ = std::move(table).value();
    auto mapping = ParseColumnMapping(
        "order_id=InvoiceNo,sku=StockCode,product_name=Description,quantity=Quantity,placed_at="
        "InvoiceDate,"
        "unit_price=UnitPrice,customer_external_id=CustomerID",
        ImportKind::kOrders, table_.header);
    ASSERT_TRUE(mapping.has_value()) << mapping.error().message();
    parsed_ = ParseOrderRows(table_, *mapping, {.currency = "GBP", .date_order = DateOrder::kMdy});
  }

  const OrderDraft* Find(std::string_view order_id) const {
    for (const OrderDraft& d : parsed_.drafts) {
      if (d.order.external_id == order_id) {
        return &d;
      }
    }
    return nullptr;
  }

  CsvTable table_;
  ImportParse<OrderDraft> parsed_;
};

TEST_F(OnlineRetailSampleTest, YieldsOneDraftPerInvoiceWithCustomer) {
  EXPECT_EQ(parsed_.rows_total, 306u);
  EXPECT_EQ(parsed_.drafts.size(), 34u);
}

TEST_F(OnlineRetailSampleTest, TotalsMatchIndependentComputation) {
  struct Case {
    std::string_view invoice;
    int64_t total_pence;
    size_t items;
  };
  const Case cases[] = {
      {"536365", 13912, 7}, {"536381", 44998, 0}, {"C536391", -14148, 7}, {"536394", 102468, 0}};
  for (const auto& c : cases) {
    const OrderDraft* draft = Find(c.invoice);
    ASSERT_NE(draft, nullptr) << c.invoice;
    EXPECT_EQ(draft->order.total, (Money{c.total_pence, "GBP"})) << c.invoice;
    if (c.items > 0) {
      EXPECT_EQ(draft->order.items.size(), c.items) << c.invoice;
    }
  }
  const OrderDraft* first = Find("536365");
  EXPECT_EQ(first->customer_ref.external_id, "17850");
  EXPECT_EQ(FormatIso8601(first->order.placed_at), "2010-12-01T08:26:00.000Z");
  EXPECT_EQ(first->order.items[0].sku, "85123A");
  EXPECT_EQ(first->order.items[0].name, "WHITE HANGING HEART T-LIGHT HOLDER");
  EXPECT_EQ(first->order.items[0].quantity, 6);
  EXPECT_EQ(first->order.items[0].unit_price_minor, 255);
}

TEST_F(OnlineRetailSampleTest, InvoiceWithoutCustomerIdIsAnErrorNamingCustomerReference) {
  ASSERT_EQ(parsed_.errors.size(), 1u);
  EXPECT_EQ(parsed_.errors[0].line, 301);
  EXPECT_EQ(parsed_.errors[0].field, "customer_ref");
  EXPECT_NE(parsed_.errors[0].reason.find("customer reference"), std::string::npos);
  EXPECT_EQ(Find("536544"), nullptr);
}

}  // namespace
}  // namespace panorama::ingest
