#pragma once
// Client-network allowlists for API keys: CIDR blocks (IPv4 "10.0.0.0/8", IPv6 "2001:db8::/32"; a bare address
// means one host). Pure functions, thread-safe.

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace panorama::security {

inline constexpr size_t kMaxAllowedCidrs = 32;

// Validates and normalises a list (canonical address text, prefix always written). kInvalidArgument with one
// violation per bad entry, named "<field>[<index>]": not an address, prefix out of range, host bits set, a
// duplicate; or "<field>" when there are more than kMaxAllowedCidrs entries.
Result<std::vector<std::string>> NormaliseCidrs(const std::vector<std::string>& cidrs, std::string_view field);

// True when `cidrs` is empty (no restriction) or `ip` lies in one of them. An IPv4-mapped IPv6 address
// (::ffff:a.b.c.d, as a dual-stack listener reports it) is matched as IPv4. An unparsable `ip` or an entry that
// does not parse is never a match (fail closed).
bool AddressAllowed(std::string_view ip, const std::vector<std::string>& cidrs);

}  // namespace panorama::security
