#pragma once
// A background job that runs a function on its own thread at a fixed interval of steady time (a wall-clock step
// neither skips nor repeats a run) until stopped: the retention job, the scheduled-erasure job and scheduled
// backups of `panorama serve` are all this shape.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace panorama {

class PeriodicTask {
 public:
  enum class FirstRun {
    kAtStart,            // run once right after Start(), then every interval
    kAfterOneInterval,   // the first run happens one interval after Start()
  };

  PeriodicTask(std::chrono::milliseconds interval, FirstRun first_run, std::function<void()> work);
  ~PeriodicTask();  // Stop()
  PeriodicTask(const PeriodicTask&) = delete;
  PeriodicTask& operator=(const PeriodicTask&) = delete;

  // Starts the thread; a second call, or a call after Stop(), does nothing.
  void Start();
  // Wakes the thread, waits for a run in progress to finish, and joins. Idempotent, and safe to call from
  // several threads at once: every call returns only after the thread has ended.
  void Stop();

 private:
  void Loop();

  const std::chrono::milliseconds interval_;
  const FirstRun first_run_;
  const std::function<void()> work_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mu_
  std::mutex join_mu_;     // one Stop() joins; others wait for it
  std::thread thread_;     // set under mu_ before stopping_, joined under join_mu_ after
};

}  // namespace panorama
