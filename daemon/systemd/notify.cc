#include "daemon/systemd/notify.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <optional>

namespace warden {

namespace sd {
namespace {

// A decimal number that fits `max`, or nullopt.
std::optional<uint64_t> ParseNumber(const char* text, uint64_t max) {
  if (text == nullptr || *text < '0' || *text > '9') return std::nullopt;
  errno = 0;
  char* end = nullptr;
  const unsigned long long value = std::strtoull(text, &end, 10);
  if (errno != 0 || *end != '\0' || value > max) return std::nullopt;
  return value;
}

bool IsOurPid(const char* text) {
  auto pid = ParseNumber(text, INT_MAX);
  return pid && static_cast<pid_t>(*pid) == getpid();
}

}  // namespace

int ListenFds() {
  int count = 0;
  if (IsOurPid(std::getenv("LISTEN_PID"))) {
    if (auto n = ParseNumber(std::getenv("LISTEN_FDS"), INT_MAX - kListenFdsStart)) {
      count = static_cast<int>(*n);
      for (int fd = kListenFdsStart; fd < kListenFdsStart + count; ++fd) {
        fcntl(fd, F_SETFD, FD_CLOEXEC);
      }
    }
  }
  unsetenv("LISTEN_PID");
  unsetenv("LISTEN_FDS");
  unsetenv("LISTEN_FDNAMES");
  return count;
}

bool IsListeningUnixStream(int fd) {
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) return false;
  int value = 0;
  socklen_t len = sizeof value;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &value, &len) != 0 || value != SOCK_STREAM) return false;
  len = sizeof value;
  if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &value, &len) != 0 || value == 0) return false;
  sockaddr_storage addr{};
  len = sizeof addr;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return false;
  return addr.ss_family == AF_UNIX;
}

uint64_t WatchdogUsec() {
  const char* pid = std::getenv("WATCHDOG_PID");
  if (pid != nullptr && !IsOurPid(pid)) return 0;
  return ParseNumber(std::getenv("WATCHDOG_USEC"), UINT64_MAX).value_or(0);
}

}  // namespace sd

SystemdNotifier::SystemdNotifier(EventLoop& loop) : loop_(loop) {
  const char* path = std::getenv("NOTIFY_SOCKET");
  if (path == nullptr || (path[0] != '/' && path[0] != '@') || std::strlen(path) < 2) return;
  sockaddr_un addr{};
  size_t length = std::strlen(path);
  if (length >= sizeof addr.sun_path) return;
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path, length);
  if (addr.sun_path[0] == '@') addr.sun_path[0] = '\0';  // abstract namespace
  address_.assign(reinterpret_cast<const char*>(&addr), offsetof(sockaddr_un, sun_path) + length);
  fd_.reset(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
}

// Never blocks: what the receiver's queue cannot take is dropped, or queued when it must arrive.
void SystemdNotifier::Send(const std::string& message, bool must) {
  if (!fd_) return;
  if (must) {
    if (must_.empty() && TrySend(message) != 0) return;
    must_.push_back(message);
    RetrySoon();
    return;
  }
  TrySend(message);
}

int SystemdNotifier::TrySend(const std::string& message) {
  ssize_t n;
  do {
    n = sendto(fd_.get(), message.data(), message.size(), MSG_NOSIGNAL,
               reinterpret_cast<const sockaddr*>(address_.data()),
               static_cast<socklen_t>(address_.size()));
  } while (n < 0 && errno == EINTR);
  if (n >= 0) return 1;
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) return 0;
  if (!warned_) {
    warned_ = true;
    spdlog::warn("sd_notify: cannot send to $NOTIFY_SOCKET: {}", strerror(errno));
  }
  return 1;  // not a full queue: retrying would not help
}

void SystemdNotifier::RetrySoon() {
  if (retry_armed_) return;
  retry_armed_ = true;
  loop_.AddTimer(EventLoop::Now() + std::chrono::milliseconds(20), [this] {
    retry_armed_ = false;
    while (!must_.empty() && TrySend(must_.front()) != 0) must_.pop_front();
    if (!must_.empty()) RetrySoon();
  });
}

void SystemdNotifier::FlushBlocking(std::chrono::milliseconds budget) {
  const auto deadline = std::chrono::steady_clock::now() + budget;
  while (!must_.empty()) {
    if (TrySend(must_.front()) != 0) {
      must_.pop_front();
      continue;
    }
    if (std::chrono::steady_clock::now() >= deadline) return;
    const timespec pause{0, 2 * 1000 * 1000};
    nanosleep(&pause, nullptr);
  }
}

void SystemdNotifier::Ready() { Send("READY=1", true); }

void SystemdNotifier::Reloading() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  uint64_t usec =
      static_cast<uint64_t>(ts.tv_sec) * 1000000u + static_cast<uint64_t>(ts.tv_nsec) / 1000u;
  Send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec), true);
}

void SystemdNotifier::Stopping() { Send("STOPPING=1", true); }

void SystemdNotifier::Status(const std::string& text) {
  if (text == last_status_) return;
  last_status_ = text;
  Send("STATUS=" + text);
}

void SystemdNotifier::StatusSoon(std::function<std::string()> text) {
  // Many state changes in one wakeup (a reap storm) send one STATUS= line, not one each.
  if (status_pending_) return;
  status_pending_ = true;
  loop_.Post([this, text = std::move(text)] {
    status_pending_ = false;
    Status(text());
  });
}

void SystemdNotifier::StartWatchdog() {
  const uint64_t usec = sd::WatchdogUsec();
  if (usec == 0) return;
  watchdog_usec_ = usec;
  spdlog::info("systemd watchdog enabled: pinging every {} ms", usec / 2000);
  Send("WATCHDOG=1");
  ArmWatchdog();
}

void SystemdNotifier::ArmWatchdog() {
  loop_.AddTimer(EventLoop::Now() + std::chrono::microseconds(watchdog_usec_ / 2), [this] {
    Send("WATCHDOG=1");
    ArmWatchdog();
  });
}

}  // namespace warden
