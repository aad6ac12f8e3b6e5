#pragma once
// The audit ledger's entry, its canonical JSON and its hash chain (SECURITY.md §2.6):
//   entry_hash = SHA-256("pano-ledger-v1" | prev_hash | canonical_json(entry))
// where prev_hash is the previous entry's 32 raw hash bytes (32 zero bytes before the first entry).
// Entries carry ids and field NAMES only, never personal values.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/time.h"

namespace panorama::audit {

using Hash = std::array<unsigned char, 32>;

struct LedgerEntry {
  int64_t seq = 0;
  Timestamp at;
  std::string actor;        // "user:<id>", "key:<id>", "cli", "system"
  std::string action;       // "customer.create", "customer.read", "export.customers", ...
  std::string object_type;  // "customer", "order", ...; empty when the entry is about many objects
  std::string object_id;
  std::vector<std::string> fields;  // names of the fields written, never their values
  std::vector<std::string> ids;     // further object ids (customers read, messages ingested)
  std::string request_id;
  std::string ip;                   // truncated to /24 or /48
  std::string outcome = "ok";
};

// Canonical JSON: keys in ascending byte order, no whitespace, integers as decimal, strings with the minimal
// RFC 8785 escapes (", \, control characters) and UTF-8 otherwise unchanged. Equal entries give equal bytes.
std::string CanonicalJson(const LedgerEntry& entry);

// Reads back what CanonicalJson wrote; kInvalidArgument naming the field when `json` is not such a document.
Result<LedgerEntry> ParseCanonicalJson(std::string_view json);

Hash EntryHash(const Hash& prev_hash, std::string_view canonical_json);
Hash Sha256(std::string_view data);

std::string ToHex(const Hash& hash);
// nullopt unless `hex` is exactly 64 hex digits.
std::optional<Hash> HashFromHex(std::string_view hex);

}  // namespace panorama::audit
