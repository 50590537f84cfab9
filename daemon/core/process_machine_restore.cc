// ProcessMachine::Save and Restore: the machine's whole state, for re-executing wardend
// (daemon/reexec/reexec.h). Kept apart from the transitions in process_machine.cc.
#include "daemon/core/process_machine.h"

namespace warden::core {

ProcessMachine::Snapshot ProcessMachine::Save() const {
  Snapshot s;
  s.state = state_;
  s.pid = pid_;
  s.started_at = started_at_;
  s.running_since = running_since_;
  s.last_exit = last_exit_;
  s.spawns = spawns_;
  s.restarts = restarts_;
  s.backoff_count = backoff_count_;
  s.crash_count = crash_count_;
  s.reason = reason_;
  s.state_deadline = state_deadline_;
  s.cleanup_deadline = cleanup_deadline_;
  s.cleaning = cleaning_;
  s.spawn_deferred = spawn_deferred_;
  s.abandoning = abandoning_;
  return s;
}

void ProcessMachine::Restore(const Snapshot& s) {
  state_ = s.state;
  pid_ = s.pid;
  started_at_ = s.started_at;
  running_since_ = s.running_since;
  last_exit_ = s.last_exit;
  spawns_ = s.spawns;
  restarts_ = s.restarts;
  backoff_count_ = s.backoff_count;
  crash_count_ = s.crash_count;
  reason_ = s.reason;
  state_deadline_ = s.state_deadline;
  cleanup_deadline_ = s.cleanup_deadline;
  cleaning_ = s.cleaning;
  spawn_deferred_ = s.spawn_deferred;
  abandoning_ = s.abandoning;
  armed_.reset();
  ArmTimer();
}

}  // namespace warden::core
