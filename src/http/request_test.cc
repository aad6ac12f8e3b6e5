#include "http/request.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <simdjson.h>

namespace panorama::http {
namespace {

TEST(HttpStatusFor, MapsEveryErrorCodeByTheStyleTable) {
  const std::vector<std::pair<ErrorCode, int>> table = {
      {ErrorCode::kInvalidArgument, 400},   {ErrorCode::kUnauthenticated, 401},
      {ErrorCode::kPermissionDenied, 403},  {ErrorCode::kNotFound, 404},
      {ErrorCode::kAlreadyExists, 409},     {ErrorCode::kAborted, 409},
      {ErrorCode::kFailedPrecondition, 422}, {ErrorCode::kResourceExhausted, 429},
      {ErrorCode::kUnavailable, 503},       {ErrorCode::kInternal, 500},
  };
  for (const auto& [code, status] : table) {
    EXPECT_EQ(HttpStatusFor(code), status) << ErrorCodeName(code);
  }
}

TEST(ResponseProblem, CarriesTypeTitleStatusDetailAndFieldErrors) {
  Error error = Error::InvalidField("traits.email", "must contain @");
  error.AddViolation("traits.phone", "not a phone number");

  Response response = Response::Problem(error);

  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(response.content_type, "application/problem+json");
  simdjson::dom::parser parser;
  simdjson::dom::element doc = parser.parse(response.body);
  EXPECT_EQ(std::string_view(doc["type"]), "about:blank");
  EXPECT_EQ(std::string_view(doc["title"]), "Bad Request");
  EXPECT_EQ(int64_t(doc["status"]), 400);
  EXPECT_EQ(std::string_view(doc["detail"]), "traits.email: must contain @");
  EXPECT_EQ(std::string_view(doc["code"]), "invalid_argument");
  simdjson::dom::array errors = doc["errors"];
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(std::string_view(errors.at(1)["field"]), "traits.phone");
  EXPECT_EQ(std::string_view(errors.at(1)["reason"]), "not a phone number");
}

TEST(ResponseProblem, ExplicitStatusOverridesTheTable) {
  Response response = Response::Problem(413, Error::ResourceExhausted("body exceeds 1024 bytes"));

  EXPECT_EQ(response.status, 413);
  EXPECT_THAT(response.body, ::testing::HasSubstr("\"title\":\"Content Too Large\""));
}

TEST(ResponseProblem, EscapesDetailText) {
  Response response = Response::Problem(Error::NotFound("customer \"x\"\n not found"));

  simdjson::dom::parser parser;
  EXPECT_EQ(std::string_view(parser.parse(response.body)["detail"]), "customer \"x\"\n not found");
}

TEST(ResponseNoContent, HasNoBodyOrContentType) {
  Response response = Response::NoContent();

  EXPECT_EQ(response.status, 204);
  EXPECT_TRUE(response.body.empty());
  EXPECT_TRUE(response.content_type.empty());
}

TEST(Request, HeaderLookupIgnoresCase) {
  Request request;
  request.headers = {{"authorization", "Bearer t"}};

  EXPECT_EQ(request.Header("Authorization"), "Bearer t");
  EXPECT_EQ(request.Header("X-Missing"), "");
}

TEST(Request, QueryDistinguishesEmptyFromAbsent) {
  Request request;
  request.query = {{"limit", "10"}, {"flag", ""}};

  EXPECT_EQ(request.Query("limit"), "10");
  EXPECT_EQ(request.Query("flag"), "");
  EXPECT_FALSE(request.Query("cursor").has_value());
}

TEST(MethodName, NamesEveryMethod) {
  EXPECT_STREQ(MethodName(Method::kGet), "GET");
  EXPECT_STREQ(MethodName(Method::kDelete), "DELETE");
  EXPECT_STREQ(MethodName(Method::kPatch), "PATCH");
}

}  // namespace
}  // namespace panorama::http
