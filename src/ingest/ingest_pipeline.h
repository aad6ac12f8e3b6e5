#pragma once
// Durable ingestion with group commit. Requests hand over validated Segment messages; one writer thread applies
// everything pending in one transaction (each request in its own savepoint), commits with fsync, and only then
// acknowledges every request of the group. An acknowledged event is therefore on disk, and the fsync is shared by
// all requests that arrived while the previous group was being written.
//
// Thread-safe: Submit may be called from any thread. Start/Stop from the owner only.

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string_view>
#include <thread>
#include <vector>

#include "core/actor_context.h"
#include "core/money.h"
#include "core/result.h"
#include "ingest/identity/identity_resolver.h"
#include "ingest/segment_message.h"

namespace panorama::storage {
class Store;
}
namespace panorama::privacy {
class SuppressionCheck;
class DataClassCatalogue;
struct DataClassEntry;
}

namespace panorama::ingest {

// Told about committed changes, after the commit, on the writer thread (the feature store implements it).
class IngestObserver {
 public:
  virtual ~IngestObserver() = default;
  virtual void OnCustomerCreated(CustomerId customer) = 0;
  virtual void OnMerged(CustomerId from, CustomerId into) = 0;
  virtual void OnEvent(CustomerId customer, Timestamp at) = 0;
  virtual void OnOrder(CustomerId customer, Timestamp placed_at, int64_t total_base_minor) = 0;
  // A consent change from Segment traits (traits.consent), after its commit.
  virtual void OnConsent(const storage::ConsentRecord&) {}
  // Existing customers whose profile a CSV import changed, once per import after its commit (one batch).
  virtual void OnCustomersUpdated(const std::vector<CustomerId>&) {}
};

// What a transaction changed, collected while it runs and published to the observer after it commits.
struct IngestEffects {
  std::vector<CustomerId> created;
  std::vector<std::pair<CustomerId, CustomerId>> merges;  // (from, into)
  std::vector<std::pair<CustomerId, Timestamp>> events;
  struct Order {
    CustomerId customer;
    Timestamp at;
    int64_t total_base_minor;
  };
  std::vector<Order> orders;
  std::vector<storage::ConsentRecord> consents;
  std::vector<CustomerId> updated;  // existing customers a CSV import matched and updated
};

// Tells `observer` (may be null) about committed effects, in the order merges need: creations, merges, facts.
void PublishEffects(IngestObserver* observer, const IngestEffects& effects);

struct IngestStats {
  int64_t accepted = 0;    // messages written
  int64_t duplicates = 0;  // messages whose messageId was already stored (retries), skipped
  int64_t orders = 0;      // orders recorded from Order Completed
  // Messages naming an erased subject (an identifier on the suppression list): accepted, but their identifying
  // traits, suppressed identifiers, context and consents were dropped — and the message itself when no other
  // identifier was left.
  int64_t suppressed = 0;
};

struct IngestOptions {
  size_t max_group_messages = 20000;  // upper bound of one group commit
  size_t max_queued_messages = 200000;  // beyond this Submit answers kResourceExhausted (the server sheds load)
};

class IngestPipeline {
 public:
  IngestPipeline(storage::Store& store, const ExchangeRates& rates, IngestObserver* observer,
                 IngestOptions options = {});
  ~IngestPipeline();

  void Start();
  // Drains what is queued, then stops the writer.
  void Stop();

  using Done = std::function<void(Result<IngestStats>)>;
  // `done` is called exactly once: after the commit that holds these messages, or with the error.
  void Submit(std::vector<SegmentMessage> messages, Done done);
  // Blocking convenience for command-line use and tests.
  Result<IngestStats> SubmitAndWait(std::vector<SegmentMessage> messages);

  // The erased-subject check (privacy/suppression.h); null: none. Set before Start.
  void set_suppression(privacy::SuppressionCheck* check) { suppression_ = check; }
  // The data-class catalogue deciding which property keys are personal (sealed, see event_privacy.h); null:
  // the built-in defaults. Set before Start.
  void set_catalogue(const privacy::DataClassCatalogue* catalogue) { catalogue_ = catalogue; }
  // The catalogue's entries now (the migration's defaults without a catalogue), sorted.
  std::shared_ptr<const std::vector<privacy::DataClassEntry>> PropertyClasses() const;
  // Messages that named erased subjects since start (a counter for metrics; values are never logged).
  int64_t suppressed_total() const { return suppressed_total_.load(); }

  // Applies one message inside `txn`; its committed effects are appended to `effects`.
  Result<IngestStats> Apply(storage::WriteTxn& txn, const SegmentMessage& message, IngestEffects& effects);

 private:
  struct Pending {
    std::vector<SegmentMessage> messages;
    Done done;
    ActorContext actor;  // the submitter's, so the writer thread's ledger entries name who sent them
  };
  void Run();
  void WriteGroup(std::vector<Pending>& group);

  storage::Store& store_;
  const ExchangeRates& rates_;
  IngestObserver* observer_;
  IngestOptions options_;
  IdentityResolver resolver_;
  privacy::SuppressionCheck* suppression_ = nullptr;
  const privacy::DataClassCatalogue* catalogue_ = nullptr;
  std::atomic<int64_t> suppressed_total_{0};

  std::mutex mu_;
  std::condition_variable wake_;
  // guarded by mu_
  std::deque<Pending> queue_;
  size_t queued_messages_ = 0;
  bool stopping_ = false;
  bool running_ = false;
  std::thread writer_;
};

// The identifiers a message carries, in resolution order.
std::vector<IdentityKey> IdentityKeysOf(const SegmentMessage& message);

// When `message` names an erased subject (any of its identifiers, or an alias's previousId, is suppressed),
// the copy to store instead: suppressed identifiers, the profile patch, traits, context and consents removed.
// nullopt when nothing is suppressed.
Result<std::optional<SegmentMessage>> WithoutSuppressedIdentity(privacy::SuppressionCheck& check,
                                                                const SegmentMessage& message);

}  // namespace panorama::ingest
