// ProcessMachine: the supervision state machine of ONE process, with no syscalls in it.
//
// The model (supervisord's, see shared/research/features.md §2.1-2.2):
//
//   STOPPED/EXITED/FATAL --Start--> STARTING   (spawn; a spawn error counts as an early exit)
//   STARTING --startsecs elapsed (ready: startsecs) or OnReady (ready: notify)--> RUNNING
//   STARTING --exit (any status) or spawn error--> BACKOFF   ("Exited too quickly ...")
//   BACKOFF  --timer (backoff_count seconds after the failure)--> STARTING
//   STARTING --exit or spawn error, when backoff_count > startretries--> FATAL (directly; never
//            retried on its own)
//   An exit seen in STARTING after startsecs has already elapsed (its timer due but not yet
//   fired) counts as an exit from RUNNING: STARTING -> RUNNING -> EXITED, as supervisord does.
//   RUNNING  --exit--> EXITED, then at once STARTING again when autorestart is true, or
//            unexpected and the exit was not one of exitcodes (a signal is never expected)
//   STARTING/RUNNING --Stop--> STOPPING (stopsignal; to the group if stopasgroup)
//   STOPPING --stopwaitsecs elapsed--> SIGKILL (to the group if killasgroup or stopasgroup),
//            stays STOPPING and re-sends SIGKILL every stopwaitsecs (at least 1 s) until the
//            exit is seen
//   STOPPING --exit--> STOPPED
//   BACKOFF  --Stop--> STOPPED   (nothing runs; the pending retry is cancelled)
//
// backoff_count counts consecutive early failures. It is reset by a manual Start, by a Stop,
// and on reaching RUNNING. With startretries = 3 there are 4 attempts at t0, t0+1s, t0+3s,
// t0+6s, then FATAL. A process that crashes after RUNNING restarts immediately with no limit
// (supervisord's rule; issue 3 adds a growing delay for crash loops).
//
// | state \ event | Start          | Stop             | exit                       | timer    |
// |---------------|----------------|------------------|----------------------------|----------|
// | STOPPED       | spawn          | kNotRunning      | (impossible)               | ignored  |
// | STARTING      | kAlreadyStarted| signal, STOPPING | BACKOFF or FATAL           | RUNNING  |
// | RUNNING       | kAlreadyStarted| signal, STOPPING | EXITED (+restart)          | ignored  |
// | BACKOFF       | spawn (reset)  | STOPPED          | (impossible)               | spawn    |
// | STOPPING      | kAlreadyStarted| ok (no-op)       | STOPPED                    | SIGKILL  |
// | EXITED        | spawn          | kNotRunning      | (impossible)               | ignored  |
// | FATAL         | spawn (reset)  | kNotRunning      | (impossible)               | ignored  |
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
enum class Readiness { kStartsecs, kNotify };

// The supervision settings of a program. Can be replaced while the process runs (SetPolicy).
struct Policy {
  AutoRestart autorestart = AutoRestart::kUnexpected;
  std::vector<int> exitcodes = {0};
  Duration startsecs = std::chrono::seconds(1);
  int startretries = 3;
  Readiness readiness = Readiness::kStartsecs;
  int stopsignal = 15;  // SIGTERM
  Duration stopwaitsecs = std::chrono::seconds(10);
  bool stopasgroup = false;
  bool killasgroup = false;
};

// How a process ended, decoded from the wait status.
struct ExitStatus {
  bool signaled = false;  // true: killed by signal `value`; false: exited with code `value`
  int value = 0;
};

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
  // Arms this process's one timer at `deadline`, or cancels it (nullopt). Arming replaces any
  // earlier deadline. When it fires the host calls ProcessMachine::OnTimer.
  virtual void SetTimer(std::optional<TimePoint> deadline) = 0;
  // Called after every state change, once the machine's fields are updated.
  virtual void OnStateChange(State from, State to) = 0;
};

class ProcessMachine {
 public:
  ProcessMachine(Policy policy, ProcessHost* host) : policy_(std::move(policy)), host_(host) {}
  ProcessMachine(const ProcessMachine&) = delete;
  ProcessMachine& operator=(const ProcessMachine&) = delete;

  // --- commands ---
  // Start from STOPPED, EXITED, FATAL or BACKOFF (resets the backoff count).
  // kAlreadyStarted from STARTING, RUNNING, STOPPING. kSpawnError (message: reason()) when the
  // spawn itself failed; the machine is then in BACKOFF or FATAL as after an early exit.
  Status Start(TimePoint now);
  // Stop from STARTING or RUNNING (signal), BACKOFF (straight to STOPPED); ok no-op in STOPPING;
  // kNotRunning from STOPPED, EXITED, FATAL.
  Status Stop(TimePoint now);
  // Sends an arbitrary signal to the running process (STARTING, RUNNING, STOPPING); kNotRunning
  // otherwise.
  Status Signal(int signal);
  void SetPolicy(Policy policy) { policy_ = std::move(policy); }

  // --- events ---
  void OnExit(ExitStatus status, TimePoint now);  // the main process was reaped
  void OnTimer(TimePoint now);                    // this process's timer fired
  void OnReady(TimePoint now);                    // readiness reported (ready: notify)

  // --- queries ---
  State state() const { return state_; }
  int pid() const { return pid_; }                                     // 0 when none
  std::optional<TimePoint> started_at() const { return started_at_; }  // last successful spawn
  uint32_t restarts() const { return restarts_; }                      // spawns after the first
  int backoff_count() const { return backoff_count_; }
  std::optional<ExitStatus> last_exit() const { return last_exit_; }
  // Why the process is not running (or not yet running), for status: the spawn error, "Exited
  // too quickly (process log may have details)", "Stopped", ... Empty when there is nothing to say.
  const std::string& reason() const { return reason_; }
  const Policy& policy() const { return policy_; }
  // True when the last exit counts as expected under the policy (for status and events).
  bool ExitWasExpected(ExitStatus status) const;

 private:
  void SpawnNow(TimePoint now);
  void EnterBackoff(TimePoint now, std::string reason);
  void SetState(State to);

  Policy policy_;
  ProcessHost* host_;
  State state_ = State::kStopped;
  int pid_ = 0;
  std::optional<TimePoint> started_at_;
  std::optional<ExitStatus> last_exit_;
  uint32_t spawns_ = 0;
  uint32_t restarts_ = 0;
  int backoff_count_ = 0;
  std::string reason_;
};

}  // namespace warden::core
