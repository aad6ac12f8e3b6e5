#pragma once
// Pseudonymised analytics export (GDPR 4(5), 25; PIPL 51, 73): customers, orders and events with stable keyed
// pseudonyms and no direct identifiers.
//
// - Pseudonyms: HMAC-SHA-256 under a per-recipient key, itself HMAC-SHA-256(server secret, "pano-pseudo-v1:" +
//   recipient). Stable for one recipient across exports; two recipients cannot join their files on it without
//   the server secret.
// - Dropped: names, emails, phones, addresses, external ids (customer and order), tags, traits, event
//   properties/context, interaction text. Birthdays become age bands; times become dates.
// - k-anonymity: customers whose (age band, city, gender) group has fewer than k members are suppressed with
//   all their orders and events.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/time.h"

namespace panorama::storage {
class Store;
}

namespace panorama::privacy {

struct PseudonymisedExportOptions {
  std::string recipient;  // 1–64 of [A-Za-z0-9._-]
  int k = 5;              // minimum group size on (age band, city, gender); at least 2
};

struct PseudonymisedCustomer {
  std::string pseudonym;
  std::string age_band;  // "<18", "18-24", "25-34", "35-44", "45-54", "55-64", "65+", "unknown"
  std::string gender;
  std::string city;
  std::string country;
  std::string created_month;  // YYYY-MM
};
struct PseudonymisedOrder {
  std::string pseudonym;
  std::string customer;
  std::string placed_date;  // YYYY-MM-DD
  int64_t total_base_minor = 0;
  std::string status;
  int64_t items = 0;
};
struct PseudonymisedEvent {
  std::string customer;
  std::string date;
};

struct PseudonymisedExport {
  std::string recipient;
  int k = 5;
  std::vector<PseudonymisedCustomer> customers;
  std::vector<PseudonymisedOrder> orders;
  std::vector<PseudonymisedEvent> events;
  int64_t suppressed_customers = 0;

  std::string ToJson() const;
  // dataset: customers | orders | events; kInvalidArgument naming "dataset" otherwise.
  Result<std::string> ToCsv(std::string_view dataset) const;
};

std::string AgeBand(std::string_view birthday, Timestamp now);
// Hex (32 chars) keyed pseudonym of `kind:id` for `recipient`.
std::string Pseudonym(std::string_view server_secret, std::string_view recipient, std::string_view kind, int64_t id);

// kInvalidArgument naming "recipient" or "k".
Result<PseudonymisedExport> BuildPseudonymisedExport(storage::Store& store, std::string_view server_secret,
                                                     const PseudonymisedExportOptions& options, Timestamp now);

}  // namespace panorama::privacy
