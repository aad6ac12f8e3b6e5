#pragma once
// A small HTTP(S) client for outgoing webhooks (the audit checkpoint webhook): one POST of a JSON body with a
// hard deadline. No Beast here (STYLE.md §10); the implementation is webhook_client.cc.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace panorama::http {

struct WebhookUrl {
  bool tls = false;
  std::string host;
  uint16_t port = 0;
  std::string target;  // path and query, "/" when empty
  std::string text;    // the URL as given, for logs
};

// Accepts https://host[:port]/path, and http:// only to a loopback host (127.x.x.x, [::1], localhost), so
// checkpoints never cross a network in clear text. No user-info, no fragment. kInvalidArgument naming `field`.
Result<WebhookUrl> ParseWebhookUrl(std::string_view url, const std::string& field);

// POSTs `json` (Content-Type application/json) and succeeds on a 2xx answer. https verifies the server's
// certificate against the system trust store and its host name. Everything (resolve, connect, TLS, write, read)
// must finish within `timeout`. kUnavailable naming the step or the status otherwise.
Result<void> PostJson(const WebhookUrl& url, const std::string& json,
                      std::chrono::milliseconds timeout = std::chrono::seconds(2));

}  // namespace panorama::http
