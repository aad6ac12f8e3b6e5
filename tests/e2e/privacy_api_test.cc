// Privacy over real HTTP: consent capture (PUT, Sec-GPC, Segment traits.consent), the sensitive-data 409, and a
// data-subject erasure request carried out through the API (SECURITY.md S14, S15).
#include <gtest/gtest.h>
#include <simdjson.h>

#include <cstdlib>

#include "app/runtime.h"
#include "security/auth_service.h"
#include "privacy/consent_service.h"
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

}  // namespace
}  // namespace panorama
