#include "core/periodic_task.h"

#include <utility>

namespace panorama {

PeriodicTask::PeriodicTask(std::chrono::milliseconds interval, FirstRun first_run, std::function<void()> work)
    : interval_(interval), first_run_(first_run), work_(std::move(work)) {}

PeriodicTask::~PeriodicTask() { Stop(); }

void PeriodicTask::Start() {
  std::lock_guard lock(mu_);
  // stopping_ first: once it is set, a Stop() may be joining thread_ under join_mu_, so thread_ is not read.
  if (stopping_ || thread_.joinable()) return;
  thread_ = std::thread([this] { Loop(); });
}

void PeriodicTask::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  // Two Stop() calls at once (a signal handler's shutdown and a destructor) must not both join the thread.
  std::lock_guard join_lock(join_mu_);
  if (thread_.joinable()) thread_.join();
}

void PeriodicTask::Loop() {
  std::unique_lock lock(mu_);
  bool wait_first = first_run_ == FirstRun::kAfterOneInterval;
  while (!stopping_) {
    // wait_for measures steady time; the predicate makes Stop() end the wait at once.
    if (wait_first && wake_.wait_for(lock, interval_, [this] { return stopping_; })) break;
    wait_first = true;
    lock.unlock();
    work_();
    lock.lock();
  }
}

}  // namespace panorama
