// Readiness watches: notify socket, readiness pipe, tcp probe. See readiness.h.
#include "daemon/supervisor/readiness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>

namespace warden {
namespace {

// systemd's own limits for one notification: PIPE_BUF bytes and 768 fds (systemd.md §1).
constexpr size_t kNotifyBufferMax = 4096;
constexpr size_t kNotifyFdMax = 768;
constexpr std::chrono::milliseconds kProbeAttempt{1000};
constexpr std::chrono::milliseconds kProbeMaxDelay{1000};

void SetVariable(std::vector<std::string>& env, const std::string& key, const std::string& value) {
  const std::string prefix = key + "=";
  for (auto& entry : env) {
    if (entry.compare(0, prefix.size(), prefix) == 0) {
      entry = prefix + value;
      return;
    }
  }
  env.push_back(prefix + value);
}

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

}  // namespace

Result<std::unique_ptr<ReadinessWatch>> ReadinessWatch::Prepare(EventLoop& loop,
                                                                const Options& options,
                                                                os::SpawnSpec* spec,
                                                                Callbacks callbacks) {
  if (options.mode == config::ReadyMode::kStartsecs) return std::unique_ptr<ReadinessWatch>();
  std::unique_ptr<ReadinessWatch> watch(new ReadinessWatch(loop, options, std::move(callbacks)));
  ReadinessWatch* w = watch.get();
  std::weak_ptr<bool> alive = w->alive_;

  switch (options.mode) {
    case config::ReadyMode::kStartsecs:
      break;
    case config::ReadyMode::kNotify: {
      sockaddr_un addr{};
      addr.sun_family = AF_UNIX;
      const std::string& path = options.notify_path;
      if (path.empty() || path.size() >= sizeof addr.sun_path) {
        return Status(ErrorCode::kInvalidArgument,
                      "notify socket path too long (" + std::to_string(path.size()) +
                          " bytes; a socket path must be under 108): " + path);
      }
      std::memcpy(addr.sun_path, path.data(), path.size());
      if (unlink(path.c_str()) != 0 && errno != ENOENT) return Status(ErrorCode::kIo, Errno(path));
      UniqueFd fd(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
      if (!fd) return Status(ErrorCode::kIo, Errno("notify socket"));
      // Credentials must be attached by the kernel from the first datagram on.
      int one = 1;
      if (setsockopt(fd.get(), SOL_SOCKET, SO_PASSCRED, &one, sizeof one) != 0) {
        return Status(ErrorCode::kIo, Errno("SO_PASSCRED"));
      }
      // Created 0600 from the start (wardend is single-threaded: the umask is ours to borrow).
      const mode_t old_umask = umask(0177);
      const int rc = bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
      const int bind_errno = errno;
      umask(old_umask);
      if (rc != 0) {
        errno = bind_errno;
        return Status(ErrorCode::kIo, Errno("bind " + path));
      }
      if (chown(path.c_str(), options.uid, options.gid) != 0 && geteuid() == 0) {
        const std::string why = Errno("chown " + path);
        unlink(path.c_str());
        return Status(ErrorCode::kIo, why);
      }
      Status added = loop.Add(fd.get(), EPOLLIN, EventLoop::kPriorityIo, [w, alive](uint32_t) {
        if (!alive.expired()) w->OnNotifyReadable();
      });
      if (!added.ok()) {
        unlink(path.c_str());
        return added;
      }
      w->fd_ = std::move(fd);
      w->watching_ = true;
      SetVariable(spec->env, "NOTIFY_SOCKET", path);
      break;
    }
    case config::ReadyMode::kFd: {
      int fds[2];
      if (pipe2(fds, O_CLOEXEC) != 0) return Status(ErrorCode::kIo, Errno("readiness pipe"));
      UniqueFd read_end(fds[0]);
      w->pipe_write_.reset(fds[1]);
      fcntl(read_end.get(), F_SETFL, fcntl(read_end.get(), F_GETFL) | O_NONBLOCK);
      Status added =
          loop.Add(read_end.get(), EPOLLIN, EventLoop::kPriorityIo, [w, alive](uint32_t) {
            if (!alive.expired()) w->OnPipeReadable();
          });
      if (!added.ok()) return added;
      w->fd_ = std::move(read_end);
      w->watching_ = true;
      spec->ready_fd = w->pipe_write_.get();
      spec->ready_fd_target = options.fd;
      break;
    }
    case config::ReadyMode::kTcp:
      break;  // nothing to hand over: the probe starts after the spawn
  }
  return watch;
}

ReadinessWatch::~ReadinessWatch() {
  *alive_ = false;
  if (watching_) loop_.Remove(fd_.get());
  loop_.CancelTimer(timer_);
  if (options_.mode == config::ReadyMode::kNotify) unlink(options_.notify_path.c_str());
}

void ReadinessWatch::Started() {
  pipe_write_.reset();  // the child has its copy; ours would keep EOF from ever coming
  if (options_.mode == config::ReadyMode::kTcp) {
    std::weak_ptr<bool> alive = alive_;
    timer_ = loop_.AddTimer(EventLoop::Now() + probe_delay_, [this, alive] {
      if (alive.expired()) return;
      timer_ = 0;
      Probe();
    });
  }
}

void ReadinessWatch::Ready() {
  ready_ = true;
  if (callbacks_.on_ready) callbacks_.on_ready();
}

// --- notify ---------------------------------------------------------------------------------

void ReadinessWatch::OnNotifyReadable() {
  std::weak_ptr<bool> alive = alive_;
  char buf[kNotifyBufferMax];
  // Room for the credentials and the most fds systemd accepts in one message.
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred)) + CMSG_SPACE(sizeof(int) * kNotifyFdMax)];
  while (!alive.expired()) {
    iovec iov{buf, sizeof buf};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    const ssize_t n = recvmsg(fd_.get(), &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;  // EAGAIN: drained
    }
    // Every fd passed is closed first, whatever the message: the sender may be waiting for that
    // (BARRIER=1), and we keep none. Fds that did not fit (MSG_CTRUNC) the kernel closed.
    bool have_credentials = false;
    ucred credentials{};
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET) continue;
      if (c->cmsg_type == SCM_RIGHTS) {
        const size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < count; ++i) {
          int passed = -1;
          std::memcpy(&passed, CMSG_DATA(c) + i * sizeof(int), sizeof passed);
          if (passed >= 0) close(passed);
        }
      } else if (c->cmsg_type == SCM_CREDENTIALS && c->cmsg_len >= CMSG_LEN(sizeof credentials)) {
        std::memcpy(&credentials, CMSG_DATA(c), sizeof credentials);
        have_credentials = true;
      }
    }
    if (msg.msg_flags & MSG_TRUNC) {
      spdlog::warn("{}: notification over {} bytes ignored", options_.name, kNotifyBufferMax);
      continue;
    }
    // The socket is 0600 and the child's: only its user (or root) can send. The pid is never
    // used: systemd-notify sends with its own, or its parent's.
    if (have_credentials && credentials.uid != options_.uid && credentials.uid != 0) {
      spdlog::warn("{}: notification from uid {} (pid {}) ignored", options_.name, credentials.uid,
                   credentials.pid);
      continue;
    }
    HandleNotifyMessage(std::string(buf, static_cast<size_t>(n)));
  }
}

void ReadinessWatch::HandleNotifyMessage(const std::string& text) {
  std::weak_ptr<bool> alive = alive_;
  std::string_view rest = text;
  while (!rest.empty() && !alive.expired()) {
    const size_t end = rest.find('\n');
    const std::string_view line = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    if (line == "READY=1") {
      spdlog::debug("{}: READY=1", options_.name);
      Ready();
    } else if (line.rfind("STATUS=", 0) == 0) {
      if (callbacks_.on_status) callbacks_.on_status(std::string(line.substr(7)));
    } else if (line == "WATCHDOG=1" || line == "WATCHDOG=trigger") {
      if (callbacks_.on_watchdog) callbacks_.on_watchdog(line == "WATCHDOG=trigger");
    }
    // MAINPID=, STOPPING=1, FDSTORE=1, ... are not acted on: wardend watches the process it
    // started.
  }
}

// --- fd:N -----------------------------------------------------------------------------------

void ReadinessWatch::OnPipeReadable() {
  char buf[512];
  while (true) {
    const ssize_t n = read(fd_.get(), buf, sizeof buf);
    if (n > 0) {
      if (std::memchr(buf, '\n', static_cast<size_t>(n)) != nullptr) {
        loop_.Remove(fd_.get());
        watching_ = false;
        fd_.reset();
        spdlog::debug("{}: readiness newline on fd {}", options_.name, options_.fd);
        Ready();
        return;
      }
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) {  // closed without a newline: never ready this way
      loop_.Remove(fd_.get());
      watching_ = false;
      fd_.reset();
    }
    return;
  }
}

// --- tcp ------------------------------------------------------------------------------------

void ReadinessWatch::Probe() {
  fd_.reset(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd_) {
    ProbeFailed();
    return;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(options_.port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd_.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) {
    fd_.reset();
    spdlog::debug("{}: 127.0.0.1:{} accepts connections", options_.name, options_.port);
    Ready();
    return;
  }
  if (errno != EINPROGRESS) {
    ProbeFailed();
    return;
  }
  std::weak_ptr<bool> alive = alive_;
  Status added = loop_.Add(fd_.get(), EPOLLOUT, EventLoop::kPriorityIo, [this, alive](uint32_t) {
    if (!alive.expired()) OnProbeWritable();
  });
  if (!added.ok()) {
    ProbeFailed();
    return;
  }
  watching_ = true;
  timer_ = loop_.AddTimer(EventLoop::Now() + kProbeAttempt, [this, alive] {
    if (alive.expired()) return;
    timer_ = 0;
    loop_.Remove(fd_.get());
    watching_ = false;
    ProbeFailed();
  });
}

void ReadinessWatch::OnProbeWritable() {
  int error = 0;
  socklen_t len = sizeof error;
  if (getsockopt(fd_.get(), SOL_SOCKET, SO_ERROR, &error, &len) != 0) error = errno;
  loop_.Remove(fd_.get());
  watching_ = false;
  loop_.CancelTimer(timer_);
  timer_ = 0;
  if (error != 0) {
    ProbeFailed();
    return;
  }
  fd_.reset();
  spdlog::debug("{}: 127.0.0.1:{} accepts connections", options_.name, options_.port);
  Ready();
}

void ReadinessWatch::ProbeFailed() {
  fd_.reset();
  std::weak_ptr<bool> alive = alive_;
  timer_ = loop_.AddTimer(EventLoop::Now() + probe_delay_, [this, alive] {
    if (alive.expired()) return;
    timer_ = 0;
    Probe();
  });
  probe_delay_ = std::min(probe_delay_ * 2, kProbeMaxDelay);
}

}  // namespace warden

// --- re-execution ---------------------------------------------------------------------------

namespace warden {

Result<std::unique_ptr<ReadinessWatch>> ReadinessWatch::Adopt(EventLoop& loop,
                                                              const Options& options, UniqueFd fd,
                                                              bool ready, Callbacks callbacks) {
  std::unique_ptr<ReadinessWatch> watch(new ReadinessWatch(loop, options, std::move(callbacks)));
  ReadinessWatch* w = watch.get();
  std::weak_ptr<bool> alive = w->alive_;
  w->ready_ = ready;
  if (fd) {
    fcntl(fd.get(), F_SETFD, FD_CLOEXEC);
    fcntl(fd.get(), F_SETFL, fcntl(fd.get(), F_GETFL) | O_NONBLOCK);
    const bool notify = options.mode == config::ReadyMode::kNotify;
    Status added =
        loop.Add(fd.get(), EPOLLIN, EventLoop::kPriorityIo, [w, alive, notify](uint32_t) {
          if (alive.expired()) return;
          if (notify) {
            w->OnNotifyReadable();
          } else {
            w->OnPipeReadable();
          }
        });
    if (!added.ok()) return added;
    w->fd_ = std::move(fd);
    w->watching_ = true;
  }
  if (options.mode == config::ReadyMode::kTcp && !ready) w->Started();
  return watch;
}

}  // namespace warden
