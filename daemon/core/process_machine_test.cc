// ProcessMachine driven by a fake clock and a fake process layer: no processes, no sleeping.
#include "daemon/core/process_machine.h"

#include <cerrno>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "daemon/core/fake_host.h"

namespace warden::core {
namespace {

using namespace std::chrono_literals;
using testing::FakeClock;
using testing::FakeHost;
using testing::KillCall;
using testing::StateChange;

constexpr int kSigKill = 9;
constexpr int kSigTerm = 15;
constexpr int kSigInt = 2;
constexpr int kSigHup = 1;
constexpr const char* kTooQuickly = "Exited too quickly (process log may have details)";

constexpr ExitStatus Code(int code) { return ExitStatus{false, code}; }
constexpr ExitStatus Sig(int signal) { return ExitStatus{true, signal}; }

class ProcessMachineTest : public ::testing::Test {
 protected:
  void Make(Policy policy = Policy()) {
    machine_ = std::make_unique<ProcessMachine>(std::move(policy), &host_);
    host_.Watch(machine_.get());
  }
  ProcessMachine& m() { return *machine_; }

  // What the event loop does when the one armed timer comes due: time moves to the deadline,
  // the (one-shot) timer is consumed, the machine is told.
  [[nodiscard]] bool FireTimer() {
    if (!host_.deadline) {
      ADD_FAILURE() << "no timer armed in " << StateName(m().state());
      return false;
    }
    clock_.now = *host_.deadline;
    host_.deadline.reset();
    m().OnTimer(clock_.now);
    return true;
  }
  void Exit(ExitStatus status) { m().OnExit(status, clock_.now); }
  void After(Duration d) { clock_.Advance(d); }

  // Start, then let startsecs pass: the process is RUNNING.
  void StartRunning() {
    ASSERT_TRUE(m().Start(clock_.now).ok());
    if (m().state() == State::kStarting) {
      ASSERT_TRUE(FireTimer());
    }
    ASSERT_EQ(m().state(), State::kRunning);
  }

  FakeClock clock_;
  FakeHost host_{&clock_};
  std::unique_ptr<ProcessMachine> machine_;
};

// --- names and small helpers ---

TEST(StateNameTest, NamesEveryState) {
  EXPECT_STREQ(StateName(State::kStopped), "STOPPED");
  EXPECT_STREQ(StateName(State::kStarting), "STARTING");
  EXPECT_STREQ(StateName(State::kRunning), "RUNNING");
  EXPECT_STREQ(StateName(State::kBackoff), "BACKOFF");
  EXPECT_STREQ(StateName(State::kStopping), "STOPPING");
  EXPECT_STREQ(StateName(State::kExited), "EXITED");
  EXPECT_STREQ(StateName(State::kFatal), "FATAL");
  EXPECT_STREQ(StateName(State::kUnknown), "UNKNOWN");
}

TEST(DescribeExitTest, CodeSignalOrTheOomKiller) {
  EXPECT_EQ(DescribeExit(Code(3)), "exit status 3");
  EXPECT_EQ(DescribeExit(Sig(9)), "terminated by SIGKILL");
  EXPECT_EQ(DescribeExit(ExitStatus{true, 9, true}), "killed by the OOM killer");
}

TEST(SpawnErrorTest, ToStringNamesStageAndErrno) {
  EXPECT_EQ((SpawnError{"chdir", ENOENT}.ToString()), "chdir: No such file or directory");
  EXPECT_EQ((SpawnError{"exec", EACCES}.ToString()), "exec: Permission denied");
  EXPECT_EQ((SpawnError{"fork", 0}.ToString()), "fork");
}

TEST_F(ProcessMachineTest, ExitWasExpectedFollowsExitcodes) {
  Policy p;
  p.exitcodes = {0, 2};
  Make(p);
  EXPECT_TRUE(m().ExitWasExpected(Code(0)));
  EXPECT_TRUE(m().ExitWasExpected(Code(2)));
  EXPECT_FALSE(m().ExitWasExpected(Code(1)));
  EXPECT_FALSE(m().ExitWasExpected(Sig(kSigTerm)));
  EXPECT_FALSE(m().ExitWasExpected(Sig(0))) << "a signal is never expected";
}

TEST_F(ProcessMachineTest, InitiallyStoppedAndIdle) {
  Make();
  EXPECT_EQ(m().state(), State::kStopped);
  EXPECT_EQ(m().pid(), 0);
  EXPECT_FALSE(m().started_at());
  EXPECT_FALSE(m().last_exit());
  EXPECT_EQ(m().restarts(), 0u);
  EXPECT_TRUE(m().reason().empty());
  EXPECT_TRUE(host_.spawn_times.empty());
  EXPECT_TRUE(host_.changes.empty());
}

// --- starting ---

TEST_F(ProcessMachineTest, StartSpawnsAndArmsStartsecs) {
  Policy p;
  p.startsecs = 5s;
  Make(p);
  const TimePoint t0 = clock_.now;
  ASSERT_TRUE(m().Start(t0).ok());
  EXPECT_EQ(m().state(), State::kStarting);
  EXPECT_EQ(m().pid(), 100);
  EXPECT_EQ(m().started_at(), t0);
  EXPECT_EQ(host_.spawn_times, std::vector<TimePoint>{t0});
  EXPECT_EQ(host_.deadline, t0 + 5s);
  EXPECT_EQ(host_.changes, (std::vector<StateChange>{{State::kStopped, State::kStarting}}));
}

TEST_F(ProcessMachineTest, StartsecsElapsedMeansRunning) {
  Make();
  const TimePoint t0 = clock_.now;
  ASSERT_TRUE(m().Start(t0).ok());
  ASSERT_TRUE(FireTimer());
  EXPECT_EQ(clock_.now, t0 + 1s);
  EXPECT_EQ(m().state(), State::kRunning);
  EXPECT_EQ(m().pid(), 100);
  EXPECT_FALSE(host_.deadline) << "RUNNING waits for nothing";
  EXPECT_EQ(host_.changes, (std::vector<StateChange>{{State::kStopped, State::kStarting},
                                                     {State::kStarting, State::kRunning}}));
}

TEST_F(ProcessMachineTest, StartsecsZeroIsRunningAtOnce) {
  Policy p;
  p.startsecs = 0s;
  Make(p);
  ASSERT_TRUE(m().Start(clock_.now).ok());
  EXPECT_EQ(m().state(), State::kRunning);
  EXPECT_EQ(m().pid(), 100);
  EXPECT_FALSE(host_.deadline);
  EXPECT_EQ(host_.changes, (std::vector<StateChange>{{State::kStopped, State::kStarting},
                                                     {State::kStarting, State::kRunning}}));
}

TEST_F(ProcessMachineTest, StartWhileUpIsAlreadyStarted) {
  Make();
  ASSERT_TRUE(m().Start(clock_.now).ok());
  EXPECT_EQ(m().Start(clock_.now).code(), ErrorCode::kAlreadyStarted);  // STARTING
  ASSERT_TRUE(FireTimer());
  EXPECT_EQ(m().Start(clock_.now).code(), ErrorCode::kAlreadyStarted);  // RUNNING
  ASSERT_TRUE(m().Stop(clock_.now).ok());
  EXPECT_EQ(m().Start(clock_.now).code(), ErrorCode::kAlreadyStarted);  // STOPPING
  EXPECT_EQ(host_.spawn_times.size(), 1u);
  EXPECT_EQ(m().state(), State::kStopping);
}

// --- early failures: backoff and FATAL ---

TEST_F(ProcessMachineTest, EarlyExitsBackOffLinearlyThenFatal) {
  Make();  // startretries = 3, startsecs = 1
  const TimePoint t0 = clock_.now;
  ASSERT_TRUE(m().Start(t0).ok());

  Exit(Code(0));  // even an expected code is a failure before startsecs
  EXPECT_EQ(m().state(), State::kBackoff);
  EXPECT_EQ(m().backoff_count(), 1);
  EXPECT_EQ(m().pid(), 0);
  EXPECT_EQ(m().reason(), kTooQuickly);
  EXPECT_EQ(host_.deadline, t0 + 1s);

  ASSERT_TRUE(FireTimer());
  EXPECT_EQ(m().state(), State::kStarting);
  Exit(Code(1));
  EXPECT_EQ(m().backoff_count(), 2);
  EXPECT_EQ(host_.deadline, t0 + 3s);

  ASSERT_TRUE(FireTimer());
  Exit(Code(1));
  EXPECT_EQ(m().backoff_count(), 3);
  EXPECT_EQ(host_.deadline, t0 + 6s);

  ASSERT_TRUE(FireTimer());
  Exit(Code(1));
  EXPECT_EQ(m().state(), State::kFatal);
  EXPECT_EQ(m().backoff_count(), 4);
  EXPECT_EQ(m().reason(), kTooQuickly);
  EXPECT_FALSE(host_.deadline) << "FATAL is never retried on its own";

  EXPECT_EQ(host_.spawn_times, (std::vector<TimePoint>{t0, t0 + 1s, t0 + 3s, t0 + 6s}));
  EXPECT_EQ(host_.changes, (std::vector<StateChange>{
                               {State::kStopped, State::kStarting},
                               {State::kStarting, State::kBackoff},
                               {State::kBackoff, State::kStarting},
                               {State::kStarting, State::kBackoff},
                               {State::kBackoff, State::kStarting},
                               {State::kStarting, State::kBackoff},
                               {State::kBackoff, State::kStarting},
                               {State::kStarting, State::kFatal},
                           }));

  // Nothing wakes it: a stray timer or exit report changes nothing.
  m().OnTimer(clock_.now + 100s);
  Exit(Code(1));
  EXPECT_EQ(m().state(), State::kFatal);
  EXPECT_EQ(host_.spawn_times.size(), 4u);
}

TEST_F(ProcessMachineTest, EarlyExitsBackOffExponentiallyWithTheCrashBackoff) {
  Policy p;
  p.startretries = 5;
  p.crash_backoff = {1s, 5s, 60s, 0.0};  // initial 1 s, capped at 5 s
  Make(p);
  const TimePoint t0 = clock_.now;
  ASSERT_TRUE(m().Start(t0).ok());
  std::vector<Duration> waits;
  for (int i = 0; i < 5; ++i) {
    Exit(Code(1));
    ASSERT_EQ(m().state(), State::kBackoff);
    ASSERT_TRUE(host_.deadline);
    waits.push_back(*host_.deadline - clock_.now);
    EXPECT_EQ(m().next_spawn_at(), host_.deadline) << "status shows the wait";
    ASSERT_TRUE(FireTimer());
  }
  EXPECT_EQ(waits, (std::vector<Duration>{1s, 2s, 4s, 5s, 5s}));
  Exit(Code(1));
  EXPECT_EQ(m().state(), State::kFatal);
  EXPECT_FALSE(host_.deadline) << "without fatal_retry FATAL stays";
  EXPECT_FALSE(m().next_spawn_at());
}

TEST_F(ProcessMachineTest, EarlyExitBackoffIsJitteredLikeCrashes) {
  Policy p;
  p.crash_backoff = {2s, 60s, 60s, 0.5};
  Make(p);
  host_.random = 1.0;  // the top of the range: +50%
  ASSERT_TRUE(m().Start(clock_.now).ok());
  Exit(Code(1));
  EXPECT_EQ(host_.deadline, clock_.now + 3s);
}

TEST_F(ProcessMachineTest, FatalRetryStartsAFreshSeriesLater) {
  Policy p;
  p.startretries = 1;
  p.fatal_retry = 30s;
  Make(p);
  ASSERT_TRUE(m().Start(clock_.now).ok());
  Exit(Code(1));
  ASSERT_TRUE(FireTimer());
  Exit(Code(1));
  ASSERT_EQ(m().state(), State::kFatal);
  const TimePoint fatal_at = clock_.now;
  EXPECT_EQ(host_.deadline, fatal_at + 30s);
  EXPECT_EQ(m().next_spawn_at(), fatal_at + 30s) << "status shows the wait";

  ASSERT_TRUE(FireTimer());
  EXPECT_EQ(m().state(), State::kStarting);
  EXPECT_EQ(m().backoff_count(), 0) << "a fresh series of attempts";
  EXPECT_EQ(host_.spawn_times.size(), 3u);
  Exit(Code(1));
  EXPECT_EQ(m().state(), State::kBackoff) << "startretries applies again";
  ASSERT_TRUE(FireTimer());
  ASSERT_TRUE(FireTimer());  // startsecs: RUNNING this time
  EXPECT_EQ(m().state(), State::kRunning);
}

TEST_F(ProcessMachineTest, StopCancelsAPendingFatalRetry) {
  Policy p;
  p.startretries = 0;
  p.fatal_retry = 10s;
  Make(p);
  ASSERT_TRUE(m().Start(clock_.now).ok());
  Exit(Code(1));
  ASSERT_EQ(m().state(), State::kFatal);
  ASSERT_TRUE(host_.deadline);
  EXPECT_TRUE(m().Stop(clock_.now).ok());
  EXPECT_EQ(m().state(), State::kStopped);
  EXPECT_FALSE(host_.deadline);
  EXPECT_FALSE(m().next_spawn_at());
  EXPECT_EQ(m().Stop(clock_.now).code(), ErrorCode::kNotRunning);
  m().OnTimer(clock_.now + 20s);  // a stale firing
  EXPECT_EQ(m().state(), State::kStopped);
  EXPECT_EQ(host_.spawn_times.size(), 1u);
}

TEST_F(ProcessMachineTest, BackoffDelayCountsFromTheFailure) {
  Make();
  ASSERT_TRUE(m().Start(clock_.now).ok());
  After(300ms);
  const TimePoint failed = clock_.now;
  Exit(Code(1));
  EXPECT_EQ(host_.deadline, failed + 1s);
}

TEST_F(ProcessMachineTest, StartretriesZeroIsFatalAfterFirstEarlyExit) {
  Policy p;
  p.startretries = 0;
  Make(p);
  ASSERT_TRUE(m().Start(clock_.now).ok());
  Exit(Code(1));
  EXPECT_EQ(m().state(), State::kFatal);
  EXPECT_EQ(m().reason(), kTooQuickly);
  EXPECT_FALSE(host_.deadline);
  EXPECT_EQ(host_.spawn_times.size(), 1u);
  EXPECT_EQ(host_.changes, (std::vector<StateChange>{{State::kStopped, State::kStarting},
                                                     {State::kStarting, State::kFatal}}));
}

TEST_F(ProcessMachineTest, SpawnErrorBacksOffWithStageInReason) {
  Make();
  host_.FailNextSpawn({"chdir", ENOENT});
  host_.FailNextSpawn({"chdir", ENOENT});
  const TimePoint t0 = clock_.now;
  const Status st = m().Start(t0);
  EXPECT_EQ(st.code(), ErrorCode::kSpawnError);
  EXPECT_EQ(st.message(), "spawn error: chdir: No such file or directory");
  EXPECT_EQ(m().state(), State::kBackoff);
  EXPECT_EQ(m().reason(), "spawn error: chdir: No such file or directory");
  EXPECT_EQ(m().pid(), 0);
  EXPECT_FALSE(m().started_at()) << "no successful spawn yet";
  EXPECT_EQ(m().backoff_count(), 1);
  EXPECT_EQ(host_.deadline, t0 + 1s);

  ASSERT_TRUE(FireTimer());  // fails again
  EXPECT_EQ(m().state(), State::kBackoff);
  EXPECT_EQ(m().backoff_count(), 2);
  ASSERT_TRUE(FireTimer());  // the script is used up: this one succeeds
  EXPECT_EQ(m().state(), State::kStarting);
  EXPECT_EQ(m().pid(), 100);
  EXPECT_TRUE(m().reason().empty());
  EXPECT_EQ(m().restarts(), 0u) << "failed spawns are not restarts";
  ASSERT_TRUE(FireTimer());
  EXPECT_EQ(m().state(), State::kRunning);
  EXPECT_EQ(m().backoff_count(), 0);
}

TEST_F(ProcessMachineTest, SpawnErrorToFatalKeepsSpawnErrorReason) {
  Policy p;
  p.startretries = 1;
  Make(p);
  host_.FailNextSpawn({"exec", EACCES});
  host_.FailNextSpawn({"setuid", EPERM});
  EXPECT_EQ(m().Start(clock_.now).code(), ErrorCode::kSpawnError);
  ASSERT_TRUE(FireTimer());
  EXPECT_EQ(m().state(), State::kFatal);
  EXPECT_EQ(m().reason(), "spawn error: setuid: Operation not permitted");
  EXPECT_FALSE(host_.deadline);
  EXPECT_TRUE(host_.kills.empty());
}

TEST_F(ProcessMachineTest, SpawnWithoutPidOrErrorIsASpawnError) {
  Policy p;
  p.startretries = 0;
  Make(p);
  host_.ScriptSpawn(SpawnOutcome{0, std::nullopt});  // a broken host answer: no pid, no error
  EXPECT_EQ(m().Start(clock_.now).code(), ErrorCode::kSpawnError);
  EXPECT_EQ(m().state(), State::kFatal);
  EXPECT_EQ(m().pid(), 0);
}

TEST_F(ProcessMachineTest, ReachingRunningResetsBackoff) {
  Make();
  const TimePoint t0 = clock_.now;
  ASSERT_TRUE(m().Start(t0).ok());
  Exit(Code(1));
  ASSERT_TRUE(FireTimer());  // respawn at t0+1
  Exit(Code(1));
  ASSERT_TRUE(FireTimer());  // respawn at t0+3
  EXPECT_EQ(m().backoff_count(), 2);
  ASSERT_TRUE(FireTimer());  // startsecs passes
  EXPECT_EQ(m().state(), State::kRunning);
  EXPECT_EQ(clock_.now, t0 + 4s);
  EXPECT_EQ(m().backoff_count(), 0);

  // A crash, then an early exit, starts again at a 1 s delay.
  Policy p = m().policy();
  p.autorestart = AutoRestart::kTrue;
  m().SetPolicy(p);
  Exit(Code(1));
  EXPECT_EQ(m().state(), State::kStarting);
  Exit(Code(1));
  EXPECT_EQ(m().backoff_count(), 1);
  EXPECT_EQ(host_.deadline, clock_.now + 1s);
}

TEST_F(ProcessMachineTest, ManualStartFromFatalResetsBackoff) {
  Policy p;
  p.startretries = 1;
  Make(p);
  ASSERT_TRUE(m().Start(clock_.now).ok());
  Exit(Code(1));
  ASSERT_TRUE(FireTimer());
  Exit(Code(1));
  ASSERT_EQ(m().state(), State::kFatal);
  ASSERT_EQ(m().backoff_count(), 2);

  After(60s);
  const TimePoint t1 = clock_.now;
  ASSERT_TRUE(m().Start(t1).ok());
  EXPECT_EQ(m().state(), State::kStarting);
  EXPECT_EQ(m().backoff_count(), 0);
  EXPECT_TRUE(m().reason().empty());
  // It gets the full set of retries again, starting at 1 s.
  Exit(Code(1));
  EXPECT_EQ(m().state(), State::kBackoff);
  EXPECT_EQ(m().backoff_count(), 1);
  EXPECT_EQ(host_.deadline, t1 + 1s);
}

TEST_F(ProcessMachineTest, ManualStartInBackoffSpawnsNow) {
  Make();
  ASSERT_TRUE(m().Start(clock_.now).ok());
  Exit(Code(1));
  Exit(Code(1));  // a duplicate report for the same pid: ignored
  ASSERT_EQ(m().state(), State::kBackoff);
  ASSERT_EQ(m().backoff_count(), 1);
  After(200ms);
  ASSERT_TRUE(m().Start(clock_.now).ok());
  EXPECT_EQ(m().state(), State::kStarting);
  EXPECT_EQ(m().backoff_count(), 0);
  EXPECT_EQ(host_.spawn_times.back(), clock_.now);
  EXPECT_EQ(host_.deadline, clock_.now + 1s) << "the retry timer became the startsecs timer";
}

TEST_F(ProcessMachineTest, ExitAfterStartsecsButBeforeTimerCountsAsRunning) {
  // The event loop handles exits before timers; a process that lived past startsecs is not
  // "too quick" just because its timer had not been processed yet.
  Policy p;
  p.autorestart = AutoRestart::kFalse;
  Make(p);
  ASSERT_TRUE(m().Start(clock_.now).ok());
  After(1s);
  Exit(Code(3));
  EXPECT_EQ(m().state(), State::kExited);
  EXPECT_EQ(m().backoff_count(), 0);
  EXPECT_EQ(m().reason(), "exit status 3");
  EXPECT_FALSE(host_.deadline);
  EXPECT_EQ(host_.changes, (std::vector<StateChange>{{State::kStopped, State::kStarting},
                                                     {State::kStarting, State::kRunning},
                                                     {State::kRunning, State::kExited}}));
  // The stale startsecs timer, if it still fires, is ignored.
  m().OnTimer(clock_.now);
  EXPECT_EQ(m().state(), State::kExited);
}

// --- exits from RUNNING and autorestart ---

struct AutoRestartCase {
  const char* name;
  AutoRestart autorestart;
  ExitStatus exit;
  bool restarts;
  const char* reason;
};

class AutoRestartTest : public ProcessMachineTest,
                        public ::testing::WithParamInterface<AutoRestartCase> {};

TEST_P(AutoRestartTest, RestartsOnlyWhenThePolicySays) {
  const AutoRestartCase& c = GetParam();
  Policy p;
  p.autorestart = c.autorestart;
  p.exitcodes = {0, 2};
  Make(p);
  StartRunning();
  After(30s);
  Exit(c.exit);

  EXPECT_EQ(m().last_exit()->signaled, c.exit.signaled);
  EXPECT_EQ(m().last_exit()->value, c.exit.value);
  EXPECT_EQ(m().backoff_count(), 0);
  ASSERT_GE(host_.changes.size(), 3u);
  EXPECT_EQ(host_.changes[2], (StateChange{State::kRunning, State::kExited}));
  if (c.restarts) {
    EXPECT_EQ(m().state(), State::kStarting);
    EXPECT_EQ(host_.changes.size(), 4u);
    EXPECT_EQ(host_.changes[3], (StateChange{State::kExited, State::kStarting}));
    EXPECT_EQ(host_.spawn_times.back(), clock_.now) << "restarted at once, no delay";
    EXPECT_EQ(m().pid(), 101);
    EXPECT_EQ(m().restarts(), 1u);
  } else {
    EXPECT_EQ(m().state(), State::kExited);
    EXPECT_EQ(m().reason(), c.reason);
    EXPECT_EQ(m().pid(), 0);
    EXPECT_EQ(host_.spawn_times.size(), 1u);
    EXPECT_FALSE(host_.deadline);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Policies, AutoRestartTest,
    ::testing::Values(
        AutoRestartCase{"TrueExpected", AutoRestart::kTrue, Code(0), true, ""},
        AutoRestartCase{"TrueSignal", AutoRestart::kTrue, Sig(kSigTerm), true, ""},
        AutoRestartCase{"FalseUnexpected", AutoRestart::kFalse, Code(1), false, "exit status 1"},
        AutoRestartCase{"FalseSignal", AutoRestart::kFalse, Sig(kSigKill), false,
                        "terminated by SIGKILL"},
        AutoRestartCase{"UnexpectedCode0", AutoRestart::kUnexpected, Code(0), false,
                        "exit status 0"},
        AutoRestartCase{"UnexpectedCode2", AutoRestart::kUnexpected, Code(2), false,
                        "exit status 2"},
        AutoRestartCase{"UnexpectedCode1", AutoRestart::kUnexpected, Code(1), true, ""},
        AutoRestartCase{"UnexpectedSignal", AutoRestart::kUnexpected, Sig(kSigTerm), true, ""},
        AutoRestartCase{"UnexpectedSignalNumberInExitcodes", AutoRestart::kUnexpected, Sig(2), true,
                        ""}),
    [](const ::testing::TestParamInfo<AutoRestartCase>& param) { return param.param.name; });

TEST_F(ProcessMachineTest, ExitReasonNamesSignals) {
  Policy p;
  p.autorestart = AutoRestart::kFalse;
  Make(p);
  StartRunning();
  Exit(Sig(kSigTerm));
  EXPECT_EQ(m().reason(), "terminated by SIGTERM");
  StartRunning();
  Exit(Sig(kSigHup));
  EXPECT_EQ(m().reason(), "terminated by SIGHUP");
  StartRunning();
  Exit(Sig(40));  // a real-time signal: no fixed name
  EXPECT_EQ(m().reason(), "terminated by signal 40");
}

TEST_F(ProcessMachineTest, CrashAfterRunningRestartsAtOnceWithoutLimit) {
  Policy p;
  p.autorestart = AutoRestart::kTrue;
  p.startretries = 0;  // applies only to early failures
  Make(p);
  StartRunning();
  for (uint32_t i = 1; i <= 10; ++i) {
    After(5s);
    Exit(Code(1));
    ASSERT_EQ(m().state(), State::kStarting);
    EXPECT_EQ(host_.spawn_times.back(), clock_.now);
    ASSERT_TRUE(FireTimer());
    ASSERT_EQ(m().state(), State::kRunning);
    EXPECT_EQ(m().restarts(), i);
  }
}

TEST_F(ProcessMachineTest, RestartsCountsSuccessfulSpawnsAfterTheFirst) {
  Policy p;
  p.autorestart = AutoRestart::kTrue;
  p.startsecs = 0s;
  Make(p);
  ASSERT_TRUE(m().Start(clock_.now).ok());
  EXPECT_EQ(m().restarts(), 0u);
  Exit(Code(0));
  EXPECT_EQ(m().restarts(), 1u);
  Exit(Code(0));
  EXPECT_EQ(m().restarts(), 2u);
  ASSERT_TRUE(m().Stop(clock_.now).ok());
  Exit(Sig(kSigTerm));
  ASSERT_EQ(m().state(), State::kStopped);
  EXPECT_EQ(m().restarts(), 2u);
  ASSERT_TRUE(m().Start(clock_.now).ok());  // a manual start is a spawn after the first too
  EXPECT_EQ(m().restarts(), 3u);
  EXPECT_EQ(m().pid(), 103);
}

TEST_F(ProcessMachineTest, SetPolicyIsRespectedAtTheNextExit) {
  Policy p;
  p.autorestart = AutoRestart::kTrue;
  Make(p);
  StartRunning();
  p.autorestart = AutoRestart::kFalse;
  m().SetPolicy(p);
  EXPECT_EQ(m().policy().autorestart, AutoRestart::kFalse);
  EXPECT_EQ(m().state(), State::kRunning) << "a policy change alone does nothing";
  Exit(Code(0));
  EXPECT_EQ(m().state(), State::kExited);
  EXPECT_EQ(host_.spawn_times.size(), 1u);
}

TEST_F(ProcessMachineTest, SetPolicyChangesStopSignalAndExitcodes) {
  Make();  // autorestart unexpected, exitcodes {0}
  StartRunning();
  Policy p = m().policy();
  p.exitcodes = {0, 7};
  p.stopsignal = kSigInt;
  m().SetPolicy(p);
  Exit(Code(7));
  EXPECT_EQ(m().state(), State::kExited) << "7 is expected now";
  StartRunning();
  ASSERT_TRUE(m().Stop(clock_.now).ok());
  EXPECT_EQ(host_.kills.back(), (KillCall{101, kSigInt, false}));
}

// --- stopping ---

TEST_F(ProcessMachineTest, StopSignalsThenStoppedOnExit) {
  Make();
  StartRunning();
  const TimePoint t = clock_.now;
  ASSERT_TRUE(m().Stop(t).ok());
  EXPECT_EQ(m().state(), State::kStopping);
  EXPECT_EQ(host_.kills, (std::vector<KillCall>{{100, kSigTerm, false}}));
  EXPECT_EQ(host_.deadline, t + 10s);
  EXPECT_EQ(m().pid(), 100) << "still alive until reaped";

  After(2s);
  Exit(Sig(kSigTerm));
  EXPECT_EQ(m().state(), State::kStopped);
  EXPECT_EQ(m().pid(), 0);
  EXPECT_EQ(m().reason(), "Stopped");
  ASSERT_TRUE(m().last_exit());
  EXPECT_TRUE(m().last_exit()->signaled);
  EXPECT_EQ(m().last_exit()->value, kSigTerm);
  EXPECT_FALSE(host_.deadline);
  EXPECT_EQ(host_.kills.size(), 1u);
  EXPECT_EQ(host_.spawn_times.size(), 1u) << "a stopped process is not restarted";
  EXPECT_EQ(host_.changes, (std::vector<StateChange>{{State::kStopped, State::kStarting},
                                                     {State::kStarting, State::kRunning},
                                                     {State::kRunning, State::kStopping},
                                                     {State::kStopping, State::kStopped}}));
}

TEST_F(ProcessMachineTest, StopSignalIsFollowedBySigcontButSigkillIsNot) {
  Policy p;
  p.stopasgroup = true;
  Make(p);
  StartRunning();
  ASSERT_TRUE(m().Stop(clock_.now).ok());
  EXPECT_EQ(host_.kills, (std::vector<KillCall>{{100, kSigTerm, true}}));
  EXPECT_EQ(host_.continues, (std::vector<KillCall>{{100, SIGCONT, true}}))
      << "a SIGSTOPped process must be able to act on its stop signal";
  ASSERT_TRUE(FireTimer());  // stopwaitsecs
  EXPECT_EQ(host_.kills.back(), (KillCall{100, kSigKill, true}));
  EXPECT_EQ(host_.continues.size(), 1u) << "SIGKILL needs no SIGCONT";

  Policy killer;
  killer.stopsignal = kSigKill;
  Make(killer);
  StartRunning();
  host_.continues.clear();
  ASSERT_TRUE(m().Stop(clock_.now).ok());
  EXPECT_TRUE(host_.continues.empty());
}

TEST_F(ProcessMachineTest, StopWhileStartingSignalsToo) {
  Make();
  ASSERT_TRUE(m().Start(clock_.now).ok());
  After(100ms);
  ASSERT_TRUE(m().Stop(clock_.now).ok());
  EXPECT_EQ(m().state(), State::kStopping);
  EXPECT_EQ(host_.kills, (std::vector<KillCall>{{100, kSigTerm, false}}));
  EXPECT_EQ(host_.deadline, clock_.now + 10s) << "the startsecs timer was replaced";
  Exit(Code(0));
  EXPECT_EQ(m().state(), State::kStopped);
  EXPECT_EQ(m().backoff_count(), 0) << "an exit while stopping is no early failure";
}

TEST_F(ProcessMachineTest, StopTimeoutSendsSigkillToGroupWithStopasgroup) {
  Policy p;
  p.stopasgroup = true;
  p.stopwaitsecs = 3s;
  Make(p);
  StartRunning();
  const TimePoint t = clock_.now;
  ASSERT_TRUE(m().Stop(t).ok());
  EXPECT_EQ(host_.kills, (std::vector<KillCall>{{100, kSigTerm, true}}));
  ASSERT_TRUE(FireTimer());
  EXPECT_EQ(clock_.now, t + 3s);
  EXPECT_EQ(m().state(), State::kStopping);
  EXPECT_EQ(host_.kills, (std::vector<KillCall>{{100, kSigTerm, true}, {100, kSigKill, true}}));
  EXPECT_EQ(host_.deadline, t + 6s);
  Exit(Sig(kSigKill));
  EXPECT_EQ(m().state(), State::kStopped);
  EXPECT_FALSE(host_.deadline);
}

TEST_F(ProcessMachineTest, KillasgroupAloneKillsOnlyTheGroup) {
  Policy p;
  p.killasgroup = true;
  Make(p);
  StartRunning();
  ASSERT_TRUE(m().Stop(clock_.now).ok());
  ASSERT_TRUE(FireTimer());
  EXPECT_EQ(host_.kills, (std::vector<KillCall>{{100, kSigTerm, false}, {100, kSigKill, true}}));
}

TEST_F(ProcessMachineTest, SigkillWithoutGroupByDefault) {
  Make();
  StartRunning();
  ASSERT_TRUE(m().Stop(clock_.now).ok());
  ASSERT_TRUE(FireTimer());
  EXPECT_EQ(host_.kills.back(), (KillCall{100, kSigKill, false}));
}

TEST_F(ProcessMachineTest, SigkillIsResentWhileTheProcessLives) {
  Make();
  StartRunning();
  const TimePoint t = clock_.now;
  ASSERT_TRUE(m().Stop(t).ok());
  ASSERT_TRUE(FireTimer());
  ASSERT_TRUE(FireTimer());
  ASSERT_TRUE(FireTimer());
  EXPECT_EQ(clock_.now, t + 30s);
  EXPECT_EQ(host_.kills, (std::vector<KillCall>{{100, kSigTerm, false},
                                                {100, kSigKill, false},
                                                {100, kSigKill, false},
                                                {100, kSigKill, false}}));
  EXPECT_EQ(host_.deadline, t + 40s);
  EXPECT_EQ(m().state(), State::kStopping);
  EXPECT_EQ(host_.changes.back(), (StateChange{State::kRunning, State::kStopping}))
      << "re-sending SIGKILL publishes nothing";
}

TEST_F(ProcessMachineTest, SigkillResendNeverSpins) {
  Policy p;
  p.stopwaitsecs = 0s;
  Make(p);
  StartRunning();
  const TimePoint t = clock_.now;
  ASSERT_TRUE(m().Stop(t).ok());
  EXPECT_EQ(host_.deadline, t) << "SIGKILL at once";
  ASSERT_TRUE(FireTimer());
  EXPECT_EQ(host_.kills.back(), (KillCall{100, kSigKill, false}));
  EXPECT_EQ(host_.deadline, t + 1s) << "re-sent at most once a second";
}

TEST_F(ProcessMachineTest, StopInStoppingIsANoOp) {
  Make();
  StartRunning();
  const TimePoint t = clock_.now;
  ASSERT_TRUE(m().Stop(t).ok());
  After(5s);
  EXPECT_TRUE(m().Stop(clock_.now).ok());
  EXPECT_EQ(host_.kills.size(), 1u);
  EXPECT_EQ(host_.deadline, t + 10s) << "the SIGKILL deadline is not pushed back";
}

TEST_F(ProcessMachineTest, StopInBackoffGoesStraightToStopped) {
  Make();
  ASSERT_TRUE(m().Start(clock_.now).ok());
  Exit(Code(1));
  Exit(Code(1));  // and a stale duplicate
  ASSERT_EQ(m().state(), State::kBackoff);
  ASSERT_TRUE(host_.deadline);
  ASSERT_TRUE(m().Stop(clock_.now).ok());
  EXPECT_EQ(m().state(), State::kStopped);
  EXPECT_FALSE(host_.deadline) << "the pending retry is cancelled";
  EXPECT_EQ(m().backoff_count(), 0);
  EXPECT_EQ(m().reason(), "Stopped");
  EXPECT_TRUE(host_.kills.empty()) << "nothing runs, nothing to signal";
  // A late firing of the cancelled timer spawns nothing.
  m().OnTimer(clock_.now + 1s);
  EXPECT_EQ(m().state(), State::kStopped);
  EXPECT_EQ(host_.spawn_times.size(), 1u);
}

TEST_F(ProcessMachineTest, StopWhenNotRunningIsNotRunning) {
  Policy p;
  p.autorestart = AutoRestart::kFalse;
  p.startretries = 0;
  Make(p);
  EXPECT_EQ(m().Stop(clock_.now).code(), ErrorCode::kNotRunning);  // STOPPED
  StartRunning();
  Exit(Code(0));
  ASSERT_EQ(m().state(), State::kExited);
  EXPECT_EQ(m().Stop(clock_.now).code(), ErrorCode::kNotRunning);  // EXITED
  ASSERT_TRUE(m().Start(clock_.now).ok());
  Exit(Code(1));
  ASSERT_EQ(m().state(), State::kFatal);
  EXPECT_EQ(m().Stop(clock_.now).code(), ErrorCode::kNotRunning);  // FATAL
  EXPECT_TRUE(host_.kills.empty());
}

// --- a reaped pid is never signalled ---

TEST_F(ProcessMachineTest, ReapedPidIsNeverSignalled) {
  Policy p;
  p.autorestart = AutoRestart::kFalse;
  Make(p);
  StartRunning();
  Exit(Sig(kSigKill));
  ASSERT_EQ(m().state(), State::kExited);
  EXPECT_EQ(m().pid(), 0);
  EXPECT_EQ(m().Stop(clock_.now).code(), ErrorCode::kNotRunning);
  EXPECT_EQ(m().Signal(kSigHup).code(), ErrorCode::kNotRunning);
  m().OnTimer(clock_.now);
  EXPECT_TRUE(host_.kills.empty());
}

TEST_F(ProcessMachineTest, StaleStopTimerAfterReapSendsNothing) {
  Make();
  StartRunning();
  ASSERT_TRUE(m().Stop(clock_.now).ok());
  const TimePoint kill_deadline = *host_.deadline;
  Exit(Sig(kSigTerm));
  ASSERT_EQ(m().state(), State::kStopped);
  // Even if the host failed to cancel and the old deadline fires, no SIGKILL goes to pid 100.
  m().OnTimer(kill_deadline);
  EXPECT_EQ(host_.kills, (std::vector<KillCall>{{100, kSigTerm, false}}));
}

TEST_F(ProcessMachineTest, AfterARestartOnlyTheNewPidIsSignalled) {
  Policy p;
  p.autorestart = AutoRestart::kTrue;
  Make(p);
  StartRunning();
  Exit(Code(1));  // pid 100 reaped, pid 101 spawned
  ASSERT_EQ(m().pid(), 101);
  ASSERT_TRUE(m().Stop(clock_.now).ok());
  EXPECT_EQ(host_.kills, (std::vector<KillCall>{{101, kSigTerm, false}}));
}

// --- Signal ---

TEST_F(ProcessMachineTest, SignalGoesToThePidOnly) {
  Policy p;
  p.stopasgroup = true;
  Make(p);
  EXPECT_EQ(m().Signal(kSigHup).code(), ErrorCode::kNotRunning);
  ASSERT_TRUE(m().Start(clock_.now).ok());
  EXPECT_TRUE(m().Signal(kSigHup).ok());  // STARTING
  ASSERT_TRUE(FireTimer());
  EXPECT_TRUE(m().Signal(kSigInt).ok());  // RUNNING
  ASSERT_TRUE(m().Stop(clock_.now).ok());
  EXPECT_TRUE(m().Signal(kSigHup).ok());  // STOPPING
  EXPECT_EQ(host_.kills, (std::vector<KillCall>{{100, kSigHup, false},
                                                {100, kSigInt, false},
                                                {100, kSigTerm, true},
                                                {100, kSigHup, false}}));
  EXPECT_EQ(m().state(), State::kStopping) << "Signal changes no state";
}

// --- notify readiness ---

TEST_F(ProcessMachineTest, NotifyReadinessRunningOnlyAfterOnReady) {
  Policy p;
  p.readiness = Readiness::kReported;
  Make(p);
  ASSERT_TRUE(m().Start(clock_.now).ok());
  EXPECT_EQ(m().state(), State::kStarting);
  EXPECT_FALSE(host_.deadline) << "no startsecs timer with notify readiness";
  After(1h);
  m().OnTimer(clock_.now);  // a stray timer does not make it ready
  EXPECT_EQ(m().state(), State::kStarting);
  m().OnReady(clock_.now);
  EXPECT_EQ(m().state(), State::kRunning);
  EXPECT_EQ(m().backoff_count(), 0);
  m().OnReady(clock_.now);  // a second report: ignored
  EXPECT_EQ(host_.changes, (std::vector<StateChange>{{State::kStopped, State::kStarting},
                                                     {State::kStarting, State::kRunning}}));
}

TEST_F(ProcessMachineTest, NotifyReadinessIgnoresStartsecsZero) {
  Policy p;
  p.readiness = Readiness::kReported;
  p.startsecs = 0s;
  Make(p);
  ASSERT_TRUE(m().Start(clock_.now).ok());
  EXPECT_EQ(m().state(), State::kStarting);
}

TEST_F(ProcessMachineTest, NotifyExitBeforeReadyIsAnEarlyFailure) {
  Policy p;
  p.readiness = Readiness::kReported;
  Make(p);
  ASSERT_TRUE(m().Start(clock_.now).ok());
  After(30s);  // long past startsecs, but never ready
  Exit(Code(0));
  EXPECT_EQ(m().state(), State::kBackoff);
  EXPECT_EQ(m().reason(), kTooQuickly);
  EXPECT_EQ(host_.deadline, clock_.now + 1s);
  m().OnReady(clock_.now);  // readiness in BACKOFF: ignored
  EXPECT_EQ(m().state(), State::kBackoff);
}

TEST_F(ProcessMachineTest, ReadinessThatNeverComesCanBeStopped) {
  Policy p;
  p.readiness = Readiness::kReported;
  Make(p);
  ASSERT_TRUE(m().Start(clock_.now).ok());
  After(10min);
  ASSERT_TRUE(m().Stop(clock_.now).ok());
  EXPECT_EQ(m().state(), State::kStopping);
  ASSERT_TRUE(FireTimer());
  EXPECT_EQ(host_.kills.back(), (KillCall{100, kSigKill, false}));
  Exit(Sig(kSigKill));
  EXPECT_EQ(m().state(), State::kStopped);
  m().OnReady(clock_.now);  // too late
  EXPECT_EQ(m().state(), State::kStopped);
}

TEST_F(ProcessMachineTest, OnReadyIgnoredWithStartsecsReadiness) {
  Make();
  ASSERT_TRUE(m().Start(clock_.now).ok());
  m().OnReady(clock_.now);
  EXPECT_EQ(m().state(), State::kStarting);
  ASSERT_TRUE(FireTimer());
  EXPECT_EQ(m().state(), State::kRunning);
}

// --- robustness ---

TEST_F(ProcessMachineTest, EventsWithoutAProcessAreIgnored) {
  Make();
  Exit(Code(1));
  m().OnTimer(clock_.now);
  m().OnReady(clock_.now);
  EXPECT_EQ(m().state(), State::kStopped);
  EXPECT_TRUE(host_.changes.empty());
  EXPECT_TRUE(host_.spawn_times.empty());
  EXPECT_TRUE(host_.kills.empty());
  EXPECT_FALSE(m().last_exit()) << "an exit with no process is not recorded";
}

TEST_F(ProcessMachineTest, StrayTimerWhileRunningIsIgnored) {
  Make();
  StartRunning();
  const size_t changes = host_.changes.size();
  m().OnTimer(clock_.now);
  EXPECT_EQ(m().state(), State::kRunning);
  EXPECT_EQ(host_.changes.size(), changes);
  EXPECT_TRUE(host_.kills.empty());
}

TEST_F(ProcessMachineTest, LastExitSurvivesARestart) {
  Policy p;
  p.autorestart = AutoRestart::kTrue;
  Make(p);
  StartRunning();
  Exit(Code(4));
  ASSERT_EQ(m().state(), State::kStarting);
  ASSERT_TRUE(m().last_exit());
  EXPECT_EQ(m().last_exit()->value, 4);
  EXPECT_EQ(m().started_at(), clock_.now);
}

}  // namespace
}  // namespace warden::core
