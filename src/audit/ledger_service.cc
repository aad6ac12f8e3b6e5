#include "audit/ledger_service.h"

#include <fcntl.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "audit/checkpoint_sinks.h"
#include "audit/ledgered_store.h"
#include "audit/merkle.h"
#include "core/actor_context.h"

namespace panorama::audit {

LedgerService::LedgerService(LedgeredStore& store, const LedgerSigner& signer, LedgerServiceOptions options)
    : store_(store), signer_(signer), options_(std::move(options)) {}

LedgerService::~LedgerService() { Stop(); }

void LedgerService::RecordRead(LedgerEntry entry) {
  const ActorContext& who = CurrentActor();
  entry.actor = who.actor;
  entry.request_id = who.request_id;
  entry.ip = who.ip;
  bool full = false;
  {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(entry));
    full = queue_.size() >= options_.max_batch;
  }
  if (full) wake_.notify_one();
}

void LedgerService::Start() {
  std::lock_guard lock(mu_);
  if (running_) return;
  running_ = true;
  stopping_ = false;
  thread_ = std::thread([this] { Run(); });
}

void LedgerService::Stop() {
  {
    std::lock_guard lock(mu_);
    if (!running_) return;
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
  {
    std::lock_guard lock(mu_);
    running_ = false;
  }
  if (auto flushed = Flush(); !flushed) spdlog::error("audit: read log flush failed: {}", flushed.error().message());
  if (auto cp = CheckpointNow(); !cp) spdlog::error("audit: checkpoint failed: {}", cp.error().message());
}

Result<void> LedgerService::Flush() {
  // Held across swap and append: a caller's Flush must not return while the writer thread is still
  // appending a batch it took earlier (reads recorded before Flush are then on disk when it returns).
  std::lock_guard flushing(flush_mu_);
  std::vector<LedgerEntry> batch;
  {
    std::lock_guard lock(mu_);
    batch.swap(queue_);
  }
  return store_.AppendEntries(std::move(batch));
}

Result<void> LedgerService::CheckpointNow() {
  ASSIGN_OR_RETURN(auto checkpoint, store_.Checkpoint(signer_));
  if (!checkpoint || (options_.witness_path.empty() && options_.sinks.empty())) return Ok();
  std::string line = "{\"from_seq\":" + std::to_string(checkpoint->from_seq) +
                     ",\"to_seq\":" + std::to_string(checkpoint->to_seq) + ",\"merkle_root\":\"" +
                     checkpoint->merkle_root + "\",\"head_hash\":\"" + checkpoint->head_hash +
                     "\",\"created_at\":" + std::to_string(ToUnixMillis(checkpoint->created_at)) +
                     ",\"signature\":\"" + checkpoint->signature + "\",\"public_key\":\"" + signer_.PublicKeyHex() +
                     "\"}\n";
  // The off-box sinks first: a failing witness file must not keep the checkpoint from syslog or the webhook.
  std::string json = line.substr(0, line.size() - 1);
  for (const auto& sink : options_.sinks) sink->Ship(json);
  if (options_.witness_path.empty()) return Ok();
  int fd = ::open(options_.witness_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  if (fd < 0) return Error::Unavailable("cannot open audit witness " + options_.witness_path);
  bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return Error::Unavailable("cannot append to audit witness " + options_.witness_path);
  return Ok();
}

void LedgerService::Run() {
  ActorScope scope({.actor = "system"});
  auto last_checkpoint = std::chrono::steady_clock::now();
  auto retry_after = last_checkpoint;
  std::unique_lock lock(mu_);
  while (!stopping_) {
    wake_.wait_for(lock, options_.flush_interval,
                   [&] { return stopping_ || queue_.size() >= options_.max_batch; });
    lock.unlock();
    if (auto flushed = Flush(); !flushed) {
      spdlog::error("audit: read log flush failed: {}", flushed.error().message());
    }
    for (const auto& sink : options_.sinks) sink->Pump();  // retries of earlier deliveries when due
    int64_t pending = store_.entries_since_checkpoint();
    auto now = std::chrono::steady_clock::now();
    bool due = pending >= options_.checkpoint_every ||
               (pending > 0 && now - last_checkpoint >= options_.checkpoint_interval);
    // After a failure (e.g. a tail found broken at start) retry once per interval, not at every wake-up.
    if (due && now >= retry_after) {
      last_checkpoint = now;
      if (auto cp = CheckpointNow(); !cp) {
        spdlog::error("audit: checkpoint failed: {}", cp.error().message());
        retry_after = now + options_.checkpoint_interval;
      }
    }
    lock.lock();
  }
}

}  // namespace panorama::audit
