#pragma once
// Messages of the Segment HTTP tracking API (identify, track, page, screen, group, alias), parsed and
// validated before anything is written. https://segment.com/docs/connections/sources/catalog/libraries/server/http-api/

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/money.h"
#include "core/result.h"
#include "core/time.h"
#include "storage/records.h"

namespace panorama::ingest {

inline constexpr size_t kMaxBatchBytes = 500 * 1024;  // Segment: 500 KB per batch request
inline constexpr size_t kMaxMessageBytes = 32 * 1024;  // Segment: 32 KB per message

// Profile fields carried by traits, already normalised (E.164 phone, lower-case email, ISO country).
struct ProfilePatch {
  std::optional<std::string> name;
  std::optional<std::string> email;
  std::optional<std::string> phone;
  std::optional<std::string> gender;
  std::optional<std::string> birthday;
  std::optional<std::string> city;
  std::optional<std::string> country;
  std::string custom_traits_json = "{}";  // every other trait, as a JSON object
  bool empty() const {
    return !name && !email && !phone && !gender && !birthday && !city && !country && custom_traits_json == "{}";
  }
};

// An "Order Completed" event (Segment e-commerce spec v2) also recorded as an order with its products.
struct OrderFromEvent {
  std::string order_id;
  Money total;
  std::string status = "completed";
  struct Line {
    std::string sku;
    std::string name;
    std::string category;
    int64_t quantity = 1;
    int64_t unit_price_minor = 0;
  };
  std::vector<Line> lines;
};

// One consent change carried by traits.consent (see ReadConsentTraits in segment_message.cc and
// docs/security.md): {"policy_version": "v3", "marketing": {"email": true, "sms": false}, "profiling": true}.
// A purpose mapped to a boolean is a purpose-level consent; to an object, per-channel consents.
struct ConsentTrait {
  std::string purpose;
  std::string channel;  // "" for purpose level
  bool granted = false;
  std::string policy_version;
};

struct SegmentMessage {
  std::string type;  // identify | track | page | screen | group | alias
  std::string message_id;
  std::string user_id;
  std::string anonymous_id;
  std::string previous_id;  // alias
  std::string group_id;     // group
  std::string event;        // track
  std::string name;         // page / screen
  std::string properties_json = "{}";
  std::string traits_json = "{}";
  std::string context_json = "{}";
  Timestamp timestamp;      // when it happened, corrected for client clock skew
  std::optional<Timestamp> sent_at;
  Timestamp received_at;
  ProfilePatch profile;     // from traits (identify) or context.traits (other calls)
  std::optional<OrderFromEvent> order;
  std::vector<ConsentTrait> consents;  // from traits.consent (identify) or context.traits.consent
};

struct ParseOptions {
  std::string default_phone_region = "CN";
  std::string default_currency = "CNY";
};

// Parses the body of POST /v1/<type> (`type` = "identify", …) or /v1/batch (`type` = "batch"). Either every
// message is valid and all are returned, or nothing is: kInvalidArgument with one violation per bad field, paths
// like "batch[3].traits.email". Oversize bodies and messages are kResourceExhausted.
Result<std::vector<SegmentMessage>> ParseSegmentRequest(std::string_view body, std::string_view type,
                                                        Timestamp received_at, const ParseOptions& options = {});

}  // namespace panorama::ingest
