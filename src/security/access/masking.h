#pragma once
// The data-class catalogue of customer fields and the masking it drives.
//
// Each field has one class; a caller reads a `personal` field in clear only with personal.read and
// a `personal-sensitive` one only with sensitive.read. Otherwise the field is masked (name, email,
// phone keep a recognisable shape: "王**", "z***@example.com", "138****5678") or hidden (emptied).
// Every writer of customer data (JSON, CSV, timeline, search) calls these functions, so a role sees
// the same thing everywhere. Pure functions; thread-safe.

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "security/access/permissions.h"
#include "storage/records.h"

namespace panorama::security::access {

enum class DataClass { kPublic, kInternal, kPersonal, kPersonalSensitive, kSecret };
std::string_view DataClassName(DataClass c);  // "public", "internal", "personal", …

enum class MaskStyle { kNone, kPartial, kHide };

struct FieldRule {
  std::string_view field;  // as named in the API ("phone", "birthday")
  DataClass data_class;
  MaskStyle when_masked;  // what a caller without the class permission sees
};

// Every customer field the API returns or accepts, with its class.
std::span<const FieldRule> CustomerFieldCatalogue();
const FieldRule* FindCustomerField(std::string_view field);
// The catalogue field that a name used in a caller's expression (segment rule, funnel breakdown) reads:
// a catalogue name reads itself, "age" reads the birthday it is computed from, "traits.<key>…" reads
// traits. nullptr for anything else (order, event, score and consent data are not classified, like the
// internal fields). Callers refuse an expression over a field the caller may not read (S3).
const FieldRule* SourceCustomerField(std::string_view name);

// Whether `permissions` read fields of class `c` in clear.
bool CanRead(const PermissionSet& permissions, DataClass c);
// Whether `permissions` read the customer field in clear; false for a field not in the catalogue.
bool CanReadField(const PermissionSet& permissions, std::string_view field);

std::string MaskPhone(std::string_view e164);   // "+8613812345678" → "138****5678"
std::string MaskEmail(std::string_view email);  // "zhang@example.com" → "z***@example.com"
std::string MaskName(std::string_view name);  // "王小明" → "王**", "Jane Doe" → "J*** D**"

// Masks or hides, in place, every field `permissions` may not read; returns the affected field
// names.
std::vector<std::string> MaskCustomer(storage::CustomerRecord& customer,
                                      const PermissionSet& permissions);
// An identity value (email, phone, external id, …) as `permissions` may see it.
std::string MaskIdentity(std::string_view type, std::string_view value,
                         const PermissionSet& permissions);
// Timeline records: event context (IP, user agent) and identify traits, interaction text are
// personal.
void MaskEvent(storage::EventRecord& event, const PermissionSet& permissions);
void MaskInteraction(storage::InteractionRecord& interaction, const PermissionSet& permissions);

}  // namespace panorama::security::access
