// Health checks: the counter, the status line parser and the checks themselves. See health.h.
#include "daemon/supervisor/health.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>

namespace warden {
namespace {

// The status line is all that is read; a longer one is no HTTP answer.
constexpr size_t kMaxStatusLine = 1024;

core::Duration Seconds(double s) {
  return std::chrono::duration_cast<core::Duration>(std::chrono::duration<double>(s));
}

std::string FormatSeconds(double seconds) {
  char buf[32];
  std::snprintf(buf, sizeof buf, seconds == std::floor(seconds) ? "%.0fs" : "%.2gs", seconds);
  return buf;
}

}  // namespace

std::optional<int> ParseHttpStatusLine(std::string_view line) {
  // HTTP-version SP status-code [SP reason-phrase]; HTTP-version is "HTTP/" DIGIT "." DIGIT
  // (or "HTTP/2" and the like from a lenient server).
  if (line.substr(0, 5) != "HTTP/") return std::nullopt;
  const size_t space = line.find(' ');
  if (space == std::string_view::npos || space == 5) return std::nullopt;
  for (char c : line.substr(5, space - 5)) {
    if ((c < '0' || c > '9') && c != '.') return std::nullopt;
  }
  std::string_view code = line.substr(space + 1);
  if (code.size() < 3) return std::nullopt;
  int value = 0;
  for (size_t i = 0; i < 3; ++i) {
    if (code[i] < '0' || code[i] > '9') return std::nullopt;
    value = value * 10 + (code[i] - '0');
  }
  if (code.size() > 3 && code[3] != ' ') return std::nullopt;
  if (value < 100) return std::nullopt;
  return value;
}

bool HealthCounter::Record(bool healthy, core::TimePoint now, std::string detail) {
  if (healthy) {
    passed_ = true;
    failures_ = 0;
    return false;
  }
  last_failure_ = std::move(detail);
  // Docker's start period: failures before the first success do not count within it.
  if (!passed_ && now < grace_until_) return false;
  ++failures_;
  return failures_ >= retries_;
}

std::string HealthCounter::Describe() const {
  if (failures_ > 0) {
    return "unhealthy " + std::to_string(failures_) + "/" + std::to_string(retries_);
  }
  return passed_ ? "healthy" : "starting";
}

HealthMonitor::HealthMonitor(EventLoop& loop, config::HealthCheck check, std::string name,
                             Hooks hooks)
    : loop_(loop),
      check_(std::move(check)),
      name_(std::move(name)),
      hooks_(std::move(hooks)),
      counter_(check_.retries, Seconds(check_.start_period), EventLoop::Now()) {
  Schedule();
}

HealthMonitor::~HealthMonitor() {
  *alive_ = false;
  loop_.CancelTimer(timer_);
  StopIo();
  // A check still running is of no use to anyone now; its exit is reaped as any child's.
  if (exec_pid_ > 0 && hooks_.kill) hooks_.kill(exec_pid_);
}

std::string HealthMonitor::Describe() const {
  std::string text = counter_.Describe();
  if (counter_.failures() > 0 && !counter_.last_failure().empty()) {
    text += ": " + counter_.last_failure();
  }
  return text;
}

void HealthMonitor::Schedule() {
  std::weak_ptr<bool> alive = alive_;
  timer_ = loop_.AddTimer(EventLoop::Now() + Seconds(check_.interval), [this, alive] {
    if (alive.expired()) return;
    timer_ = 0;
    RunCheck();
  });
}

void HealthMonitor::RunCheck() {
  std::weak_ptr<bool> alive = alive_;
  timer_ = loop_.AddTimer(EventLoop::Now() + Seconds(check_.timeout), [this, alive] {
    if (alive.expired()) return;
    timer_ = 0;
    if (exec_pid_ > 0 && hooks_.kill) hooks_.kill(exec_pid_);
    exec_pid_ = 0;
    StopIo();
    Finish(false, check_.Target() + ": timed out after " + FormatSeconds(check_.timeout));
  });
  switch (check_.kind) {
    case config::HealthKind::kNone:
      break;
    case config::HealthKind::kExec: {
      Result<int> pid = hooks_.spawn([this, alive](core::ExitStatus status) {
        if (alive.expired() || exec_pid_ == 0) return;  // timed out meanwhile
        exec_pid_ = 0;
        const bool ok = !status.signaled && status.value == 0;
        Finish(ok, ok ? "" : check_.Target() + ": " + core::DescribeExit(status));
      });
      if (!pid.ok()) {
        Finish(false, check_.Target() + ": " + pid.status().message());
        return;
      }
      exec_pid_ = *pid;
      break;
    }
    case config::HealthKind::kHttp:
    case config::HealthKind::kTcp:
      Connect(check_.kind == config::HealthKind::kTcp ? check_.port : check_.http.port);
      break;
  }
}

void HealthMonitor::Connect(int port) {
  sockaddr_storage storage{};
  socklen_t length = 0;
  const std::string host =
      check_.kind == config::HealthKind::kHttp ? check_.http.host : std::string("127.0.0.1");
  auto* v4 = reinterpret_cast<sockaddr_in*>(&storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    length = sizeof *v4;
  } else if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    length = sizeof *v6;
  } else {
    Finish(false, check_.Target() + ": bad address " + host);
    return;
  }
  fd_.reset(socket(storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd_) {
    Finish(false, check_.Target() + ": socket: " + std::strerror(errno));
    return;
  }
  if (connect(fd_.get(), reinterpret_cast<const sockaddr*>(&storage), length) != 0 &&
      errno != EINPROGRESS) {
    const int error = errno;
    fd_.reset();
    Finish(false, check_.Target() + ": " + std::strerror(error));
    return;
  }
  // Connected at once or not: the writable event says so either way.
  std::weak_ptr<bool> alive = alive_;
  Status added = loop_.Add(fd_.get(), EPOLLOUT, EventLoop::kPriorityIo, [this, alive](uint32_t) {
    if (alive.expired()) return;
    if (response_.empty() && !sent_) {
      OnWritable();
    } else {
      OnReadable();
    }
  });
  if (!added.ok()) {
    fd_.reset();
    Finish(false, check_.Target() + ": " + added.message());
    return;
  }
  watching_ = true;
}

void HealthMonitor::OnWritable() {
  int error = 0;
  socklen_t len = sizeof error;
  if (getsockopt(fd_.get(), SOL_SOCKET, SO_ERROR, &error, &len) != 0) error = errno;
  if (error != 0) {
    StopIo();
    Finish(false, check_.Target() + ": " + std::strerror(error));
    return;
  }
  if (check_.kind == config::HealthKind::kTcp) {
    StopIo();
    Finish(true, "");
    return;
  }
  // One small request: the socket's buffer takes it whole.
  std::string host = check_.http.host;
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  if (check_.http.port != 80) host += ":" + std::to_string(check_.http.port);
  const std::string request = "GET " + check_.http.path + " HTTP/1.0\r\nHost: " + host +
                              "\r\nUser-Agent: wardend\r\nAccept: */*\r\n\r\n";
  const ssize_t n = send(fd_.get(), request.data(), request.size(), MSG_NOSIGNAL);
  if (n != static_cast<ssize_t>(request.size())) {
    const std::string why = n < 0 ? std::strerror(errno) : "short write";
    StopIo();
    Finish(false, check_.Target() + ": " + why);
    return;
  }
  sent_ = true;
  (void)loop_.Modify(fd_.get(), EPOLLIN);
}

void HealthMonitor::OnReadable() {
  char buf[512];
  while (true) {
    const ssize_t n = recv(fd_.get(), buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;  // more to come
    if (n > 0) response_.append(buf, static_cast<size_t>(n));
    const size_t eol = response_.find('\n');
    if (eol == std::string::npos && n > 0 && response_.size() < kMaxStatusLine) continue;
    // A whole line, or all there will be.
    std::string line = response_.substr(0, std::min(eol, response_.size()));
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const int error = n < 0 ? errno : 0;
    StopIo();
    if (error != 0) {
      Finish(false, check_.Target() + ": " + std::strerror(error));
      return;
    }
    const std::optional<int> code = ParseHttpStatusLine(line);
    if (!code) {
      Finish(false, check_.Target() + (line.empty() ? ": no answer" : ": not an HTTP answer"));
      return;
    }
    Finish(*code >= 200 && *code <= 399, check_.Target() + ": " + std::to_string(*code));
    return;
  }
}

void HealthMonitor::StopIo() {
  if (watching_) loop_.Remove(fd_.get());
  watching_ = false;
  fd_.reset();
  response_.clear();
  sent_ = false;
}

void HealthMonitor::Finish(bool healthy, std::string detail) {
  loop_.CancelTimer(timer_);
  timer_ = 0;
  const std::string before = counter_.Describe();
  const bool restart = counter_.Record(healthy, EventLoop::Now(), detail);
  const std::string after = counter_.Describe();
  if (!healthy) {
    spdlog::warn("{}: health check failed ({}): {}", name_, after, detail);
  } else if (before != after) {
    spdlog::info("{}: health check passed: {}", name_, after);
  }
  if (restart) {
    done_ = true;
    if (hooks_.on_unhealthy) {
      hooks_.on_unhealthy("health check failed " + std::to_string(counter_.failures()) +
                          " times: " + detail);
    }
    return;  // `this` may be gone
  }
  Schedule();
}

}  // namespace warden
