#include "core/periodic_task.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <thread>
#include <vector>

namespace panorama {
namespace {

using namespace std::chrono_literals;

// Polls until `done` holds or the deadline passes (a scheduling bound, not a timing assertion).
template <typename Pred>
bool Eventually(Pred done, std::chrono::milliseconds limit = 5s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

TEST(PeriodicTask, RunsAtStartAndThenEveryInterval) {
  std::atomic<int> runs{0};
  PeriodicTask task(10ms, PeriodicTask::FirstRun::kAtStart, [&] { ++runs; });
  task.Start();
  EXPECT_TRUE(Eventually([&] { return runs.load() >= 3; }));
  task.Stop();
  const int after_stop = runs.load();
  std::this_thread::sleep_for(30ms);
  EXPECT_EQ(runs.load(), after_stop) << "no run after Stop()";
}

TEST(PeriodicTask, WaitsOneIntervalBeforeTheFirstRunWhenAskedTo) {
  std::atomic<int> runs{0};
  PeriodicTask task(std::chrono::hours(1), PeriodicTask::FirstRun::kAfterOneInterval, [&] { ++runs; });
  task.Start();
  std::this_thread::sleep_for(20ms);
  task.Stop();  // must not wait out the hour
  EXPECT_EQ(runs.load(), 0);
}

TEST(PeriodicTask, StopEndsALongWaitAtOnceAndIsIdempotent) {
  std::atomic<int> runs{0};
  PeriodicTask task(std::chrono::hours(24), PeriodicTask::FirstRun::kAtStart, [&] { ++runs; });
  task.Start();
  ASSERT_TRUE(Eventually([&] { return runs.load() == 1; }));
  const auto before = std::chrono::steady_clock::now();
  task.Stop();
  task.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - before, 5s);
  EXPECT_EQ(runs.load(), 1);
}

// A run that takes 50 ms, and flags for when it started and finished.
struct SlowRun {
  std::atomic<bool> in_run{false}, finished{false};
  std::function<void()> Work() {
    return [this] {
      in_run = true;
      std::this_thread::sleep_for(50ms);
      finished = true;
    };
  }
};

TEST(PeriodicTask, StopWaitsForARunInProgressAndStartAfterStopDoesNothing) {
  SlowRun slow;
  PeriodicTask task(std::chrono::hours(1), PeriodicTask::FirstRun::kAtStart, slow.Work());
  task.Start();
  ASSERT_TRUE(Eventually([&] { return slow.in_run.load(); }));
  task.Stop();
  EXPECT_TRUE(slow.finished.load()) << "Stop() returned while the run was still going";
  slow.finished = false;
  task.Start();
  std::this_thread::sleep_for(20ms);
  EXPECT_FALSE(slow.finished.load());
}

TEST(PeriodicTask, StopFromSeveralThreadsAtOnceJoinsOnceAndEveryCallerWaitsForTheRun) {
  SlowRun slow;
  PeriodicTask task(std::chrono::hours(1), PeriodicTask::FirstRun::kAtStart, slow.Work());
  task.Start();
  ASSERT_TRUE(Eventually([&] { return slow.in_run.load(); }));
  std::atomic<int> returned_early{0};
  std::vector<std::thread> stoppers;
  for (int i = 0; i < 4; ++i) {
    stoppers.emplace_back([&] {
      task.Stop();
      if (!slow.finished.load()) ++returned_early;
    });
  }
  for (auto& t : stoppers) t.join();
  EXPECT_EQ(returned_early.load(), 0) << "a Stop() returned while the run was still going";
}

}  // namespace
}  // namespace panorama
