#pragma once
// URL helpers shared by the router and the server; internal to http/.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace panorama::http::internal {

// Decodes %XX escapes; with `plus_is_space` (query strings) '+' becomes ' '. kInvalidArgument on a
// truncated or non-hex escape.
Result<std::string> PercentDecode(std::string_view text, bool plus_is_space);

// Splits "a=1&b=x%20y" into decoded pairs in order; a key without '=' gets an empty value.
Result<std::vector<std::pair<std::string, std::string>>> ParseQuery(std::string_view query);

// The part of a request target before '?'.
std::string_view TargetPath(std::string_view target);

}  // namespace panorama::http::internal
