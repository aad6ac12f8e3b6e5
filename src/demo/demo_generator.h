#pragma once
// Demo data: a realistic, reproducible company — a Chinese consumer brand selling online at home
// and abroad — written through the Store interface, for the console, tutorials and benchmarks (1M
// customers ≈ 10M orders).

#include <cstdint>
#include <functional>

#include "core/result.h"
#include "core/time.h"

namespace panorama::storage {
class Store;
}

namespace panorama::demo {

struct DemoProgress {
  int64_t customers_done = 0;
  int64_t customers_total = 0;
  int64_t orders = 0;
  int64_t events = 0;
};

struct DemoOptions {
  int64_t customers = 10000;
  uint64_t seed = 42;
  Timestamp now;                           // the data's "today": nothing happens after it
  int64_t batch = 20000;                   // customers per write transaction
  double events_per_customer = 5.0;        // average web events per customer
  double interactions_per_customer = 0.3;  // average notes, calls, emails and meetings per customer
  // Called after each committed batch, on the calling thread. May be empty.
  std::function<void(const DemoProgress&)> on_progress;
};

struct DemoSummary {
  int64_t customers = 0;
  int64_t products = 0;
  int64_t orders = 0;
  int64_t order_items = 0;
  int64_t events = 0;
  int64_t interactions = 0;
  int64_t identities = 0;
  int64_t transactions = 0;
};

// Generates the catalogue, then customers with their identities, orders, events and interactions,
// one transaction per `options.batch` customers. Deterministic: the same seed, `now` and counts
// write the same records in the same order, whatever the batch size (each customer draws from its
// own seeded stream).
//
// Expects an empty store: identities, order external ids and event message ids are unique within
// one run, not across runs, so a second run into the same store fails with the store's
// kAlreadyExists. Errors: kInvalidArgument (field named) for customers < 0, batch < 1, negative
// rates; otherwise the store's error, in which case the batches committed before it stay.
Result<DemoSummary> GenerateDemo(storage::Store& store, const DemoOptions& options);

}  // namespace panorama::demo
