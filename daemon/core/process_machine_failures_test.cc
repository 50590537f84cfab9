// ProcessMachine when things go wrong: crash-loop backoff, readiness that never comes, and the
// cleanup of processes a main process leaves behind. Fake clock, fake process layer.
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "daemon/core/fake_host.h"
#include "daemon/core/process_machine.h"

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

constexpr ExitStatus Code(int code) { return ExitStatus{false, code}; }
constexpr ExitStatus Sig(int signal) { return ExitStatus{true, signal}; }

class LifecycleTest : public ::testing::Test {
 protected:
  void Make(Policy policy) {
    machine_ = std::make_unique<ProcessMachine>(std::move(policy), &host_);
    host_.Watch(machine_.get());
  }
  ProcessMachine& m() { return *machine_; }
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
  // Lets startsecs (or startsecs 0) pass: RUNNING.
  void UntilRunning() {
    if (m().state() == State::kStarting) {
      ASSERT_TRUE(FireTimer());
    }
    ASSERT_EQ(m().state(), State::kRunning);
  }

  FakeClock clock_;
  FakeHost host_{&clock_};
  std::unique_ptr<ProcessMachine> machine_;
};

Policy CrashLoopPolicy() {
  Policy p;
  p.autorestart = AutoRestart::kTrue;
  p.startsecs = 0s;
  p.crash_backoff = CrashBackoff{1s, 8s, 60s, 0.0};
  return p;
}

// --- crash-loop backoff ---

TEST_F(LifecycleTest, CrashLoopDelaysGrowExponentiallyAndAreCapped) {
  Make(CrashLoopPolicy());
  ASSERT_TRUE(m().Start(clock_.now).ok());
  ASSERT_EQ(m().state(), State::kRunning);

  // First crash: at once.
  After(2s);
  Exit(Code(1));
  EXPECT_EQ(m().state(), State::kRunning);
  EXPECT_EQ(host_.spawn_times.back(), clock_.now);

  // Then 1, 2, 4, 8, 8 s, each waiting in BACKOFF with the exit as the reason.
  std::vector<Duration> delays;
  for (int i = 0; i < 5; ++i) {
    After(2s);
    const TimePoint crashed = clock_.now;
    Exit(Code(1));
    ASSERT_EQ(m().state(), State::kBackoff);
    EXPECT_EQ(m().reason(), "exit status 1");
    ASSERT_TRUE(m().next_spawn_at());
    EXPECT_EQ(m().next_spawn_at(), host_.deadline);
    ASSERT_TRUE(FireTimer());
    EXPECT_EQ(m().state(), State::kRunning);
    delays.push_back(host_.spawn_times.back() - crashed);
  }
  EXPECT_EQ(delays, (std::vector<Duration>{1s, 2s, 4s, 8s, 8s}));
  EXPECT_EQ(m().crash_count(), 6);
}

TEST_F(LifecycleTest, CrashLoopTransitionsAreExitedThenBackoff) {
  Make(CrashLoopPolicy());
  ASSERT_TRUE(m().Start(clock_.now).ok());
  Exit(Code(1));  // at once
  Exit(Code(1));  // waits
  const std::vector<StateChange> tail(host_.changes.end() - 3, host_.changes.end());
  EXPECT_EQ(tail, (std::vector<StateChange>{{State::kStarting, State::kRunning},
                                            {State::kRunning, State::kExited},
                                            {State::kExited, State::kBackoff}}));
}

TEST_F(LifecycleTest, CrashCountResetsAfterStayingUpResetAfter) {
  Make(CrashLoopPolicy());
  ASSERT_TRUE(m().Start(clock_.now).ok());
  Exit(Code(1));  // 1st: at once
  Exit(Code(1));  // 2nd: 1 s
  ASSERT_TRUE(FireTimer());
  Exit(Code(1));  // 3rd: 2 s
  EXPECT_EQ(host_.deadline, clock_.now + 2s);
  ASSERT_TRUE(FireTimer());

  After(60s);  // up for reset_after
  Exit(Code(1));
  EXPECT_EQ(m().state(), State::kRunning) << "a fresh series: the first crash restarts at once";
  EXPECT_EQ(m().crash_count(), 1);
  After(59s);  // not long enough this time
  Exit(Code(1));
  EXPECT_EQ(m().state(), State::kBackoff);
  EXPECT_EQ(host_.deadline, clock_.now + 1s);
}

TEST_F(LifecycleTest, JitterScalesTheDelayWithinItsBand) {
  Policy p = CrashLoopPolicy();
  p.crash_backoff.jitter = 0.5;
  Make(p);
  ASSERT_TRUE(m().Start(clock_.now).ok());
  Exit(Code(1));
  host_.random = 0.0;  // the low end: x0.5
  Exit(Code(1));
  EXPECT_EQ(host_.deadline, clock_.now + 500ms);
  ASSERT_TRUE(FireTimer());
  host_.random = 0.75;  // x1.25 of 2 s
  Exit(Code(1));
  EXPECT_EQ(host_.deadline, clock_.now + 2500ms);
  ASSERT_TRUE(FireTimer());
  Exit(Code(1));  // 4 s
  ASSERT_TRUE(FireTimer());
  host_.random = 0.999;  // 8 s x ~1.5: capped at max
  Exit(Code(1));
  EXPECT_EQ(host_.deadline, clock_.now + 8s);
}

// --- Fail: a health check or the watchdog gave up on a RUNNING process ---

TEST_F(LifecycleTest, FailStopsTheProcessAndRestartsItAsACrash) {
  Policy p = CrashLoopPolicy();
  p.autorestart = AutoRestart::kFalse;  // a failed check restarts whatever autorestart says
  Make(p);
  ASSERT_TRUE(m().Start(clock_.now).ok());
  const int first = m().pid();
  After(5s);
  m().Fail(clock_.now, "restarted: health check failed 3 times: tcp port 1: Connection refused");
  EXPECT_EQ(m().state(), State::kRunning);
  ASSERT_FALSE(host_.kills.empty());
  EXPECT_EQ(host_.kills.back(), (KillCall{first, kSigTerm, false}));
  // A second failure meanwhile changes nothing.
  m().Fail(clock_.now, "other");
  EXPECT_EQ(host_.kills.size(), 1u);
  // The process ignores SIGTERM: SIGKILL at stopwaitsecs.
  ASSERT_TRUE(FireTimer());
  EXPECT_EQ(host_.kills.back(), (KillCall{first, kSigKill, false}));
  Exit(Sig(kSigKill));
  // EXITED with the failure as its reason, then at once a new process (the first crash).
  ASSERT_GE(host_.changes.size(), 3u);
  EXPECT_EQ(host_.changes[host_.changes.size() - 3],
            (StateChange{State::kRunning, State::kExited}));
  EXPECT_EQ(m().state(), State::kRunning);
  EXPECT_NE(m().pid(), first);
  EXPECT_EQ(m().crash_count(), 1);
  // The second failure in a row waits as the second crash does.
  After(1s);
  m().Fail(clock_.now, "restarted: watchdog timeout after 10s");
  Exit(Sig(kSigTerm));
  EXPECT_EQ(m().state(), State::kBackoff);
  EXPECT_EQ(m().reason(), "restarted: watchdog timeout after 10s");
  EXPECT_EQ(m().crash_count(), 2);
}

TEST_F(LifecycleTest, FailIsIgnoredUnlessRunningAndAStopWins) {
  Policy p = CrashLoopPolicy();
  p.startsecs = 1s;
  Make(p);
  ASSERT_TRUE(m().Start(clock_.now).ok());
  m().Fail(clock_.now, "too early");
  EXPECT_TRUE(host_.kills.empty());
  UntilRunning();
  m().Fail(clock_.now, "restarted: health check failed 1 times: x");
  ASSERT_TRUE(m().Stop(clock_.now).ok());
  Exit(Sig(kSigTerm));
  EXPECT_EQ(m().state(), State::kStopped);  // the stop, not a restart
}

TEST_F(LifecycleTest, ManualStartAndStopResetTheCrashCount) {
  Make(CrashLoopPolicy());
  ASSERT_TRUE(m().Start(clock_.now).ok());
  Exit(Code(1));
  Exit(Code(1));
  ASSERT_EQ(m().state(), State::kBackoff);
  ASSERT_TRUE(m().Stop(clock_.now).ok());
  EXPECT_EQ(m().state(), State::kStopped);
  EXPECT_FALSE(host_.deadline);
  EXPECT_EQ(m().crash_count(), 0);
  ASSERT_TRUE(m().Start(clock_.now).ok());
  Exit(Code(1));
  EXPECT_EQ(m().state(), State::kRunning) << "first crash of a new series";
}

TEST_F(LifecycleTest, StartDuringCrashDelaySpawnsAtOnce) {
  Make(CrashLoopPolicy());
  ASSERT_TRUE(m().Start(clock_.now).ok());
  Exit(Code(1));
  Exit(Code(1));
  ASSERT_EQ(m().state(), State::kBackoff);
  ASSERT_TRUE(m().Start(clock_.now).ok());
  EXPECT_EQ(m().state(), State::kRunning);
  EXPECT_EQ(host_.spawn_times.back(), clock_.now);
  EXPECT_FALSE(m().next_spawn_at());
}

TEST_F(LifecycleTest, ExpectedExitIsNoCrash) {
  Policy p = CrashLoopPolicy();
  p.autorestart = AutoRestart::kUnexpected;
  Make(p);
  ASSERT_TRUE(m().Start(clock_.now).ok());
  Exit(Code(0));
  EXPECT_EQ(m().state(), State::kExited);
  EXPECT_EQ(m().crash_count(), 0);
  EXPECT_FALSE(host_.deadline);
}

TEST_F(LifecycleTest, StartFailuresKeepSupervisordsRuleBesideCrashBackoff) {
  Policy p = CrashLoopPolicy();
  p.startsecs = 5s;
  p.startretries = 1;
  Make(p);
  ASSERT_TRUE(m().Start(clock_.now).ok());
  Exit(Code(1));
  EXPECT_EQ(m().state(), State::kBackoff);
  EXPECT_EQ(host_.deadline, clock_.now + 1s);
  ASSERT_TRUE(FireTimer());
  Exit(Code(1));
  EXPECT_EQ(m().state(), State::kFatal);
  EXPECT_EQ(m().crash_count(), 0) << "early failures are not crashes";
}

// --- readiness that never comes ---

Policy ReportedPolicy() {
  Policy p;
  p.readiness = Readiness::kReported;
  p.ready_timeout = 5s;
  p.stopwaitsecs = 2s;
  p.startretries = 1;
  return p;
}

TEST_F(LifecycleTest, ReadyTimeoutStopsTheProcessAndCountsAsEarlyFailure) {
  Make(ReportedPolicy());
  const TimePoint t0 = clock_.now;
  ASSERT_TRUE(m().Start(t0).ok());
  EXPECT_EQ(host_.deadline, t0 + 5s);
  ASSERT_TRUE(FireTimer());
  EXPECT_EQ(m().state(), State::kStarting) << "still STARTING while it is being stopped";
  EXPECT_EQ(host_.kills, (std::vector<KillCall>{{100, kSigTerm, false}}));
  EXPECT_EQ(m().reason(), "not ready within 5s");
  m().OnReady(clock_.now);  // too late: ignored
  EXPECT_EQ(m().state(), State::kStarting);
  Exit(Sig(kSigTerm));
  EXPECT_EQ(m().state(), State::kBackoff);
  EXPECT_EQ(m().reason(), "not ready within 5s");
  EXPECT_EQ(m().backoff_count(), 1);
  ASSERT_TRUE(FireTimer());  // retry
  ASSERT_EQ(m().state(), State::kStarting);
  EXPECT_EQ(m().pid(), 101);
  ASSERT_TRUE(FireTimer());  // not ready again
  Exit(Sig(kSigTerm));
  EXPECT_EQ(m().state(), State::kFatal);
  EXPECT_EQ(m().reason(), "not ready within 5s");
}

TEST_F(LifecycleTest, ReadyTimeoutEscalatesToSigkill) {
  Policy p = ReportedPolicy();
  p.stopasgroup = true;
  Make(p);
  ASSERT_TRUE(m().Start(clock_.now).ok());
  ASSERT_TRUE(FireTimer());
  const TimePoint signalled = clock_.now;
  ASSERT_TRUE(FireTimer());
  EXPECT_EQ(clock_.now, signalled + 2s);
  EXPECT_EQ(host_.kills, (std::vector<KillCall>{{100, kSigTerm, true}, {100, kSigKill, true}}));
  Exit(Sig(kSigKill));
  EXPECT_EQ(m().state(), State::kBackoff);
}

TEST_F(LifecycleTest, ReadyInTimeCancelsTheTimeout) {
  Make(ReportedPolicy());
  ASSERT_TRUE(m().Start(clock_.now).ok());
  After(4s);
  m().OnReady(clock_.now);
  EXPECT_EQ(m().state(), State::kRunning);
  EXPECT_FALSE(host_.deadline);
  EXPECT_TRUE(host_.kills.empty());
}

TEST_F(LifecycleTest, StopDuringReadyTimeoutIsAPlainStop) {
  Make(ReportedPolicy());
  ASSERT_TRUE(m().Start(clock_.now).ok());
  ASSERT_TRUE(FireTimer());  // abandoning
  ASSERT_TRUE(m().Stop(clock_.now).ok());
  EXPECT_EQ(m().state(), State::kStopping);
  Exit(Sig(kSigTerm));
  EXPECT_EQ(m().state(), State::kStopped);
  EXPECT_EQ(m().backoff_count(), 0);
}

TEST_F(LifecycleTest, NoReadyTimeoutMeansWaitForever) {
  Policy p = ReportedPolicy();
  p.ready_timeout = 0s;
  Make(p);
  ASSERT_TRUE(m().Start(clock_.now).ok());
  EXPECT_FALSE(host_.deadline);
}

// --- leftovers ---

Policy LeftoverPolicy() {
  Policy p;
  p.autorestart = AutoRestart::kTrue;
  p.startsecs = 0s;
  p.stopwaitsecs = 3s;
  p.stopsignal = kSigInt;
  return p;
}

TEST_F(LifecycleTest, LeftoversAreStoppedBeforeARestart) {
  Make(LeftoverPolicy());
  ASSERT_TRUE(m().Start(clock_.now).ok());
  host_.leftovers = true;
  Exit(Code(1));
  EXPECT_EQ(host_.leftover_kills, std::vector<int>{kSigInt});
  EXPECT_TRUE(m().cleaning());
  EXPECT_EQ(m().state(), State::kStarting) << "the restart is due but waits";
  EXPECT_EQ(m().pid(), 0);
  EXPECT_EQ(host_.spawn_times.size(), 1u);
  EXPECT_EQ(m().reason(), "waiting for the previous instance's processes to exit");
  EXPECT_EQ(host_.deadline, clock_.now + 3s);

  ASSERT_TRUE(FireTimer());  // they ignored the stop signal
  EXPECT_EQ(host_.leftover_kills, (std::vector<int>{kSigInt, kSigKill}));
  EXPECT_EQ(host_.deadline, clock_.now + 3s) << "SIGKILL is re-sent while they live";

  After(100ms);
  host_.leftovers = false;
  m().OnLeftoversGone(clock_.now);
  EXPECT_FALSE(m().cleaning());
  EXPECT_EQ(m().state(), State::kRunning);
  EXPECT_EQ(m().pid(), 101);
  EXPECT_EQ(host_.spawn_times.back(), clock_.now);
  EXPECT_FALSE(host_.deadline);
}

TEST_F(LifecycleTest, KeepOrphansLeavesLeftoversAlone) {
  Policy p = LeftoverPolicy();
  p.keep_orphans = true;
  Make(p);
  ASSERT_TRUE(m().Start(clock_.now).ok());
  host_.leftovers = true;
  Exit(Code(1));
  EXPECT_TRUE(host_.leftover_kills.empty());
  EXPECT_EQ(host_.leftover_checks, 0);
  EXPECT_EQ(m().state(), State::kRunning) << "restarted at once beside them";
  EXPECT_EQ(m().pid(), 101);
}

TEST_F(LifecycleTest, StopWaitsForLeftoversAfterTheMainProcess) {
  Make(LeftoverPolicy());
  ASSERT_TRUE(m().Start(clock_.now).ok());
  const TimePoint t = clock_.now;
  ASSERT_TRUE(m().Stop(t).ok());
  host_.leftovers = true;
  After(1s);
  Exit(Sig(kSigInt));
  EXPECT_EQ(m().state(), State::kStopping);
  EXPECT_EQ(host_.leftover_kills, std::vector<int>{kSigInt});
  EXPECT_EQ(host_.deadline, t + 3s) << "one stop deadline for everything";
  ASSERT_TRUE(FireTimer());
  EXPECT_EQ(host_.leftover_kills, (std::vector<int>{kSigInt, kSigKill}));
  EXPECT_EQ(host_.kills.size(), 1u) << "the reaped main pid is not signalled";
  host_.leftovers = false;
  m().OnLeftoversGone(clock_.now);
  EXPECT_EQ(m().state(), State::kStopped);
  EXPECT_EQ(m().reason(), "Stopped");
  EXPECT_FALSE(host_.deadline);
}

TEST_F(LifecycleTest, StopDeadlineKillsLeftoversBesideTheMainProcess) {
  Make(LeftoverPolicy());
  ASSERT_TRUE(m().Start(clock_.now).ok());
  ASSERT_TRUE(m().Stop(clock_.now).ok());
  ASSERT_TRUE(FireTimer());
  EXPECT_EQ(host_.kills.back(), (KillCall{100, kSigKill, false}));
  EXPECT_EQ(host_.leftover_kills, std::vector<int>{kSigKill});
  Exit(Sig(kSigKill));
  EXPECT_EQ(m().state(), State::kStopped);
}

TEST_F(LifecycleTest, NoStopSignalToLeftoversAfterTheDeadlinesKill) {
  Make(LeftoverPolicy());
  ASSERT_TRUE(m().Start(clock_.now).ok());
  ASSERT_TRUE(m().Stop(clock_.now).ok());
  ASSERT_TRUE(FireTimer());
  EXPECT_EQ(host_.leftover_kills, std::vector<int>{kSigKill});
  host_.leftovers = true;  // SIGKILLed, but not gone yet when the main process is reaped
  Exit(Sig(kSigKill));
  EXPECT_EQ(m().state(), State::kStopping);
  EXPECT_EQ(host_.leftover_kills, std::vector<int>{kSigKill}) << "no SIGINT after the SIGKILL";
  host_.leftovers = false;
  m().OnLeftoversGone(clock_.now);
  EXPECT_EQ(m().state(), State::kStopped);
  // The next stop sends its stop signal again.
  ASSERT_TRUE(m().Start(clock_.now).ok());
  ASSERT_TRUE(m().Stop(clock_.now).ok());
  host_.leftovers = true;
  Exit(Sig(kSigInt));
  EXPECT_EQ(host_.leftover_kills, (std::vector<int>{kSigKill, kSigInt}));
}

TEST_F(LifecycleTest, StopOfAnExitedProgramWithKeptOrphansStopsThem) {
  Policy p = LeftoverPolicy();
  p.keep_orphans = true;
  p.autorestart = AutoRestart::kFalse;
  Make(p);
  ASSERT_TRUE(m().Start(clock_.now).ok());
  host_.leftovers = true;
  Exit(Code(0));
  ASSERT_EQ(m().state(), State::kExited);
  ASSERT_TRUE(m().Stop(clock_.now).ok());
  EXPECT_EQ(m().state(), State::kStopping);
  EXPECT_EQ(host_.leftover_kills, std::vector<int>{kSigInt});
  ASSERT_TRUE(FireTimer());
  EXPECT_EQ(host_.leftover_kills, (std::vector<int>{kSigInt, kSigKill}));
  m().OnLeftoversGone(clock_.now);
  EXPECT_EQ(m().state(), State::kStopped);
}

TEST_F(LifecycleTest, StopWithNothingLeftIsNotRunning) {
  Policy p = LeftoverPolicy();
  p.autorestart = AutoRestart::kFalse;
  Make(p);
  ASSERT_TRUE(m().Start(clock_.now).ok());
  Exit(Code(0));
  EXPECT_EQ(m().Stop(clock_.now).code(), ErrorCode::kNotRunning);
  EXPECT_TRUE(host_.leftover_kills.empty());
}

TEST_F(LifecycleTest, StopWhileARestartWaitsForLeftovers) {
  Make(LeftoverPolicy());
  ASSERT_TRUE(m().Start(clock_.now).ok());
  host_.leftovers = true;
  Exit(Code(1));
  ASSERT_EQ(m().state(), State::kStarting);
  ASSERT_TRUE(m().Stop(clock_.now).ok());
  EXPECT_EQ(m().state(), State::kStopping);
  m().OnLeftoversGone(clock_.now);
  EXPECT_EQ(m().state(), State::kStopped);
  EXPECT_EQ(host_.spawn_times.size(), 1u) << "the deferred spawn was cancelled";
}

TEST_F(LifecycleTest, ExitedWithoutRestartCleansInTheBackground) {
  Policy p = LeftoverPolicy();
  p.autorestart = AutoRestart::kFalse;
  Make(p);
  ASSERT_TRUE(m().Start(clock_.now).ok());
  host_.leftovers = true;
  Exit(Code(0));
  EXPECT_EQ(m().state(), State::kExited);
  EXPECT_TRUE(m().cleaning());
  EXPECT_EQ(host_.leftover_kills, std::vector<int>{kSigInt});
  m().OnLeftoversGone(clock_.now);
  EXPECT_EQ(m().state(), State::kExited);
  EXPECT_FALSE(host_.deadline);
  // A manual start while a cleanup runs waits for it, and is no spawn error.
  host_.leftovers = true;
  ASSERT_TRUE(m().Start(clock_.now).ok());
  Exit(Code(0));
  ASSERT_TRUE(m().cleaning());
  Status started = m().Start(clock_.now);
  EXPECT_TRUE(started.ok()) << started.message();
  EXPECT_EQ(m().state(), State::kStarting);
  EXPECT_EQ(m().pid(), 0);
  m().OnLeftoversGone(clock_.now);
  EXPECT_EQ(m().state(), State::kRunning);
}

TEST_F(LifecycleTest, EarlyFailureBackoffRetryWaitsForCleanup) {
  Policy p = LeftoverPolicy();
  p.startsecs = 5s;
  p.stopwaitsecs = 10s;
  Make(p);
  ASSERT_TRUE(m().Start(clock_.now).ok());
  host_.leftovers = true;
  Exit(Code(1));
  ASSERT_EQ(m().state(), State::kBackoff);
  EXPECT_EQ(host_.deadline, clock_.now + 1s) << "the retry comes before the cleanup deadline";
  ASSERT_TRUE(FireTimer());
  EXPECT_EQ(m().state(), State::kStarting);
  EXPECT_EQ(m().pid(), 0);
  EXPECT_EQ(host_.spawn_times.size(), 1u);
  m().OnLeftoversGone(clock_.now);
  EXPECT_EQ(m().pid(), 101);
}

TEST_F(LifecycleTest, LeftoversFoundLateAreCleanedToo) {
  Policy p = LeftoverPolicy();
  p.autorestart = AutoRestart::kFalse;
  Make(p);
  ASSERT_TRUE(m().Start(clock_.now).ok());
  Exit(Code(0));  // nothing seen then
  ASSERT_EQ(m().state(), State::kExited);
  ASSERT_FALSE(m().cleaning());
  m().OnLeftoversFound(clock_.now);
  EXPECT_TRUE(m().cleaning());
  EXPECT_EQ(host_.leftover_kills, std::vector<int>{kSigInt});
  EXPECT_EQ(host_.deadline, clock_.now + 3s);
  m().OnLeftoversFound(clock_.now);  // already on it
  EXPECT_EQ(host_.leftover_kills.size(), 1u);
  m().OnLeftoversGone(clock_.now);
  EXPECT_EQ(m().state(), State::kExited);
  EXPECT_FALSE(host_.deadline);
}

TEST_F(LifecycleTest, LeftoversFoundWhileRunningOrKeptAreLeftAlone) {
  Make(LeftoverPolicy());
  ASSERT_TRUE(m().Start(clock_.now).ok());
  m().OnLeftoversFound(clock_.now);  // the main process lives: they are its business
  EXPECT_FALSE(m().cleaning());
  Policy keep = LeftoverPolicy();
  keep.keep_orphans = true;
  keep.autorestart = AutoRestart::kFalse;
  m().SetPolicy(keep);
  Exit(Code(0));
  m().OnLeftoversFound(clock_.now);
  EXPECT_FALSE(m().cleaning());
  EXPECT_TRUE(host_.leftover_kills.empty());
}

TEST_F(LifecycleTest, OnLeftoversGoneWithoutCleanupIsIgnored) {
  Make(LeftoverPolicy());
  m().OnLeftoversGone(clock_.now);
  EXPECT_EQ(m().state(), State::kStopped);
  EXPECT_TRUE(host_.changes.empty());
}

}  // namespace
}  // namespace warden::core
