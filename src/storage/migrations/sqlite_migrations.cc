#include "storage/migrations/sqlite_migrations.h"

namespace panorama::storage {
namespace {

// Times are INTEGER milliseconds since the Unix epoch (UTC). Every customer-owned table carries customer_id.
constexpr const char* kV1Initial = R"sql(
CREATE TABLE customers (
  id          INTEGER PRIMARY KEY,
  name        TEXT NOT NULL DEFAULT '',
  email       TEXT NOT NULL DEFAULT '',
  phone       TEXT NOT NULL DEFAULT '',
  gender      TEXT NOT NULL DEFAULT '',
  birthday    TEXT NOT NULL DEFAULT '',
  city        TEXT NOT NULL DEFAULT '',
  country     TEXT NOT NULL DEFAULT '',
  tags        TEXT NOT NULL DEFAULT '[]',
  traits      TEXT NOT NULL DEFAULT '{}',
  external_id TEXT NOT NULL DEFAULT '',
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL,
  merged_into INTEGER
);
CREATE INDEX customers_email ON customers(email) WHERE email <> '';
CREATE INDEX customers_phone ON customers(phone) WHERE phone <> '';
CREATE INDEX customers_external_id ON customers(external_id) WHERE external_id <> '';
CREATE INDEX customers_country_city ON customers(country, city);
-- Trigram full-text index on names: substring search for Chinese and Latin names of 3+ characters.
CREATE VIRTUAL TABLE customers_name_fts USING fts5(name, content='customers', content_rowid='id',
                                                    tokenize='trigram');
CREATE TRIGGER customers_fts_insert AFTER INSERT ON customers BEGIN
  INSERT INTO customers_name_fts(rowid, name) VALUES (new.id, new.name);
END;
CREATE TRIGGER customers_fts_delete AFTER DELETE ON customers BEGIN
  INSERT INTO customers_name_fts(customers_name_fts, rowid, name) VALUES ('delete', old.id, old.name);
END;
CREATE TRIGGER customers_fts_update AFTER UPDATE OF name ON customers BEGIN
  INSERT INTO customers_name_fts(customers_name_fts, rowid, name) VALUES ('delete', old.id, old.name);
  INSERT INTO customers_name_fts(rowid, name) VALUES (new.id, new.name);
END;

CREATE TABLE identities (
  type        TEXT NOT NULL,
  value       TEXT NOT NULL,
  customer_id INTEGER NOT NULL,
  first_seen  INTEGER NOT NULL,
  PRIMARY KEY (type, value)
) WITHOUT ROWID;
CREATE INDEX identities_customer ON identities(customer_id);

CREATE TABLE merges (
  id            INTEGER PRIMARY KEY,
  from_customer INTEGER NOT NULL,
  into_customer INTEGER NOT NULL,
  reason        TEXT NOT NULL,
  at            INTEGER NOT NULL
);
CREATE INDEX merges_from ON merges(from_customer);
CREATE INDEX merges_into ON merges(into_customer);

CREATE TABLE events (
  id           INTEGER PRIMARY KEY,
  customer_id  INTEGER NOT NULL,
  message_id   TEXT NOT NULL,
  type         TEXT NOT NULL,
  name         TEXT NOT NULL DEFAULT '',
  anonymous_id TEXT NOT NULL DEFAULT '',
  user_id      TEXT NOT NULL DEFAULT '',
  properties   TEXT NOT NULL DEFAULT '{}',
  context      TEXT NOT NULL DEFAULT '{}',
  ts           INTEGER NOT NULL,
  sent_at      INTEGER,
  received_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX events_message_id ON events(message_id);
CREATE INDEX events_customer_ts ON events(customer_id, ts, id);

CREATE TABLE products (
  id          INTEGER PRIMARY KEY,
  sku         TEXT NOT NULL UNIQUE,
  name        TEXT NOT NULL DEFAULT '',
  category    TEXT NOT NULL DEFAULT '',
  price_minor INTEGER NOT NULL DEFAULT 0,
  currency    TEXT NOT NULL DEFAULT 'CNY'
);

CREATE TABLE orders (
  id               INTEGER PRIMARY KEY,
  customer_id      INTEGER NOT NULL,
  external_id      TEXT NOT NULL,
  total_minor      INTEGER NOT NULL,
  currency         TEXT NOT NULL,
  total_base_minor INTEGER NOT NULL,
  status           TEXT NOT NULL DEFAULT 'completed',
  placed_at        INTEGER NOT NULL
);
CREATE UNIQUE INDEX orders_external_id ON orders(external_id);
CREATE INDEX orders_customer_placed ON orders(customer_id, placed_at, id);

CREATE TABLE order_items (
  order_id         INTEGER NOT NULL,
  line             INTEGER NOT NULL,
  customer_id      INTEGER NOT NULL,
  product_id       INTEGER,
  sku              TEXT NOT NULL DEFAULT '',
  name             TEXT NOT NULL DEFAULT '',
  quantity         INTEGER NOT NULL,
  unit_price_minor INTEGER NOT NULL,
  PRIMARY KEY (order_id, line)
) WITHOUT ROWID;

CREATE TABLE interactions (
  id          INTEGER PRIMARY KEY,
  customer_id INTEGER NOT NULL,
  kind        TEXT NOT NULL,
  subject     TEXT NOT NULL DEFAULT '',
  body        TEXT NOT NULL DEFAULT '',
  direction   TEXT NOT NULL DEFAULT '',
  occurred_at INTEGER NOT NULL,
  author_id   INTEGER
);
CREATE INDEX interactions_customer_at ON interactions(customer_id, occurred_at, id);

CREATE TABLE users (
  id            INTEGER PRIMARY KEY,
  username      TEXT NOT NULL UNIQUE,
  password_hash TEXT NOT NULL,
  role          TEXT NOT NULL,
  display_name  TEXT NOT NULL DEFAULT '',
  created_at    INTEGER NOT NULL,
  disabled      INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE api_keys (
  id            INTEGER PRIMARY KEY,
  name          TEXT NOT NULL,
  kind          TEXT NOT NULL,
  scope         TEXT NOT NULL,
  prefix        TEXT NOT NULL,
  secret_sha256 TEXT NOT NULL UNIQUE,
  owner_id      INTEGER,
  created_at    INTEGER NOT NULL,
  last_used_at  INTEGER,
  revoked       INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE sessions (
  token_sha256 TEXT PRIMARY KEY,
  user_id      INTEGER NOT NULL,
  created_at   INTEGER NOT NULL,
  expires_at   INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE idempotency (
  key           TEXT PRIMARY KEY,
  request_hash  TEXT NOT NULL,
  status        INTEGER NOT NULL,
  response_body TEXT NOT NULL,
  created_at    INTEGER NOT NULL
) WITHOUT ROWID;
)sql";

// The audit ledger (SECURITY.md §2.6). `body` is the canonical JSON that is hashed; the search columns are
// copied from it at insert (json_extract in the INSERT) and `audit verify` checks they still agree with it.
// They are not generated columns: a schema calling json_extract cannot be opened with trusted_schema=OFF,
// which is how a restore inspects an untrusted backup.
constexpr const char* kV2Ledger = R"sql(
CREATE TABLE ledger (
  seq         INTEGER PRIMARY KEY,
  body        TEXT NOT NULL,
  prev_hash   TEXT NOT NULL,
  entry_hash  TEXT NOT NULL,
  at          INTEGER,
  actor       TEXT,
  action      TEXT,
  object_type TEXT,
  object_id   TEXT
);
-- Two indexes only, for the auditor's two main questions (who touched this record, what did this actor do):
-- each index costs every append a B-tree insert. Action and time filters walk seq.
CREATE INDEX ledger_object ON ledger(object_type, object_id, seq);
CREATE INDEX ledger_actor ON ledger(actor, seq);

CREATE TABLE ledger_checkpoints (
  id          INTEGER PRIMARY KEY,
  from_seq    INTEGER NOT NULL,
  to_seq      INTEGER NOT NULL UNIQUE,
  merkle_root TEXT NOT NULL,
  head_hash   TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  signature   TEXT NOT NULL
);
)sql";

// Field encryption at rest (SECURITY.md §2.2–2.3). Personal columns now hold AEAD envelopes (BLOB) and are
// searched through blind indexes; the trigram name index over plaintext goes. Only applied to a database without
// customer data: SqliteStore refuses to migrate plaintext rows (see Migrate()).
constexpr const char* kV3FieldEncryption = R"sql(
DROP TRIGGER IF EXISTS customers_fts_insert;
DROP TRIGGER IF EXISTS customers_fts_delete;
DROP TRIGGER IF EXISTS customers_fts_update;
DROP TABLE IF EXISTS customers_name_fts;
DROP INDEX IF EXISTS customers_email;
DROP INDEX IF EXISTS customers_phone;
DROP INDEX IF EXISTS customers_external_id;
ALTER TABLE customers ADD COLUMN address BLOB NOT NULL DEFAULT '';
ALTER TABLE customers ADD COLUMN birth_md TEXT NOT NULL DEFAULT '';
ALTER TABLE customers ADD COLUMN bidx_email BLOB;
ALTER TABLE customers ADD COLUMN bidx_phone BLOB;
ALTER TABLE customers ADD COLUMN bidx_phone4 BLOB;
ALTER TABLE customers ADD COLUMN bidx_name BLOB;
ALTER TABLE customers ADD COLUMN bidx_surname BLOB;
ALTER TABLE customers ADD COLUMN bidx_external_id BLOB;
CREATE INDEX customers_bidx_email ON customers(bidx_email) WHERE bidx_email IS NOT NULL;
CREATE INDEX customers_bidx_phone ON customers(bidx_phone) WHERE bidx_phone IS NOT NULL;
CREATE INDEX customers_bidx_phone4 ON customers(bidx_phone4) WHERE bidx_phone4 IS NOT NULL;
CREATE INDEX customers_bidx_name ON customers(bidx_name) WHERE bidx_name IS NOT NULL;
CREATE INDEX customers_bidx_surname ON customers(bidx_surname) WHERE bidx_surname IS NOT NULL;
CREATE INDEX customers_bidx_external_id ON customers(bidx_external_id) WHERE bidx_external_id IS NOT NULL;
CREATE INDEX customers_birth_md ON customers(birth_md) WHERE birth_md <> '';
CREATE INDEX customers_merged_into ON customers(merged_into) WHERE merged_into IS NOT NULL;

-- Identity values are encrypted under the owner's data key; (type, bidx) finds candidates, decryption confirms.
DROP TABLE identities;
CREATE TABLE identities (
  id          INTEGER PRIMARY KEY,
  type        TEXT NOT NULL,
  bidx        BLOB NOT NULL,
  value       BLOB NOT NULL,
  customer_id INTEGER NOT NULL,
  first_seen  INTEGER NOT NULL
);
CREATE INDEX identities_lookup ON identities(type, bidx);
CREATE INDEX identities_customer ON identities(customer_id);

-- Erasures (crypto-shredding) recorded in the main database too: a restored older keystore gets these
-- tombstones re-applied at start, and customer ids are never handed out again.
CREATE TABLE erasures (
  customer_id INTEGER PRIMARY KEY,
  erased_at   INTEGER NOT NULL
);
)sql";

// Sessions become refresh-token families (access + refresh hashes, idle and absolute limits); spent refresh
// tokens are remembered for reuse detection; TOTP enrolments, recovery codes, per-role MFA settings; API key
// expiry. Old sessions are dropped: they had no refresh token, so everyone signs in once more.
constexpr const char* kV4Auth = R"sql(
DROP TABLE sessions;
CREATE TABLE sessions (
  id                  INTEGER PRIMARY KEY,
  user_id             INTEGER NOT NULL,
  access_sha256       TEXT NOT NULL UNIQUE,
  refresh_sha256      TEXT NOT NULL UNIQUE,
  created_at          INTEGER NOT NULL,
  access_expires_at   INTEGER NOT NULL,
  refresh_expires_at  INTEGER NOT NULL,
  absolute_expires_at INTEGER NOT NULL,
  last_used_at        INTEGER NOT NULL,
  client_ip           TEXT NOT NULL DEFAULT '',
  user_agent          TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE spent_refresh_tokens (
  refresh_sha256 TEXT PRIMARY KEY,
  session_id     INTEGER NOT NULL,
  spent_at       INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE user_mfa (
  user_id     INTEGER PRIMARY KEY,
  seed_sealed TEXT NOT NULL,
  confirmed   INTEGER NOT NULL DEFAULT 0,
  last_step   INTEGER NOT NULL DEFAULT 0,
  created_at  INTEGER NOT NULL
);

CREATE TABLE recovery_codes (
  id        INTEGER PRIMARY KEY,
  user_id   INTEGER NOT NULL,
  code_hash TEXT NOT NULL,
  used_at   INTEGER
);
CREATE INDEX recovery_codes_user ON recovery_codes(user_id);

CREATE TABLE role_settings (
  role         TEXT PRIMARY KEY,
  mfa_required INTEGER NOT NULL,
  changed_by   TEXT NOT NULL,
  changed_at   INTEGER NOT NULL
) WITHOUT ROWID;

ALTER TABLE api_keys ADD COLUMN expires_at INTEGER;
)sql";

// Ownership and teams for customers, team membership for staff, and custom roles (authz).
constexpr const char* kV5Access = R"sql(
CREATE TABLE teams (
  id         INTEGER PRIMARY KEY,
  name       TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL
);
ALTER TABLE users ADD COLUMN team_id INTEGER REFERENCES teams(id);
ALTER TABLE customers ADD COLUMN owner_id INTEGER;
ALTER TABLE customers ADD COLUMN team_id INTEGER;
CREATE INDEX customers_owner ON customers(owner_id, id) WHERE owner_id IS NOT NULL;
CREATE INDEX customers_team ON customers(team_id, id) WHERE team_id IS NOT NULL;

CREATE TABLE roles (
  name        TEXT PRIMARY KEY,
  description TEXT NOT NULL DEFAULT '',
  permissions TEXT NOT NULL DEFAULT '',
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
) WITHOUT ROWID;

-- Reveals of masked personal data (who, which customer, which fields; never the values). The audit
-- ledger takes these over when it exists.
CREATE TABLE reveals (
  id          INTEGER PRIMARY KEY,
  at          INTEGER NOT NULL,
  actor       TEXT NOT NULL,
  customer_id INTEGER NOT NULL,
  fields      TEXT NOT NULL
);
)sql";

// Privacy: the consent ledger (append-only; current state is the latest row per customer, purpose, channel),
// data-subject requests, per-customer flags (legal hold, GDPR 18 restriction) and the suppression list of
// erased subjects (keyed hashes of their identifiers; no customer id, so it outlives the person).
// Behaviour analytics (segment event conditions, funnels, paths) select events by name within a time range.
constexpr const char* kV7EventNameIndex = R"sql(
CREATE INDEX events_name_ts ON events(name, ts);
)sql";

// Analytics settings (RFM score map, lifecycle thresholds), one row per key.
constexpr const char* kV8AnalyticsSettings = R"sql(
CREATE TABLE analytics_settings (
  key        TEXT PRIMARY KEY,
  value      TEXT NOT NULL,
  changed_by TEXT NOT NULL,
  changed_at INTEGER NOT NULL
) WITHOUT ROWID;
)sql";

// Step-up re-authentication: when the session last passed a password (and TOTP) check; 0 = never, so
// sessions from before this version must step up. IP allowlist per API key: comma-separated CIDRs, '' = any.
// Requester verification of data-subject requests: open requests from before this version start unverified.
constexpr const char* kV10StepUpAndKeyAllowlist = R"sql(
ALTER TABLE sessions ADD COLUMN reauth_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE api_keys ADD COLUMN allowed_cidrs TEXT NOT NULL DEFAULT '';
ALTER TABLE privacy_requests ADD COLUMN verification TEXT NOT NULL DEFAULT 'unverified';
ALTER TABLE privacy_requests ADD COLUMN verification_method TEXT NOT NULL DEFAULT '';
ALTER TABLE privacy_requests ADD COLUMN verified_by TEXT NOT NULL DEFAULT '';
ALTER TABLE privacy_requests ADD COLUMN verified_at INTEGER;
)sql";

// Data-subject requests: the erasure grace period (a scheduled erasure runs at scheduled_for), the single-use
// verification codes of self-service requests (hashed), and the outbox the future messaging module sends from.
constexpr const char* kV11DsarGraceAndSelfService = R"sql(
ALTER TABLE privacy_requests ADD COLUMN scheduled_for INTEGER;
CREATE INDEX privacy_requests_scheduled ON privacy_requests(status, scheduled_for);

CREATE TABLE privacy_verification_codes (
  request_id  INTEGER PRIMARY KEY,
  customer_id INTEGER NOT NULL,
  channel     TEXT NOT NULL,
  code_hash   TEXT NOT NULL,
  expires_at  INTEGER NOT NULL,
  attempts    INTEGER NOT NULL DEFAULT 0,
  used_at     INTEGER,
  created_at  INTEGER NOT NULL
);
CREATE INDEX privacy_verification_codes_customer ON privacy_verification_codes(customer_id);

CREATE TABLE notification_outbox (
  id          INTEGER PRIMARY KEY,
  channel     TEXT NOT NULL,
  customer_id INTEGER NOT NULL,
  template    TEXT NOT NULL,
  payload     TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  sent_at     INTEGER
);
CREATE INDEX notification_outbox_customer ON notification_outbox(customer_id);
CREATE INDEX notification_outbox_unsent ON notification_outbox(id) WHERE sent_at IS NULL;
)sql";

// Known devices: a device token (SHA-256 only) per browser or client that completed a sign-in, so sign-in
// throttling can tell the owner's device from an attacker's guesses (SECURITY.md §1 row 7, test S5).
constexpr const char* kV12KnownDevices = R"sql(
CREATE TABLE known_devices (
  id           INTEGER PRIMARY KEY,
  user_id      INTEGER NOT NULL,
  token_sha256 TEXT NOT NULL UNIQUE,
  created_at   INTEGER NOT NULL,
  last_used_at INTEGER NOT NULL,
  expires_at   INTEGER NOT NULL,
  user_agent   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX known_devices_user ON known_devices(user_id, id);
)sql";

constexpr const char* kV6Privacy = R"sql(
CREATE TABLE consents (
  id             INTEGER PRIMARY KEY,
  customer_id    INTEGER NOT NULL,
  purpose        TEXT NOT NULL,
  channel        TEXT NOT NULL DEFAULT '',
  granted        INTEGER NOT NULL,
  lawful_basis   TEXT NOT NULL,
  source         TEXT NOT NULL,
  policy_version TEXT NOT NULL DEFAULT '',
  text_sha256    TEXT NOT NULL DEFAULT '',
  actor          TEXT NOT NULL DEFAULT '',
  at             INTEGER NOT NULL
);
CREATE INDEX consents_customer ON consents(customer_id, purpose, channel, id);

CREATE TABLE privacy_requests (
  id           INTEGER PRIMARY KEY,
  customer_id  INTEGER NOT NULL,
  kind         TEXT NOT NULL,
  jurisdiction TEXT NOT NULL,
  status       TEXT NOT NULL,
  received_at  INTEGER NOT NULL,
  due_at       INTEGER NOT NULL,
  completed_at INTEGER,
  note         TEXT NOT NULL DEFAULT '',
  result       TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX privacy_requests_customer ON privacy_requests(customer_id);
CREATE INDEX privacy_requests_due ON privacy_requests(status, due_at);

CREATE TABLE privacy_flags (
  customer_id INTEGER PRIMARY KEY,
  legal_hold  INTEGER NOT NULL DEFAULT 0,
  restricted  INTEGER NOT NULL DEFAULT 0,
  updated_at  INTEGER NOT NULL
);

CREATE TABLE erasure_suppressions (
  hash       TEXT PRIMARY KEY,
  request_id INTEGER NOT NULL,
  erased_at  INTEGER NOT NULL
) WITHOUT ROWID;
)sql";

// Segments: definitions, current memberships (one row per member, so the erasure sweep removes a person's rows
// by customer_id and entered_at is at hand) and the entered/exited outbox journeys read.
constexpr const char* kV9Segments = R"sql(
CREATE TABLE segments (
  id           INTEGER PRIMARY KEY,
  name         TEXT NOT NULL UNIQUE,
  description  TEXT NOT NULL DEFAULT '',
  rule         TEXT NOT NULL,
  created_by   TEXT NOT NULL DEFAULT '',
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL,
  evaluated_at INTEGER,
  size         INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE segment_members (
  segment_id  INTEGER NOT NULL,
  customer_id INTEGER NOT NULL,
  entered_at  INTEGER NOT NULL,
  PRIMARY KEY (segment_id, customer_id)
) WITHOUT ROWID;
CREATE INDEX segment_members_customer ON segment_members(customer_id);

CREATE TABLE segment_events (
  id          INTEGER PRIMARY KEY,
  segment_id  INTEGER NOT NULL,
  customer_id INTEGER NOT NULL,
  kind        TEXT NOT NULL,
  at          INTEGER NOT NULL
);
CREATE INDEX segment_events_segment ON segment_events(segment_id, id);
CREATE INDEX segment_events_customer ON segment_events(customer_id);
)sql";

// Event property data classes (SECURITY.md §1 row 1, §2.3 "Event properties"): the catalogue of property keys
// and the sealed column that holds the values of personal keys, under the subject's data key.
constexpr const char* kV13EventPropertyClasses = R"sql(
ALTER TABLE events ADD COLUMN personal BLOB;

CREATE TABLE data_classes (
  scope      TEXT NOT NULL,
  key        TEXT NOT NULL,
  class      TEXT NOT NULL,
  changed_by TEXT NOT NULL DEFAULT '',
  changed_at INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (scope, key)
) WITHOUT ROWID;
INSERT INTO data_classes (scope, key, class) VALUES
  ('event_property', 'email', 'personal'), ('event_property', 'phone', 'personal'),
  ('event_property', 'mobile', 'personal'), ('event_property', 'name', 'personal'),
  ('event_property', 'first_name', 'personal'), ('event_property', 'last_name', 'personal'),
  ('event_property', 'firstname', 'personal'), ('event_property', 'lastname', 'personal'),
  ('event_property', 'address', 'personal'), ('event_property', 'ip', 'personal'),
  ('event_property', 'birthday', 'personal'), ('event_property', 'id_number', 'personal'),
  ('event_property', '身份证', 'personal');
)sql";

// Sign-in throttle counters (SECURITY.md §1 row 7, test S5), so that restarting `serve` does not reset an
// attacker's budget. Keys are SHA-256 hex, never the submitted name or address; housekeeping deletes expired rows.
constexpr const char* kV14LoginThrottle = R"sql(
CREATE TABLE login_throttle (
  kind         TEXT NOT NULL,
  key          TEXT NOT NULL,
  failures     INTEGER NOT NULL,
  started_at   INTEGER NOT NULL,
  locked_until INTEGER NOT NULL,
  expires_at   INTEGER NOT NULL,
  PRIMARY KEY (kind, key)
) WITHOUT ROWID;
CREATE INDEX login_throttle_expiry ON login_throttle(expires_at);
)sql";

// The keystore this database belongs to (storage/keystore.h, kKeystoreIdMeta): recorded at the first open with
// a keystore that has an id; every later open refuses a keystore with another id before anything is written.
constexpr const char* kV15KeystorePairing = R"sql(
CREATE TABLE keystore_pairing (
  singleton   INTEGER PRIMARY KEY CHECK (singleton = 1),
  keystore_id TEXT NOT NULL,
  paired_at   INTEGER NOT NULL
);
)sql";

constexpr Migration kMigrations[] = {
    {1, "initial schema: customers, identities, merges, events, orders, products, interactions, staff",
     kV1Initial},
    {2, "audit ledger and signed checkpoints", kV2Ledger},
    {3, "field encryption: envelopes, blind indexes, address, birth_md, encrypted identities, erasures",
     kV3FieldEncryption},
    {4, "auth: refresh-token sessions, TOTP enrolments, recovery codes, role settings, api key expiry", kV4Auth},
    {5, "ownership and teams, custom roles", kV5Access},
    {6, "privacy: consent ledger, data-subject requests, privacy flags, erasure suppressions", kV6Privacy},
    {7, "events by name and time, for behaviour analytics", kV7EventNameIndex},
    {8, "analytics settings: RFM score map, lifecycle thresholds", kV8AnalyticsSettings},
    {9, "segments: definitions, memberships, entered/exited events", kV9Segments},
    {10, "step-up time per session, IP allowlist per api key, dsar requester verification", kV10StepUpAndKeyAllowlist},
    {11, "dsar erasure grace period, self-service verification codes, notification outbox",
     kV11DsarGraceAndSelfService},
    {12, "known devices for sign-in throttling", kV12KnownDevices},
    {13, "event property data classes; sealed personal event properties", kV13EventPropertyClasses},
    {14, "sign-in throttle counters", kV14LoginThrottle},
    {15, "keystore pairing: the id of this database's keystore.db", kV15KeystorePairing},
};

}  // namespace

std::span<const Migration> SqliteMigrations() { return kMigrations; }

}  // namespace panorama::storage
