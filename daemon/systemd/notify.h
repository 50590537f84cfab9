// systemd integration through the sd_notify protocol (sent without blocking): READY=1, STATUS=,
// RELOADING=1, STOPPING=1 and the watchdog. Every call is a cheap no-op when NOTIFY_SOCKET is not
// set. The children never see NOTIFY_SOCKET: Process::Spawn drops it from their environment.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>

#include "base/unique_fd.h"
#include "daemon/os/event_loop.h"

namespace warden {

// The other two pieces of systemd's service protocol, as sd-daemon(3) defines them (wardend
// needs no libsystemd for them).
namespace sd {
constexpr int kListenFdsStart = 3;  // SD_LISTEN_FDS_START
// sd_listen_fds(3): how many sockets systemd passed from fd 3 on ($LISTEN_FDS, when $LISTEN_PID
// is this process), each made close-on-exec; 0 when none. The variables are removed.
int ListenFds();
// True when `fd` is a listening AF_UNIX stream socket (sd_is_socket_unix(fd, SOCK_STREAM, 1)).
bool IsListeningUnixStream(int fd);
// sd_watchdog_enabled(3): $WATCHDOG_USEC when $WATCHDOG_PID is unset or this process; else 0.
uint64_t WatchdogUsec();
}  // namespace sd

class SystemdNotifier {
 public:
  explicit SystemdNotifier(EventLoop& loop);

  void Ready();
  void Reloading();
  void Stopping();
  // Sends STATUS=text when it differs from the last one sent.
  void Status(const std::string& text);
  // Sends STATUS=text() once, after the current event: coalesces bursts of state changes.
  void StatusSoon(std::function<std::string()> text);
  // With $WATCHDOG_USEC set (for this pid), pings WATCHDOG=1 at half that period from the event
  // loop, so a stuck loop stops the pings.
  void StartWatchdog();
  // Tries for up to `budget` to send what is still queued (before an execve, which would lose
  // it). Blocks: for that moment only.
  void FlushBlocking(std::chrono::milliseconds budget);

 private:
  void ArmWatchdog();
  // STATUS= and WATCHDOG=1 are best-effort: dropped when the receiver's queue is full (a newer
  // one follows). READY=1, RELOADING=1 and STOPPING=1 are `must` messages: queued, in order,
  // and retried every 20 ms from the event loop until the receiver takes them.
  void Send(const std::string& message, bool must = false);
  // 1 sent (or failed for good), 0 the receiver's queue is full.
  int TrySend(const std::string& message);
  void RetrySoon();

  EventLoop& loop_;
  UniqueFd fd_;          // non-blocking datagram socket; invalid without $NOTIFY_SOCKET
  std::string address_;  // the sockaddr_un bytes of $NOTIFY_SOCKET
  bool warned_ = false;
  bool status_pending_ = false;
  std::string last_status_;
  uint64_t watchdog_usec_ = 0;
  std::deque<std::string> must_;  // must messages not yet taken, oldest first
  bool retry_armed_ = false;
};

}  // namespace warden
