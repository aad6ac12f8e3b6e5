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

// Privacy: the consent ledger (append-only; current state is the latest row per customer, purpose, channel),
// data-subject requests, per-customer flags (legal hold, GDPR 18 restriction) and the suppression list of
// erased subjects (keyed hashes of their identifiers; no customer id, so it outlives the person).
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

constexpr Migration kMigrations[] = {
    {1, "initial schema: customers, identities, merges, events, orders, products, interactions, staff",
     kV1Initial},
    {6, "privacy: consent ledger, data-subject requests, privacy flags, erasure suppressions", kV6Privacy},
};

}  // namespace

std::span<const Migration> SqliteMigrations() { return kMigrations; }

}  // namespace panorama::storage
