#pragma once
// The ledger's background writer: reads of personal data are queued and appended in batches (at most
// `flush_interval` or `max_batch` entries apart, so a read costs no fsync of its own), and signed checkpoints
// are written every `checkpoint_every` entries or `checkpoint_interval`, each also appended as one JSON line
// to the off-box witness file when one is configured.
//
// Window: a read is on disk within flush_interval (100 ms) after the response; a crash inside that window loses
// at most those queued read entries (writes are never queued: they ride their own transaction).
//
// Thread-safety: RecordRead may be called from any thread; Start/Stop/CheckpointNow from the owner only.

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "audit/ledger_entry.h"
#include "core/result.h"

namespace panorama::audit {

class LedgeredStore;
class LedgerSigner;
class CheckpointSink;

struct LedgerServiceOptions {
  std::chrono::milliseconds flush_interval{100};
  size_t max_batch = 1000;
  int64_t checkpoint_every = 1000;
  std::chrono::milliseconds checkpoint_interval{60'000};
  std::string witness_path;  // empty: checkpoints only in the database
  // Further off-box copies (syslog, webhook): each gets the witness line of every checkpoint; their failures
  // are logged and never undo or block the database checkpoint.
  std::vector<std::shared_ptr<CheckpointSink>> sinks;
};

class LedgerService {
 public:
  LedgerService(LedgeredStore& store, const LedgerSigner& signer, LedgerServiceOptions options = {});
  ~LedgerService();

  // Queues one read entry; the actor, request id and IP are taken from CurrentActor() now.
  void RecordRead(LedgerEntry entry);

  void Start();
  // Flushes the queue and writes a last checkpoint.
  void Stop();

  // Appends the queued reads now (tests, and Stop); on return every read recorded before the call is on disk,
  // including a batch the writer thread was appending at that moment.
  Result<void> Flush();
  // Writes a checkpoint over the entries since the last one, and its witness line.
  Result<void> CheckpointNow();

 private:
  void Run();

  LedgeredStore& store_;
  const LedgerSigner& signer_;
  LedgerServiceOptions options_;
  std::thread thread_;

  std::mutex flush_mu_;  // serialises Flush (writer thread and callers); taken before mu_
  std::mutex mu_;
  std::condition_variable wake_;
  // guarded by mu_
  std::vector<LedgerEntry> queue_;
  bool stopping_ = false;
  bool running_ = false;
};

}  // namespace panorama::audit
