// The supervision state machine of one process. See process_machine.h for the model and table.
//
// No syscalls and no logging here: every effect goes through ProcessHost, and time arrives as an
// argument. The ordering rule used throughout: update the fields (pid, reason, counters,
// deadlines), then publish the state change, so that OnStateChange always sees a consistent
// machine; every public entry point ends by arming the host's one timer at the earlier of the
// two deadlines (ArmTimer).
#include "daemon/core/process_machine.h"

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <limits>
#include <utility>

#include "base/signals.h"

namespace warden::core {
namespace {

constexpr const char* kTooQuickly = "Exited too quickly (process log may have details)";
constexpr const char* kStopped = "Stopped";
constexpr const char* kWaitingForLeftovers =
    "waiting for the previous instance's processes to exit";

// A SIGKILL that did not take (a process stuck in uninterruptible sleep) is re-sent every
// stopwaitsecs; never more often than this, so that stopwaitsecs = 0 cannot make the event loop
// spin.
constexpr Duration kMinKillResend = std::chrono::seconds(1);

// "5s", "0.5s", "90s".
std::string FormatSeconds(Duration d) {
  const double seconds = std::chrono::duration<double>(d).count();
  char buf[32];
  if (seconds == std::floor(seconds)) {
    std::snprintf(buf, sizeof buf, "%.0fs", seconds);
  } else {
    std::snprintf(buf, sizeof buf, "%.1fs", seconds);
  }
  return buf;
}

}  // namespace

std::string DescribeExit(ExitStatus status) {
  if (status.oom_killed) return "killed by the OOM killer";
  if (!status.signaled) return "exit status " + std::to_string(status.value);
  if (std::string_view name = SignalNameOf(status.value); !name.empty()) {
    return "terminated by SIG" + std::string(name);
  }
  return "terminated by signal " + std::to_string(status.value);
}

const char* StateName(State state) {
  switch (state) {
    case State::kStopped:
      return "STOPPED";
    case State::kStarting:
      return "STARTING";
    case State::kRunning:
      return "RUNNING";
    case State::kBackoff:
      return "BACKOFF";
    case State::kStopping:
      return "STOPPING";
    case State::kExited:
      return "EXITED";
    case State::kFatal:
      return "FATAL";
    case State::kUnknown:
      return "UNKNOWN";
  }
  return "UNKNOWN";
}

std::string SpawnError::ToString() const {
  // errno 0 would read "exec: Success"; say only the stage then.
  if (error_number == 0) return stage;
  return stage + ": " + std::strerror(error_number);
}

bool ProcessMachine::ExitWasExpected(ExitStatus status) const {
  if (status.signaled) return false;
  return std::find(policy_.exitcodes.begin(), policy_.exitcodes.end(), status.value) !=
         policy_.exitcodes.end();
}

std::optional<TimePoint> ProcessMachine::next_spawn_at() const {
  if (state_ == State::kBackoff || state_ == State::kFatal) return state_deadline_;
  return std::nullopt;
}

// --- commands ---

Status ProcessMachine::Start(TimePoint now) {
  switch (state_) {
    case State::kStarting:
    case State::kRunning:
    case State::kStopping:
      return Status(ErrorCode::kAlreadyStarted, "already started");
    case State::kUnknown:
      // Never entered by this machine; if it ever is, a live pid means "do not spawn a second".
      if (pid_ != 0) return Status(ErrorCode::kAlreadyStarted, "already started");
      break;
    case State::kStopped:
    case State::kExited:
    case State::kFatal:
    case State::kBackoff:
      break;
  }
  // A manual start gets the full set of retries again. From BACKOFF the pending retry is
  // replaced by whatever SpawnNow arms.
  backoff_count_ = 0;
  crash_count_ = 0;
  state_deadline_.reset();
  SpawnNow(now);
  ArmTimer();
  // After a successful spawn there is a pid (STARTING or already RUNNING); after a spawn error
  // there is none and the machine sits in BACKOFF or FATAL with the error as its reason. A spawn
  // deferred behind a leftover cleanup is no failure.
  if (pid_ == 0 && !spawn_deferred_) return Status(ErrorCode::kSpawnError, reason_);
  return Status::Ok();
}

Status ProcessMachine::Stop(TimePoint now) {
  switch (state_) {
    case State::kStarting:
      if (pid_ == 0) {
        // A spawn waiting for a cleanup: forget it; the cleanup goes on as a stop.
        backoff_count_ = 0;
        crash_count_ = 0;
        spawn_deferred_ = false;
        state_deadline_.reset();
        reason_ = cleaning_ ? "" : kStopped;
        SetState(cleaning_ ? State::kStopping : State::kStopped, now);
        ArmTimer();
        return Status::Ok();
      }
      [[fallthrough]];
    case State::kRunning:
      backoff_count_ = 0;
      crash_count_ = 0;
      abandoning_ = false;
      failing_ = false;
      SendStopSignal();
      reason_.clear();
      state_deadline_ = now + policy_.stopwaitsecs;
      SetState(State::kStopping, now);
      ArmTimer();
      return Status::Ok();
    case State::kStopping:
      return Status::Ok();  // already on its way down; the SIGKILL timer keeps running
    case State::kBackoff:
      backoff_count_ = 0;
      crash_count_ = 0;
      state_deadline_.reset();  // the pending retry
      reason_ = cleaning_ ? "" : kStopped;
      SetState(cleaning_ ? State::kStopping : State::kStopped, now);
      ArmTimer();
      return Status::Ok();
    case State::kStopped:
    case State::kExited:
    case State::kFatal:
    case State::kUnknown: {
      // FATAL waiting for fatal_retry: the stop cancels the retry.
      const bool retry_pending = state_ == State::kFatal && state_deadline_.has_value();
      if (retry_pending) state_deadline_.reset();
      // No main process, but maybe processes it left (kept by keep_orphans, or being cleaned).
      if (cleaning_ || host_->HasLeftovers()) {
        backoff_count_ = 0;
        crash_count_ = 0;
        if (!cleaning_) BeginCleanup(now);
        reason_.clear();
        SetState(State::kStopping, now);
        ArmTimer();
        return Status::Ok();
      }
      if (retry_pending) {
        backoff_count_ = 0;
        reason_ = kStopped;
        SetState(State::kStopped, now);
        ArmTimer();
        return Status::Ok();
      }
      break;
    }
  }
  return Status(ErrorCode::kNotRunning, "not running");
}

void ProcessMachine::Fail(TimePoint now, std::string reason) {
  if (state_ != State::kRunning || pid_ == 0 || failing_) return;
  failing_ = true;
  reason_ = std::move(reason);
  SendStopSignal();
  state_deadline_ = now + policy_.stopwaitsecs;
  ArmTimer();
}

Status ProcessMachine::Signal(int signal) {
  const bool has_process =
      state_ == State::kStarting || state_ == State::kRunning || state_ == State::kStopping;
  if (!has_process || pid_ == 0) return Status(ErrorCode::kNotRunning, "not running");
  host_->Kill(pid_, signal, false);
  return Status::Ok();
}

// --- events ---

void ProcessMachine::OnExit(ExitStatus status, TimePoint now) {
  // The pid is forgotten when its exit is reported; a second report (or one for a process we
  // never had) is ignored rather than trusted.
  if (pid_ == 0) return;
  const int pid = pid_;
  pid_ = 0;
  last_exit_ = status;
  switch (state_) {
    case State::kStarting:
    case State::kRunning:
      // What the process leaves behind is stopped before anything else happens to the program,
      // so that a new instance never meets the old one's workers.
      if (!policy_.keep_orphans && !cleaning_ && host_->HasLeftovers()) BeginCleanup(now);
      break;
    default:
      break;
  }
  switch (state_) {
    case State::kStarting:
      if (abandoning_) {
        EnterBackoff(now, "not ready within " + FormatSeconds(policy_.ready_timeout));
        break;
      }
      // supervisord's rule: an exit counts as "too quick" only if it came before startsecs. The
      // event loop handles exits before timers, so the startsecs timer may be due in this same
      // wakeup; if the time has in fact passed, the process did reach RUNNING.
      if (policy_.readiness != Readiness::kStartsecs || !started_at_ ||
          now - *started_at_ < policy_.startsecs) {
        EnterBackoff(now, kTooQuickly);
        break;
      }
      pid_ = pid;  // RUNNING is published with the pid it had
      SetState(State::kRunning, now);
      pid_ = 0;
      running_since_ = *started_at_ + policy_.startsecs;
      ExitedFromRunning(status, now);
      break;
    case State::kRunning:
      ExitedFromRunning(status, now);
      break;
    case State::kStopping:
      if (!cleaning_ && host_->HasLeftovers()) {
        // The stop deadline stays: at it, SIGKILL goes to whatever is left. After the deadline's
        // SIGKILL they are dying already: no stop signal follows it.
        cleaning_ = true;
        if (!killed_) host_->KillLeftovers(policy_.stopsignal);
        break;
      }
      if (cleaning_) break;  // STOPPED once the leftovers are gone
      reason_ = kStopped;
      SetState(State::kStopped, now);
      break;
    case State::kStopped:
    case State::kBackoff:
    case State::kExited:
    case State::kFatal:
    case State::kUnknown:
      break;  // no process in these states
  }
  ArmTimer();
}

void ProcessMachine::OnTimer(TimePoint now) {
  armed_.reset();  // the host's timer is one-shot: whatever was armed has fired
  if (cleanup_deadline_ && *cleanup_deadline_ <= now) {
    cleanup_deadline_.reset();
    if (cleaning_) {
      host_->KillLeftovers(SIGKILL);
      cleanup_deadline_ = now + std::max(policy_.stopwaitsecs, kMinKillResend);
    }
  }
  if (state_deadline_ && *state_deadline_ <= now) {
    state_deadline_.reset();
    switch (state_) {
      case State::kStarting:
        if (pid_ == 0) break;
        if (abandoning_) {
          host_->Kill(pid_, SIGKILL, policy_.killasgroup || policy_.stopasgroup);
          state_deadline_ = now + std::max(policy_.stopwaitsecs, kMinKillResend);
        } else if (policy_.readiness == Readiness::kStartsecs) {
          SetState(State::kRunning, now);
        } else {
          // ready_timeout: the start failed. Stop the process; its exit is the early failure.
          abandoning_ = true;
          reason_ = "not ready within " + FormatSeconds(policy_.ready_timeout);
          SendStopSignal();
          state_deadline_ = now + policy_.stopwaitsecs;
        }
        break;
      case State::kBackoff:
        SpawnNow(now);
        break;
      case State::kFatal:
        // fatal_retry has passed: a new series of attempts, as after a manual start.
        backoff_count_ = 0;
        crash_count_ = 0;
        SpawnNow(now);
        break;
      case State::kStopping:
        if (pid_ != 0) host_->Kill(pid_, SIGKILL, policy_.killasgroup || policy_.stopasgroup);
        host_->KillLeftovers(SIGKILL);
        killed_ = true;
        state_deadline_ = now + std::max(policy_.stopwaitsecs, kMinKillResend);
        break;
      case State::kRunning:
        // Fail's stop has not taken: SIGKILL, re-sent until the process is gone.
        if (failing_ && pid_ != 0) {
          host_->Kill(pid_, SIGKILL, policy_.killasgroup || policy_.stopasgroup);
          state_deadline_ = now + std::max(policy_.stopwaitsecs, kMinKillResend);
        }
        break;
      case State::kStopped:
      case State::kExited:
      case State::kUnknown:
        break;  // no deadline in these states: a stale firing
    }
  }
  ArmTimer();
}

void ProcessMachine::OnReady(TimePoint now) {
  if (state_ == State::kStarting && policy_.readiness == Readiness::kReported && pid_ != 0 &&
      !abandoning_) {
    SetState(State::kRunning, now);
    ArmTimer();
  }
}

void ProcessMachine::OnLeftoversGone(TimePoint now) {
  if (!cleaning_) return;
  cleaning_ = false;
  cleanup_deadline_.reset();
  if (state_ == State::kStopping && pid_ == 0) {
    reason_ = kStopped;
    SetState(State::kStopped, now);
  } else if (state_ == State::kStarting && spawn_deferred_) {
    DoSpawn(now);
  }
  ArmTimer();
}

void ProcessMachine::OnLeftoversFound(TimePoint now) {
  if (pid_ != 0 || cleaning_ || policy_.keep_orphans) return;
  BeginCleanup(now);
  ArmTimer();
}

// --- transitions ---

// Enters STARTING and spawns, unless leftovers are still being stopped: then the spawn waits
// (STARTING with no pid) for OnLeftoversGone.
void ProcessMachine::SpawnNow(TimePoint now) {
  pid_ = 0;
  abandoning_ = false;
  state_deadline_.reset();
  if (cleaning_) {
    spawn_deferred_ = true;
    reason_ = kWaitingForLeftovers;
    SetState(State::kStarting, now);
    return;
  }
  reason_.clear();
  SetState(State::kStarting, now);
  DoSpawn(now);
}

void ProcessMachine::DoSpawn(TimePoint now) {
  spawn_deferred_ = false;
  reason_.clear();
  SpawnOutcome outcome = host_->Spawn();
  if (outcome.error || outcome.pid <= 0) {
    const SpawnError error = outcome.error ? *outcome.error : SpawnError{"spawn", 0};
    EnterBackoff(now, "spawn error: " + error.ToString());
    return;
  }

  pid_ = outcome.pid;
  started_at_ = now;
  ++spawns_;
  restarts_ = spawns_ - 1;
  if (policy_.readiness == Readiness::kReported) {
    // RUNNING only when readiness is reported; failed if it does not come in time.
    if (policy_.ready_timeout > Duration::zero()) state_deadline_ = now + policy_.ready_timeout;
  } else if (policy_.startsecs <= Duration::zero()) {
    SetState(State::kRunning, now);
  } else {
    state_deadline_ = now + policy_.startsecs;
  }
}

// An early failure: the process exited in STARTING, or could not be spawned at all.
void ProcessMachine::EnterBackoff(TimePoint now, std::string reason) {
  pid_ = 0;
  abandoning_ = false;
  spawn_deferred_ = false;
  reason_ = std::move(reason);
  ++backoff_count_;
  if (backoff_count_ > policy_.startretries) {
    // Retried on its own only with fatal_retry.
    state_deadline_.reset();
    if (policy_.fatal_retry > Duration::zero()) state_deadline_ = now + policy_.fatal_retry;
    SetState(State::kFatal, now);
    return;
  }
  // supervisord's linear 1, 2, 3 s when the backoff is off; else the crash-loop backoff.
  state_deadline_ = now + (policy_.crash_backoff.initial > Duration::zero()
                               ? BackoffDelay(backoff_count_)
                               : std::chrono::seconds(backoff_count_));
  SetState(State::kBackoff, now);
}

// The main process exited after reaching RUNNING: EXITED, then maybe a restart, at once or after
// the crash-loop delay (waiting in BACKOFF).
void ProcessMachine::ExitedFromRunning(ExitStatus status, TimePoint now) {
  const bool failed = failing_;
  failing_ = false;
  if (!failed) reason_ = DescribeExit(status);  // else the failure's reason stays
  SetState(State::kExited, now);
  const bool restart =
      failed || policy_.autorestart == AutoRestart::kTrue ||
      (policy_.autorestart == AutoRestart::kUnexpected && !ExitWasExpected(status));
  if (!restart) return;
  if (running_since_ && now - *running_since_ >= policy_.crash_backoff.reset_after) {
    crash_count_ = 0;  // it stayed up long enough: this crash starts a new series
  }
  ++crash_count_;
  const Duration delay = CrashDelay();
  if (delay <= Duration::zero()) {
    SpawnNow(now);
    return;
  }
  state_deadline_ = now + delay;
  SetState(State::kBackoff, now);  // the reason stays the exit's description
}

Duration ProcessMachine::CrashDelay() {
  if (crash_count_ <= 1) return Duration::zero();
  return BackoffDelay(crash_count_ - 1);
}

Duration ProcessMachine::BackoffDelay(int n) {
  const CrashBackoff& b = policy_.crash_backoff;
  if (n < 1 || b.initial <= Duration::zero()) return Duration::zero();
  const double initial = std::chrono::duration<double>(b.initial).count();
  const double max = b.max > Duration::zero() ? std::chrono::duration<double>(b.max).count()
                                              : std::numeric_limits<double>::infinity();
  double delay = initial;
  for (int i = 1; i < n && delay < max; ++i) delay *= 2;
  delay = std::min(delay, max);
  const double jitter = std::clamp(b.jitter, 0.0, 1.0);
  if (jitter > 0) delay *= 1.0 + jitter * (2.0 * host_->Random() - 1.0);
  delay = std::clamp(delay, 0.0, max);
  if (!std::isfinite(delay)) return b.initial;
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(delay));
}

void ProcessMachine::SendStopSignal() {
  host_->Kill(pid_, policy_.stopsignal, policy_.stopasgroup);
  if (policy_.stopsignal != SIGKILL && policy_.stopsignal != SIGCONT) {
    host_->Continue(pid_, policy_.stopasgroup);
  }
}

// Stops what the main process left behind: stopsignal now, SIGKILL at the cleanup deadline.
void ProcessMachine::BeginCleanup(TimePoint now) {
  cleaning_ = true;
  host_->KillLeftovers(policy_.stopsignal);
  cleanup_deadline_ = now + policy_.stopwaitsecs;
}

// Entry actions common to every way into a state, then the publication. Callers set the pid,
// reason, last exit and the deadline of STARTING, BACKOFF and STOPPING themselves (those depend
// on why the state was entered).
void ProcessMachine::SetState(State to, TimePoint now) {
  if (to == state_) return;
  switch (to) {
    case State::kRunning:
      backoff_count_ = 0;
      reason_.clear();
      running_since_ = now;
      [[fallthrough]];
    case State::kStopped:
    case State::kExited:
    case State::kUnknown:
      state_deadline_.reset();  // these states wait for nothing
      abandoning_ = false;
      failing_ = false;
      break;
    case State::kFatal:
      abandoning_ = false;  // its deadline is the fatal_retry, set by the caller, or none
      break;
    case State::kStopping:
      killed_ = false;  // a new stop: its deadline's SIGKILL is still to come
      failing_ = false;
      break;
    case State::kStarting:
    case State::kBackoff:
      break;
  }
  const State from = state_;
  state_ = to;
  host_->OnStateChange(from, to);
}

void ProcessMachine::ArmTimer() {
  std::optional<TimePoint> want = state_deadline_;
  if (cleanup_deadline_ && (!want || *cleanup_deadline_ < *want)) want = cleanup_deadline_;
  if (want == armed_) return;
  armed_ = want;
  host_->SetTimer(want);
}

}  // namespace warden::core
