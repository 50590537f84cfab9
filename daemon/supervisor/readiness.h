// Readiness: how a STARTING process tells wardend it is ready (RUNNING), other than startsecs.
// One ReadinessWatch per spawned process, made before the fork (it adds what the child needs to
// the SpawnSpec) and dropped when the process is gone.
//
//   notify  a SOCK_DGRAM socket of its own, <notify_dir>/<id>.sock, mode 0600 and owned by the
//           child's user, named in the child's $NOTIFY_SOCKET (sd_notify(3)). The socket is
//           the authority on who sent: a datagram arriving there is this process's, whatever
//           pid the kernel credentials carry (systemd-notify sends as itself, or with its
//           parent's pid: systemd-notify(1), --pid). Credentials are checked only for
//           the uid (the child's, or root). READY=1 makes the process RUNNING; STATUS=text is
//           shown in its status; WATCHDOG=1 and WATCHDOG=trigger go to on_watchdog; every fd passed
//           with SCM_RIGHTS is closed at once (that is what `systemd-notify` waits for with
//           BARRIER=1); other fields are ignored. The socket stays open while the process lives,
//           for later STATUS= lines.
//   fd:N    a pipe; the child gets its write end as fd N. A newline written to it means ready
//           (s6 and dinit's protocol). EOF before a newline means nothing.
//   tcp     a connect probe to 127.0.0.1:PORT, non-blocking, driven by timers: first 50 ms after
//           the spawn, then with a delay that doubles up to 1 s; an attempt that neither
//           connects nor fails within 1 s is abandoned and retried. Ready at the first connect.
//
// The machine's ready_timeout covers a readiness that never comes.
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>

#include "base/status.h"
#include "base/unique_fd.h"
#include "config/config.h"
#include "daemon/os/event_loop.h"
#include "daemon/os/os.h"

namespace warden {

class ReadinessWatch {
 public:
  struct Options {
    config::ReadyMode mode = config::ReadyMode::kStartsecs;
    int fd = 0;               // kFd: the child's fd number
    int port = 0;             // kTcp
    std::string notify_path;  // kNotify: where to bind the socket (shorter than 108 bytes)
    uid_t uid = 0;            // kNotify: the child's user (owner of the socket)
    gid_t gid = 0;
    std::string name;  // the process's full name, for logs
  };
  struct Callbacks {
    std::function<void()> on_ready;                     // may be called more than once
    std::function<void(const std::string&)> on_status;  // STATUS= text
    // WATCHDOG=1 (false) and WATCHDOG=trigger (true): the process's keep-alive, or its request
    // to be restarted (watchdog_sec).
    std::function<void(bool trigger)> on_watchdog;
  };

  // Before the fork: creates the socket or pipe and adds $NOTIFY_SOCKET or the readiness fd to
  // `spec`. kStartsecs needs no watch: returns nullptr. A failure is the spawn's failure.
  static Result<std::unique_ptr<ReadinessWatch>> Prepare(EventLoop& loop, const Options& options,
                                                         os::SpawnSpec* spec, Callbacks callbacks);
  ~ReadinessWatch();
  ReadinessWatch(const ReadinessWatch&) = delete;
  ReadinessWatch& operator=(const ReadinessWatch&) = delete;

  // After a successful spawn: closes the parent's copy of the pipe's write end and starts the
  // tcp probe.
  void Started();

  // Re-execution of wardend (daemon/reexec/reexec.h). The fd the next image needs (notify socket or
  // readiness pipe; -1 when there is none, as for tcp), and whether readiness was reported.
  int kept_fd() const {
    return watching_ && options_.mode != config::ReadyMode::kTcp ? fd_.get() : -1;
  }
  bool ready() const { return ready_; }
  const Options& options() const { return options_; }
  // In the new image: the watch of a process the previous image spawned, over the fd it kept
  // (-1: none; tcp probes again from the start). Never calls on_ready for `ready` again.
  static Result<std::unique_ptr<ReadinessWatch>> Adopt(EventLoop& loop, const Options& options,
                                                       UniqueFd fd, bool ready,
                                                       Callbacks callbacks);

 private:
  ReadinessWatch(EventLoop& loop, Options options, Callbacks callbacks)
      : loop_(loop), options_(std::move(options)), callbacks_(std::move(callbacks)) {}

  void OnNotifyReadable();
  void HandleNotifyMessage(const std::string& text);
  void OnPipeReadable();
  void Probe();
  void OnProbeWritable();
  void ProbeFailed();
  void Ready();

  EventLoop& loop_;
  Options options_;
  Callbacks callbacks_;
  UniqueFd fd_;          // notify: the socket; fd: the pipe's read end; tcp: the attempt
  UniqueFd pipe_write_;  // fd: the child's end, until the spawn
  bool watching_ = false;
  bool ready_ = false;
  EventLoop::TimerId timer_ = 0;
  std::chrono::milliseconds probe_delay_{50};
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace warden
