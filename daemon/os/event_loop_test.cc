#include "daemon/os/event_loop.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <string>

#include "base/unique_fd.h"

namespace warden {
namespace {

using std::chrono::milliseconds;

// The heap is trimmed once big work has stopped for kTrimQuiet, with one timer however often
// the work comes, and nothing left armed afterwards (no wakeup while idle).
TEST(EventLoopTest, TrimWaitsForAQuietSpellWithOneTimer) {
  EventLoop loop;
  ASSERT_TRUE(loop.Init().ok());
  const EventLoop::TimePoint start = EventLoop::Now();
  loop.TrimAfter();
  loop.TrimAfter();
  EXPECT_EQ(loop.pending_timers(), 1u);
  // More work 300 ms in: the trim due at 500 ms waits until 800 ms.
  loop.AddTimer(start + milliseconds(300), [&] { loop.TrimAfter(); });
  size_t pending_at_600 = 99;
  loop.AddTimer(start + milliseconds(600), [&] { pending_at_600 = loop.pending_timers(); });
  loop.AddTimer(start + EventLoop::kTrimQuiet + milliseconds(700), [&] { loop.Stop(); });
  loop.Run();
  EXPECT_EQ(pending_at_600, 2u);  // the trim, re-armed, and the stop
  EXPECT_EQ(loop.pending_timers(), 0u);
}

// Timers due together run for about kTimersPerWakeup a wakeup (the first always runs); the rest
// stay due for the next one, so that a wakeup's fds are not held up by thousands of deadlines.
TEST(EventLoopTest, DueTimersRunInSlicesOfTime) {
  EventLoop loop;
  const EventLoop::TimePoint now = EventLoop::Now();
  int ran = 0;
  auto busy = [&] {
    ++ran;
    const auto until = EventLoop::Clock::now() + EventLoop::kTimersPerWakeup + milliseconds(1);
    while (EventLoop::Clock::now() < until) {
    }
  };
  loop.AddTimer(now, busy);
  loop.AddTimer(now, [&] { ++ran; });
  loop.AddTimer(now, [&] { ++ran; });
  loop.RunDueTimers();
  EXPECT_EQ(ran, 1);
  ASSERT_TRUE(loop.NextDeadline().has_value());
  EXPECT_LE(*loop.NextDeadline(), EventLoop::Now());  // still due: the next wakeup runs them
  loop.RunDueTimers();
  EXPECT_EQ(ran, 3);
  EXPECT_EQ(loop.pending_timers(), 0u);
}

// Driven by hand (no Init), the loop still watches fds: RunReadySources runs the callbacks of the
// ready ones now, in priority order, each followed by what it posted, and nothing when none is.
TEST(EventLoopTest, DrivenByHandRunsReadySourcesInPriorityOrder) {
  EventLoop loop;
  int a[2], b[2];
  ASSERT_EQ(pipe2(a, O_CLOEXEC | O_NONBLOCK), 0);
  ASSERT_EQ(pipe2(b, O_CLOEXEC | O_NONBLOCK), 0);
  UniqueFd a_read(a[0]), a_write(a[1]), b_read(b[0]), b_write(b[1]);
  std::string order;
  ASSERT_TRUE(loop.Add(a_read.get(), EPOLLIN, EventLoop::kPriorityIo,
                       [&](uint32_t events) {
                         EXPECT_TRUE(events & EPOLLIN);
                         char c;
                         while (read(a_read.get(), &c, 1) == 1) order += c;
                         loop.Post([&] { order += "+"; });
                       })
                  .ok());
  ASSERT_TRUE(loop.Add(b_read.get(), EPOLLIN, EventLoop::kPrioritySignals,
                       [&](uint32_t) {
                         char c;
                         while (read(b_read.get(), &c, 1) == 1) order += c;
                       })
                  .ok());
  EXPECT_EQ(loop.RunReadySources(), 0u);
  ASSERT_EQ(write(a_write.get(), "a", 1), 1);
  ASSERT_EQ(write(b_write.get(), "b", 1), 1);
  EXPECT_EQ(loop.RunReadySources(), 2u);
  EXPECT_EQ(order, "ba+");
  // Watched for output only, a readable pipe is not ready; removed, it is not polled.
  ASSERT_TRUE(loop.Modify(b_read.get(), EPOLLOUT).ok());
  ASSERT_EQ(write(b_write.get(), "c", 1), 1);
  loop.Remove(a_read.get());
  ASSERT_EQ(write(a_write.get(), "d", 1), 1);
  EXPECT_EQ(loop.RunReadySources(), 0u);
  EXPECT_EQ(order, "ba+");
}

}  // namespace
}  // namespace warden
