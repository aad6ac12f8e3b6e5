#pragma once
// Self-service data-subject requests (GDPR 12(2), 12(6); PIPL 50): a requester who is not signed in asks with an
// email or a phone, and proves control of it with a single-use code.
//
// Submit never tells whether the identifier belongs to a customer (the HTTP answer is the same 202 either
// way). When it does, an unverified request is opened, a 6-digit code is generated, only its keyed hash is
// stored (24 h expiry), and the code goes to the notification outbox (template `dsar_verification`) for the
// messaging module — there is no mailer yet, so the outbox row waits with sent_at unset. Verify checks the code
// in constant time; 5 wrong tries burn it; a verified code cannot be used again. A verified request then goes
// through the staff flow (fulfil, with the erasure grace period).
//
// Thread-safety: Submit and Verify may be called from any thread; Verify is serialised so concurrent wrong
// tries cannot overrun the limit.

#include <chrono>
#include <mutex>
#include <string>
#include <string_view>

#include "core/result.h"
#include "core/time.h"
#include "storage/records.h"

namespace panorama::storage {
class Store;
}

namespace panorama::privacy {

struct PublicRequestOptions {
  std::chrono::milliseconds code_ttl = std::chrono::hours(24);
  int max_attempts = 5;
};

class PublicRequestService {
 public:
  // `code_key`: secret for the code hashes (derived from the server's privacy secret by app/).
  PublicRequestService(storage::Store& store, const Clock& clock, std::string code_key,
                       PublicRequestOptions options = {});

  // `kind`: one of kRequestKinds; `channel`: "email" or "phone"; `value`: the canonical (normalised) identifier;
  // `jurisdiction`: one of kJurisdictions. kInvalidArgument naming the field for a bad kind/jurisdiction/channel;
  // Ok whether or not a customer matched (the caller must answer the same in both cases).
  Result<void> Submit(std::string_view kind, std::string_view channel, std::string_view value,
                      std::string_view jurisdiction);

  // Marks the request verified (method = the channel, actor "requester"). kInvalidArgument naming "code" for
  // a malformed, wrong, expired, spent or burned code — and for a request without a code (an unknown id
  // answers like a wrong code, so ids cannot be probed).
  Result<storage::PrivacyRequestRecord> Verify(int64_t request_id, std::string_view code);

  // Keyed hash of a code for a request (exposed for tests that check nothing stores the code in clear).
  std::string CodeHash(int64_t request_id, std::string_view code) const;

 private:
  storage::Store& store_;
  const Clock& clock_;
  std::string code_key_;
  PublicRequestOptions options_;
  std::mutex verify_mu_;
};

}  // namespace panorama::privacy
