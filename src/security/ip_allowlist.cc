#include "security/ip_allowlist.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <optional>

namespace panorama::security {
namespace {

struct Network {
  bool v6 = false;
  std::array<uint8_t, 16> bytes{};  // IPv4 uses the first 4
  int prefix = 0;
};

std::optional<Network> ParseAddress(std::string_view text) {
  if (text.empty() || text.size() > 45) return std::nullopt;
  std::string s(text);
  Network n;
  if (inet_pton(AF_INET, s.c_str(), n.bytes.data()) == 1) {
    n.prefix = 32;
    return n;
  }
  if (inet_pton(AF_INET6, s.c_str(), n.bytes.data()) == 1) {
    n.v6 = true;
    n.prefix = 128;
    return n;
  }
  return std::nullopt;
}

// ::ffff:a.b.c.d → a.b.c.d, so an IPv4 allowlist works behind a dual-stack socket.
Network Unmapped(Network n) {
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (n.v6 && std::equal(std::begin(kMapped), std::end(kMapped), n.bytes.begin())) {
    Network v4;
    std::copy(n.bytes.begin() + 12, n.bytes.end(), v4.bytes.begin());
    v4.prefix = n.prefix >= 96 ? n.prefix - 96 : 0;
    return v4;
  }
  return n;
}

bool HostBitsClear(const Network& n) {
  int bits = n.v6 ? 128 : 32;
  for (int i = n.prefix; i < bits; ++i) {
    if (n.bytes[i / 8] & (0x80 >> (i % 8))) return false;
  }
  return true;
}

// The reason `text` is not a CIDR block, or the block.
Result<Network> ParseCidr(std::string_view text) {
  size_t slash = text.find('/');
  auto address = ParseAddress(text.substr(0, slash));
  if (!address) return Error::InvalidArgument("is not an IPv4 or IPv6 address or CIDR block");
  Network n = *address;
  if (slash != std::string_view::npos) {
    std::string_view digits = text.substr(slash + 1);
    int prefix = -1;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
    int max = n.v6 ? 128 : 32;
    if (digits.empty() || digits.size() > 3 || ec != std::errc() || end != digits.data() + digits.size() ||
        prefix < 0 || prefix > max) {
      return Error::InvalidArgument("prefix length must be 0 to " + std::to_string(max));
    }
    n.prefix = prefix;
  }
  if (!HostBitsClear(n)) return Error::InvalidArgument("has host bits set beyond the prefix length");
  return n;
}

std::string Format(const Network& n) {
  char buffer[INET6_ADDRSTRLEN] = {};
  inet_ntop(n.v6 ? AF_INET6 : AF_INET, n.bytes.data(), buffer, sizeof buffer);
  return std::string(buffer) + "/" + std::to_string(n.prefix);
}

bool Contains(const Network& block, const Network& host) {
  if (block.v6 != host.v6) return false;
  for (int i = 0; i < block.prefix; ++i) {
    uint8_t mask = static_cast<uint8_t>(0x80 >> (i % 8));
    if ((block.bytes[i / 8] & mask) != (host.bytes[i / 8] & mask)) return false;
  }
  return true;
}

}  // namespace

Result<std::vector<std::string>> NormaliseCidrs(const std::vector<std::string>& cidrs, std::string_view field) {
  Error invalid = Error::InvalidArgument(std::string(field) + ": invalid network list");
  if (cidrs.size() > kMaxAllowedCidrs) {
    return Error::InvalidField(std::string(field), "must have at most " + std::to_string(kMaxAllowedCidrs) +
                                                       " entries");
  }
  std::vector<std::string> out;
  for (size_t i = 0; i < cidrs.size(); ++i) {
    std::string name = std::string(field) + "[" + std::to_string(i) + "]";
    auto parsed = ParseCidr(cidrs[i]);
    if (!parsed) {
      invalid.AddViolation(name, parsed.error().message());
      continue;
    }
    std::string text = Format(*parsed);
    if (std::find(out.begin(), out.end(), text) != out.end()) {
      invalid.AddViolation(name, "repeats an earlier entry");
      continue;
    }
    out.push_back(std::move(text));
  }
  if (!invalid.violations().empty()) return invalid;
  return out;
}

bool AddressAllowed(std::string_view ip, const std::vector<std::string>& cidrs) {
  if (cidrs.empty()) return true;
  auto host = ParseAddress(ip);
  if (!host) return false;
  Network client = Unmapped(*host);
  for (const auto& entry : cidrs) {
    auto block = ParseCidr(entry);
    if (block && Contains(*block, client)) return true;
  }
  return false;
}

}  // namespace panorama::security
