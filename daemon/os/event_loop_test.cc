#include "daemon/os/event_loop.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace warden
