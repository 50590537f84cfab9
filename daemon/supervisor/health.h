// Health checks (`healthcheck:` of a program, docs/configuration.md): while a process is RUNNING,
// a check every `interval` seconds; `retries` failures in a row and the process is restarted as
// after a crash (core::ProcessMachine::Fail). One HealthMonitor per RUNNING process, made when it
// becomes RUNNING and dropped when it leaves that state, so a program without a healthcheck has
// no timer and no fd.
//
// Nothing blocks the loop:
//   exec  a child of wardend, spawned as the program's processes are (its user, directory and
//         environment; output to /dev/null), reaped through Supervisor::WatchChild; exit status
//         0 is healthy. At the timeout its process group gets SIGKILL and the check has failed.
//   http  a non-blocking connect, one HTTP/1.0 GET with a Host header, and the status line of
//         the answer (the rest is never read): 200-399 is healthy.
//   tcp   a non-blocking connect to 127.0.0.1:PORT: healthy once it connects.
// Each check has one timer: its timeout while it runs, the next check's start (`interval` after
// the end of the last) between checks.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "base/unique_fd.h"
#include "config/config.h"
#include "daemon/core/process_machine.h"
#include "daemon/os/event_loop.h"

namespace warden {

// The status code of an HTTP status line ("HTTP/1.1 503 Service Unavailable" -> 503); nullopt
// when `line` (without its CR LF) is not one.
std::optional<int> ParseHttpStatusLine(std::string_view line);

// Counts the results of one process's checks (Docker's rules): failures in a row, not counted
// within start_period of RUNNING; `retries` of them mean the process must go.
class HealthCounter {
 public:
  HealthCounter(int retries, core::Duration start_period, core::TimePoint running_since)
      : retries_(retries), grace_until_(running_since + start_period) {}
  // Records one check's result; true when the process is to be restarted (the retries-th
  // failure in a row).
  bool Record(bool healthy, core::TimePoint now, std::string detail);
  // "starting" (no check passed or counted yet), "healthy", "unhealthy 2/3".
  std::string Describe() const;
  int failures() const { return failures_; }
  int retries() const { return retries_; }
  const std::string& last_failure() const { return last_failure_; }  // its detail, or ""

 private:
  int retries_;
  core::TimePoint grace_until_;
  bool passed_ = false;
  int failures_ = 0;
  std::string last_failure_;
};

class HealthMonitor {
 public:
  struct Hooks {
    // Spawns the exec check's command (as the program's processes are spawned); `on_exit` gets
    // its exit status once reaped. The pid, or why it could not be started.
    std::function<Result<int>(std::function<void(core::ExitStatus)> on_exit)> spawn;
    // SIGKILL to the exec check's process group.
    std::function<void(int pid)> kill;
    // `retries` failures in a row: the process must be restarted, for `reason` ("health check
    // failed 3 times: http://127.0.0.1:8080/health: 503"). No check runs after it.
    std::function<void(const std::string& reason)> on_unhealthy;
  };

  // Starts checking: the first check `interval` from now.
  HealthMonitor(EventLoop& loop, config::HealthCheck check, std::string name, Hooks hooks);
  ~HealthMonitor();
  HealthMonitor(const HealthMonitor&) = delete;
  HealthMonitor& operator=(const HealthMonitor&) = delete;

  const HealthCounter& counter() const { return counter_; }
  // For status: "healthy", "unhealthy 1/3: http://...: 503", "starting".
  std::string Describe() const;

 private:
  void Schedule();
  void RunCheck();
  void Connect(int port_or_zero);
  void OnWritable();
  void OnReadable();
  void Finish(bool healthy, std::string detail);
  void StopIo();

  EventLoop& loop_;
  config::HealthCheck check_;
  std::string name_;
  Hooks hooks_;
  HealthCounter counter_;
  EventLoop::TimerId timer_ = 0;
  UniqueFd fd_;  // http and tcp: the connection of the check in flight
  bool watching_ = false;
  bool sent_ = false;     // http: the request is out; what comes now is the answer
  std::string response_;  // http: what came back so far
  int exec_pid_ = 0;      // exec: the check in flight
  bool done_ = false;     // on_unhealthy was called
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace warden
