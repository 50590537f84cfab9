// systemd integration through libsystemd's sd_notify: READY=1, STATUS=, RELOADING=1, STOPPING=1
// and the watchdog. Every call is a cheap no-op when NOTIFY_SOCKET is not set. The children never
// see NOTIFY_SOCKET: Process::Spawn drops it from their environment.
#pragma once

#include <string>

#include "daemon/event_loop.h"

namespace warden {

class SystemdNotifier {
 public:
  explicit SystemdNotifier(EventLoop& loop) : loop_(loop) {}

  void Ready();
  void Reloading();
  void Stopping();
  // Sends STATUS=text when it differs from the last one sent.
  void Status(const std::string& text);
  // With $WATCHDOG_USEC set (for this pid), pings WATCHDOG=1 at half that period from the event
  // loop, so a stuck loop stops the pings.
  void StartWatchdog();

 private:
  void ArmWatchdog();

  EventLoop& loop_;
  std::string last_status_;
  uint64_t watchdog_usec_ = 0;
};

}  // namespace warden
