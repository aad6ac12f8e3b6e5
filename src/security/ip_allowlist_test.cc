// CIDR allowlists for API keys: validation with per-entry field names, IPv4/IPv6 matching, fail-closed.

#include "security/ip_allowlist.h"

#include <gtest/gtest.h>

#include "tests/support/result_matchers.h"

namespace panorama::security {
namespace {

TEST(IpAllowlist, NormalisesAddressesAndPrefixes) {
  auto list = NormaliseCidrs({"127.0.0.1", "10.0.0.0/8", "2001:DB8:0:0::/32", "::1"}, "allowed_cidrs");

  ASSERT_OK(list);
  EXPECT_EQ(*list, (std::vector<std::string>{"127.0.0.1/32", "10.0.0.0/8", "2001:db8::/32", "::1/128"}));
}

TEST(IpAllowlist, EmptyListAllowsEveryAddress) {
  EXPECT_TRUE(AddressAllowed("203.0.113.9", {}));
}

TEST(IpAllowlist, MatchesIpv4Blocks) {
  std::vector<std::string> list = {"10.1.0.0/16", "127.0.0.1/32"};

  EXPECT_TRUE(AddressAllowed("10.1.255.3", list));
  EXPECT_TRUE(AddressAllowed("127.0.0.1", list));
  EXPECT_FALSE(AddressAllowed("10.2.0.1", list));
  EXPECT_FALSE(AddressAllowed("127.0.0.2", list));
}

TEST(IpAllowlist, MatchesIpv6BlocksAndNotIpv4) {
  std::vector<std::string> list = {"2001:db8:abcd::/48"};

  EXPECT_TRUE(AddressAllowed("2001:db8:abcd:12::1", list));
  EXPECT_FALSE(AddressAllowed("2001:db8:abce::1", list));
  EXPECT_FALSE(AddressAllowed("10.0.0.1", list));
}

TEST(IpAllowlist, MatchesIpv4MappedAddressesAsIpv4) {
  EXPECT_TRUE(AddressAllowed("::ffff:127.0.0.1", {"127.0.0.0/8"}));
  EXPECT_FALSE(AddressAllowed("::ffff:192.0.2.1", {"127.0.0.0/8"}));
}

TEST(IpAllowlist, OddPrefixLengthsCompareBitByBit) {
  std::vector<std::string> list = {"192.168.0.0/23"};

  EXPECT_TRUE(AddressAllowed("192.168.1.200", list));
  EXPECT_FALSE(AddressAllowed("192.168.2.1", list));
}

TEST(IpAllowlist, UnparsableClientAddressIsNeverAllowed) {
  EXPECT_FALSE(AddressAllowed("", {"0.0.0.0/0"}));
  EXPECT_FALSE(AddressAllowed("localhost", {"0.0.0.0/0"}));
  EXPECT_TRUE(AddressAllowed("198.51.100.7", {"0.0.0.0/0"}));
}

struct BadCidr {
  std::string text;
  std::string reason_part;
};

class IpAllowlistBadInput : public ::testing::TestWithParam<BadCidr> {};

TEST_P(IpAllowlistBadInput, IsRejectedNamingTheIndex) {
  auto list = NormaliseCidrs({"10.0.0.0/8", GetParam().text}, "allowed_cidrs");

  EXPECT_ERROR_CODE(list, ErrorCode::kInvalidArgument);
  ASSERT_FALSE(list.has_value());
  ASSERT_EQ(list.error().violations().size(), 1u);
  EXPECT_EQ(list.error().violations()[0].field, "allowed_cidrs[1]");
  EXPECT_NE(list.error().violations()[0].reason.find(GetParam().reason_part), std::string::npos)
      << list.error().violations()[0].reason;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, IpAllowlistBadInput,
    ::testing::Values(BadCidr{"10.0.0.300/8", "not an IPv4"}, BadCidr{"10.0.0.0/33", "0 to 32"},
                      BadCidr{"::/129", "0 to 128"}, BadCidr{"10.0.0.0/", "0 to 32"}, BadCidr{"10.0.0.0/8x", "0 to 32"},
                      BadCidr{"10.0.0.0/-1", "0 to 32"}, BadCidr{"10.0.0.1/8", "host bits"},
                      BadCidr{"2001:db8::1/32", "host bits"}, BadCidr{"10.0.0.0/8", "repeats"},
                      BadCidr{"' OR 1=1 --", "not an IPv4"}, BadCidr{"../../etc/passwd", "not an IPv4"},
                      BadCidr{"", "not an IPv4"}, BadCidr{"10.0.0.0,11.0.0.0", "not an IPv4"}));

TEST(IpAllowlist, TooManyEntriesNamesTheField) {
  std::vector<std::string> many(kMaxAllowedCidrs + 1);
  for (size_t i = 0; i < many.size(); ++i) many[i] = "10.0." + std::to_string(i) + ".0/24";

  auto list = NormaliseCidrs(many, "allowed_cidrs");

  EXPECT_ERROR_CODE(list, ErrorCode::kInvalidArgument);
  ASSERT_FALSE(list.has_value());
  EXPECT_EQ(list.error().violations()[0].field, "allowed_cidrs");
}

}  // namespace
}  // namespace panorama::security
