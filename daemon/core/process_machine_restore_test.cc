// ProcessMachine::Save / Restore (re-execution of wardend): a machine restored from a snapshot
// goes on exactly as the original would have.
#include <memory>

#include <gtest/gtest.h>

#include "daemon/core/fake_host.h"
#include "daemon/core/process_machine.h"

namespace warden::core {
namespace {

using namespace std::chrono_literals;
using testing::FakeClock;
using testing::FakeHost;

TEST(ProcessMachineRestore, BackoffTimerAndCountersCarryOver) {
  FakeClock clock;
  Policy policy;
  policy.startsecs = 1s;
  policy.startretries = 3;
  FakeHost old_host(&clock);
  ProcessMachine old_machine(policy, &old_host);
  ASSERT_TRUE(old_machine.Start(clock.now).ok());
  clock.Advance(100ms);
  old_machine.OnExit({false, 1}, clock.now);  // too quickly: BACKOFF, retry in 1 s
  ASSERT_EQ(old_machine.state(), State::kBackoff);
  ASSERT_TRUE(old_host.deadline);
  const TimePoint retry_at = *old_host.deadline;

  ProcessMachine::Snapshot snapshot = old_machine.Save();
  FakeHost new_host(&clock);
  ProcessMachine restored(policy, &new_host);
  restored.Restore(snapshot);
  EXPECT_EQ(restored.state(), State::kBackoff);
  EXPECT_EQ(restored.backoff_count(), 1);
  EXPECT_EQ(restored.pid(), 0);
  EXPECT_EQ(restored.reason(), old_machine.reason());
  ASSERT_TRUE(new_host.deadline);
  EXPECT_EQ(*new_host.deadline, retry_at);
  EXPECT_TRUE(new_host.spawn_times.empty());  // restoring spawns nothing

  clock.now = retry_at;
  restored.OnTimer(clock.now);
  EXPECT_EQ(restored.state(), State::kStarting);
  EXPECT_GT(restored.pid(), 0);
  EXPECT_EQ(new_host.spawn_times.size(), 1u);
  EXPECT_EQ(restored.restarts(), 1u);
}

TEST(ProcessMachineRestore, RunningProcessKeepsPidUptimeAndExitHandling) {
  FakeClock clock;
  Policy policy;
  policy.startsecs = 1s;
  policy.autorestart = AutoRestart::kTrue;
  FakeHost old_host(&clock);
  ProcessMachine old_machine(policy, &old_host);
  ASSERT_TRUE(old_machine.Start(clock.now).ok());
  clock.Advance(1s);
  old_machine.OnTimer(clock.now);
  ASSERT_EQ(old_machine.state(), State::kRunning);
  const int pid = old_machine.pid();

  FakeHost new_host(&clock);
  ProcessMachine restored(policy, &new_host);
  restored.Restore(old_machine.Save());
  EXPECT_EQ(restored.state(), State::kRunning);
  EXPECT_EQ(restored.pid(), pid);
  EXPECT_EQ(restored.started_at(), old_machine.started_at());
  EXPECT_FALSE(new_host.deadline);

  // Its exit (reaped after the restore) is handled by its policy: restarted at once.
  clock.Advance(5s);
  restored.OnExit({true, 9}, clock.now);
  EXPECT_EQ(restored.state(), State::kStarting);
  EXPECT_EQ(restored.restarts(), 1u);
  EXPECT_EQ(new_host.spawn_times.size(), 1u);
}

TEST(ProcessMachineRestore, StartsecsDeadlinePassedDuringTheExecFiresAtOnce) {
  FakeClock clock;
  Policy policy;
  policy.startsecs = 1s;
  FakeHost old_host(&clock);
  ProcessMachine old_machine(policy, &old_host);
  ASSERT_TRUE(old_machine.Start(clock.now).ok());
  ProcessMachine::Snapshot snapshot = old_machine.Save();
  clock.Advance(2s);  // the exec took longer than the rest of startsecs
  FakeHost new_host(&clock);
  ProcessMachine restored(policy, &new_host);
  restored.Restore(snapshot);
  ASSERT_TRUE(new_host.deadline);
  EXPECT_LE(*new_host.deadline, clock.now);
  restored.OnTimer(clock.now);
  EXPECT_EQ(restored.state(), State::kRunning);
}

}  // namespace
}  // namespace warden::core
