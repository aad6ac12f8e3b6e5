// Segment messages through parsing, identity resolution and the group-commit pipeline into a real SQLite store.

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "features/feature_store.h"
#include "ingest/ingest_pipeline.h"
#include "ingest/segment_message.h"
#include "profile/customer_view.h"
#include "storage/store.h"
#include "tests/support/fake_clock.h"
#include "tests/support/result_matchers.h"
#include "tests/support/test_crypto.h"
#include "tests/support/temp_dir.h"

namespace panorama::ingest {
namespace {

const Timestamp kNow = FromUnixMillis(1'750'000'000'000);

class CountingObserver final : public IngestObserver {
 public:
  void OnCustomerCreated(CustomerId) override { ++created; }
  void OnMerged(CustomerId, CustomerId) override { ++merged; }
  void OnEvent(CustomerId, Timestamp) override { ++events; }
  void OnOrder(CustomerId, Timestamp, int64_t total) override {
    ++orders;
    spend += total;
  }
  std::atomic<int> created{0}, merged{0}, events{0}, orders{0};
  std::atomic<int64_t> spend{0};
};

class IngestFlowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    crypto_ = testing::MakeTestCrypto(dir_.File("keystore.db"));
    store_ = std::move(storage::OpenSqliteStore({.path = dir_.File("ingest.db"), .crypto = crypto_.get()})).value();
    pipeline_ = std::make_unique<IngestPipeline>(*store_, rates_, &observer_);
    pipeline_->Start();
  }

  Result<IngestStats> Send(std::string_view type, std::string_view body) {
    ASSIGN_OR_RETURN(auto messages, ParseSegmentRequest(body, type, kNow));
    return pipeline_->SubmitAndWait(std::move(messages));
  }

  CustomerId CustomerOf(std::string_view type, std::string_view value) {
    auto owner = store_->FindIdentity(type, value);
    PANORAMA_CHECK(owner.has_value() && owner->has_value());
    return **owner;
  }

  int64_t EventCount() {
    int64_t n = 0;
    PANORAMA_CHECK(store_->ScanEventFacts([&](const auto&) { ++n; }).has_value());
    return n;
  }

  testing::TempDir dir_;
  std::unique_ptr<security::FieldEncryptor> crypto_;
  ExchangeRates rates_;
  CountingObserver observer_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<IngestPipeline> pipeline_;
};

TEST_F(IngestFlowTest, IdentifyCreatesACustomerWithNormalisedTraits) {
  ASSERT_OK(Send("identify", R"({"userId":"u1","messageId":"m1","traits":{"name":"李雷",
      "email":" LiLei@Example.COM ","phone":"138 0013 8000","city":"上海","country":"中国","plan":"gold"}})"));

  auto customer = store_->GetCustomer(CustomerOf("user_id", "u1"));

  ASSERT_OK(customer);
  EXPECT_EQ(customer->name, "李雷");
  EXPECT_EQ(customer->email, "lilei@example.com");
  EXPECT_EQ(customer->phone, "+8613800138000");
  EXPECT_EQ(customer->country, "CN");
  EXPECT_EQ(customer->traits_json, R"({"plan":"gold"})");
  EXPECT_EQ(CustomerOf("email", "lilei@example.com"), customer->id);
  EXPECT_EQ(CustomerOf("phone", "+8613800138000"), customer->id);
}

TEST_F(IngestFlowTest, AnonymousVisitorWhoIdentifiesKeepsEarlierEvents) {
  ASSERT_OK(Send("track", R"({"anonymousId":"anon-7","event":"Product Viewed","messageId":"m1",
      "timestamp":"2025-01-01T10:00:00+08:00"})"));
  ASSERT_OK(Send("identify", R"({"userId":"u7","anonymousId":"anon-7","messageId":"m2","traits":{"email":"a@b.cn"}})"));

  CustomerId customer = CustomerOf("user_id", "u7");
  auto timeline = store_->ListTimeline({.customer = customer});

  ASSERT_OK(timeline);
  EXPECT_EQ(timeline->size(), 2u);
  EXPECT_EQ(CustomerOf("anonymous_id", "anon-7"), customer);
  EXPECT_EQ(store_->CountCustomers().value(), 1);
}

TEST_F(IngestFlowTest, SharedEmailMergesTwoRecordsAndRecordsLineage) {
  ASSERT_OK(Send("identify", R"({"anonymousId":"device-1","messageId":"m1","traits":{"email":"x@y.com"}})"));
  ASSERT_OK(Send("identify", R"({"anonymousId":"device-2","messageId":"m2","traits":{"phone":"+8613900001111"}})"));
  CustomerId first = CustomerOf("anonymous_id", "device-1");

  ASSERT_OK(Send("identify", R"({"userId":"u9","messageId":"m3","traits":{"email":"x@y.com","phone":"13900001111"}})"));

  EXPECT_EQ(CustomerOf("anonymous_id", "device-2"), CustomerOf("user_id", "u9"));
  EXPECT_EQ(CustomerOf("anonymous_id", "device-1"), CustomerOf("user_id", "u9"));
  EXPECT_EQ(store_->CountCustomers().value(), 1);
  EXPECT_EQ(store_->ListMerges(first)->size(), 1u);
  EXPECT_EQ(observer_.merged.load(), 1);
}

TEST_F(IngestFlowTest, TwoKnownAccountsAreNotFusedOnASharedEmail) {
  ASSERT_OK(Send("identify", R"({"userId":"dad","messageId":"m1","traits":{"email":"family@qq.com"}})"));

  ASSERT_OK(Send("identify", R"({"userId":"son","messageId":"m2","traits":{"email":"family@qq.com"}})"));

  EXPECT_NE(CustomerOf("user_id", "dad"), CustomerOf("user_id", "son"));
  EXPECT_EQ(store_->CountCustomers().value(), 2);
}

TEST_F(IngestFlowTest, AliasJoinsPreviousIdToTheUser) {
  ASSERT_OK(Send("track", R"({"anonymousId":"old-anon","event":"Signed Up","messageId":"m1"})"));
  ASSERT_OK(Send("identify", R"({"userId":"u5","messageId":"m2"})"));

  ASSERT_OK(Send("alias", R"({"previousId":"old-anon","userId":"u5","messageId":"m3"})"));

  EXPECT_EQ(CustomerOf("anonymous_id", "old-anon"), CustomerOf("user_id", "u5"));
  EXPECT_EQ(store_->CountCustomers().value(), 1);
}

TEST_F(IngestFlowTest, AliasFromAnOlderUserIdMergesTheTwoAccounts) {
  ASSERT_OK(Send("identify", R"({"userId":"old-account","messageId":"m1","traits":{"email":"o@x.cn"}})"));
  ASSERT_OK(Send("identify", R"({"userId":"new-account","messageId":"m2","traits":{"email":"n@x.cn"}})"));

  ASSERT_OK(Send("alias", R"({"previousId":"old-account","userId":"new-account","messageId":"m3"})"));

  EXPECT_EQ(CustomerOf("user_id", "old-account"), CustomerOf("user_id", "new-account"));
  EXPECT_EQ(store_->CountCustomers().value(), 1);
  auto stray = store_->FindIdentity("anonymous_id", "old-account");
  EXPECT_FALSE(stray->has_value());
}

TEST_F(IngestFlowTest, SentAtWithoutAClientTimestampKeepsTheReceiveTime) {
  auto parsed = ParseSegmentRequest(R"({"userId":"u","event":"e","sentAt":"2025-06-15T14:06:40Z"})", "track", kNow);

  ASSERT_OK(parsed);
  EXPECT_EQ(parsed->front().timestamp, kNow);
}

TEST_F(IngestFlowTest, OrderCompletedIsRecordedAsAnOrderWithItems) {
  ASSERT_OK(Send("track", R"({"userId":"u1","event":"Order Completed","messageId":"m1","properties":{
      "order_id":"SO-100","total":259.8,"currency":"cny","products":[
        {"product_id":"P1","sku":"TEE-01","name":"纯棉T恤","price":99.9,"quantity":2,"category":"服装"},
        {"sku":"SOCK-02","name":"袜子","price":60,"quantity":1}]}})"));

  auto orders = store_->ListOrders({.customer = CustomerOf("user_id", "u1")});

  ASSERT_OK(orders);
  ASSERT_EQ(orders->size(), 1u);
  EXPECT_EQ(orders->front().external_id, "SO-100");
  EXPECT_EQ(orders->front().total, (Money{25980, "CNY"}));
  ASSERT_EQ(orders->front().items.size(), 2u);
  EXPECT_EQ(orders->front().items[0].unit_price_minor, 9990);
  EXPECT_EQ(orders->front().items[0].quantity, 2);
  EXPECT_EQ(observer_.spend.load(), 25980);
  EXPECT_EQ(store_->ListProducts({})->size(), 2u);
}

TEST_F(IngestFlowTest, RetriedMessageIsStoredOnce) {
  std::string body = R"({"userId":"u1","event":"Order Completed","messageId":"same","properties":{"order_id":"A1","total":10}})";
  ASSERT_OK(Send("track", body));

  auto again = Send("track", body);

  ASSERT_OK(again);
  EXPECT_EQ(again->duplicates, 1);
  EXPECT_EQ(EventCount(), 1);
  EXPECT_EQ(store_->ListOrders({})->size(), 1u);
}

TEST_F(IngestFlowTest, BatchWithOneBadMessageIsRejectedWholeNamingTheField) {
  auto result = ParseSegmentRequest(R"({"batch":[
      {"type":"track","userId":"u1","event":"Fine","messageId":"a"},
      {"type":"identify","userId":"u2","traits":{"email":"not-an-email","phone":"12"}},
      {"type":"track","userId":"u3"},
      {"type":"shout","userId":"u4"}]})", "batch", kNow);

  EXPECT_ERROR_CODE(result, ErrorCode::kInvalidArgument);
  EXPECT_FIELD_ERROR(result, "batch[1].traits.email");
  EXPECT_FIELD_ERROR(result, "batch[1].traits.phone");
  EXPECT_FIELD_ERROR(result, "batch[2].event");
  EXPECT_FIELD_ERROR(result, "batch[3].type");
  EXPECT_EQ(EventCount(), 0);
}

struct BadInput {
  const char* name;
  const char* type;
  const char* body;
  ErrorCode code;
  const char* field;
};

class SegmentBadInputTest : public ::testing::TestWithParam<BadInput> {};

TEST_P(SegmentBadInputTest, IsRejectedWithTheFieldAndReason) {
  const BadInput& c = GetParam();

  auto result = ParseSegmentRequest(c.body, c.type, kNow);

  EXPECT_ERROR_CODE(result, c.code);
  if (*c.field) EXPECT_FIELD_ERROR(result, c.field);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, SegmentBadInputTest,
    ::testing::Values(
        BadInput{"MalformedJson", "track", R"({"userId":"u1",)", ErrorCode::kInvalidArgument, "body"},
        BadInput{"NotAnObject", "track", R"([1,2])", ErrorCode::kInvalidArgument, "body"},
        BadInput{"NoIdentity", "track", R"({"event":"x"})", ErrorCode::kInvalidArgument, "userId"},
        BadInput{"UserIdWrongType", "identify", R"({"userId":{"a":1}})", ErrorCode::kInvalidArgument, "userId"},
        BadInput{"TraitsNotObject", "identify", R"({"userId":"u","traits":"x"})", ErrorCode::kInvalidArgument,
                 "traits"},
        BadInput{"BadTimestamp", "track", R"({"userId":"u","event":"e","timestamp":"yesterday"})",
                 ErrorCode::kInvalidArgument, "timestamp"},
        BadInput{"BadEmail", "identify", R"({"userId":"u","traits":{"email":"a@"}})", ErrorCode::kInvalidArgument,
                 "traits.email"},
        BadInput{"EmailWrongType", "identify", R"({"userId":"u","traits":{"email":42}})",
                 ErrorCode::kInvalidArgument, "traits.email"},
        BadInput{"BadPhone", "identify", R"({"userId":"u","traits":{"phone":"123"}})", ErrorCode::kInvalidArgument,
                 "traits.phone"},
        BadInput{"OrderWithoutId", "track", R"({"userId":"u","event":"Order Completed","properties":{"total":1}})",
                 ErrorCode::kInvalidArgument, "properties.order_id"},
        BadInput{"NegativeQuantity", "track",
                 R"({"userId":"u","event":"Order Completed","properties":{"order_id":"o","products":[{"sku":"s","quantity":-1}]}})",
                 ErrorCode::kInvalidArgument, "properties.products[0].quantity"},
        BadInput{"AliasWithoutPreviousId", "alias", R"({"userId":"u"})", ErrorCode::kInvalidArgument, "previousId"},
        BadInput{"EmptyBatch", "batch", R"({"batch":[]})", ErrorCode::kInvalidArgument, "batch"},
        BadInput{"BatchNotArray", "batch", R"({"batch":{}})", ErrorCode::kInvalidArgument, "batch"}),
    [](const auto& test_case) { return std::string(test_case.param.name); });

TEST(SegmentLimits, OversizeMessageAndBatchAreRefused) {
  std::string big_property(40 * 1024, 'x');
  std::string message = R"({"userId":"u","event":"e","properties":{"p":")" + big_property + R"("}})";
  std::string batch = R"({"batch":[)";
  for (int i = 0; i < 20; ++i) batch += (i ? "," : "") + std::string(R"({"type":"track","userId":"u","event":"e","properties":{"p":")") + std::string(30 * 1024, 'y') + R"("}})";
  batch += "]}";

  EXPECT_ERROR_CODE(ParseSegmentRequest(message, "track", kNow), ErrorCode::kResourceExhausted);
  EXPECT_ERROR_CODE(ParseSegmentRequest(batch, "batch", kNow), ErrorCode::kResourceExhausted);
}

TEST(SegmentTimestamps, ClientClockSkewIsCorrectedWithSentAt) {
  // The device clock runs one hour fast: both originalTimestamp and sentAt are an hour ahead of the server.
  auto parsed = ParseSegmentRequest(R"({"userId":"u","event":"e","originalTimestamp":"2025-06-15T16:06:40Z",
      "sentAt":"2025-06-15T16:06:50Z"})", "track", FromUnixMillis(1'750'000'000'000 + 10'000 - 3'600'000));

  ASSERT_OK(parsed);
  EXPECT_EQ(parsed->front().timestamp, FromUnixMillis(1'750'000'000'000 - 3'600'000));
}

TEST_F(IngestFlowTest, ConcurrentRequestsAreAllAcknowledgedAndStored) {
  constexpr int kThreads = 8, kPerThread = 50;
  std::vector<std::thread> threads;
  std::atomic<int> acknowledged{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string body = R"({"userId":"u)" + std::to_string(t) + R"(","event":"Clicked","messageId":"t)" +
                           std::to_string(t) + "-" + std::to_string(i) + R"("})";
        if (Send("track", body).has_value()) ++acknowledged;
      }
    });
  }
  for (auto& th : threads) th.join();

  EXPECT_EQ(acknowledged.load(), kThreads * kPerThread);
  EXPECT_EQ(EventCount(), kThreads * kPerThread);
  EXPECT_EQ(store_->CountCustomers().value(), kThreads);
}

// R12: the 360° view is several reads. An alias merge that commits after the view resolved the customer and
// before it read the timeline moved every event to the survivor; the view then showed the merged-away record
// with an empty timeline — a read missing appends acknowledged before it began.
TEST_F(IngestFlowTest, CustomerViewReadAcrossAMergeShowsTheSurvivorWithEveryEvent) {
  ASSERT_OK(Send("identify", R"({"userId":"u-a","messageId":"a1","traits":{"email":"a@example.cn"}})"));
  ASSERT_OK(Send("track", R"({"userId":"u-a","event":"Append","messageId":"a2"})"));
  ASSERT_OK(Send("identify", R"({"userId":"u-b","messageId":"b1","traits":{"email":"b@example.cn"}})"));
  ASSERT_OK(Send("track", R"({"userId":"u-b","event":"Append","messageId":"b2"})"));
  CustomerId a = CustomerOf("user_id", "u-a"), b = CustomerOf("user_id", "u-b");
  testing::FakeClock clock(kNow);
  features::FeatureStore features(clock);
  profile::CustomerViewService views(*store_, features, clock);
  bool merged = false;
  views.SetBeforeTimelineReadForTest([&] {
    if (merged) return;
    merged = true;
    // u-b owns the message's user id, so u-a's record is merged into u-b's.
    ASSERT_OK(Send("alias", R"({"userId":"u-b","previousId":"u-a","messageId":"m1"})"));
  });

  auto view = views.Get(a, {.timeline_limit = 50});

  ASSERT_OK(view);
  ASSERT_TRUE(merged);
  EXPECT_EQ(view->customer.id, b);
  std::set<std::string> messages;
  for (const auto& item : view->timeline) messages.insert(std::get<storage::EventRecord>(item.record).message_id);
  EXPECT_EQ(messages, (std::set<std::string>{"a1", "a2", "b1", "b2", "m1"}));
}

// R12 (timeline paging): a merge between two page reads brings the survivor's events in among the merged
// record's; the keyset cursor (time, kind, id) of page one still marks the same place, as merges keep row ids
// and times, so the pages together hold every event of the merged record once.
TEST_F(IngestFlowTest, TimelinePagesReadAcrossAMergeHoldEveryEventOfTheMergedRecordOnce) {
  for (int i = 1; i <= 4; ++i) {
    std::string at = "2025-01-01T10:0" + std::to_string(2 * i) + ":00Z";
    ASSERT_OK(Send("track", R"({"userId":"u-a","event":"Append","messageId":"a)" + std::to_string(i) +
                                R"(","timestamp":")" + at + R"("})"));
    at = "2025-01-01T10:0" + std::to_string(2 * i + 1) + ":00Z";
    ASSERT_OK(Send("track", R"({"userId":"u-b","event":"Append","messageId":"b)" + std::to_string(i) +
                                R"(","timestamp":")" + at + R"("})"));
  }
  CustomerId a = CustomerOf("user_id", "u-a");
  testing::FakeClock clock(kNow);
  features::FeatureStore features(clock);
  profile::CustomerViewService views(*store_, features, clock);
  auto first = views.Get(a, {.timeline_limit = 2});
  ASSERT_OK(first);
  ASSERT_TRUE(first->next_cursor.has_value());

  ASSERT_OK(Send("alias", R"({"userId":"u-b","previousId":"u-a","messageId":"m1","timestamp":"2025-01-01T09:00:00Z"})"));
  std::vector<std::string> seen;
  for (const auto& item : first->timeline) seen.push_back(std::get<storage::EventRecord>(item.record).message_id);
  auto rest = views.Get(a, {.timeline_limit = 50, .cursor = first->next_cursor});

  ASSERT_OK(rest);
  EXPECT_EQ(rest->customer.id, CustomerOf("user_id", "u-b"));
  for (const auto& item : rest->timeline) seen.push_back(std::get<storage::EventRecord>(item.record).message_id);
  std::vector<std::string> mine;
  for (const auto& m : seen) {
    if (m.starts_with("a")) mine.push_back(m);
  }
  EXPECT_EQ(mine, (std::vector<std::string>{"a4", "a3", "a2", "a1"}));
}

}  // namespace
}  // namespace panorama::ingest
