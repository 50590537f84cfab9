// systemd integration through the sd_notify protocol (sent without blocking): READY=1, STATUS=,
// RELOADING=1, STOPPING=1 and the watchdog. Every call is a cheap no-op when NOTIFY_SOCKET is not
// set. The children never see NOTIFY_SOCKET: Process::Spawn drops it from their environment.
#pragma once

#include <functional>
#include <string>

#include "base/unique_fd.h"
#include "daemon/event_loop.h"

namespace warden {

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

 private:
  void ArmWatchdog();
  void Send(const std::string& message);

  EventLoop& loop_;
  UniqueFd fd_;          // non-blocking datagram socket; invalid without $NOTIFY_SOCKET
  std::string address_;  // the sockaddr_un bytes of $NOTIFY_SOCKET
  bool warned_ = false;
  bool status_pending_ = false;
  std::string last_status_;
  uint64_t watchdog_usec_ = 0;
};

}  // namespace warden
