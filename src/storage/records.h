#pragma once
// Row types the Store reads and writes. Plain structs; the customer id is on every customer-owned row (it is the
// distribution key on PostgreSQL later).

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/ids.h"
#include "core/money.h"
#include "core/time.h"

namespace panorama::storage {

struct CustomerRecord {
  CustomerId id;
  std::string name;       // display name, UTF-8 ("王小明", "Jane Doe")
  std::string email;      // normalised (lower-case), may be empty
  std::string phone;      // E.164, may be empty
  std::string gender;     // "female" | "male" | "other" | ""
  std::string birthday;   // "YYYY-MM-DD" or "" (encrypted at rest; the month-day is kept plain for segments)
  std::string city;
  std::string country;    // ISO 3166-1 alpha-2 or ""
  std::string address;    // street and postal code, free text; may be empty
  std::vector<std::string> tags;
  std::string traits_json = "{}";  // custom attributes, a JSON object
  std::string external_id;         // the importing system's key, may be empty
  Timestamp created_at;
  Timestamp updated_at;
  std::optional<CustomerId> merged_into;  // set when this record was merged away
  // Ownership: the staff user responsible and their team. Unowned (ingested, imported) when empty; such
  // records are visible only to roles that may read every customer.
  std::optional<UserId> owner;
  std::optional<TeamId> team;
};

// Which customers a caller may see: those it owns or that belong to its team. Enforced inside the store
// queries (an out-of-scope customer reads as absent); no scope means every customer.
struct RecordScope {
  UserId user;
  std::optional<TeamId> team;
};

// Identity types: "user_id", "email", "phone", "anonymous_id", "wechat_openid", "external_id".
struct IdentityRecord {
  std::string type;
  std::string value;
  CustomerId customer;
  Timestamp first_seen;
};

struct MergeRecord {
  CustomerId from;
  CustomerId into;
  std::string reason;  // e.g. "email shared", "alias"
  Timestamp at;
};

struct EventRecord {
  EventId id;
  CustomerId customer;
  std::string message_id;     // Segment messageId; unique, used to drop retries
  std::string type;           // identify | track | page | screen | group | alias
  std::string name;           // track event name, page/screen name
  std::string anonymous_id;
  std::string user_id;
  std::string properties_json = "{}";
  std::string context_json = "{}";
  // Values of personal property keys (the data-class catalogue), kept out of properties_json/context_json:
  // {"properties":{…},"context.traits":{…}}, sealed under the customer's data key in events.personal.
  // Empty when the event has none.
  std::string personal_json;
  Timestamp timestamp;        // when it happened (client clock, corrected)
  std::optional<Timestamp> sent_at;
  Timestamp received_at;
};

struct ProductRecord {
  ProductId id;
  std::string sku;
  std::string name;
  std::string category;
  Money price;
};

struct OrderItemRecord {
  std::optional<ProductId> product;
  std::string sku;
  std::string name;
  int64_t quantity = 1;
  int64_t unit_price_minor = 0;  // in the order's currency
};

struct OrderRecord {
  OrderId id;
  CustomerId customer;
  std::string external_id;  // the shop's order id; unique, makes re-imports idempotent
  Money total;
  int64_t total_base_minor = 0;  // total converted to the base currency at write time
  std::string status = "completed";
  Timestamp placed_at;
  std::vector<OrderItemRecord> items;
};

// kind: "note" | "call" | "email" | "meeting"
struct InteractionRecord {
  InteractionId id;
  CustomerId customer;
  std::string kind;
  std::string subject;
  std::string body;
  std::string direction;  // "inbound" | "outbound" | ""
  Timestamp occurred_at;
  std::optional<UserId> author;
};

struct UserRecord {
  UserId id;
  std::string username;
  std::string password_hash;  // argon2id encoded string
  std::string role;           // admin | sales | marketing | support | analyst | auditor
  std::string display_name;
  Timestamp created_at;
  bool disabled = false;
  std::optional<TeamId> team;
};

struct TeamRecord {
  TeamId id;
  std::string name;
  Timestamp created_at;
};

// One reveal of masked fields: who saw which fields of which customer in clear (never the values).
struct RevealRecord {
  Timestamp at;
  std::string actor;  // "user:<id>" or "key:<id>"
  CustomerId customer;
  std::vector<std::string> fields;
};

// A custom role: a name and the permission names it grants (built-in roles are not stored).
struct RoleRecord {
  std::string name;
  std::string description;
  std::vector<std::string> permissions;
  Timestamp created_at;
  Timestamp updated_at;
};

// kind: "api" (Bearer) or "write" (Segment write key, Basic user). Only the SHA-256 of the secret is stored.
struct ApiKeyRecord {
  ApiKeyId id;
  std::string name;
  std::string kind;
  std::string scope;          // "ingest" | "read" | "read-write"
  std::string prefix;         // first characters of the key, shown in lists
  std::string secret_sha256;  // hex
  std::optional<UserId> owner;
  Timestamp created_at;
  std::optional<Timestamp> last_used_at;
  bool revoked = false;
  std::optional<Timestamp> expires_at;  // none: valid until revoked
  std::vector<std::string> allowed_cidrs;  // client networks the key may be used from; empty: any
};

// One signed-in session (a refresh-token family). Tokens are kept only as hex SHA-256; a refresh replaces
// both hashes in place, so `id` names the family across rotations.
struct SessionRecord {
  int64_t id = 0;
  UserId user;
  std::string access_sha256;
  std::string refresh_sha256;
  Timestamp created_at;
  Timestamp access_expires_at;    // short-lived bearer token
  Timestamp refresh_expires_at;   // idle limit: last refresh + idle timeout, capped at the absolute limit
  Timestamp absolute_expires_at;  // created_at + absolute lifetime; refreshes never extend it
  Timestamp last_used_at;         // last login or refresh
  std::string client_ip;
  std::string user_agent;
  // Last password (and TOTP) check: sign-in or step-up. Set by InsertSession (= created_at) and
  // MarkSessionReauthenticated only; UpdateSession leaves it alone.
  Timestamp reauth_at;
};

// A known device of a staff user (SECURITY.md §1 row 7): the browser or client that completed a sign-in gets
// a random token; only its SHA-256 is stored. `user_agent` is a short summary ("Chrome on Linux"), not the
// whole header.
struct DeviceRecord {
  int64_t id = 0;
  UserId user;
  std::string token_sha256;
  Timestamp created_at;
  Timestamp last_used_at;
  Timestamp expires_at;
  std::string user_agent;
};

// One sign-in throttle counter (security/login_throttle.h, migration 14), kept so that a restart does not give
// an attacker a fresh budget. `key` is the hex SHA-256 of what the counter is about (account name, client IP,
// account + IP, account + device, "mfa\n" + user id): a password typed into the username field is not kept in clear.
struct ThrottleRecord {
  std::string kind;        // ip | pair | account | account_day | device | device_day | mfa | mfa_day
  std::string key;
  int64_t failures = 0;    // a backoff's consecutive failures, or the failures in a window
  Timestamp started_at;    // a window's start, or a backoff's last failure
  Timestamp locked_until;  // a backoff's lockout end; a window's: started_at (unused)
  Timestamp expires_at;    // when the row stops mattering; housekeeping deletes it after that
};

// A user's TOTP enrolment. The seed is sealed (encrypted) by the security context; storage never sees it.
struct MfaRecord {
  UserId user;
  std::string seed_sealed;
  bool confirmed = false;
  int64_t last_step = 0;  // last accepted 30 s time step: a code is accepted once
  Timestamp created_at;
};

struct RecoveryCodeRecord {
  int64_t id = 0;
  UserId user;
  std::string code_hash;  // argon2id encoded string
  std::optional<Timestamp> used_at;
};

// Per-role security setting: whether staff of the role must use a second factor, with who changed it and when.
struct RoleSettingRecord {
  std::string role;
  bool mfa_required = true;
  std::string changed_by;
  Timestamp changed_at;
};

// One analytics setting (the RFM score map, the lifecycle thresholds): a key and its value in the owning
// module's own text encoding, with who changed it and when (migration 8).
struct AnalyticsSettingRecord {
  std::string key;
  std::string value;
  std::string changed_by;
  Timestamp changed_at;
};

// One entry of the data-class catalogue (migration 13): scope "event_property", key lower-case, class
// "public" | "internal" | "personal" | "personal-sensitive".
struct DataClassRecord {
  std::string scope;
  std::string key;
  std::string data_class;
  std::string changed_by;
  Timestamp changed_at;
};

// A stored response for an Idempotency-Key, replayed for a repeat of the same request.
// A stored Idempotency-Key answer is replayed for this long after the first request; later the key is new again
// (the housekeeping job deletes older records; the handler ignores any not yet deleted).
inline constexpr std::chrono::hours kIdempotencyKeyLifetime{24};

struct IdempotencyRecord {
  std::string key;            // caller + ":" + header value
  std::string request_hash;   // method, path and body digest; a different request with the same key is a 422
  int status = 0;
  std::string response_body;
  Timestamp created_at;
};

// An entry of the 360° timeline: a reference to the row and its time, newest first.
struct TimelineEntry {
  std::string kind;  // "event" | "order" | "interaction"
  int64_t id = 0;
  Timestamp at;
};

// One row of the audit ledger (audit/ owns the format). `body` is the entry's canonical JSON, the single source
// of truth: the searchable columns are copied from it at insert, and `audit verify` checks they still agree.
struct LedgerRow {
  int64_t seq = 0;
  std::string body;
  std::string prev_hash;   // hex SHA-256
  std::string entry_hash;  // hex SHA-256
  // The search columns (at, actor, action, object type/id) agree with the hashed body (set by ScanLedger).
  bool columns_match = true;
};

// A signed checkpoint over the ledger entries (from_seq, to_seq].
struct CheckpointRecord {
  int64_t id = 0;
  int64_t from_seq = 0;    // exclusive
  int64_t to_seq = 0;      // inclusive
  std::string merkle_root;  // hex
  std::string head_hash;    // entry_hash of to_seq, hex
  Timestamp created_at;
  std::string signature;    // hex Ed25519 over audit::CheckpointMessage
};

// Filters for the ledger search; empty strings match anything. Keyset paging by descending seq.
struct LedgerQuery {
  std::string actor;
  std::string action;
  std::string object_type;
  std::string object_id;
  std::optional<Timestamp> from;  // inclusive
  std::optional<Timestamp> to;    // exclusive
  int64_t before_seq = 0;         // 0: from the newest
  int limit = 50;
};

// One change of consent (privacy/consent_service.h): rows are only appended, never updated, so the history is
// the table; the current state of (customer, purpose, channel) is its newest row.
struct ConsentRecord {
  int64_t id = 0;
  CustomerId customer;
  std::string purpose;         // marketing | profiling | third_party_sharing | sensitive | cross_border
  std::string channel;         // email | sms | phone | wechat | push; "" for a purpose-level consent
  bool granted = false;        // false: withdrawn / refused
  std::string lawful_basis;    // consent | contract | legal_obligation | vital_interest | public_task | legitimate_interest
  std::string source;          // api | ingest | console | import
  std::string policy_version;  // the privacy notice version shown
  std::string text_sha256;     // hex SHA-256 of the consent text shown, may be empty
  std::string actor;           // "user:3", "key:7", "segment" — who recorded it
  Timestamp at;
};

// A data-subject request (privacy/dsar_service.h).
struct PrivacyRequestRecord {
  int64_t id = 0;
  CustomerId customer;
  std::string kind;          // access | portability | rectify | erase | restrict
  std::string jurisdiction;  // gdpr | pipl | ccpa
  std::string status;        // open | scheduled (erasure in its grace period) | completed | rejected | cancelled
  Timestamp received_at;
  Timestamp due_at;
  std::optional<Timestamp> completed_at;
  std::string note;
  std::string result_json = "{}";  // e.g. the erasure certificate
  // Requester identity check (GDPR 12(6)): "unverified" until staff confirm it; fulfilment needs "verified".
  std::string verification = "unverified";
  std::string verification_method;  // id_document | account | email | phone | in_person | other
  std::string verified_by;          // actor, e.g. "user:3"
  std::optional<Timestamp> verified_at;
  // An erasure in its grace period runs at this time (status "scheduled"; migration 11).
  std::optional<Timestamp> scheduled_for;
};

struct PrivacyRequestQuery {
  std::optional<CustomerId> customer;
  std::optional<Timestamp> overdue_at;  // only open requests due before this time
  std::optional<Timestamp> scheduled_due_at;  // only scheduled requests whose scheduled_for <= this time
  int64_t after_id = 0;
  int limit = 50;
};

// The single-use code of a self-service data-subject request (privacy/public_requests.h; migration 11): only
// its hash is stored; `attempts` counts wrong tries (5 burn it); used_at is set once it verified the request.
struct VerificationCodeRecord {
  int64_t request_id = 0;
  CustomerId customer;
  std::string channel;    // email | phone
  std::string code_hash;  // hex keyed hash of the code
  Timestamp expires_at;
  int attempts = 0;
  std::optional<Timestamp> used_at;
  Timestamp created_at;
};

// A message for the (future) messaging module to send (migration 11). There is no mailer yet: rows wait with
// sent_at unset.
struct OutboxRecord {
  int64_t id = 0;
  std::string channel;  // email | sms
  CustomerId customer;  // the recipient
  std::string template_name;
  std::string payload_json;
  Timestamp created_at;
  std::optional<Timestamp> sent_at;
};

// Per-customer privacy switches; absent row = both false.
struct PrivacyFlagsRecord {
  CustomerId customer;
  bool legal_hold = false;  // retention and erasure leave this customer's rows alone
  bool restricted = false;  // GDPR 18: processing restricted (profiling, sending)
  Timestamp updated_at;
};

// Every row of one table that refers to a data subject, column by column, for the DSAR export. Values keep
// their SQL type: null, integer, real or text.
using SubjectValue = std::variant<std::monostate, int64_t, double, std::string>;
struct SubjectTable {
  std::string table;
  std::vector<std::string> columns;
  std::vector<std::vector<SubjectValue>> rows;
};

struct TableCount {
  std::string table;
  int64_t rows = 0;
};

// One retention pass over a data class: rows older than `cutoff`, except those of customers on legal hold,
// are deleted or (anonymise) stripped of their free text and identifiers.
struct RetentionRule {
  std::string data_class;  // events | interactions
  Timestamp cutoff;
  bool anonymise = false;
};

// Housekeeping of short-lived credentials (app/housekeeping): what expired before `now` goes, and stored
// Idempotency-Key answers older than `idempotency_cutoff`. Spent refresh tokens are kept for
// `spent_refresh_keep` after they were spent (longer than any session lives), so token reuse is still
// recognised for as long as it could matter.
struct HousekeepingRule {
  Timestamp now;
  Timestamp idempotency_cutoff;
  Timestamp spent_refresh_cutoff;
};
// Rows deleted per table, in a fixed order: sessions, spent_refresh_tokens, known_devices,
// privacy_verification_codes, idempotency, login_throttle.
struct HousekeepingReport {
  std::vector<TableCount> tables;
  int64_t total() const {
    int64_t n = 0;
    for (const auto& t : tables) n += t.rows;
    return n;
  }
};

// A saved segment (segments/service/): a named rule. `size` and `evaluated_at` are the last evaluation's.
struct SegmentRecord {
  SegmentId id;
  std::string name;         // unique, 1..100 characters
  std::string description;
  std::string rule;         // the rule text (segments/ language)
  std::string created_by;   // "user:3", "key:7", "cli"
  Timestamp created_at;
  Timestamp updated_at;
  std::optional<Timestamp> evaluated_at;
  int64_t size = 0;
};

// One membership: the customer is in the segment since `entered_at`.
struct SegmentMemberRecord {
  SegmentId segment;
  CustomerId customer;
  Timestamp entered_at;
};

// The outbox journeys read: a customer entered or exited a segment. Ids ascend with time of writing.
struct SegmentEventRecord {
  int64_t id = 0;
  SegmentId segment;
  CustomerId customer;
  std::string kind;  // "entered" | "exited"
  Timestamp at;
};

// A membership diff of one segment, written in one go with the segment's new size.
struct SegmentChanges {
  SegmentId segment;
  std::vector<CustomerId> entered;
  std::vector<CustomerId> exited;
  Timestamp at;
  int64_t size = 0;
};

struct SegmentEventQuery {
  SegmentId segment;
  int64_t after_id = 0;  // exclusive; ascending id
  int limit = 50;
};

}  // namespace panorama::storage
