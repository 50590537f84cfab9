// What the supervisor reports, in its own types: the outcome of an operation on one process, the
// status of a process, and a state change. The control server (daemon/control/wire_types.h) is
// the one place that turns them into wire messages; nothing here knows the protocol.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "daemon/core/process_machine.h"

namespace warden {

// The outcome of a start, stop, restart, signal or update for one process (or one name that
// matched nothing).
struct ActionOutcome {
  std::string name;  // full name (group:name or name), or the name as requested if unknown
  ErrorCode code = ErrorCode::kOk;
  std::string message;  // empty when ok; otherwise why
};
using ActionOutcomes = std::vector<ActionOutcome>;

// A descendant of a process's main process, or a leftover still attributed to it.
struct ChildReport {
  int32_t pid = 0;
  char kernel_state = 0;  // the letter of /proc/PID/stat field 3; 0 when unknown
};

enum class ExitKind : uint8_t { kNone = 0, kExited = 1, kSignaled = 2 };

struct ProcessReport {
  std::string name;   // process name (web, or web_00 for numprocs > 1)
  std::string group;  // group name (== name for a lone program)
  core::State state = core::State::kStopped;
  int32_t pid = 0;                       // 0 when no process
  char kernel_state = 0;                 // 0 when no process or unreadable
  int64_t start_time_ms = 0;             // Unix ms of the last spawn, 0 never
  int64_t stop_time_ms = 0;              // Unix ms of the last exit, 0 never
  uint64_t uptime_ms = 0;                // time since spawn while the process lives
  uint32_t restarts = 0;                 // spawns after the first one
  ExitKind exit_kind = ExitKind::kNone;  // how the last process ended
  int32_t exit_value = 0;                // exit code, or signal number
  std::string reason;        // why it is not running: spawn error, "Exited too quickly", ...
  uint64_t cpu_time_ms = 0;  // user + system CPU of the main process
  uint64_t rss_bytes = 0;    // resident set of the main process
  std::vector<ChildReport> children;
  std::string status_text;   // the last STATUS= the process sent (ready: notify), while it lives
  uint64_t retry_in_ms = 0;  // the time until the next start attempt (BACKOFF)
  std::string health;        // Process::HealthText()
};

struct StatusReport {
  std::vector<ProcessReport> processes;    // in priority order
  std::vector<std::string> unknown_names;  // requested names that matched nothing
};

// One state change of one process (or, in a snapshot, its state now: from == to).
struct StateChange {
  int64_t time_ms = 0;  // Unix time in ms when it happened
  std::string process;  // full name: "web", "webapps:web_00"
  core::State from = core::State::kStopped;
  core::State to = core::State::kStopped;
  int32_t pid = 0;     // the process in the new state, or the one that just ended; 0: none
  std::string reason;  // why (exit status, spawn error, "Stopped", ...); may be empty
};

}  // namespace warden
