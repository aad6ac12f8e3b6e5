// Privacy over real HTTP: consent capture (PUT, Sec-GPC, Segment traits.consent), the sensitive-data 409, and a
// data-subject erasure request carried out through the API (SECURITY.md S14, S15).
#include <gtest/gtest.h>
#include <simdjson.h>

#include <chrono>
#include <cstdlib>

#include "app/runtime.h"
#include "security/auth_service.h"
#include "privacy/consent_service.h"
#include "ingest/ingest_pipeline.h"
#include "privacy/dsar_service.h"
#include "storage/store.h"
#include "tests/support/http_client.h"
#include "tests/support/served_runtime.h"

namespace panorama {
namespace {

using test::HttpClient;
using test::HttpResponse;


class PrivacyApiTest : public test::ServedRuntimeTest {
 protected:
  std::string Consents(int64_t id) { return "/api/v1/customers/" + std::to_string(id) + "/consents"; }
  int64_t HistorySize(int64_t id) {
    HttpResponse h = Api("GET", Consents(id) + "/history");
    EXPECT_EQ(h.status, 200) << h.body;
    return static_cast<int64_t>(parser_.parse(h.body).value()["data"].get_array().size());
  }
  // After one /v1/track from `user_id`: the customer it made and its only event as stored (the store opens the
  // sealed column). A failed step is recorded (call under ASSERT_NO_FATAL_FAILURE).
  void OnlyStoredEvent(const std::string& user_id, CustomerId& customer, storage::EventRecord& stored) {
    auto id = runtime_->store().FindIdentity("user_id", user_id);
    ASSERT_TRUE(id.has_value() && id->has_value());
    customer = **id;
    auto timeline = runtime_->store().ListTimeline({.customer = customer, .limit = 5});
    ASSERT_TRUE(timeline.has_value() && timeline->size() == 1u);
    auto events = runtime_->store().GetEvents({timeline->front().id});
    ASSERT_TRUE(events.has_value() && events->size() == 1u);
    stored = std::move(events->front());
  }
  // The customer's 360° view as the admin and as the analyst "ana" (who may not read personal data).
  void AdminAndAnalystViews(CustomerId customer, HttpResponse& admin, HttpResponse& analyst) {
    const std::string path = "/api/v1/customers/" + std::to_string(customer.value()) + "/360";
    const std::string token = AnalystToken();
    ASSERT_FALSE(token.empty());
    admin = Api("GET", path);
    analyst = client_->Request("GET", path, {}, {{"Authorization", "Bearer " + token}});
  }
  // Creates the analyst "ana" and signs her in; empty (with the failure recorded) when either step fails.
  std::string AnalystToken() {
    EXPECT_TRUE(runtime_->auth().CreateUser("ana", "analyst passphrase 123", "analyst").has_value());
    HttpResponse login = client_->Request("POST", "/api/v1/auth/login",
                                          R"({"username":"ana","password":"analyst passphrase 123"})");
    EXPECT_EQ(login.status, 200) << login.body;
    if (login.status != 200) return {};
    return std::string(Json(login)["token"].get_string().value());
  }
};

TEST_F(PrivacyApiTest, PutConsentsGrantsAndWithdrawsImmediately) {
  int64_t id = CreateCustomer(R"({"name":"李雷","email":"li@example.cn"})");

  HttpResponse granted = Api("PUT", Consents(id),
                             R"({"policy_version":"2026-01","consents":[{"purpose":"marketing","channel":"email","granted":true}]})");
  bool may_after_grant = runtime_->consents().MaySend(CustomerId(id), "marketing", "email");
  HttpResponse withdrawn = Api("PUT", Consents(id), R"({"consents":[{"purpose":"marketing","channel":"email","granted":false}]})");

  ASSERT_EQ(granted.status, 200) << granted.body;
  ASSERT_EQ(withdrawn.status, 200) << withdrawn.body;
  EXPECT_TRUE(may_after_grant);
  EXPECT_FALSE(runtime_->consents().MaySend(CustomerId(id), "marketing", "email"));
  EXPECT_EQ(HistorySize(id), 2);
  HttpResponse view = Api("GET", "/api/v1/customers/" + std::to_string(id) + "/360");
  ASSERT_EQ(view.status, 200);
  auto consents = parser_.parse(view.body).value()["consents"].get_array().value();
  ASSERT_EQ(consents.size(), 1u);
  EXPECT_FALSE(consents.at(0)["granted"].get_bool().value());
}

TEST_F(PrivacyApiTest, GlobalPrivacyControlHeaderRecordsThirdPartySharingOptOut) {
  int64_t id = CreateCustomer(R"({"name":"Ann"})");

  HttpResponse r = Api("PUT", Consents(id), R"({"consents":[{"purpose":"third_party_sharing","granted":true}]})",
                       {{"Sec-GPC", "1"}});

  ASSERT_EQ(r.status, 200) << r.body;
  auto data = parser_.parse(r.body).value()["data"].get_array().value();
  ASSERT_EQ(data.size(), 1u);
  EXPECT_EQ(std::string(data.at(0)["purpose"].get_string().value()), "third_party_sharing");
  EXPECT_FALSE(data.at(0)["granted"].get_bool().value());
  EXPECT_FALSE(runtime_->consents().MayProcess(CustomerId(id), "third_party_sharing"));
}

TEST_F(PrivacyApiTest, BadConsentBodiesAre400AndRecordNothing) {
  int64_t id = CreateCustomer(R"({"name":"Bob"})");
  struct Case {
    const char* body;
    const char* field;
  };
  for (Case c : {Case{R"({"consents":[{"purpose":"spam","granted":true}]})", "consents[0].purpose"},
                 Case{R"({"consents":[{"purpose":"marketing","channel":"fax","granted":true}]})", "consents[0].channel"},
                 Case{R"({"consents":[{"purpose":"marketing","channel":"sms"}]})", "consents[0].granted"},
                 Case{R"({"consents":[{"purpose":"sensitive","granted":true,"lawful_basis":"contract"}]})",
                      "consents[0].lawful_basis"},
                 Case{R"({"source":"fax","consents":[{"purpose":"profiling","granted":true}]})", "source"},
                 Case{R"({"consents":[]})", "consents"}}) {
    HttpResponse r = Api("PUT", Consents(id), c.body);

    EXPECT_EQ(r.status, 400) << c.body;
    EXPECT_NE(r.body.find(c.field), std::string::npos) << r.body;
  }
  EXPECT_EQ(HistorySize(id), 0);
  EXPECT_EQ(Api("PUT", Consents(999999), R"({"consents":[{"purpose":"profiling","granted":true}]})").status, 404);
}

TEST_F(PrivacyApiTest, SensitiveTraitsWithoutSeparateConsentAre409) {
  int64_t id = CreateCustomer(R"({"name":"Cai"})");
  std::string path = "/api/v1/customers/" + std::to_string(id);

  HttpResponse refused = Api("PATCH", path, R"({"traits":{"health":"asthma"}})");
  HttpResponse created = Api("POST", "/api/v1/customers", R"({"name":"New","traits":{"religion":"x"}})");
  ASSERT_EQ(Api("PUT", Consents(id), R"({"consents":[{"purpose":"sensitive","granted":true}]})").status, 200);
  HttpResponse allowed = Api("PATCH", path, R"({"traits":{"health":"asthma"}})");

  EXPECT_EQ(refused.status, 409) << refused.body;
  EXPECT_EQ(created.status, 409) << created.body;
  EXPECT_EQ(allowed.status, 200) << allowed.body;
}

TEST_F(PrivacyApiTest, SegmentTraitsConsentIsRecordedWithSourceIngest) {
  std::string basic = "ZTJlLXdyaXRlLWtleS0wMTIzNDU2Nzg5Og==";  // base64("e2e-write-key-0123456789:")
  HttpResponse ok = client_->Request(
      "POST", "/v1/identify",
      R"({"userId":"u-77","traits":{"email":"u77@example.cn","consent":{"policy_version":"v3","marketing":{"wechat":true},"profiling":true}}})",
      {{"Authorization", "Basic " + basic}});
  HttpResponse bad = client_->Request("POST", "/v1/identify",
                                      R"({"userId":"u-78","traits":{"consent":{"marketing":{"fax":true}}}})",
                                      {{"Authorization", "Basic " + basic}});

  ASSERT_EQ(ok.status, 200) << ok.body;
  auto id = runtime_->store().FindIdentity("user_id", "u-77");
  ASSERT_TRUE(id.has_value() && id->has_value());
  EXPECT_TRUE(runtime_->consents().MaySend(**id, "marketing", "wechat"));
  EXPECT_TRUE(runtime_->consents().MayProcess(**id, "profiling"));
  auto history = runtime_->store().ListConsents(**id);
  ASSERT_TRUE(history.has_value());
  ASSERT_EQ(history->size(), 2u);
  EXPECT_EQ((*history)[0].source, "ingest");
  EXPECT_EQ((*history)[0].policy_version, "v3");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("traits.consent.marketing.fax"), std::string::npos) << bad.body;
}

TEST_F(PrivacyApiTest, ErasureRequestRemovesTheCustomerAndReturnsACertificate) {
  ASSERT_TRUE(runtime_->dsar().set_erasure_grace(std::chrono::days{0}).has_value());  // `--erasure-grace-days 0`
  int64_t id = CreateCustomer(R"({"name":"王芳","email":"wf@example.cn"})");
  ASSERT_EQ(Api("PUT", Consents(id), R"({"consents":[{"purpose":"marketing","channel":"sms","granted":true}]})").status, 200);
  HttpResponse opened = Api("POST", "/api/v1/privacy/requests",
                            R"({"customer_id":)" + std::to_string(id) + R"(,"kind":"erase","jurisdiction":"pipl"})");
  ASSERT_EQ(opened.status, 201) << opened.body;
  int64_t request = parser_.parse(opened.body).value()["id"].get_int64().value();
  EXPECT_EQ(std::string(parser_.parse(opened.body).value()["verification"].get_string().value()), "unverified");
  HttpResponse unverified = Api("POST", "/api/v1/privacy/requests/" + std::to_string(request) + "/fulfil");
  EXPECT_EQ(unverified.status, 422) << unverified.body;
  EXPECT_EQ(Api("GET", "/api/v1/customers/" + std::to_string(id)).status, 200);
  for (const char* bad : {R"({})", R"({"method":"psychic"})", R"({"method":1})", R"({"method":"email","x":1})"}) {
    HttpResponse r = Api("POST", "/api/v1/privacy/requests/" + std::to_string(request) + "/verify", bad);
    EXPECT_EQ(r.status, 400) << bad << ": " << r.body;
  }
  HttpResponse verified =
      Api("POST", "/api/v1/privacy/requests/" + std::to_string(request) + "/verify", R"({"method":"id_document"})");
  ASSERT_EQ(verified.status, 200) << verified.body;
  EXPECT_NE(verified.body.find(R"("verification":"verified","verification_method":"id_document","verified_by":"user:)"),
            std::string::npos)
      << verified.body;
  EXPECT_EQ(Api("POST", "/api/v1/privacy/requests/999999/verify", R"({"method":"email"})").status, 404);

  HttpResponse certificate = Api("POST", "/api/v1/privacy/requests/" + std::to_string(request) + "/fulfil");

  ASSERT_EQ(certificate.status, 200) << certificate.body;
  auto cert = parser_.parse(certificate.body).value();
  EXPECT_EQ(cert["tables"]["customers"].get_int64().value(), 1);
  EXPECT_EQ(cert["tables"]["consents"].get_int64().value(), 1);
  EXPECT_EQ(cert["tables"]["identities"].get_int64().value(), 1);
  EXPECT_EQ(certificate.body.find("wf@example.cn"), std::string::npos);
  EXPECT_EQ(Api("GET", "/api/v1/customers/" + std::to_string(id)).status, 404);
  EXPECT_FALSE(runtime_->consents().MaySend(CustomerId(id), "marketing", "sms"));
  HttpResponse again = Api("POST", "/api/v1/privacy/requests/" + std::to_string(request) + "/fulfil");
  EXPECT_EQ(again.status, 422) << again.body;
  HttpResponse stored = Api("GET", "/api/v1/privacy/requests/" + std::to_string(request));
  ASSERT_EQ(stored.status, 200);
  EXPECT_EQ(std::string(parser_.parse(stored.body).value()["status"].get_string().value()), "completed");
}

TEST_F(PrivacyApiTest, ErasureIsScheduledForTheGracePeriodAndCanBeCancelled) {
  int64_t id = CreateCustomer(R"({"name":"赵敏","email":"zm@example.cn"})");
  ASSERT_EQ(Api("PUT", Consents(id), R"({"consents":[{"purpose":"marketing","channel":"sms","granted":true}]})").status, 200);
  HttpResponse opened = Api("POST", "/api/v1/privacy/requests",
                            R"({"customer_id":)" + std::to_string(id) + R"(,"kind":"erase","jurisdiction":"gdpr"})");
  ASSERT_EQ(opened.status, 201) << opened.body;
  const std::string request = "/api/v1/privacy/requests/" + std::to_string(Json(opened)["id"].get_int64().value());
  EXPECT_EQ(Api("POST", request + "/cancel").status, 422);  // open, not scheduled
  ASSERT_EQ(Api("POST", request + "/verify", R"({"method":"email"})").status, 200);

  HttpResponse scheduled = Api("POST", request + "/fulfil");

  ASSERT_EQ(scheduled.status, 202) << scheduled.body;
  EXPECT_EQ(std::string(Json(scheduled)["status"].get_string().value()), "scheduled");
  HttpResponse stored = Api("GET", request);
  ASSERT_EQ(stored.status, 200);
  EXPECT_EQ(std::string(Json(stored)["status"].get_string().value()), "scheduled");
  EXPECT_FALSE(Json(stored)["scheduled_for"].is_null()) << stored.body;
  EXPECT_EQ(Api("GET", "/api/v1/customers/" + std::to_string(id)).status, 200);  // not erased yet
  EXPECT_FALSE(runtime_->consents().MaySend(CustomerId(id), "marketing", "sms"));  // restricted meanwhile
  auto due = runtime_->dsar().RunDueErasures();
  ASSERT_TRUE(due.has_value());
  EXPECT_TRUE(due->erased.empty());  // 7 days have not passed

  HttpResponse cancelled = Api("POST", request + "/cancel");

  ASSERT_EQ(cancelled.status, 200) << cancelled.body;
  EXPECT_EQ(std::string(Json(cancelled)["status"].get_string().value()), "cancelled");
  EXPECT_TRUE(runtime_->consents().MaySend(CustomerId(id), "marketing", "sms"));
  EXPECT_EQ(Api("POST", request + "/cancel").status, 422);
  EXPECT_EQ(Api("POST", request + "/fulfil").status, 422);
  EXPECT_EQ(Api("POST", "/api/v1/privacy/requests/999999/cancel").status, 404);
  EXPECT_EQ(Api("POST", "/api/v1/privacy/requests/abc/cancel").status, 400);
  EXPECT_EQ(Api("GET", "/api/v1/customers/" + std::to_string(id)).status, 200);
  auto ledger = runtime_->store().ListLedger({.action = "privacy_request.cancel"});
  ASSERT_TRUE(ledger.has_value());
  EXPECT_EQ(ledger->size(), 1u);
}

TEST_F(PrivacyApiTest, AnErasedSubjectIsNotRecreatedByCsvImportOrIngest) {
  ASSERT_TRUE(runtime_->dsar().set_erasure_grace(std::chrono::days{0}).has_value());
  int64_t id = CreateCustomer(R"({"name":"孙悟空","email":"swk@example.cn","phone":"13900139000"})");
  HttpResponse opened = Api("POST", "/api/v1/privacy/requests",
                            R"({"customer_id":)" + std::to_string(id) + R"(,"kind":"erase","jurisdiction":"pipl"})");
  ASSERT_EQ(opened.status, 201) << opened.body;
  const std::string request = "/api/v1/privacy/requests/" + std::to_string(Json(opened)["id"].get_int64().value());
  ASSERT_EQ(Api("POST", request + "/verify", R"({"method":"phone"})").status, 200);
  ASSERT_EQ(Api("POST", request + "/fulfil").status, 200);

  // The same person in other spellings (the importer normalises them), between two new customers.
  std::string csv = "name,email,phone\n孙悟空,SWK@Example.cn,\n新客户,new@example.cn,\n悟空,,+86 139 0013 9000\n";
  HttpResponse strict = Api("POST", "/api/v1/imports/customers", csv, {{"Content-Type", "text/csv"}});
  HttpResponse skipped =
      Api("POST", "/api/v1/imports/customers?skip_invalid=true", csv, {{"Content-Type", "text/csv"}});

  ASSERT_EQ(strict.status, 422) << strict.body;
  ASSERT_EQ(skipped.status, 200) << skipped.body;
  for (const HttpResponse* r : {&strict, &skipped}) {
    auto errors = Json(*r)["errors"].get_array();
    ASSERT_EQ(errors.size(), 2u) << r->body;
    EXPECT_EQ(errors.at(0)["line"].get_int64().value(), 2);
    EXPECT_EQ(std::string(errors.at(0)["field"].get_string().value()), "email");
    EXPECT_EQ(std::string(errors.at(0)["reason"].get_string().value()), "erased_subject");
    EXPECT_EQ(std::string(errors.at(0)["value"].get_string().value()), "");
    EXPECT_EQ(errors.at(1)["line"].get_int64().value(), 4);
    EXPECT_EQ(std::string(errors.at(1)["field"].get_string().value()), "phone");
    EXPECT_EQ(std::string(errors.at(1)["reason"].get_string().value()), "erased_subject");
    EXPECT_EQ(r->body.find("Example.cn"), std::string::npos) << r->body;
    EXPECT_EQ(r->body.find("139"), std::string::npos) << r->body;
  }
  EXPECT_EQ(Json(skipped)["created"].get_int64().value(), 1);
  EXPECT_TRUE(runtime_->store().FindIdentity("email", "new@example.cn")->has_value());
  EXPECT_FALSE(runtime_->store().FindIdentity("email", "swk@example.cn")->has_value());
  EXPECT_FALSE(runtime_->store().FindIdentity("phone", "+8613900139000")->has_value());

  // Ingest: accepted (200, Segment semantics), but the erased identifiers and the traits are not stored.
  std::string basic = "ZTJlLXdyaXRlLWtleS0wMTIzNDU2Nzg5Og==";  // base64("e2e-write-key-0123456789:")
  HttpResponse identify = client_->Request(
      "POST", "/v1/identify",
      R"({"userId":"u-swk","messageId":"m-swk-1","traits":{"email":"swk@example.cn","name":"孙悟空","phone":"13900139000"}})",
      {{"Authorization", "Basic " + basic}});
  HttpResponse only_erased = client_->Request(
      "POST", "/v1/track",
      R"({"anonymousId":"anon-x","messageId":"m-swk-2","event":"Viewed","context":{"traits":{"email":"swk@example.cn"}}})",
      {{"Authorization", "Basic " + basic}});
  HttpResponse normal = client_->Request(
      "POST", "/v1/identify", R"({"userId":"u-other","messageId":"m-other","traits":{"email":"other@example.cn"}})",
      {{"Authorization", "Basic " + basic}});

  ASSERT_EQ(identify.status, 200) << identify.body;
  ASSERT_EQ(only_erased.status, 200) << only_erased.body;
  ASSERT_EQ(normal.status, 200) << normal.body;
  EXPECT_EQ(identify.body, normal.body);  // the sender cannot tell
  EXPECT_FALSE(runtime_->store().FindIdentity("email", "swk@example.cn")->has_value());
  EXPECT_FALSE(runtime_->store().FindIdentity("phone", "+8613900139000")->has_value());
  EXPECT_TRUE(runtime_->store().FindIdentity("email", "other@example.cn")->has_value());
  auto user = runtime_->store().FindIdentity("user_id", "u-swk");
  ASSERT_TRUE(user.has_value() && user->has_value());  // the new user id itself is not suppressed
  auto customer = runtime_->store().GetCustomer(**user);
  ASSERT_TRUE(customer.has_value());
  EXPECT_EQ(customer->email, "");
  EXPECT_EQ(customer->name, "");
  EXPECT_EQ(customer->phone, "");
  EXPECT_EQ(runtime_->ingest().suppressed_total(), 2);
}

// The code of the newest outbox message of `id` (what the messaging module would send).
std::string OutboxCode(storage::Store& store, int64_t id) {
  auto outbox = store.ListOutbox(CustomerId(id));
  if (!outbox || outbox->empty()) return "";
  const std::string& payload = outbox->back().payload_json;
  auto at = payload.find("\"code\":\"");
  return at == std::string::npos ? "" : payload.substr(at + 8, 6);
}

TEST_F(PrivacyApiTest, SelfServiceRequestAnswersTheSameForAnyoneAndIsVerifiedWithTheCode) {
  int64_t id = CreateCustomer(R"({"name":"林黛玉","email":"ldy@example.cn","phone":"13700137000"})");
  auto submit = [&](const std::string& body) { return client_->Request("POST", "/api/v1/privacy/public-requests", body); };
  auto verify = [&](int64_t request, const std::string& code) {
    return client_->Request("POST", "/api/v1/privacy/public-requests/verify",
                            R"({"request_id":)" + std::to_string(request) + R"(,"code":")" + code + "\"}");
  };

  HttpResponse known = submit(R"({"type":"access","email":"LDY@Example.cn"})");
  HttpResponse unknown = submit(R"({"type":"access","email":"nobody@example.cn"})");
  HttpResponse unknown_phone = submit(R"({"type":"erase","phone":"13900000000"})");

  ASSERT_EQ(known.status, 202) << known.body;
  EXPECT_EQ(unknown.status, 202) << unknown.body;
  EXPECT_EQ(unknown_phone.status, 202) << unknown_phone.body;
  EXPECT_EQ(known.body, unknown.body);  // no enumeration
  EXPECT_EQ(known.body, unknown_phone.body);
  HttpResponse all = Api("GET", "/api/v1/privacy/requests");
  ASSERT_EQ(all.status, 200);
  ASSERT_EQ(Json(all)["data"].get_array().size(), 1u) << all.body;  // only the matching identifier opened one
  auto opened = Json(all)["data"].get_array().at(0);
  int64_t request = opened["id"].get_int64().value();
  EXPECT_EQ(opened["customer_id"].get_int64().value(), id);
  EXPECT_EQ(std::string(opened["verification"].get_string().value()), "unverified");
  std::string code = OutboxCode(runtime_->store(), id);
  ASSERT_EQ(code.size(), 6u);
  EXPECT_EQ(all.body.find(code), std::string::npos);
  std::string wrong = code;
  wrong[0] = static_cast<char>('0' + (wrong[0] - '0' + 1) % 10);

  HttpResponse bad = verify(request, wrong);
  HttpResponse ok = verify(request, code);
  HttpResponse reused = verify(request, code);

  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_NE(bad.body.find(R"("field":"code")"), std::string::npos) << bad.body;
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(std::string(Json(ok)["verification"].get_string().value()), "verified");
  EXPECT_EQ(reused.status, 400) << reused.body;
  EXPECT_NE(reused.body.find(R"("field":"code")"), std::string::npos) << reused.body;
  HttpResponse stored = Api("GET", "/api/v1/privacy/requests/" + std::to_string(request));
  EXPECT_NE(stored.body.find(R"("verification":"verified","verification_method":"email","verified_by":"requester")"),
            std::string::npos)
      << stored.body;
  auto ledger = runtime_->store().ListLedger({.actor = "requester", .action = "privacy_request.update"});
  ASSERT_TRUE(ledger.has_value());
  EXPECT_EQ(ledger->size(), 1u);
  // The verified request goes on through the staff flow.
  HttpResponse fulfilled = Api("POST", "/api/v1/privacy/requests/" + std::to_string(request) + "/fulfil");
  EXPECT_EQ(fulfilled.status, 200) << fulfilled.body;
}

TEST_F(PrivacyApiTest, SelfServiceBurnsACodeAfterFiveWrongTriesAndRejectsBadInput) {
  int64_t id = CreateCustomer(R"({"name":"贾宝玉","phone":"13600136000"})");
  ASSERT_EQ(client_->Request("POST", "/api/v1/privacy/public-requests", R"({"type":"erase","phone":"136 0013 6000"})").status, 202);
  auto list = runtime_->store().ListPrivacyRequests({.customer = CustomerId(id)});
  ASSERT_TRUE(list.has_value() && list->size() == 1u);
  int64_t request = list->back().id;
  std::string code = OutboxCode(runtime_->store(), id);
  ASSERT_EQ(code.size(), 6u);
  EXPECT_EQ(runtime_->store().ListOutbox(CustomerId(id))->back().channel, "sms");
  std::string wrong = code;
  wrong[0] = static_cast<char>('0' + (wrong[0] - '0' + 1) % 10);
  std::string target = "/api/v1/privacy/public-requests/verify";
  std::string wrong_body = R"({"request_id":)" + std::to_string(request) + R"(,"code":")" + wrong + "\"}";
  for (int i = 0; i < 5; ++i) EXPECT_EQ(client_->Request("POST", target, wrong_body).status, 400);

  HttpResponse burned = client_->Request("POST", target, R"({"request_id":)" + std::to_string(request) + R"(,"code":")" + code + "\"}");

  EXPECT_EQ(burned.status, 400) << burned.body;
  EXPECT_NE(burned.body.find("too many"), std::string::npos) << burned.body;
  EXPECT_EQ(runtime_->store().GetPrivacyRequest(request)->verification, "unverified");
  for (const char* body : {R"({})", R"({"type":"nuke","email":"a@b.cn"})", R"({"type":"access"})",
                           R"({"type":"access","email":"a@b.cn","phone":"13600136000"})",
                           R"({"type":"access","email":"not-an-email"})", R"({"type":"access","phone":"12"})",
                           R"({"type":"access","email":"a@b.cn","jurisdiction":"mars"})",
                           R"({"type":"access","email":"a@b.cn","x":1})", "not json"}) {
    HttpResponse r = client_->Request("POST", "/api/v1/privacy/public-requests", body);
    EXPECT_EQ(r.status, 400) << body << ": " << r.body;
  }
  for (const char* body : {R"({})", R"({"request_id":1})", R"({"request_id":1,"code":"12ab56"})",
                           R"({"request_id":0,"code":"123456"})", R"({"request_id":999999,"code":"123456"})"}) {
    HttpResponse r = client_->Request("POST", target, body);
    EXPECT_EQ(r.status, 400) << body << ": " << r.body;
  }
  EXPECT_EQ(runtime_->store().ListPrivacyRequests({})->size(), 1u);
}

TEST_F(PrivacyApiTest, SelfServiceRequestsAreRateLimitedPerAddress) {
  int statuses[12];
  for (int& status : statuses) {
    status = client_->Request("POST", "/api/v1/privacy/public-requests", R"({"type":"access","email":"x@example.cn"})").status;
  }
  for (int i = 0; i < 10; ++i) EXPECT_EQ(statuses[i], 202) << i;
  EXPECT_EQ(statuses[10], 429);
  EXPECT_EQ(statuses[11], 429);
}

TEST_F(PrivacyApiTest, BadPrivacyRequestsAre400) {
  int64_t id = CreateCustomer(R"({"name":"Dee"})");
  std::string customer = std::to_string(id);

  EXPECT_EQ(Api("POST", "/api/v1/privacy/requests", R"({"customer_id":)" + customer + R"(,"kind":"nuke","jurisdiction":"gdpr"})").status, 400);
  EXPECT_EQ(Api("POST", "/api/v1/privacy/requests", R"({"customer_id":)" + customer + R"(,"kind":"access","jurisdiction":"mars"})").status, 400);
  EXPECT_EQ(Api("POST", "/api/v1/privacy/requests", R"({"customer_id":424242,"kind":"access","jurisdiction":"gdpr"})").status, 400);
  EXPECT_EQ(Api("GET", "/api/v1/privacy/requests?overdue=maybe").status, 400);
  EXPECT_EQ(Api("GET", "/api/v1/privacy/pseudonymised-export").status, 400);
  EXPECT_EQ(Api("GET", "/api/v1/privacy/pseudonymised-export?recipient=acme&format=xml").status, 400);
  HttpResponse list = Api("GET", "/api/v1/privacy/requests");
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(parser_.parse(list.body).value()["data"].get_array().size(), 0u);
}

TEST_F(PrivacyApiTest, PseudonymisedExportRouteReturnsCsvWithoutIdentifiers) {
  for (int i = 0; i < 6; ++i) {
    CreateCustomer(R"({"name":"客户","email":"p)" + std::to_string(i) + R"(@example.cn","city":"上海","gender":"female","birthday":"1990-01-01"})");
  }

  HttpResponse csv = Api("GET", "/api/v1/privacy/pseudonymised-export?recipient=acme&format=csv&dataset=customers");

  ASSERT_EQ(csv.status, 200) << csv.body;
  EXPECT_EQ(csv.body.find("@example.cn"), std::string::npos);
  EXPECT_EQ(std::count(csv.body.begin(), csv.body.end(), '\n'), 7);
}

// ---- Event property data classes (SECURITY.md §2.3 "Event properties") ----

constexpr const char* kSegmentBasic = "ZTJlLXdyaXRlLWtleS0wMTIzNDU2Nzg5Og==";  // base64("e2e-write-key-0123456789:")

TEST_F(PrivacyApiTest, PersonalEventPropertiesAreClearForAdminNullForAnalystAndInTheExport) {
  HttpResponse sent = client_->Request(
      "POST", "/v1/track",
      R"({"userId":"ep-9","event":"Viewed","properties":{"plan":"pro","email":"zqe2eprop@example.cn",)"
      R"("mobile":"13912340987"},"context":{"ip":"198.51.100.23"}})",
      {{"Authorization", std::string("Basic ") + kSegmentBasic}});
  ASSERT_EQ(sent.status, 200) << sent.body;
  auto id = runtime_->store().FindIdentity("user_id", "ep-9");
  ASSERT_TRUE(id.has_value() && id->has_value());
  HttpResponse admin_view, analyst_view;
  ASSERT_NO_FATAL_FAILURE(AdminAndAnalystViews(**id, admin_view, analyst_view));

  ASSERT_EQ(admin_view.status, 200) << admin_view.body;
  ASSERT_EQ(analyst_view.status, 200) << analyst_view.body;
  EXPECT_NE(admin_view.body.find(R"("email":"zqe2eprop@example.cn")"), std::string::npos) << admin_view.body;
  EXPECT_NE(admin_view.body.find(R"("mobile":"13912340987")"), std::string::npos) << admin_view.body;
  EXPECT_NE(admin_view.body.find(R"("ip":"198.51.100.0/24")"), std::string::npos) << admin_view.body;
  EXPECT_EQ(admin_view.body.find("198.51.100.23"), std::string::npos) << admin_view.body;
  EXPECT_EQ(analyst_view.body.find("zqe2eprop"), std::string::npos) << analyst_view.body;
  EXPECT_EQ(analyst_view.body.find("13912340987"), std::string::npos) << analyst_view.body;
  EXPECT_NE(analyst_view.body.find(R"("plan":"pro","email":null,"mobile":null)"), std::string::npos)
      << analyst_view.body;
  auto exported = runtime_->dsar().Export(**id);
  ASSERT_TRUE(exported.has_value()) << exported.error().message();
  EXPECT_NE(exported->find("zqe2eprop@example.cn"), std::string::npos);
}

// Nested paths (`user.email`): sealed at ingest like a top-level key, clear for admin, null for the analyst, in
// the data-subject export, refused in segment rules.
TEST_F(PrivacyApiTest, NestedPersonalEventPropertiesAreSealedShownOnlyWithPersonalReadAndExported) {
  HttpResponse put = Api("PUT", "/api/v1/privacy/catalogue",
                         R"({"event_properties":[{"key":"email","class":"personal"},)"
                         R"({"key":"User.Email","class":"personal"},{"key":"buyer.contact","class":"personal"}]})");
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_NE(put.body.find(R"({"key":"user.email","class":"personal"})"), std::string::npos) << put.body;
  HttpResponse sent = client_->Request(
      "POST", "/v1/track",
      R"({"userId":"ep-11","event":"Viewed","properties":{"plan":"pro","user":{"email":"zqnested@example.cn",)"
      R"("tier":"gold"},"buyer":{"contact":{"phone":"13912345678"}}},)"
      R"("context":{"traits":{"user":{"email":"zqnestedctx@example.cn"}}}})",
      {{"Authorization", std::string("Basic ") + kSegmentBasic}});
  ASSERT_EQ(sent.status, 200) << sent.body;
  CustomerId customer;
  storage::EventRecord stored;
  ASSERT_NO_FATAL_FAILURE(OnlyStoredEvent("ep-11", customer, stored));
  HttpResponse admin_view, analyst_view;
  ASSERT_NO_FATAL_FAILURE(AdminAndAnalystViews(customer, admin_view, analyst_view));
  HttpResponse rule = Api("POST", "/api/v1/segments",
                          R"({"name":"By nested email","rule":"did \"Viewed\" where properties.user.Email = \"a\""})");
  HttpResponse under = Api("POST", "/api/v1/segments",
                           R"({"name":"Under a personal parent","rule":"did \"Viewed\" where properties.buyer.contact.phone = \"1\""})");
  HttpResponse sibling = Api("POST", "/api/v1/segments",
                             R"({"name":"By tier","rule":"did \"Viewed\" where properties.user.tier = \"gold\""})");
  auto exported = runtime_->dsar().Export(customer);

  // As stored: the plain JSON keeps the parents and the rest; the sealed column (opened by the store) the values.
  EXPECT_EQ(stored.properties_json, R"({"plan":"pro","user":{"tier":"gold"},"buyer":{}})");
  EXPECT_EQ(stored.personal_json,
            R"({"properties":{"user":{"email":"zqnested@example.cn"},"buyer":{"contact":{"phone":"13912345678"}}},)"
            R"("context.traits":{"user":{"email":"zqnestedctx@example.cn"}}})");
  ASSERT_EQ(admin_view.status, 200) << admin_view.body;
  ASSERT_EQ(analyst_view.status, 200) << analyst_view.body;
  EXPECT_NE(admin_view.body.find(R"("user":{"tier":"gold","email":"zqnested@example.cn"})"), std::string::npos)
      << admin_view.body;
  EXPECT_NE(admin_view.body.find(R"("buyer":{"contact":{"phone":"13912345678"}})"), std::string::npos)
      << admin_view.body;
  EXPECT_EQ(analyst_view.body.find("zqnested"), std::string::npos) << analyst_view.body;
  EXPECT_EQ(analyst_view.body.find("13912345678"), std::string::npos) << analyst_view.body;
  EXPECT_NE(analyst_view.body.find(R"("user":{"tier":"gold","email":null},"buyer":{"contact":null})"),
            std::string::npos)
      << analyst_view.body;
  EXPECT_EQ(rule.status, 400) << rule.body;
  EXPECT_NE(rule.body.find("properties.user.Email is classed personal"), std::string::npos) << rule.body;
  EXPECT_EQ(under.status, 400) << under.body;
  EXPECT_NE(under.body.find("properties.buyer.contact.phone"), std::string::npos) << under.body;
  EXPECT_EQ(sibling.status, 201) << sibling.body;
  ASSERT_TRUE(exported.has_value()) << exported.error().message();
  EXPECT_NE(exported->find("zqnested@example.cn"), std::string::npos);
  EXPECT_NE(exported->find("zqnestedctx@example.cn"), std::string::npos);
}

// Paths through arrays (`contacts.email`: the email of every object in `contacts`, arrays of arrays too): sealed
// at ingest in their array positions, clear for admin and null in place for the analyst, in the data-subject
// export, refused in segment rules; funnel filters and breakdowns over them see no value.
TEST_F(PrivacyApiTest, PersonalValuesInsideArraysAreSealedShownInPlaceOnlyWithPersonalReadAndExported) {
  HttpResponse put = Api("PUT", "/api/v1/privacy/catalogue",
                         R"({"event_properties":[{"key":"email","class":"personal"},)"
                         R"({"key":"Contacts.Email","class":"personal"},)"
                         R"({"key":"groups.members.phone","class":"personal"}]})");
  ASSERT_EQ(put.status, 200) << put.body;
  HttpResponse sent = client_->Request(
      "POST", "/v1/track",
      R"({"userId":"ep-12","event":"Invited","properties":{"plan":"pro","contacts":[{"email":"zqarr1@example.cn",)"
      R"("role":"cto"},{"role":"cfo"},{"email":"zqarr2@example.cn"}],)"
      R"("groups":[[{"members":[{"phone":"13955550001","id":1}]}],[]]}})",
      {{"Authorization", std::string("Basic ") + kSegmentBasic}});
  ASSERT_EQ(sent.status, 200) << sent.body;
  CustomerId customer;
  storage::EventRecord stored;
  ASSERT_NO_FATAL_FAILURE(OnlyStoredEvent("ep-12", customer, stored));
  HttpResponse admin_view, analyst_view;
  ASSERT_NO_FATAL_FAILURE(AdminAndAnalystViews(customer, admin_view, analyst_view));
  HttpResponse rule = Api("POST", "/api/v1/segments",
                          R"({"name":"By contact","rule":"did \"Invited\" where properties.contacts.email = \"a\""})");
  HttpResponse deeper =
      Api("POST", "/api/v1/segments",
          R"({"name":"By member","rule":"did \"Invited\" where properties.groups.members.phone = \"1\""})");
  HttpResponse sibling = Api("POST", "/api/v1/segments",
                             R"({"name":"By role","rule":"did \"Invited\" where properties.contacts.role = \"cto\""})");
  HttpResponse funnel = Api("POST", "/api/v1/analytics/funnel",
                            R"({"steps":[{"event":"Invited",)"
                            R"("where":{"properties.contacts.email":"zqarr1@example.cn"}},{"event":"Invited"}],)"
                            R"("window":"1d"})");
  HttpResponse breakdown = Api("POST", "/api/v1/analytics/funnel",
                               R"({"steps":[{"event":"Invited"},{"event":"Invited"}],"window":"1d",)"
                               R"("breakdown":"properties.contacts.email","min_group_size":1})");
  auto exported = runtime_->dsar().Export(customer);

  // As stored: every element keeps its place in the plain JSON; the sealed column has what was taken from each.
  EXPECT_EQ(stored.properties_json,
            R"({"plan":"pro","contacts":[{"role":"cto"},{"role":"cfo"},{}],"groups":[[{"members":[{"id":1}]}],[]]})");
  EXPECT_EQ(stored.personal_json,
            R"({"properties":{"contacts":[{"email":"zqarr1@example.cn"},null,{"email":"zqarr2@example.cn"}],)"
            R"("groups":[[{"members":[{"phone":"13955550001"}]}]]}})");
  ASSERT_EQ(admin_view.status, 200) << admin_view.body;
  ASSERT_EQ(analyst_view.status, 200) << analyst_view.body;
  EXPECT_NE(admin_view.body.find(R"("contacts":[{"role":"cto","email":"zqarr1@example.cn"},{"role":"cfo"},)"
                                 R"({"email":"zqarr2@example.cn"}])"),
            std::string::npos)
      << admin_view.body;
  EXPECT_NE(admin_view.body.find(R"("groups":[[{"members":[{"id":1,"phone":"13955550001"}]}],[]])"), std::string::npos)
      << admin_view.body;
  EXPECT_EQ(analyst_view.body.find("zqarr"), std::string::npos) << analyst_view.body;
  EXPECT_EQ(analyst_view.body.find("13955550001"), std::string::npos) << analyst_view.body;
  EXPECT_NE(analyst_view.body.find(R"("contacts":[{"role":"cto","email":null},{"role":"cfo"},{"email":null}],)"
                                   R"("groups":[[{"members":[{"id":1,"phone":null}]}],[]])"),
            std::string::npos)
      << analyst_view.body;
  EXPECT_EQ(rule.status, 400) << rule.body;
  EXPECT_NE(rule.body.find("properties.contacts.email is classed personal"), std::string::npos) << rule.body;
  EXPECT_EQ(deeper.status, 400) << deeper.body;
  EXPECT_NE(deeper.body.find("properties.groups.members.phone"), std::string::npos) << deeper.body;
  EXPECT_EQ(sibling.status, 201) << sibling.body;
  ASSERT_EQ(funnel.status, 200) << funnel.body;
  EXPECT_EQ(Json(funnel)["steps"].at(0)["customers"].get_int64().value(), 0) << funnel.body;
  ASSERT_EQ(breakdown.status, 200) << breakdown.body;
  EXPECT_EQ(Json(breakdown)["steps"].at(0)["customers"].get_int64().value(), 1) << breakdown.body;  // the event counts
  EXPECT_EQ(breakdown.body.find("zqarr"), std::string::npos) << breakdown.body;
  ASSERT_TRUE(exported.has_value()) << exported.error().message();
  EXPECT_NE(exported->find("zqarr1@example.cn"), std::string::npos);
  EXPECT_NE(exported->find("zqarr2@example.cn"), std::string::npos);
  EXPECT_NE(exported->find("13955550001"), std::string::npos);
}

// The largest array a Segment message can carry (32 KB) goes through the walk in one request, every value sealed;
// a larger one is refused whole by the existing message limit, before any walk.
TEST_F(PrivacyApiTest, AMessageFullOfArrayElementsIsSealedWithinTheMessageLimit) {
  HttpResponse put = Api("PUT", "/api/v1/privacy/catalogue",
                         R"({"event_properties":[{"key":"contacts.email","class":"personal"}]})");
  ASSERT_EQ(put.status, 200) << put.body;
  auto message = [](int elements) {
    std::string m = R"({"userId":"ep-13","event":"Imported","properties":{"contacts":[)";
    for (int i = 0; i < elements; ++i) {
      m += (i ? "," : "") + std::string(R"({"email":"zqbulk)") + std::to_string(i) + R"(@x.cn","n":1})";
    }
    return m + "]}}";
  };
  int fits = 0;
  while (message(fits + 1).size() <= 32 * 1024) ++fits;

  auto start = std::chrono::steady_clock::now();
  HttpResponse sent = client_->Request("POST", "/v1/track", message(fits),
                                       {{"Authorization", std::string("Basic ") + kSegmentBasic}});
  auto elapsed = std::chrono::steady_clock::now() - start;
  HttpResponse too_big = client_->Request("POST", "/v1/track", message(fits + 1),
                                          {{"Authorization", std::string("Basic ") + kSegmentBasic}});

  ASSERT_EQ(sent.status, 200) << sent.body;
  EXPECT_NE(too_big.status, 200) << too_big.body;
  EXPECT_NE(too_big.body.find("32 KB"), std::string::npos) << too_big.body;
  CustomerId customer;
  storage::EventRecord stored;
  ASSERT_NO_FATAL_FAILURE(OnlyStoredEvent("ep-13", customer, stored));
  EXPECT_EQ(stored.properties_json.find("zqbulk"), std::string::npos);
  EXPECT_NE(stored.personal_json.find("zqbulk" + std::to_string(fits - 1) + "@x.cn"), std::string::npos);
  // Measured a median 53 ms for the request with 994 elements (43 ms with the array not classed; Release, load
  // average 13); the bound only catches a blowup.
  EXPECT_LT(std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count(), 3000);
}

TEST_F(PrivacyApiTest, CatalogueRejectsBadEntriesNamingTheFieldAndChangesNothing) {
  HttpResponse before = Api("GET", "/api/v1/privacy/catalogue");
  ASSERT_EQ(before.status, 200) << before.body;
  EXPECT_NE(before.body.find(R"({"key":"email","class":"personal"})"), std::string::npos) << before.body;
  EXPECT_NE(before.body.find(R"({"key":"身份证","class":"personal"})"), std::string::npos) << before.body;
  struct Case {
    const char* body;
    const char* field;
  };
  for (Case c : {Case{R"({})", "event_properties"},
                 Case{R"({"event_properties":{}})", "event_properties"},
                 Case{R"({"event_properties":[{"key":"plan","class":"secret-ish"}]})", "event_properties[0].class"},
                 Case{R"({"event_properties":[{"key":"","class":"personal"}]})", "event_properties[0].key"},
                 Case{R"({"event_properties":[{"key":"a..b","class":"personal"}]})", "event_properties[0].key"},
                 Case{R"({"event_properties":[{"key":"plan","class":"public"},{"key":"user.","class":"personal"}]})",
                      "event_properties[1].key"},
                 Case{R"({"event_properties":[{"key":"a.b.c.d.e.f.g.h.i","class":"personal"}]})",
                      "event_properties[0].key"},
                 Case{R"({"event_properties":[{"key":"contacts[].email","class":"personal"}]})",
                      "event_properties[0].key"},  // arrays need no marker
                 Case{R"({"event_properties":[{"key":"plan"}]})", "event_properties[0].class"},
                 Case{R"({"event_properties":[{"key":"x","class":"personal","extra":1}]})",
                      "event_properties[0].extra"},
                 Case{R"({"event_properties":[{"key":"Plan","class":"personal"},{"key":"plan","class":"public"}]})",
                      "event_properties[1].key"},
                 Case{R"({"event_properties":[],"more":true})", "more"}}) {
    HttpResponse r = Api("PUT", "/api/v1/privacy/catalogue", c.body);

    EXPECT_EQ(r.status, 400) << c.body << ": " << r.body;
    EXPECT_NE(r.body.find(c.field), std::string::npos) << c.body << ": " << r.body;
  }
  EXPECT_EQ(Api("GET", "/api/v1/privacy/catalogue").body, before.body);
}

TEST_F(PrivacyApiTest, CatalogueChangeAppliesToTheNextEventsAndIsAudited) {
  HttpResponse put = Api("PUT", "/api/v1/privacy/catalogue",
                         R"({"event_properties":[{"key":"Plan","class":"personal"},{"key":"email","class":"public"}]})");
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_NE(put.body.find(R"({"key":"plan","class":"personal"})"), std::string::npos) << put.body;
  EXPECT_EQ(put.body.find(R"("key":"phone")"), std::string::npos) << put.body;  // replaced as a whole

  HttpResponse sent = client_->Request(
      "POST", "/v1/track", R"({"userId":"ep-10","event":"Upgraded","properties":{"plan":"gold","email":"p@x.cn"}})",
      {{"Authorization", std::string("Basic ") + kSegmentBasic}});
  ASSERT_EQ(sent.status, 200) << sent.body;
  CustomerId customer;
  storage::EventRecord events;
  ASSERT_NO_FATAL_FAILURE(OnlyStoredEvent("ep-10", customer, events));
  EXPECT_EQ(events.properties_json, R"({"email":"p@x.cn"})");
  EXPECT_EQ(events.personal_json, R"({"properties":{"plan":"gold"}})");
  HttpResponse audit = Api("GET", "/api/v1/audit?action=privacy.catalogue");
  ASSERT_EQ(audit.status, 200) << audit.body;
  EXPECT_NE(audit.body.find("plan=personal"), std::string::npos) << audit.body;
}

TEST_F(PrivacyApiTest, SegmentRulesOnPersonalPropertiesAreRefusedNamingTheProperty) {
  HttpResponse personal = Api("POST", "/api/v1/segments",
                              R"({"name":"By email","rule":"did \"Viewed\" where properties.Email = \"a@b.cn\""})");
  HttpResponse nested = Api("POST", "/api/v1/segments",
                            R"({"name":"Nested","rule":"country = \"CN\" or not did \"Viewed\" where properties.mobile = \"1\""})");
  HttpResponse plain = Api("POST", "/api/v1/segments",
                           R"({"name":"By plan","rule":"did \"Viewed\" where properties.plan = \"pro\""})");

  EXPECT_EQ(personal.status, 400) << personal.body;
  EXPECT_NE(personal.body.find("properties.Email is classed personal"), std::string::npos) << personal.body;
  EXPECT_EQ(nested.status, 400) << nested.body;
  EXPECT_NE(nested.body.find("properties.mobile"), std::string::npos) << nested.body;
  EXPECT_EQ(plain.status, 201) << plain.body;
  HttpResponse list = Api("GET", "/api/v1/segments");
  EXPECT_EQ(list.body.find("By email"), std::string::npos);
}

}  // namespace
}  // namespace panorama
