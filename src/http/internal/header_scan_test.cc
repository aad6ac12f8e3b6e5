#include "http/internal/header_scan.h"

#include <string>
#include <string_view>

#include <gtest/gtest.h>

namespace panorama::http::internal {
namespace {

using namespace std::string_literals;

TEST(HeaderFramingProblem, AcceptsWellFormedHeadersAndPrefixes) {
  EXPECT_EQ(HeaderFramingProblem("GET / HTTP/1.1\r\nHost: x\r\nX-A: b c\r\n"), nullptr);
  EXPECT_EQ(HeaderFramingProblem("GET / HTTP/1.1\r\nHost: x\r"), nullptr);
  EXPECT_EQ(HeaderFramingProblem(""), nullptr);
}

TEST(HeaderFramingProblem, RefusesBareLineEndsNulAndFolding) {
  const std::string cases[] = {
      "GET / HTTP/1.1\nHost: x\n",          "GET / HTTP/1.1\r\nHost: x\nX: y\r\n",
      "GET / HTTP/1.1\r\nX: a\rb\r\n",      "GET / HTTP/1.1\r\nX: a\0b\r\n"s,
      "GET / HTTP/1.1\r\nX: a\r\n b\r\n",   "GET / HTTP/1.1\r\nX: a\r\n\tb\r\n",
      "GET / HTTP/1.1\r\n Host: x\r\n",     "\n",
  };
  for (const std::string& head : cases) {
    EXPECT_NE(HeaderFramingProblem(head), nullptr) << head;
  }
}

}  // namespace
}  // namespace panorama::http::internal
