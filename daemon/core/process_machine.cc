// The supervision state machine of one process. See process_machine.h for the model and table.
//
// No syscalls and no logging here: every effect goes through ProcessHost, and time arrives as an
// argument. The ordering rule used throughout: update the fields (pid, reason, counters), then
// arm or cancel the timer, then publish the state change, so that OnStateChange always sees a
// consistent machine.
#include "daemon/core/process_machine.h"

#include <algorithm>
#include <csignal>
#include <cstring>
#include <iterator>
#include <utility>

namespace warden::core {
namespace {

constexpr const char* kTooQuickly = "Exited too quickly (process log may have details)";
constexpr const char* kStopped = "Stopped";

// A SIGKILL that did not take (a process stuck in uninterruptible sleep) is re-sent every
// stopwaitsecs; never more often than this, so that stopwaitsecs = 0 cannot make the event loop
// spin.
constexpr Duration kMinKillResend = std::chrono::seconds(1);

struct SignalName {
  int number;
  const char* name;
};

// Names for the standard signals; the numbers come from <csignal>, so nothing is assumed about
// the platform's numbering. Real-time signals have no fixed number and are printed as numbers.
constexpr SignalName kSignalNames[] = {
    {SIGHUP, "SIGHUP"},       {SIGINT, "SIGINT"},   {SIGQUIT, "SIGQUIT"},
    {SIGILL, "SIGILL"},       {SIGTRAP, "SIGTRAP"}, {SIGABRT, "SIGABRT"},
    {SIGBUS, "SIGBUS"},       {SIGFPE, "SIGFPE"},   {SIGKILL, "SIGKILL"},
    {SIGUSR1, "SIGUSR1"},     {SIGSEGV, "SIGSEGV"}, {SIGUSR2, "SIGUSR2"},
    {SIGPIPE, "SIGPIPE"},     {SIGALRM, "SIGALRM"}, {SIGTERM, "SIGTERM"},
#ifdef SIGSTKFLT
    {SIGSTKFLT, "SIGSTKFLT"},
#endif
    {SIGCHLD, "SIGCHLD"},     {SIGCONT, "SIGCONT"}, {SIGSTOP, "SIGSTOP"},
    {SIGTSTP, "SIGTSTP"},     {SIGTTIN, "SIGTTIN"}, {SIGTTOU, "SIGTTOU"},
    {SIGURG, "SIGURG"},       {SIGXCPU, "SIGXCPU"}, {SIGXFSZ, "SIGXFSZ"},
    {SIGVTALRM, "SIGVTALRM"}, {SIGPROF, "SIGPROF"}, {SIGWINCH, "SIGWINCH"},
    {SIGIO, "SIGIO"},
#ifdef SIGPWR
    {SIGPWR, "SIGPWR"},
#endif
    {SIGSYS, "SIGSYS"},
};

// "exit status 3", "terminated by SIGKILL", "terminated by signal 40".
std::string DescribeExit(ExitStatus status) {
  if (!status.signaled) return "exit status " + std::to_string(status.value);
  const auto* it = std::find_if(std::begin(kSignalNames), std::end(kSignalNames),
                                [&](const SignalName& s) { return s.number == status.value; });
  if (it != std::end(kSignalNames)) return std::string("terminated by ") + it->name;
  return "terminated by signal " + std::to_string(status.value);
}

}  // namespace

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
  // A manual start gets the full set of retries again. From BACKOFF the pending retry timer is
  // replaced by whatever SpawnNow arms.
  backoff_count_ = 0;
  SpawnNow(now);
  // After a successful spawn there is a pid (STARTING or already RUNNING); after a spawn error
  // there is none and the machine sits in BACKOFF or FATAL with the error as its reason.
  if (pid_ == 0) return Status(ErrorCode::kSpawnError, reason_);
  return Status::Ok();
}

Status ProcessMachine::Stop(TimePoint now) {
  switch (state_) {
    case State::kStarting:
    case State::kRunning:
      backoff_count_ = 0;
      host_->Kill(pid_, policy_.stopsignal, policy_.stopasgroup);
      reason_.clear();
      host_->SetTimer(now + policy_.stopwaitsecs);
      SetState(State::kStopping);
      return Status::Ok();
    case State::kStopping:
      return Status::Ok();  // already on its way down; the SIGKILL timer keeps running
    case State::kBackoff:
      backoff_count_ = 0;
      reason_ = kStopped;
      SetState(State::kStopped);  // cancels the pending retry
      return Status::Ok();
    case State::kStopped:
    case State::kExited:
    case State::kFatal:
    case State::kUnknown:
      break;
  }
  return Status(ErrorCode::kNotRunning, "not running");
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
  switch (state_) {
    case State::kStarting:
      // supervisord's rule: an exit counts as "too quick" only if it came before startsecs. The
      // event loop handles exits before timers, so the startsecs timer may be due in this same
      // wakeup; if the time has in fact passed, the process did reach RUNNING.
      if (policy_.readiness != Readiness::kStartsecs || !started_at_ ||
          now - *started_at_ < policy_.startsecs) {
        pid_ = 0;
        last_exit_ = status;
        EnterBackoff(now, kTooQuickly);
        return;
      }
      SetState(State::kRunning);
      [[fallthrough]];
    case State::kRunning: {
      pid_ = 0;
      last_exit_ = status;
      reason_ = DescribeExit(status);
      SetState(State::kExited);
      const bool restart =
          policy_.autorestart == AutoRestart::kTrue ||
          (policy_.autorestart == AutoRestart::kUnexpected && !ExitWasExpected(status));
      if (restart) SpawnNow(now);
      return;
    }
    case State::kStopping:
      pid_ = 0;
      last_exit_ = status;
      reason_ = kStopped;
      SetState(State::kStopped);
      return;
    case State::kStopped:
    case State::kBackoff:
    case State::kExited:
    case State::kFatal:
    case State::kUnknown:
      return;  // no process in these states
  }
}

void ProcessMachine::OnTimer(TimePoint now) {
  switch (state_) {
    case State::kStarting:
      // Only the startsecs deadline is armed in STARTING; with notify readiness there is none.
      if (policy_.readiness == Readiness::kStartsecs && pid_ != 0) SetState(State::kRunning);
      return;
    case State::kBackoff:
      SpawnNow(now);
      return;
    case State::kStopping:
      if (pid_ == 0) return;
      host_->Kill(pid_, SIGKILL, policy_.killasgroup || policy_.stopasgroup);
      host_->SetTimer(now + std::max(policy_.stopwaitsecs, kMinKillResend));
      return;
    case State::kStopped:
    case State::kRunning:
    case State::kExited:
    case State::kFatal:
    case State::kUnknown:
      return;  // no timer in these states: a stale firing
  }
}

void ProcessMachine::OnReady(TimePoint /*now*/) {
  if (state_ == State::kStarting && policy_.readiness == Readiness::kNotify && pid_ != 0) {
    SetState(State::kRunning);
  }
}

// --- transitions ---

void ProcessMachine::SpawnNow(TimePoint now) {
  pid_ = 0;
  reason_.clear();
  SetState(State::kStarting);

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
  if (policy_.readiness == Readiness::kNotify) {
    host_->SetTimer(std::nullopt);  // RUNNING only when readiness is reported
  } else if (policy_.startsecs <= Duration::zero()) {
    SetState(State::kRunning);
  } else {
    host_->SetTimer(now + policy_.startsecs);
  }
}

// An early failure: the process exited in STARTING, or could not be spawned at all.
void ProcessMachine::EnterBackoff(TimePoint now, std::string reason) {
  pid_ = 0;
  reason_ = std::move(reason);
  ++backoff_count_;
  if (backoff_count_ > policy_.startretries) {
    SetState(State::kFatal);  // never retried on its own
    return;
  }
  host_->SetTimer(now + std::chrono::seconds(backoff_count_));
  SetState(State::kBackoff);
}

// Entry actions common to every way into a state, then the publication. Callers set the pid,
// reason and last exit first, and arm the timer of STARTING, BACKOFF and STOPPING themselves
// (those deadlines depend on why the state was entered).
void ProcessMachine::SetState(State to) {
  if (to == state_) return;
  switch (to) {
    case State::kRunning:
      backoff_count_ = 0;
      reason_.clear();
      [[fallthrough]];
    case State::kStopped:
    case State::kExited:
    case State::kFatal:
    case State::kUnknown:
      host_->SetTimer(std::nullopt);  // these states wait for nothing
      break;
    case State::kStarting:
    case State::kBackoff:
    case State::kStopping:
      break;
  }
  const State from = state_;
  state_ = to;
  host_->OnStateChange(from, to);
}

}  // namespace warden::core
