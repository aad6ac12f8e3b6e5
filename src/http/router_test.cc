#include "http/router.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace panorama::http {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

GuardedHandler Named(std::string name) {
  return Public([name](Request&) { return Response::Json(200, name); });
}

Request MakeRequest(Method method, std::string target) {
  Request request;
  request.method = method;
  request.target = std::move(target);
  return request;
}

class RouterTest : public ::testing::Test {
 protected:
  RouterTest() {
    router_.Add(Method::kGet, "/api/v1/customers/{id}", Named("get-customer"));
    router_.Add(Method::kGet, "/api/v1/customers/search", Named("search"));
    router_.Add(Method::kPut, "/api/v1/customers/{id}", Named("put-customer"));
    router_.Add(Method::kGet, "/api/v1/customers/{id}/360", Named("360"));
    router_.Add(Method::kGet, "/api/v1/customers/{id}/orders/{order_id}", Named("order"));
    router_.AddAsync(Method::kPost, "/v1/batch", PublicAsync([](Request&, Responder respond) {
                       respond(Response::Json(202, "async"));
                     }));
    router_.AddPrefix(Method::kGet, "/", Named("static"));
    router_.AddPrefix(Method::kGet, "/docs/", Named("docs"));
  }

  Response Dispatch(Method method, std::string target) {
    last_ = MakeRequest(method, std::move(target));
    Response out;
    router_.Dispatch(last_, [&](Response response) { out = std::move(response); });
    return out;
  }

  Router router_;
  Request last_;
};

TEST_F(RouterTest, ExtractsPathParams) {
  Response response = Dispatch(Method::kGet, "/api/v1/customers/42/orders/7");

  EXPECT_EQ(response.body, "order");
  EXPECT_THAT(last_.path_params, ElementsAre(Pair("id", "42"), Pair("order_id", "7")));
}

TEST_F(RouterTest, LiteralSegmentBeatsParamWhateverTheOrder) {
  Response response = Dispatch(Method::kGet, "/api/v1/customers/search");

  EXPECT_EQ(response.body, "search");
}

TEST_F(RouterTest, ParamSegmentIsPercentDecodedAfterSplitting) {
  Dispatch(Method::kGet, "/api/v1/customers/a%2Fb%20c/360?x=1");

  EXPECT_EQ(last_.PathParam("id"), "a/b c");
}

TEST_F(RouterTest, UnknownApiPathFallsToLongestPrefix) {
  EXPECT_EQ(Dispatch(Method::kGet, "/docs/intro").body, "docs");
  EXPECT_EQ(Dispatch(Method::kGet, "/customers/42").body, "static");
}

TEST_F(RouterTest, UnknownPathWithoutPrefixIsNotFoundProblem) {
  Response response = Dispatch(Method::kPost, "/nothing");

  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(response.content_type, "application/problem+json");
}

TEST_F(RouterTest, WrongMethodIsMethodNotAllowedListingAllowed) {
  Response response = Dispatch(Method::kDelete, "/api/v1/customers/42");

  EXPECT_EQ(response.status, 405);
  EXPECT_THAT(response.headers, ElementsAre(Pair("Allow", "GET, HEAD, PUT")));
  EXPECT_THAT(response.body, HasSubstr("\"status\":405"));
}

TEST_F(RouterTest, HeadFallsBackToGet) {
  Response response = Dispatch(Method::kHead, "/api/v1/customers/42/360");

  EXPECT_EQ(response.body, "360");
}

TEST_F(RouterTest, AsyncRouteAnswersThroughResponder) {
  Response response = Dispatch(Method::kPost, "/v1/batch");

  EXPECT_EQ(response.status, 202);
  EXPECT_EQ(response.body, "async");
}

TEST_F(RouterTest, MatchReportsSyncOrAsyncHandler) {
  Request sync = MakeRequest(Method::kGet, "/api/v1/customers/1");
  Request async = MakeRequest(Method::kPost, "/v1/batch");

  EXPECT_NE(router_.Match(sync).handler, nullptr);
  EXPECT_NE(router_.Match(async).async_handler, nullptr);
}

TEST_F(RouterTest, EmptyParamSegmentDoesNotMatch) {
  Response response = Dispatch(Method::kPut, "/api/v1/customers/");

  EXPECT_EQ(response.status, 404);
}

TEST_F(RouterTest, InvalidPercentEscapeIsBadRequest) {
  Response response = Dispatch(Method::kGet, "/api/v1/customers/%zz");

  EXPECT_EQ(response.status, 400);
}

TEST_F(RouterTest, RoutesListsRegistrationsInOrder) {
  std::vector<RouteInfo> routes = router_.Routes();

  ASSERT_EQ(routes.size(), 8u);
  EXPECT_EQ(routes[0].pattern, "/api/v1/customers/{id}");
  EXPECT_EQ(routes[2].method, Method::kPut);
  EXPECT_TRUE(routes[5].async);
  EXPECT_EQ(routes[6].pattern, "/*");
  EXPECT_TRUE(routes[6].prefix);
}

TEST(Router, DuplicateRouteIsProgrammerError) {
  Router router;
  router.Add(Method::kGet, "/a/{id}", Named("a"));

  EXPECT_DEATH(router.Add(Method::kGet, "/a/{id}", Named("b")), "PANORAMA_CHECK");
}

TEST(Router, ReportsTheRuleEachRouteDeclares) {
  Router router;
  router.Add(Method::kGet, "/open", Named("open"));
  router.Add(Method::kGet, "/guarded",
             GuardedHandler{"customers.read", [](Request&) { return Response::NoContent(); }});

  auto routes = router.Routes();

  EXPECT_EQ(routes[0].rule, "public");
  EXPECT_EQ(routes[1].rule, "customers.read");
}

TEST(Router, RouteWithoutRuleIsProgrammerError) {
  Router router;

  EXPECT_DEATH(router.Add(Method::kGet, "/a",
                          GuardedHandler{"", [](Request&) { return Response::NoContent(); }}),
               "PANORAMA_CHECK");
}

}  // namespace
}  // namespace panorama::http
