#include "privacy/public_requests.h"

#include <sodium.h>

#include <algorithm>
#include <cstdio>

#include "privacy/dsar_service.h"
#include "privacy/internal/json_text.h"
#include "storage/store.h"

namespace panorama::privacy {
namespace {

using internal::AppendJsonString;

Error BadCode(std::string reason) { return Error::InvalidField("code", std::move(reason)); }

}  // namespace

PublicRequestService::PublicRequestService(storage::Store& store, const Clock& clock, std::string code_key,
                                           PublicRequestOptions options)
    : store_(store), clock_(clock), code_key_(std::move(code_key)), options_(options) {}

std::string PublicRequestService::CodeHash(int64_t request_id, std::string_view code) const {
  return SuppressionHash(code_key_, "dsar-code:" + std::to_string(request_id), code);
}

Result<void> PublicRequestService::Submit(std::string_view kind, std::string_view channel, std::string_view value,
                                          std::string_view jurisdiction) {
  if (std::find(std::begin(kRequestKinds), std::end(kRequestKinds), kind) == std::end(kRequestKinds)) {
    return Error::InvalidField("type", "must be one of access, portability, rectify, erase, restrict");
  }
  if (channel != "email" && channel != "phone") return Error::InvalidField("channel", "must be email or phone");
  Timestamp now = clock_.Now();
  ASSIGN_OR_RETURN(Timestamp due, RequestDeadline(jurisdiction, now));
  ASSIGN_OR_RETURN(auto owner, store_.FindIdentity(channel, value));
  if (!owner) return Ok();  // nobody: the same answer, nothing stored
  ASSIGN_OR_RETURN(storage::CustomerRecord customer, store_.GetCustomer(*owner));
  CustomerId subject = customer.merged_into ? *customer.merged_into : customer.id;

  char digits[8];
  std::snprintf(digits, sizeof digits, "%06u", static_cast<unsigned>(randombytes_uniform(1'000'000)));
  std::string code(digits);
  storage::PrivacyRequestRecord r;
  r.customer = subject;
  r.kind = std::string(kind);
  r.jurisdiction = std::string(jurisdiction);
  r.status = "open";
  r.received_at = now;
  r.due_at = due;
  r.note = "self-service request (" + std::string(channel) + ")";
  Result<void> written = store_.Write([&](storage::WriteTxn& txn) -> Result<void> {
    ASSIGN_OR_RETURN(r.id, txn.InsertPrivacyRequest(r));
    storage::VerificationCodeRecord c;
    c.request_id = r.id;
    c.customer = subject;
    c.channel = std::string(channel);
    c.code_hash = CodeHash(r.id, code);
    c.expires_at = now + options_.code_ttl;
    c.created_at = now;
    RETURN_IF_ERROR(txn.PutVerificationCode(c));
    storage::OutboxRecord message;
    message.channel = channel == "email" ? "email" : "sms";
    message.customer = subject;
    message.template_name = "dsar_verification";
    message.payload_json = "{\"request_id\":" + std::to_string(r.id) + ",\"kind\":";
    AppendJsonString(message.payload_json, kind);
    message.payload_json += ",\"code\":\"" + code + "\",\"expires_at\":";
    AppendJsonString(message.payload_json, FormatIso8601(c.expires_at));
    message.payload_json += "}";
    message.created_at = now;
    ASSIGN_OR_RETURN(message.id, txn.InsertOutbox(message));
    return Ok();
  });
  sodium_memzero(code.data(), code.size());
  sodium_memzero(digits, sizeof digits);
  return written;
}

Result<storage::PrivacyRequestRecord> PublicRequestService::Verify(int64_t request_id, std::string_view code) {
  if (code.size() != 6 || !std::all_of(code.begin(), code.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return BadCode("must be the 6-digit code that was sent");
  }
  std::lock_guard lock(verify_mu_);
  ASSIGN_OR_RETURN(auto stored, store_.GetVerificationCode(request_id));
  if (!stored) return BadCode("is wrong or has expired");
  storage::VerificationCodeRecord c = std::move(*stored);
  Timestamp now = clock_.Now();
  if (c.used_at) return BadCode("was already used");
  if (c.attempts >= options_.max_attempts) return BadCode("was blocked after too many wrong tries; ask again");
  if (now >= c.expires_at) return BadCode("has expired; ask again");
  std::string hash = CodeHash(request_id, code);
  bool match = hash.size() == c.code_hash.size() && sodium_memcmp(hash.data(), c.code_hash.data(), hash.size()) == 0;
  if (!match) {
    ++c.attempts;
    RETURN_IF_ERROR(store_.Write([&](storage::WriteTxn& txn) { return txn.PutVerificationCode(c); }));
    if (c.attempts >= options_.max_attempts) return BadCode("is wrong; it is now blocked after too many wrong tries");
    return BadCode("is wrong");
  }
  ASSIGN_OR_RETURN(storage::PrivacyRequestRecord r, store_.GetPrivacyRequest(request_id));
  if (r.status != "open" || r.verification == "verified") return BadCode("was already used");
  c.used_at = now;
  r.verification = "verified";
  r.verification_method = c.channel;
  r.verified_by = "requester";
  r.verified_at = now;
  Result<void> written = store_.Write([&](storage::WriteTxn& txn) -> Result<void> {
    RETURN_IF_ERROR(txn.PutVerificationCode(c));
    return txn.UpdatePrivacyRequest(r);
  });
  if (!written) return std::move(written.error());
  return r;
}

}  // namespace panorama::privacy
