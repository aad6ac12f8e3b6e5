// ConsentService's "granted now" bitmaps (consent_bitmaps.h) on a real SQLite file: for random consent
// histories (grants, withdrawals, purpose/channel mixes, ingest-style commits, restrictions, merges, erasures)
// the bitmaps answer exactly what MaySend / MayProcess / Permitted answer for every customer, and the bitmaps
// kept up to date change by change equal the ones a fresh Load() rebuilds from the store.

#include "privacy/consent_bitmaps.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "privacy/consent_service.h"
#include "storage/store.h"
#include "tests/support/fake_clock.h"
#include "tests/support/result_matchers.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_crypto.h"

namespace panorama::privacy {
namespace {

using namespace std::chrono_literals;
using storage::ConsentRecord;

const Timestamp kNow = FromUnixMillis(1'767'225'600'000);  // 2026-01-01T00:00:00Z

// Every purpose with the purpose level, every channel and one unknown channel.
std::vector<std::pair<std::string, std::string>> AllQuestions() {
  std::vector<std::pair<std::string, std::string>> out;
  for (auto purpose : kPurposes) {
    out.emplace_back(purpose, "");
    for (auto channel : kChannels) out.emplace_back(purpose, channel);
    out.emplace_back(purpose, "fax");
  }
  out.emplace_back("nonsense", "");
  out.emplace_back("nonsense", "email");
  return out;
}

std::set<int64_t> Members(const ::Roaring& bitmap) {
  std::set<int64_t> out;
  for (uint32_t id : bitmap) out.insert(id);
  return out;
}

class ConsentBitmapsTest : public ::testing::Test {
 protected:
  ConsentBitmapsTest() {
    crypto_ = testing::MakeTestCrypto(dir_.File("keystore.db"), /*durable=*/false);
    auto opened = storage::OpenSqliteStore({.path = dir_.File("c.db"), .crypto = crypto_.get(), .synchronous_full = false});
    if (!opened) std::abort();
    store_ = std::move(*opened);
    consents_ = std::make_unique<ConsentService>(*store_, clock_);
  }

  CustomerId AddCustomer() {
    storage::CustomerRecord c;
    c.created_at = c.updated_at = clock_.Now();
    CustomerId id;
    EXPECT_OK(store_->Write([&](storage::WriteTxn& txn) -> Result<void> {
      ASSIGN_OR_RETURN(id, txn.InsertCustomer(c));
      return Ok();
    }));
    return id;
  }

  // The bitmap of every question against the per-customer functions for ids 1 … max_id, and against Permitted.
  void ExpectBitmapsMatchTheGate(const ConsentService& service, int64_t max_id, const std::string& where) {
    for (const auto& [purpose, channel] : AllQuestions()) {
      const ::Roaring bitmap = ConsentBitmapReader::Granted(service, purpose, channel);
      std::set<int64_t> want;
      for (int64_t id = 1; id <= max_id; ++id) {
        const bool may = channel.empty() ? service.MayProcess(CustomerId(id), purpose)
                                         : service.MaySend(CustomerId(id), purpose, channel);
        if (may) want.insert(id);
      }
      EXPECT_EQ(Members(bitmap), want) << where << ": " << purpose << "." << channel;
      std::set<int64_t> permitted;
      for (CustomerId c : service.Permitted(purpose, channel)) permitted.insert(c.value());
      EXPECT_EQ(permitted, want) << where << ": Permitted " << purpose << "." << channel;
      // Intersect is the same set cut to `with`.
      ::Roaring odd;
      for (uint32_t id = 1; id <= static_cast<uint32_t>(max_id); id += 2) odd.add(id);
      std::set<int64_t> odd_want;
      for (int64_t id : want) {
        if (id % 2 == 1) odd_want.insert(id);
      }
      EXPECT_EQ(Members(ConsentBitmapReader::Intersect(service, purpose, channel, odd)), odd_want)
          << where << ": Intersect " << purpose << "." << channel;
    }
  }

  testing::TempDir dir_;
  testing::FakeClock clock_{kNow};
  std::unique_ptr<security::FieldEncryptor> crypto_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<ConsentService> consents_;
};

ConsentRecord Change(std::string purpose, std::string channel, bool granted, std::string source = "api") {
  ConsentRecord c;
  c.purpose = std::move(purpose);
  c.channel = std::move(channel);
  c.granted = granted;
  c.lawful_basis = "consent";
  c.source = std::move(source);
  c.policy_version = "2026-01";
  c.actor = "user:1";
  return c;
}

TEST_F(ConsentBitmapsTest, KnownCasesFollowTheGate) {
  ASSERT_OK(consents_->Load());
  std::vector<CustomerId> ids;
  for (int i = 0; i < 6; ++i) ids.push_back(AddCustomer());
  ASSERT_OK(consents_->Record(ids[0], {Change("marketing", "email", true)}));
  ASSERT_OK(consents_->Record(ids[1], {Change("marketing", "email", true), Change("marketing", "", false)}));
  ASSERT_OK(consents_->Record(ids[2], {Change("marketing", "email", true), Change("marketing", "", true)}));
  ASSERT_OK(consents_->Record(ids[3], {Change("marketing", "email", true)}));
  ASSERT_OK(consents_->Record(ids[3], {Change("marketing", "email", false)}));
  ASSERT_OK(consents_->Record(ids[4], {Change("marketing", "email", true), Change("marketing", "", true)}));
  consents_->OnRestricted(ids[4], true);

  auto email = Members(ConsentBitmapReader::Granted(*consents_, "marketing", "email"));
  EXPECT_EQ(email, (std::set<int64_t>{ids[0].value(), ids[2].value()}));  // withdrawn, revoked, restricted: out
  EXPECT_EQ(Members(ConsentBitmapReader::Granted(*consents_, "marketing", "")), (std::set<int64_t>{ids[2].value()}));
  EXPECT_TRUE(ConsentBitmapReader::Granted(*consents_, "marketing", "fax").isEmpty());
  EXPECT_TRUE(ConsentBitmapReader::Granted(*consents_, "spam", "").isEmpty());

  // Lifting the withdrawal and the restriction brings them back; erasure takes one out.
  ASSERT_OK(consents_->Record(ids[1], {Change("marketing", "", true)}));
  consents_->OnRestricted(ids[4], false);
  consents_->OnErased(ids[0]);
  email = Members(ConsentBitmapReader::Granted(*consents_, "marketing", "email"));
  EXPECT_EQ(email, (std::set<int64_t>{ids[1].value(), ids[2].value(), ids[4].value()}));
  ExpectBitmapsMatchTheGate(*consents_, ids.back().value(), "known cases");
}

TEST_F(ConsentBitmapsTest, AFailedRecordChangesNoBitmap) {
  ASSERT_OK(consents_->Load());
  CustomerId a = AddCustomer();
  ASSERT_OK(consents_->Record(a, {Change("marketing", "email", true)}));
  // The second change is invalid: nothing is written and the bitmaps stay as they were.
  EXPECT_ERROR_CODE(consents_->Record(a, {Change("marketing", "", false), Change("marketing", "fax", true)}),
                    ErrorCode::kInvalidArgument);
  EXPECT_ERROR_CODE(consents_->Record(CustomerId(999), {Change("marketing", "email", true)}), ErrorCode::kNotFound);
  EXPECT_EQ(Members(ConsentBitmapReader::Granted(*consents_, "marketing", "email")), (std::set<int64_t>{a.value()}));
  EXPECT_FALSE(ConsentBitmapReader::Granted(*consents_, "marketing", "email").contains(999));
}

// The property test. A model of the store's history decides which merges the index can follow exactly: the
// index keeps no row ids, so on a merge the survivor's own state wins per slot and a restriction is sticky,
// while a reload takes the newest row and the rows' own flags (documented on ConsentService::OnMerged). Merges
// where the two disagree are left out of the comparison with a rebuild (the gate-vs-bitmap check covers all).
TEST_F(ConsentBitmapsTest, RandomHistoriesMatchTheGateAndARebuildFromTheStore) {
  ASSERT_OK(consents_->Load());
  struct Model {
    std::map<std::pair<std::string, std::string>, int64_t> newest;  // slot → sequence of its newest row
    bool restricted = false;
    bool live = true;
  };
  std::map<int64_t, Model> model;
  int64_t sequence = 0;
  std::vector<int64_t> live;
  for (int i = 0; i < 40; ++i) {
    CustomerId id = AddCustomer();
    model[id.value()] = {};
    live.push_back(id.value());
  }
  int64_t max_id = live.back();

  const std::vector<std::pair<std::string, std::string>> slots = {
      {"marketing", ""},    {"marketing", "email"}, {"marketing", "sms"}, {"marketing", "phone"},
      {"marketing", "wechat"}, {"marketing", "push"}, {"profiling", ""},  {"third_party_sharing", ""},
      {"sensitive", ""},    {"cross_border", ""}};
  std::mt19937_64 rng(20261123);
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  int merges = 0, erasures = 0, restrictions = 0, ingested = 0;

  for (int step = 0; step < 600 && live.size() > 2; ++step) {
    clock_.Advance(1s);
    const int64_t who = live[pick(live.size())];
    const int op = static_cast<int>(pick(100));
    if (op < 52) {  // one to three changes through Record (API, console, import)
      std::vector<ConsentRecord> changes;
      for (size_t k = 1 + pick(3); k > 0; --k) {
        const auto& [purpose, channel] = slots[pick(slots.size())];
        // Mostly on marketing, the purpose whose level overrides its channels.
        changes.push_back(Change(purpose, channel, pick(3) != 0, pick(2) ? "api" : "console"));
      }
      ASSERT_OK(consents_->Record(CustomerId(who), changes));
      for (const auto& c : changes) model[who].newest[{c.purpose, c.channel}] = ++sequence;
    } else if (op < 60) {  // a new customer
      CustomerId id = AddCustomer();
      model[id.value()] = {};
      live.push_back(id.value());
      max_id = id.value();
    } else if (op < 78) {  // an ingested trait: written by the pipeline, reported after its commit
      const auto& [purpose, channel] = slots[pick(slots.size())];
      ConsentRecord c = Change(purpose, channel, pick(2) != 0, "ingest");
      c.customer = CustomerId(who);
      c.at = clock_.Now();
      ASSERT_OK(store_->Write([&](storage::WriteTxn& txn) -> Result<void> {
        ASSIGN_OR_RETURN(c.id, txn.InsertConsent(c));
        return Ok();
      }));
      consents_->OnCommitted(c);
      model[who].newest[{c.purpose, c.channel}] = ++sequence;
      ++ingested;
    } else if (op < 88) {  // restriction (GDPR 18) set or lifted
      const bool restricted = !model[who].restricted;
      storage::PrivacyFlagsRecord flags{.customer = CustomerId(who), .restricted = restricted, .updated_at = clock_.Now()};
      ASSERT_OK(store_->Write([&](storage::WriteTxn& txn) { return txn.PutPrivacyFlags(flags); }));
      consents_->OnRestricted(CustomerId(who), restricted);
      model[who].restricted = restricted;
      ++restrictions;
    } else if (op < 96) {  // merge `who` into another live customer, when the index can follow it exactly
      const int64_t into = live[pick(live.size())];
      if (into == who || model[who].restricted) continue;
      bool exact = true;
      for (const auto& [slot, seq] : model[who].newest) {
        auto it = model[into].newest.find(slot);
        if (it != model[into].newest.end() && it->second < seq) exact = false;
      }
      if (!exact) continue;
      storage::MergeRecord merge{.from = CustomerId(who), .into = CustomerId(into), .reason = "test", .at = clock_.Now()};
      ASSERT_OK(store_->Write([&](storage::WriteTxn& txn) { return txn.MergeCustomers(merge); }));
      consents_->OnMerged(CustomerId(who), CustomerId(into));
      for (const auto& [slot, seq] : model[who].newest) model[into].newest.emplace(slot, seq);
      model[who] = Model{.live = false};
      live.erase(std::find(live.begin(), live.end(), who));
      ++merges;
    } else {  // erasure (with the records merged into it)
      ASSERT_OK(store_->Write([&](storage::WriteTxn& txn) -> Result<void> {
        ASSIGN_OR_RETURN(auto report, txn.EraseCustomer(CustomerId(who)));
        (void)report;
        return Ok();
      }));
      consents_->OnErased(CustomerId(who));
      model[who] = Model{.live = false};
      live.erase(std::find(live.begin(), live.end(), who));
      ++erasures;
    }
    if (step % 25 == 0) {
      ExpectBitmapsMatchTheGate(*consents_, max_id, "step " + std::to_string(step));
      if (HasFailure()) return;
    }
  }
  // The history really exercised every kind of change.
  EXPECT_GT(live.size(), 20u);
  EXPECT_GT(merges, 3);
  EXPECT_GT(erasures, 3);
  EXPECT_GT(restrictions, 10);
  EXPECT_GT(ingested, 30);
  ExpectBitmapsMatchTheGate(*consents_, max_id, "end");

  ConsentService rebuilt(*store_, clock_);
  ASSERT_OK(rebuilt.Load());
  ExpectBitmapsMatchTheGate(rebuilt, max_id, "rebuilt");
  int64_t granted_bits = 0;
  for (const auto& [purpose, channel] : AllQuestions()) {
    const ::Roaring incremental = ConsentBitmapReader::Granted(*consents_, purpose, channel);
    EXPECT_EQ(Members(incremental), Members(ConsentBitmapReader::Granted(rebuilt, purpose, channel)))
        << purpose << "." << channel;
    granted_bits += static_cast<int64_t>(incremental.cardinality());
  }
  EXPECT_GT(granted_bits, 20);  // not a comparison of empty sets
}

}  // namespace
}  // namespace panorama::privacy
