#include "privacy/dsar_service.h"

#include <sodium.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "features/feature_store.h"
#include "privacy/consent_service.h"
#include "privacy/internal/json_text.h"
#include "privacy/subject_bundle.h"
#include "storage/store.h"

namespace panorama::privacy {
namespace {

using internal::AppendJsonString;
using internal::AppendJsonValue;

bool OneOf(std::string_view value, std::initializer_list<std::string_view> list) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

Result<CustomerId> Survivor(storage::Store& store, CustomerId id) {
  ASSIGN_OR_RETURN(storage::CustomerRecord c, store.GetCustomer(id));
  return c.merged_into ? *c.merged_into : c.id;
}

}  // namespace

Result<Timestamp> RequestDeadline(std::string_view jurisdiction, Timestamp received) {
  using namespace std::chrono;
  if (jurisdiction == "pipl") return received + days{15};
  if (jurisdiction == "ccpa") return received + days{45};
  if (jurisdiction == "gdpr") {
    // One calendar month: the same day of the next month, or its last day when that day does not exist
    // (31 January → 28/29 February).
    auto day = floor<days>(received);
    year_month_day ymd{day};
    year_month_day next = ymd + months{1};
    if (!next.ok()) next = year_month_day_last{next.year(), month_day_last{next.month()}};
    return Timestamp{sys_days{next}} + (received - day);
  }
  return Error::InvalidField("jurisdiction", "must be one of gdpr, pipl, ccpa");
}

std::string SuppressionHash(std::string_view key, std::string_view type, std::string_view value) {
  crypto_auth_hmacsha256_state state;
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(key.data()), key.size());
  std::string message = std::string(type) + ":" + std::string(value);
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(message.data()), message.size());
  crypto_auth_hmacsha256_final(&state, mac);
  char hex[crypto_auth_hmacsha256_BYTES * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, mac, sizeof mac);
  return hex;
}

Result<std::string> EraseSubject(storage::Store& store, features::FeatureStore& features, ConsentService& consents,
                                 CustomerId customer, int64_t request_id, Timestamp now,
                                 std::string_view suppression_key) {
  ASSIGN_OR_RETURN(storage::PrivacyFlagsRecord flags, store.GetPrivacyFlags(customer));
  if (flags.legal_hold) {
    return Error::FailedPrecondition("customer " + customer.ToString() + " is on legal hold and cannot be erased");
  }
  std::vector<storage::TableCount> counts;
  std::vector<std::string> hashes;
  std::vector<CustomerId> shredded;
  Result<void> written = store.Write([&](storage::WriteTxn& txn) -> Result<void> {
    ASSIGN_OR_RETURN(storage::CustomerRecord c, txn.GetCustomer(customer));
    if (c.merged_into) return Error::NotFound("customer " + customer.ToString() + " not found");
    // Every identifier of the person, for the suppression list: identities plus the profile's own keys.
    ASSIGN_OR_RETURN(auto identities, txn.ListIdentities(customer));
    std::vector<std::pair<std::string, std::string>> keys;
    for (const auto& i : identities) keys.emplace_back(i.type, i.value);
    if (!c.email.empty()) keys.emplace_back("email", c.email);
    if (!c.phone.empty()) keys.emplace_back("phone", c.phone);
    if (!c.external_id.empty()) keys.emplace_back("external_id", c.external_id);
    for (const auto& [type, value] : keys) {
      std::string hash = SuppressionHash(suppression_key, type, value);
      if (std::find(hashes.begin(), hashes.end(), hash) != hashes.end()) continue;
      RETURN_IF_ERROR(txn.AddErasureSuppression(hash, request_id, now));
      hashes.push_back(std::move(hash));
    }
    // Crypto-shredding first: the data keys of the person (and of records merged into it) are destroyed, so
    // every copy of their encrypted fields — in this database's free pages, its WAL and every older backup — is
    // unreadable; then their rows go. The schema walk after it sweeps every other table holding customer_id.
    ASSIGN_OR_RETURN(storage::ErasureReport report, txn.EraseCustomer(customer));
    shredded = report.shredded;
    const std::pair<const char*, int64_t> core[] = {
        {"customers", report.customers},     {"identities", report.identities},
        {"events", report.events},           {"orders", report.orders},
        {"order_items", report.order_items}, {"interactions", report.interactions},
        {"consents", report.consents},       {"privacy_flags", report.privacy_flags}};
    for (const auto& [table, rows] : core) counts.push_back({table, rows});
    ASSIGN_OR_RETURN(auto swept, txn.EraseSubjectRows(customer, ErasureKeptTables()));
    for (const auto& more : swept) {
      auto same = std::find_if(counts.begin(), counts.end(), [&](const auto& count) { return count.table == more.table; });
      if (same == counts.end()) {
        counts.push_back(more);
      } else {
        same->rows += more.rows;
      }
    }
    std::sort(counts.begin(), counts.end(), [](const auto& a, const auto& b) { return a.table < b.table; });
    return Ok();
  });
  if (!written) return std::move(written.error());
  // Derived data, after the commit: the feature store slot and the consent index.
  features.OnErase(customer);
  consents.OnErased(customer);

  std::sort(hashes.begin(), hashes.end());
  int64_t total = 0;
  std::string out = "{\"request_id\":" + std::to_string(request_id) + ",\"customer_id\":" +
                    std::to_string(customer.value()) + ",\"erased_at\":";
  AppendJsonString(out, FormatIso8601(now));
  out += ",\"method\":\"crypto-shred+delete\",\"shredded_keys\":[";
  for (size_t i = 0; i < shredded.size(); ++i) out += (i ? "," : "") + std::to_string(shredded[i].value());
  out += "],\"tables\":{";
  for (size_t i = 0; i < counts.size(); ++i) {
    if (i) out += ',';
    AppendJsonString(out, counts[i].table);
    out += ":" + std::to_string(counts[i].rows);
    total += counts[i].rows;
  }
  out += "},\"total_rows\":" + std::to_string(total) + ",\"derived\":[\"feature_store\",\"consent_index\"]";
  out += ",\"suppression_hashes\":[";
  for (size_t i = 0; i < hashes.size(); ++i) {
    if (i) out += ',';
    AppendJsonString(out, hashes[i]);
  }
  out += "],\"kept\":[";
  const auto& kept = ErasureKeptTables();
  for (size_t i = 0; i < kept.size(); ++i) {
    if (i) out += ',';
    AppendJsonString(out, kept[i]);
  }
  out += "]}";
  return out;
}

Result<storage::PrivacyRequestRecord> DsarService::Open(CustomerId customer, std::string_view kind,
                                                        std::string_view jurisdiction, std::string_view note) {
  if (!OneOf(kind, {"access", "portability", "rectify", "erase", "restrict"})) {
    return Error::InvalidField("kind", "must be one of access, portability, rectify, erase, restrict");
  }
  Timestamp now = clock_.Now();
  ASSIGN_OR_RETURN(Timestamp due, RequestDeadline(jurisdiction, now));
  if (note.size() > 2000) return Error::InvalidField("note", "must be at most 2000 bytes");
  ASSIGN_OR_RETURN(CustomerId subject, Survivor(store_, customer));
  storage::PrivacyRequestRecord r;
  r.customer = subject;
  r.kind = std::string(kind);
  r.jurisdiction = std::string(jurisdiction);
  r.status = "open";
  r.received_at = now;
  r.due_at = due;
  r.note = std::string(note);
  Result<void> written = store_.Write([&](storage::WriteTxn& txn) -> Result<void> {
    ASSIGN_OR_RETURN(r.id, txn.InsertPrivacyRequest(r));
    return Ok();
  });
  if (!written) return std::move(written.error());
  return r;
}

Result<std::vector<storage::PrivacyRequestRecord>> DsarService::List(const storage::PrivacyRequestQuery& query) {
  return store_.ListPrivacyRequests(query);
}

Result<std::vector<storage::PrivacyRequestRecord>> DsarService::Overdue(int limit) {
  storage::PrivacyRequestQuery q;
  q.overdue_at = clock_.Now();
  q.limit = limit;
  return store_.ListPrivacyRequests(q);
}

Result<std::string> DsarService::Export(CustomerId customer) {
  ASSIGN_OR_RETURN(CustomerId subject, Survivor(store_, customer));
  ASSIGN_OR_RETURN(auto tables, store_.ExportSubjectRows(subject));
  std::string out = "{\"format\":\"panorama-subject-export/1\",\"customer_id\":" + std::to_string(subject.value()) +
                    ",\"generated_at\":";
  AppendJsonString(out, FormatIso8601(clock_.Now()));
  out += ",\"tables\":{";
  for (size_t t = 0; t < tables.size(); ++t) {
    if (t) out += ',';
    AppendJsonString(out, tables[t].table);
    out += ":[";
    for (size_t r = 0; r < tables[t].rows.size(); ++r) {
      if (r) out += ',';
      out += '{';
      for (size_t c = 0; c < tables[t].columns.size(); ++c) {
        if (c) out += ',';
        AppendJsonString(out, tables[t].columns[c]);
        out += ':';
        AppendJsonValue(out, tables[t].rows[r][c]);
      }
      out += '}';
    }
    out += ']';
  }
  out += "}}";
  return out;
}

Result<void> DsarService::set_erasure_grace(std::chrono::days grace) {
  if (grace < std::chrono::days{0} || grace > kMaxErasureGrace) {
    return Error::InvalidField("erasure-grace-days", "must be between 0 and 90");
  }
  grace_ = grace;
  return Ok();
}

Result<std::string> DsarService::ExecuteErasure(storage::PrivacyRequestRecord& r) {
  Timestamp now = clock_.Now();
  ASSIGN_OR_RETURN(std::string certificate,
                   EraseSubject(store_, features_, consents_, r.customer, r.id, now, suppression_key_));
  if (erasure_listener_) erasure_listener_(r.customer);
  r.result_json = certificate;
  r.status = "completed";
  r.completed_at = now;
  RETURN_IF_ERROR(store_.Write([&](storage::WriteTxn& txn) { return txn.UpdatePrivacyRequest(r); }));
  return certificate;
}

Result<std::string> DsarService::ExportBundle(CustomerId customer) {
  ASSIGN_OR_RETURN(CustomerId subject, Survivor(store_, customer));
  ASSIGN_OR_RETURN(auto tables, store_.ExportSubjectRows(subject));
  return BuildSubjectBundle(subject, tables, clock_.Now());
}

Result<std::string> DsarService::Fulfil(int64_t id, ExportFormat format) {
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(storage::PrivacyRequestRecord r, store_.GetPrivacyRequest(id));
  if (format == ExportFormat::kBundle && r.kind != "access" && r.kind != "portability") {
    return Error::InvalidField("format", "bundle is only for access and portability requests");
  }
  if (r.status != "open") {
    return Error::FailedPrecondition("privacy request " + std::to_string(id) + " is " + r.status);
  }
  // Handing a person's data (or erasing it) on an unchecked request is itself a breach (GDPR 12(6)).
  if (r.verification != "verified") {
    return Error::FailedPrecondition("privacy request " + std::to_string(id) +
                                     ": the requester's identity is not verified; verify the request first");
  }
  Timestamp now = clock_.Now();
  std::string returned;
  if (r.kind == "access" || r.kind == "portability") {
    if (format == ExportFormat::kBundle) {
      ASSIGN_OR_RETURN(returned, ExportBundle(r.customer));
    } else {
      ASSIGN_OR_RETURN(returned, Export(r.customer));
    }
    ASSIGN_OR_RETURN(auto tables, store_.ExportSubjectRows(r.customer));
    std::string summary = "{\"exported_rows\":{";
    for (size_t i = 0; i < tables.size(); ++i) {
      if (i) summary += ',';
      AppendJsonString(summary, tables[i].table);
      summary += ":" + std::to_string(tables[i].rows.size());
    }
    r.result_json = summary + "}}";
  } else if (r.kind == "erase" && grace_.count() == 0) {
    return ExecuteErasure(r);
  } else if (r.kind == "erase") {
    // The grace period: nothing is erased yet, but the customer is restricted (no sending, no profiling)
    // until the erasure runs or is cancelled. Request and flag change in one transaction.
    ASSIGN_OR_RETURN(storage::PrivacyFlagsRecord flags, store_.GetPrivacyFlags(r.customer));
    if (flags.legal_hold) {
      return Error::FailedPrecondition("customer " + r.customer.ToString() + " is on legal hold and cannot be erased");
    }
    bool restricted_before = flags.restricted;
    r.status = "scheduled";
    r.scheduled_for = now + grace_;
    r.result_json = std::string("{\"scheduled_for\":");
    AppendJsonString(r.result_json, FormatIso8601(*r.scheduled_for));
    r.result_json += std::string(",\"restricted_before\":") + (restricted_before ? "true" : "false") + "}";
    flags.customer = r.customer;
    flags.restricted = true;
    flags.updated_at = now;
    Result<void> written = store_.Write([&](storage::WriteTxn& txn) -> Result<void> {
      RETURN_IF_ERROR(txn.PutPrivacyFlags(flags));
      return txn.UpdatePrivacyRequest(r);
    });
    if (!written) return std::move(written.error());
    consents_.OnRestricted(r.customer, true);
    returned = "{\"request_id\":" + std::to_string(r.id) + ",\"status\":\"scheduled\",\"scheduled_for\":";
    AppendJsonString(returned, FormatIso8601(*r.scheduled_for));
    returned += "}";
    return returned;
  } else if (r.kind == "restrict") {
    RETURN_IF_ERROR(SetFlags(r.customer, std::nullopt, true));
    r.result_json = "{\"restricted\":true}";
    returned = r.result_json;
  } else {
    r.result_json = "{\"rectified\":true}";
    returned = r.result_json;
  }
  r.status = "completed";
  r.completed_at = now;
  RETURN_IF_ERROR(store_.Write([&](storage::WriteTxn& txn) { return txn.UpdatePrivacyRequest(r); }));
  return returned;
}

Result<storage::PrivacyRequestRecord> DsarService::Verify(int64_t id, std::string_view method,
                                                          std::string_view actor) {
  if (std::find(std::begin(kVerificationMethods), std::end(kVerificationMethods), method) ==
      std::end(kVerificationMethods)) {
    return Error::InvalidField("method", "must be one of id_document, account, email, phone, in_person, other");
  }
  ASSIGN_OR_RETURN(storage::PrivacyRequestRecord r, store_.GetPrivacyRequest(id));
  if (r.status != "open") {
    return Error::FailedPrecondition("privacy request " + std::to_string(id) + " is " + r.status);
  }
  if (r.verification == "verified") {
    return Error::FailedPrecondition("privacy request " + std::to_string(id) + " is already verified");
  }
  r.verification = "verified";
  r.verification_method = std::string(method);
  r.verified_by = std::string(actor.substr(0, 64));
  r.verified_at = clock_.Now();
  RETURN_IF_ERROR(store_.Write([&](storage::WriteTxn& txn) { return txn.UpdatePrivacyRequest(r); }));
  return r;
}

Result<storage::PrivacyRequestRecord> DsarService::Reject(int64_t id, std::string_view reason) {
  if (reason.empty() || reason.size() > 2000) return Error::InvalidField("reason", "must be 1 to 2000 bytes");
  ASSIGN_OR_RETURN(storage::PrivacyRequestRecord r, store_.GetPrivacyRequest(id));
  if (r.status != "open") {
    return Error::FailedPrecondition("privacy request " + std::to_string(id) + " is " + r.status);
  }
  r.status = "rejected";
  r.completed_at = clock_.Now();
  r.note = std::string(reason);
  RETURN_IF_ERROR(store_.Write([&](storage::WriteTxn& txn) { return txn.UpdatePrivacyRequest(r); }));
  return r;
}

Result<storage::PrivacyRequestRecord> DsarService::Cancel(int64_t id, std::string_view actor) {
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(storage::PrivacyRequestRecord r, store_.GetPrivacyRequest(id));
  if (r.status != "scheduled") {
    return Error::FailedPrecondition("privacy request " + std::to_string(id) + " is " + r.status +
                                     "; only a scheduled erasure can be cancelled");
  }
  Timestamp now = clock_.Now();
  bool restricted_before = r.result_json.find("\"restricted_before\":true") != std::string::npos;
  ASSIGN_OR_RETURN(storage::PrivacyFlagsRecord flags, store_.GetPrivacyFlags(r.customer));
  r.status = "cancelled";
  r.completed_at = now;
  r.result_json = "{\"cancelled_by\":";
  AppendJsonString(r.result_json, actor.substr(0, 64));
  r.result_json += ",\"cancelled_at\":";
  AppendJsonString(r.result_json, FormatIso8601(now));
  r.result_json += "}";
  flags.customer = r.customer;
  flags.restricted = restricted_before;
  flags.updated_at = now;
  Result<void> written = store_.Write([&](storage::WriteTxn& txn) -> Result<void> {
    RETURN_IF_ERROR(txn.UpdatePrivacyRequest(r));
    return txn.PutPrivacyFlags(flags);
  });
  if (!written) return std::move(written.error());
  consents_.OnRestricted(r.customer, restricted_before);
  return r;
}

Result<DueErasures> DsarService::RunDueErasures() {
  std::lock_guard lock(mu_);
  DueErasures out;
  storage::PrivacyRequestQuery q;
  q.scheduled_due_at = clock_.Now();
  q.limit = 1000;
  while (true) {
    ASSIGN_OR_RETURN(auto due, store_.ListPrivacyRequests(q));
    if (due.empty()) break;
    for (auto& r : due) {
      q.after_id = r.id;
      if (auto done = ExecuteErasure(r); done) {
        out.erased.push_back(r.id);
      } else {
        out.failed.push_back("request " + std::to_string(r.id) + ": " + done.error().message());
      }
    }
  }
  return out;
}

Result<void> DsarService::SetFlags(CustomerId customer, std::optional<bool> legal_hold, std::optional<bool> restricted) {
  ASSIGN_OR_RETURN(CustomerId subject, Survivor(store_, customer));
  ASSIGN_OR_RETURN(storage::PrivacyFlagsRecord flags, store_.GetPrivacyFlags(subject));
  if (legal_hold) flags.legal_hold = *legal_hold;
  if (restricted) flags.restricted = *restricted;
  flags.customer = subject;
  flags.updated_at = clock_.Now();
  RETURN_IF_ERROR(store_.Write([&](storage::WriteTxn& txn) { return txn.PutPrivacyFlags(flags); }));
  consents_.OnRestricted(subject, flags.restricted);
  return Ok();
}

Result<bool> DsarService::IsSuppressed(std::string_view type, std::string_view value) {
  return store_.IsErasureSuppressed(SuppressionHash(suppression_key_, type, value));
}

}  // namespace panorama::privacy
