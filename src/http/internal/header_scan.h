#pragma once
// The raw-byte checks the server makes on a request's header section before Beast parses it (S18).

#include <string_view>

namespace panorama::http::internal {

// `head` is the start of a request: the request line and header lines up to and including the last header
// line's CRLF, or a prefix of them still being received. Returns why the bytes cannot be a well-framed
// HTTP/1.1 header section — a bare LF, a CR not followed by LF, a NUL byte, or a line starting with a space
// or tab (obs-fold, RFC 9112 §5.2) — or nullptr when nothing is wrong so far. A CR as the last byte of a
// prefix is not yet a problem.
const char* HeaderFramingProblem(std::string_view head);

}  // namespace panorama::http::internal
