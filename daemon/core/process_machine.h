// ProcessMachine: the supervision state machine of ONE process, with no syscalls in it.
//
// The model (supervisord's, plus crash-loop backoff, readiness and leftover cleanup):
//
//   STOPPED/EXITED/FATAL --Start--> STARTING   (spawn; a spawn error counts as an early exit)
//   STARTING --startsecs elapsed (ready: startsecs) or OnReady (reported readiness)--> RUNNING
//   STARTING --exit (any status) or spawn error--> BACKOFF   ("Exited too quickly ...")
//   BACKOFF  --timer--> STARTING. The n-th early failure in a row waits as the n-th crash wait
//            below: initial * 2^(n-1), capped at max, +-jitter (1, 2, 4, ... s by default); with
//            the crash backoff off (initial 0), supervisord's linear n seconds.
//   STARTING --exit or spawn error, when backoff_count > startretries--> FATAL (directly)
//   FATAL    --timer (fatal_retry after it, when set)--> STARTING, with a fresh backoff_count,
//            as a manual Start; without fatal_retry FATAL is never left on its own
//   STARTING --ready_timeout elapsed without OnReady (reported readiness)--> the process is
//            stopped (stopsignal, SIGKILL after stopwaitsecs) while the state stays STARTING;
//            its exit is then an early failure ("not ready within N s": BACKOFF or FATAL)
//   An exit seen in STARTING after startsecs has already elapsed (its timer due but not yet
//   fired) counts as an exit from RUNNING: STARTING -> RUNNING -> EXITED, as supervisord does.
//   RUNNING  --exit--> EXITED, then, when autorestart is true, or unexpected and the exit was
//            not one of exitcodes (a signal is never expected), a restart: at once for the first
//            crash; with crash_backoff set, the n-th consecutive crash waits in BACKOFF for
//            initial * 2^(n-2) (capped at max, +-jitter). A run longer than reset_after resets
//            the crash count.
//   RUNNING  --Fail (a health check or the watchdog gave up on it)--> the process is stopped
//            (stopsignal, SIGKILL every stopwaitsecs) while the state stays RUNNING with the
//            failure as its reason; its exit is then a crash whatever autorestart says: EXITED
//            and a restart, at once or after the crash-loop delay.
//   STARTING/RUNNING --Stop--> STOPPING (stopsignal; to the group if stopasgroup)
//   STOPPING --stopwaitsecs elapsed--> SIGKILL to the process (its group with killasgroup or
//            stopasgroup) and to its leftovers, stays STOPPING and re-sends SIGKILL every
//            stopwaitsecs (at least 1 s) until everything is gone
//   STOPPING --exit, no leftovers--> STOPPED
//   BACKOFF  --Stop--> STOPPED   (nothing runs; the pending retry is cancelled)
//
// Leftovers: processes the program started that outlive its main process (workers, daemons that
// double-forked). The host finds them (HasLeftovers) and signals them (KillLeftovers); the
// machine decides when. When the main process exits and leftovers remain (and keep_orphans is
// off), they are "cleaned": stopsignal at once, SIGKILL every stopwaitsecs after, until the host
// reports OnLeftoversGone. No new instance is spawned while a cleanup runs: a spawn that comes
// due waits in STARTING with no pid. An exit during STOPPING with leftovers keeps the state
// STOPPING until they are gone. Stop of a program that is not running but has leftovers (kept
// with keep_orphans, or still being cleaned) is STOPPING until they are gone. Leftovers the host
// finds only later (OnLeftoversFound) are cleaned the same way, whatever the state.
//
// backoff_count counts consecutive early failures. It is reset by a manual Start, by a Stop,
// on reaching RUNNING and by a fatal_retry. With startretries = 3 and the default backoff there
// are 4 attempts at t0, t0+1s, t0+3s, t0+7s, then FATAL. crash_count counts consecutive crashes
// after RUNNING; reset by a manual Start, a Stop, and a run of at least reset_after.
//
// | state \ event | Start          | Stop             | exit                       | timer       |
// |---------------|----------------|------------------|----------------------------|-------------|
// | STOPPED       | spawn          | kNotRunning (1)  | (impossible)               | ignored     |
// | STARTING      | kAlreadyStarted| signal, STOPPING | BACKOFF or FATAL           | RUNNING (2) |
// | RUNNING       | kAlreadyStarted| signal, STOPPING | EXITED (+restart/BACKOFF)  | ignored     |
// | BACKOFF       | spawn (reset)  | STOPPED (1)      | (impossible)               | spawn       |
// | STOPPING      | kAlreadyStarted| ok (no-op)       | STOPPED (1)                | SIGKILL     |
// | EXITED        | spawn          | kNotRunning (1)  | (impossible)               | ignored     |
// | FATAL         | spawn (reset)  | kNotRunning (1,3)| (impossible)               | spawn (3)   |
//  (1) STOPPING instead while leftovers remain.
//  (2) startsecs readiness; with reported readiness the timer is ready_timeout (stop, then fail).
//  (3) with fatal_retry pending: Stop cancels it (STOPPED); the timer spawns (reset).
//  The leftover-cleanup deadline is a second timer, independent of the state: SIGKILL leftovers.
//
// Time comes in as an argument (an injected clock); the world is reached only through
// ProcessHost, which tests replace with a fake. A pid is forgotten the moment its exit is
// reported, so a reaped pid is never signalled.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"

namespace warden::core {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Duration = std::chrono::nanoseconds;

// Numbered as supervisord numbers them (and as the protocol sends them).
enum class State : uint16_t {
  kStopped = 0,
  kStarting = 10,
  kRunning = 20,
  kBackoff = 30,
  kStopping = 40,
  kExited = 100,
  kFatal = 200,
  kUnknown = 1000,
};
const char* StateName(State state);

enum class AutoRestart { kFalse, kTrue, kUnexpected };
// kStartsecs: RUNNING once startsecs have passed. kReported: RUNNING when the host calls OnReady
// (ready: notify, fd:N, tcp; the host watches for it).
enum class Readiness { kStartsecs, kReported };

// Delays between restarts of a program that keeps crashing after it was RUNNING. The first
// crash restarts at once; the n-th consecutive one (n >= 2) waits initial * 2^(n-2), at most
// max, scaled by a random factor in [1 - jitter, 1 + jitter] (and still at most max). A run of
// reset_after or longer starts the count again. initial == 0 disables it (supervisord's rule:
// every crash restarts at once).
struct CrashBackoff {
  Duration initial = Duration::zero();
  Duration max = Duration::zero();
  Duration reset_after = Duration::zero();
  double jitter = 0.0;  // 0..1
};

// The supervision settings of a program. Can be replaced while the process runs (SetPolicy).
struct Policy {
  AutoRestart autorestart = AutoRestart::kUnexpected;
  std::vector<int> exitcodes = {0};
  Duration startsecs = std::chrono::seconds(1);
  int startretries = 3;
  Readiness readiness = Readiness::kStartsecs;
  Duration ready_timeout = Duration::zero();  // reported readiness only; zero: wait forever
  int stopsignal = 15;                        // SIGTERM
  Duration stopwaitsecs = std::chrono::seconds(10);
  bool stopasgroup = false;
  bool killasgroup = false;
  CrashBackoff crash_backoff;
  bool keep_orphans = false;                // leave leftovers alone when the main process exits
  Duration fatal_retry = Duration::zero();  // FATAL starts again after this long; zero: never
};

// How a process ended, decoded from the wait status.
struct ExitStatus {
  bool signaled = false;  // true: killed by signal `value`; false: exited with code `value`
  int value = 0;
  // A SIGKILL the kernel's OOM killer sent (the host finds out; the machine only says it).
  bool oom_killed = false;
};
// "exit status 3", "terminated by SIGKILL", "terminated by signal 40", "killed by the OOM
// killer".
std::string DescribeExit(ExitStatus status);

// Why a spawn failed: the step in the child that failed ("chdir", "exec", "setuid", ...) and
// its errno; or a failure in the parent (stage "fork", "pipe", ...).
struct SpawnError {
  std::string stage;
  int error_number = 0;
  std::string ToString() const;  // e.g. "chdir: No such file or directory"
};

struct SpawnOutcome {
  int pid = 0;                      // > 0 on success
  std::optional<SpawnError> error;  // set on failure
};

// What the machine asks of the world. The daemon implements it with fork/exec, kill(2) and its
// timer wheel; tests implement it with a fake.
class ProcessHost {
 public:
  virtual ~ProcessHost() = default;
  // Starts the process. Synchronous: returns the pid or why it could not be started.
  virtual SpawnOutcome Spawn() = 0;
  // Sends `signal` to `pid`, or to its whole process group when whole_group is set.
  virtual void Kill(int pid, int signal, bool whole_group) = 0;
  // Sends SIGCONT the same way, right after a stop signal: a process stopped with SIGSTOP
  // (or by a debugger) can then act on it instead of waiting for SIGKILL, as under systemd.
  virtual void Continue(int pid, bool whole_group) = 0;
  // Arms this process's one timer at `deadline`, or cancels it (nullopt). Arming replaces any
  // earlier deadline. When it fires the host calls ProcessMachine::OnTimer.
  virtual void SetTimer(std::optional<TimePoint> deadline) = 0;
  // Called after every state change, once the machine's fields are updated.
  virtual void OnStateChange(State from, State to) = 0;
  // Whether processes of this program other than its main process are still alive. Asked
  // only when there is no main process (after its exit, or on Stop when not running).
  virtual bool HasLeftovers() { return false; }
  // Sends `signal` to every live process of this program except the main process.
  virtual void KillLeftovers(int /*signal*/) {}
  // A uniformly distributed number in [0, 1), for jitter.
  virtual double Random() { return 0.5; }
};

class ProcessMachine {
 public:
  ProcessMachine(Policy policy, ProcessHost* host) : policy_(std::move(policy)), host_(host) {}
  ProcessMachine(const ProcessMachine&) = delete;
  ProcessMachine& operator=(const ProcessMachine&) = delete;

  // --- commands ---
  // Start from STOPPED, EXITED, FATAL or BACKOFF (resets the backoff and crash counts).
  // kAlreadyStarted from STARTING, RUNNING, STOPPING. kSpawnError (message: reason()) when the
  // spawn itself failed; the machine is then in BACKOFF or FATAL as after an early exit.
  Status Start(TimePoint now);
  // Stop from STARTING or RUNNING (signal), BACKOFF (straight to STOPPED); ok no-op in STOPPING;
  // kNotRunning from STOPPED, EXITED, FATAL unless leftovers remain (then STOPPING).
  Status Stop(TimePoint now);
  // Sends an arbitrary signal to the running process (STARTING, RUNNING, STOPPING); kNotRunning
  // otherwise.
  Status Signal(int signal);
  void SetPolicy(Policy policy) { policy_ = std::move(policy); }
  // The process is RUNNING but no good (a failed health check, a missed watchdog): stops it
  // and restarts it as after a crash, with `reason` ("restarted: health check failed 3 times:
  // ...") as the reason of the exit. Ignored in other states, and while a Fail is under way.
  void Fail(TimePoint now, std::string reason);

  // --- events ---
  void OnExit(ExitStatus status, TimePoint now);  // the main process was reaped
  void OnTimer(TimePoint now);                    // this process's timer fired
  void OnReady(TimePoint now);                    // readiness reported (Readiness::kReported)
  void OnLeftoversGone(TimePoint now);            // the host found no leftover any more
  // The host found leftovers it could not see when the main process exited (an exiting parent
  // hid them): with no main process and keep_orphans off, they are cleaned as then.
  void OnLeftoversFound(TimePoint now);

  // --- queries ---
  State state() const { return state_; }
  int pid() const { return pid_; }                                     // 0 when none
  std::optional<TimePoint> started_at() const { return started_at_; }  // last successful spawn
  uint32_t restarts() const { return restarts_; }                      // spawns after the first
  int backoff_count() const { return backoff_count_; }
  int crash_count() const { return crash_count_; }
  std::optional<ExitStatus> last_exit() const { return last_exit_; }
  // Why the process is not running (or not yet running), for status: the spawn error, "Exited
  // too quickly (process log may have details)", "Stopped", ... Empty when there is nothing to say.
  const std::string& reason() const { return reason_; }
  const Policy& policy() const { return policy_; }
  // True when the last exit counts as expected under the policy (for status and events).
  bool ExitWasExpected(ExitStatus status) const;
  // When the next spawn is due: set in BACKOFF, and in FATAL while fatal_retry is pending.
  std::optional<TimePoint> next_spawn_at() const;
  // Leftovers are being stopped; the host calls OnLeftoversGone once it finds none.
  bool cleaning() const { return cleaning_; }

  // --- re-execution of wardend (daemon/reexec/reexec.h) ---
  // Everything the machine knows, so that a new wardend image can carry on where this one
  // stopped: same pid, counters and deadlines (steady-clock time points: CLOCK_MONOTONIC is the
  // same before and after execve). process_machine_restore.cc.
  struct Snapshot {
    State state = State::kStopped;
    int pid = 0;
    std::optional<TimePoint> started_at;
    std::optional<TimePoint> running_since;
    std::optional<ExitStatus> last_exit;
    uint32_t spawns = 0;
    uint32_t restarts = 0;
    int backoff_count = 0;
    int crash_count = 0;
    std::string reason;
    std::optional<TimePoint> state_deadline;
    std::optional<TimePoint> cleanup_deadline;
    bool cleaning = false;
    bool spawn_deferred = false;
    bool abandoning = false;
  };
  Snapshot Save() const;
  // Takes over a snapshot: no spawn, no kill, no state-change call; the host's timer is armed at
  // the earliest deadline (a deadline already past fires at once, from the loop).
  void Restore(const Snapshot& snapshot);

 private:
  void SpawnNow(TimePoint now);
  void DoSpawn(TimePoint now);
  void EnterBackoff(TimePoint now, std::string reason);
  void ExitedFromRunning(ExitStatus status, TimePoint now);
  void BeginCleanup(TimePoint now);
  // stopsignal to the main process (its group with stopasgroup), then SIGCONT.
  void SendStopSignal();
  Duration CrashDelay();
  // The n-th wait (n >= 1) of the backoff: initial * 2^(n-1), capped, jittered.
  Duration BackoffDelay(int n);
  void SetState(State to, TimePoint now);
  void ArmTimer();

  Policy policy_;
  ProcessHost* host_;
  State state_ = State::kStopped;
  int pid_ = 0;
  std::optional<TimePoint> started_at_;
  std::optional<TimePoint> running_since_;
  std::optional<ExitStatus> last_exit_;
  uint32_t spawns_ = 0;
  uint32_t restarts_ = 0;
  int backoff_count_ = 0;
  int crash_count_ = 0;
  std::string reason_;
  // The deadline of the current state (startsecs, ready_timeout, retry, SIGKILL), and the one
  // of a leftover cleanup; the host's timer is armed at the earlier of the two.
  std::optional<TimePoint> state_deadline_;
  std::optional<TimePoint> cleanup_deadline_;
  std::optional<TimePoint> armed_;
  bool cleaning_ = false;        // leftovers are being stopped
  bool spawn_deferred_ = false;  // STARTING with no pid: spawn once the cleanup is done
  bool abandoning_ = false;      // STARTING: readiness timed out, the process is being stopped
  bool killed_ = false;          // STOPPING: the stop deadline's SIGKILL has been sent
  bool failing_ = false;         // RUNNING: Fail stopped the process; its exit restarts it
};

}  // namespace warden::core
