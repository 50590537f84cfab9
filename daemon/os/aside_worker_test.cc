#include "daemon/os/aside_worker.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <thread>
#include <vector>

namespace warden {
namespace {

using std::chrono::milliseconds;

// Work runs on another thread while the loop goes on serving; each `done` runs on the loop's
// thread, in the order the work was handed over, even when later work finishes first.
TEST(AsideWorkerTest, WorkRunsOffTheLoopAndDoneRunsOnItInOrder) {
  EventLoop loop;
  ASSERT_TRUE(loop.Init().ok());
  AsideWorker worker(loop);
  ASSERT_TRUE(worker.Start().ok());
  const std::thread::id loop_thread = std::this_thread::get_id();

  std::vector<int> order;
  std::vector<std::thread::id> work_threads;
  std::vector<bool> done_on_loop;
  int timer_ticks_while_working = 0;
  bool working = false;
  for (int i = 0; i < 3; ++i) {
    auto seen = std::make_shared<std::thread::id>();
    worker.Run(
        [i, seen, &working] {
          *seen = std::this_thread::get_id();
          if (i == 0) {
            working = true;  // read by the loop only after `done` (below): no race in the check
            std::this_thread::sleep_for(milliseconds(200));  // slow work: the loop must go on
          }
        },
        [&, i, seen] {
          order.push_back(i);
          work_threads.push_back(*seen);
          done_on_loop.push_back(std::this_thread::get_id() == loop_thread);
          if (order.size() == 3) loop.Stop();
        });
  }
  EXPECT_EQ(worker.pending(), 3u);
  // A timer every 10 ms while the first piece of work sleeps: the loop is not held.
  std::function<void()> tick = [&] {
    if (order.empty()) ++timer_ticks_while_working;
    if (order.size() < 3) loop.AddTimer(EventLoop::Now() + milliseconds(10), tick);
  };
  loop.AddTimer(EventLoop::Now() + milliseconds(10), tick);
  loop.AddTimer(EventLoop::Now() + std::chrono::seconds(30), [&] { loop.Stop(); });  // a bound
  loop.Run();

  EXPECT_EQ(order, (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(worker.pending(), 0u);
  for (size_t i = 0; i < work_threads.size(); ++i) {
    EXPECT_NE(work_threads[i], loop_thread) << i;
    EXPECT_TRUE(done_on_loop[i]) << i;
  }
  EXPECT_TRUE(working);
  EXPECT_GE(timer_ticks_while_working, 3);
}

// Not started (a loop driven by hand, as in the simulation): work and done run at once.
TEST(AsideWorkerTest, NotStartedRunsBothAtOnceInTheCaller) {
  EventLoop loop;
  AsideWorker worker(loop);
  std::vector<std::string> calls;
  worker.Run([&] { calls.push_back("work"); }, [&] { calls.push_back("done"); });
  EXPECT_EQ(calls, (std::vector<std::string>{"work", "done"}));
  EXPECT_EQ(worker.pending(), 0u);
}

// Destroyed with work queued: the work under way ends, the rest and every `done` are dropped.
TEST(AsideWorkerTest, DestroyedWithWorkQueuedDropsItsDones) {
  EventLoop loop;
  ASSERT_TRUE(loop.Init().ok());
  int dones = 0;
  {
    AsideWorker worker(loop);
    ASSERT_TRUE(worker.Start().ok());
    for (int i = 0; i < 5; ++i) {
      worker.Run([] { std::this_thread::sleep_for(milliseconds(20)); }, [&] { ++dones; });
    }
  }
  EXPECT_EQ(dones, 0);
}

}  // namespace
}  // namespace warden
