#include "daemon/notify.h"

#include <systemd/sd-daemon.h>
#include <time.h>

#include <spdlog/spdlog.h>

namespace warden {

void SystemdNotifier::Ready() { sd_notify(0, "READY=1"); }

void SystemdNotifier::Reloading() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  uint64_t usec =
      static_cast<uint64_t>(ts.tv_sec) * 1000000u + static_cast<uint64_t>(ts.tv_nsec) / 1000u;
  sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu", static_cast<unsigned long long>(usec));
}

void SystemdNotifier::Stopping() { sd_notify(0, "STOPPING=1"); }

void SystemdNotifier::Status(const std::string& text) {
  if (text == last_status_) return;
  last_status_ = text;
  sd_notifyf(0, "STATUS=%s", text.c_str());
}

void SystemdNotifier::StartWatchdog() {
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return;
  watchdog_usec_ = usec;
  spdlog::info("systemd watchdog enabled: pinging every {} ms", usec / 2000);
  sd_notify(0, "WATCHDOG=1");
  ArmWatchdog();
}

void SystemdNotifier::ArmWatchdog() {
  loop_.AddTimer(EventLoop::Now() + std::chrono::microseconds(watchdog_usec_ / 2), [this] {
    sd_notify(0, "WATCHDOG=1");
    ArmWatchdog();
  });
}

}  // namespace warden
