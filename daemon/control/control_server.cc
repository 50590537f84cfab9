#include "daemon/control/control_server.h"

#include <fcntl.h>
#include <grp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <unordered_set>

#include "daemon/control/access.h"
#include "daemon/control/events.h"
#include "daemon/control/log_requests.h"
#include "daemon/control/wire_types.h"
#include "daemon/os/os.h"
#include "daemon/systemd/notify.h"
#include "proto/frame.h"
#include "proto/messages.h"

namespace warden {

using proto::MessageType;

struct ControlServer::Connection {
  UniqueFd fd;
  proto::FrameDecoder decoder;
  std::vector<uint8_t> out;  // queued reply bytes
  size_t out_pos = 0;
  bool hello_done = false;
  bool closing = false;  // close once `out` is flushed
  bool closed = false;
  bool want_write = false;
  EventLoop::TimerId frame_timer = 0;
  pid_t peer_pid = 0;
  uid_t peer_uid = 0;
  access::Peer peer;  // SO_PEERCRED; its user and groups are looked up at the first check
  // Per-process refusals (access::Decision::refused) to add to the reply of request id.
  std::unordered_map<uint32_t, std::vector<proto::ActionResult>> refused;
  // Requests are numbered as they are served. Those answered with an error because memory ran
  // out while serving them are kept here: a reply their operation still sends later is dropped
  // (one reply per request).
  uint64_t served = 0;
  std::unordered_set<uint64_t> abandoned;
  bool Abandoned(uint64_t serial) { return !abandoned.empty() && abandoned.erase(serial) > 0; }
  std::vector<std::shared_ptr<void>> streams;  // `tail -f` subscriptions; end with the connection
};

namespace {

std::string Errno(const char* what) { return std::string(what) + ": " + strerror(errno); }

uint16_t Type(MessageType t) { return static_cast<uint16_t>(t); }

// Tells a connection that will not be served why (ERROR BUSY, request id 0), best effort.
void Refuse(int fd, const std::string& why) {
  auto bytes = proto::EncodeFrame(Type(MessageType::kError), 0,
                                  proto::Encode(proto::ErrorReply{ErrorCode::kBusy, why}));
  ssize_t ignored = send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  (void)ignored;
}

}  // namespace

ControlServer::ControlServer(EventLoop& loop, Supervisor& supervisor,
                             std::function<void()> request_shutdown)
    : loop_(loop), supervisor_(supervisor), request_shutdown_(std::move(request_shutdown)) {}

ControlServer::~ControlServer() {
  for (auto& [fd, c] : connections_) {
    loop_.Remove(fd);
    loop_.CancelTimer(c->frame_timer);
  }
  connections_.clear();
  if (listen_fd_) loop_.Remove(listen_fd_.get());
  if (bound_) unlink(path_.c_str());
}

Status ControlServer::Listen(const config::Settings& settings) {
  path_ = settings.socket;
  int passed = sd::ListenFds();
  if (passed > 0) {
    int fd = sd::kListenFdsStart;
    if (!sd::IsListeningUnixStream(fd)) {
      return Status(ErrorCode::kIo,
                    "the socket passed by systemd (LISTEN_FDS) is not a "
                    "listening AF_UNIX stream socket");
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    listen_fd_.reset(fd);
    activated_ = true;
    sockaddr_un addr{};
    socklen_t len = sizeof addr;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0 && addr.sun_path[0]) {
      path_ = addr.sun_path;
    }
  } else {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path_.size() >= sizeof addr.sun_path) {
      return Status(ErrorCode::kInvalidArgument, "socket path too long: " + path_);
    }
    std::memcpy(addr.sun_path, path_.c_str(), path_.size() + 1);
    auto slash = path_.rfind('/');
    if (slash != std::string::npos && slash > 0) {
      if (Status s = os::MakeDirs(path_.substr(0, slash)); !s.ok()) return s;
    }

    struct stat st {};
    if (lstat(path_.c_str(), &st) == 0) {
      if (!S_ISSOCK(st.st_mode)) {
        return Status(ErrorCode::kIo, path_ + " exists and is not a socket");
      }
      UniqueFd probe(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
      if (connect(probe.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
        return Status(ErrorCode::kBusy, "another wardend is already listening on " + path_);
      }
      if (errno != ECONNREFUSED && errno != ENOENT) {
        return Status(ErrorCode::kIo, "cannot check " + path_ + ": " + strerror(errno));
      }
      spdlog::info("replacing stale socket {}", path_);
      unlink(path_.c_str());
    }

    UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) return Status(ErrorCode::kIo, Errno("socket"));
    // The mode is set through the umask so the socket is never reachable with wider rights.
    mode_t old_umask = umask(static_cast<mode_t>(~settings.socket_mode & 0777));
    int rc = bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    int bind_errno = errno;
    umask(old_umask);
    if (rc != 0) {
      return Status(ErrorCode::kIo, "cannot bind " + path_ + ": " + strerror(bind_errno));
    }
    bound_ = true;
    chmod(path_.c_str(), settings.socket_mode);
    if (!settings.socket_group.empty()) {
      group* gr = getgrnam(settings.socket_group.c_str());
      if (gr == nullptr) {
        return Status(ErrorCode::kConfig,
                      "socket_group '" + settings.socket_group + "': no such group");
      }
      if (chown(path_.c_str(), static_cast<uid_t>(-1), gr->gr_gid) != 0) {
        return Status(ErrorCode::kIo, "chown " + path_ + ": " + strerror(errno));
      }
    }
    if (listen(fd.get(), 128) != 0) return Status(ErrorCode::kIo, Errno("listen"));
    listen_fd_ = std::move(fd);
  }
  spare_fd_.reset(open("/dev/null", O_RDONLY | O_CLOEXEC));
  return loop_.Add(listen_fd_.get(), EPOLLIN, EventLoop::kPriorityIo,
                   [this](uint32_t) { OnAccept(); });
}

Status ControlServer::Adopt(UniqueFd fd, std::string path, bool bound, bool activated) {
  if (!sd::IsListeningUnixStream(fd.get())) {
    return Status(ErrorCode::kIo, "the kept control socket (fd " + std::to_string(fd.get()) +
                                      ") is not a listening AF_UNIX stream socket");
  }
  fcntl(fd.get(), F_SETFL, fcntl(fd.get(), F_GETFL) | O_NONBLOCK);
  fcntl(fd.get(), F_SETFD, FD_CLOEXEC);
  listen_fd_ = std::move(fd);
  path_ = std::move(path);
  bound_ = bound;
  activated_ = activated;
  spare_fd_.reset(open("/dev/null", O_RDONLY | O_CLOEXEC));
  return loop_.Add(listen_fd_.get(), EPOLLIN, EventLoop::kPriorityIo,
                   [this](uint32_t) { OnAccept(); });
}

void ControlServer::OnAccept() {
  while (true) {
    int fd = accept4(listen_fd_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR) continue;
      if (errno == EMFILE || errno == ENFILE) {
        // Out of fds. The spare fd, given up for a moment, lets the client hear why. Without
        // it the pending connection stays in the backlog: say so and stop accepting for a
        // second (level-triggered epoll would spin).
        // (accept reports EMFILE before it looks at the backlog, so there may be no one.)
        const int error = errno;
        const SpareOutcome spare = RefuseWithSpareFd(error);
        if (spare == SpareOutcome::kRefused) continue;
        if (spare == SpareOutcome::kNothingPending) return;
        spdlog::error("cannot accept control connection: {}", strerror(error));
        (void)loop_.Modify(listen_fd_.get(), 0);
        loop_.AddTimer(EventLoop::Now() + std::chrono::seconds(1),
                       [this] { (void)loop_.Modify(listen_fd_.get(), EPOLLIN); });
      }
      return;
    }
    if (out_of_fds_) {
      spdlog::info("file descriptors available again: serving control connections");
      out_of_fds_ = false;
    }
    auto c = std::make_shared<Connection>();
    c->fd.reset(fd);
    ucred cred{};
    socklen_t len = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
      c->peer_pid = cred.pid;
      c->peer_uid = cred.uid;
      c->peer.pid = cred.pid;
      c->peer.uid = cred.uid;
      c->peer.gid = cred.gid;
    } else {
      c->peer.uid = static_cast<uid_t>(-1);  // unknown: trusted by no rule
      c->peer.gid = static_cast<gid_t>(-1);
    }
    if (connections_.size() >= kMaxClients) {
      spdlog::warn("refusing control connection from pid {}: {} clients connected", c->peer_pid,
                   connections_.size());
      Refuse(fd, "too many clients (" + std::to_string(kMaxClients) + "); try again later");
      continue;  // c goes out of scope: closed
    }
    std::weak_ptr<Connection> weak = c;
    Status added = loop_.Add(fd, EPOLLIN, EventLoop::kPriorityIo, [this, weak](uint32_t events) {
      auto conn = weak.lock();
      if (!conn) return;
      if (events & EPOLLOUT) OnWritable(conn);
      if (!conn->closed && (events & (EPOLLIN | EPOLLHUP | EPOLLERR))) OnReadable(conn);
    });
    if (!added.ok()) continue;
    connections_[fd] = c;
  }
}

ControlServer::SpareOutcome ControlServer::RefuseWithSpareFd(int error) {
  if (!spare_fd_) return SpareOutcome::kUnavailable;
  spare_fd_.reset();
  int fd;
  do {
    fd = accept4(listen_fd_.get(), nullptr, nullptr, SOCK_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  const bool nothing_pending = fd < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  if (fd >= 0) {
    if (!out_of_fds_) {
      spdlog::error(
          "out of file descriptors ({}): refusing control connections until some "
          "are free",
          strerror(error));
      out_of_fds_ = true;
    }
    Refuse(fd, std::string("wardend is out of file descriptors (") + strerror(error) +
                   "); try again later");
    close(fd);
  }
  spare_fd_.reset(open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (fd >= 0) return SpareOutcome::kRefused;
  return nothing_pending ? SpareOutcome::kNothingPending : SpareOutcome::kUnavailable;
}

void ControlServer::OnReadable(const std::shared_ptr<Connection>& c) {
  uint8_t buf[65536];
  while (!c->closed && !c->closing) {
    ssize_t n = recv(c->fd.get(), buf, sizeof buf, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      Close(c);
      return;
    }
    if (n == 0) {  // the client hung up; replies still pending are dropped
      Close(c);
      return;
    }
    c->decoder.Feed(buf, static_cast<size_t>(n));
    while (!c->closed && !c->closing) {
      proto::Frame frame;
      ::warden::Status error;
      auto outcome = c->decoder.Next(&frame, &error);
      if (outcome == proto::FrameDecoder::Outcome::kNeedMore) break;
      if (outcome == proto::FrameDecoder::Outcome::kError) {
        SendError(c, 0, error.code(), error.message(), /*close_after=*/true);
        return;
      }
      HandleFrame(c, frame.header.type, frame.header.request_id, frame.payload);
    }
  }
  if (!c->closed) UpdateFrameTimer(c);
}

void ControlServer::UpdateFrameTimer(const std::shared_ptr<Connection>& c) {
  if (c->decoder.buffered() == 0 || c->closing) {
    loop_.CancelTimer(c->frame_timer);
    c->frame_timer = 0;
    return;
  }
  if (c->frame_timer != 0) return;  // the deadline runs from the frame's first byte
  std::weak_ptr<Connection> weak = c;
  c->frame_timer = loop_.AddTimer(EventLoop::Now() + kFrameTimeout, [this, weak] {
    auto conn = weak.lock();
    if (!conn || conn->closed) return;
    conn->frame_timer = 0;
    SendError(conn, 0, ErrorCode::kTimeout, "frame not completed within 10 s", true);
  });
}

access::Decision ControlServer::CheckAccess(Connection& c, uint16_t type,
                                            const std::vector<uint8_t>& payload) {
  const access::Policy policy(geteuid(), supervisor_.config());
  if (policy.Trusted(c.peer)) return {};
  if (!c.peer.looked_up) {  // once per connection: NSS may be slow
    c.peer.looked_up = true;
    if (auto user = os::LookupUser(std::to_string(c.peer.uid)); user.ok()) {
      c.peer.user = user->name;
      c.peer.groups = std::move(user->groups);
    }
  }
  auto expand = [this](const std::vector<std::string>& names) {
    access::Expansion expansion;
    Supervisor::Resolved resolved = supervisor_.Resolve(names);
    for (const Process* p : resolved.processes) {
      expansion.targets.push_back({p->full_name(), p->program().name});
    }
    expansion.unknown = std::move(resolved.unknown);
    return expansion;
  };
  return access::Check(policy, c.peer, expand, type, payload);
}

void ControlServer::HandleFrame(const std::shared_ptr<Connection>& c, uint16_t type, uint32_t id,
                                const std::vector<uint8_t>& received) {
  const uint64_t serial = ++c->served;
  try {
    Dispatch(c, type, id, serial, received);
  } catch (const std::bad_alloc&) {
    c->refused.erase(id);
    try {
      c->abandoned.insert(serial);
      spdlog::error("out of memory serving a request of control client pid {}", c->peer_pid);
      SendError(c, id, ErrorCode::kBusy, "wardend is out of memory; try again later", false);
    } catch (const std::bad_alloc&) {
      Close(c);  // not even the error fits: the client sees the connection end
    }
  }
}

void ControlServer::Dispatch(const std::shared_ptr<Connection>& c, uint16_t type, uint32_t id,
                             uint64_t serial, const std::vector<uint8_t>& received) {
  auto malformed = [&](const char* what) {
    SendError(c, id, ErrorCode::kInvalidArgument, std::string("malformed ") + what + " request",
              false);
  };
  if (!c->hello_done && type != Type(MessageType::kHello)) {
    SendError(c, id, ErrorCode::kProtocol, "expected HELLO as the first request", true);
    return;
  }
  // Access control (daemon/control/access.h): refused outright, or in part (only the allowed names
  // go on).
  access::Decision access = CheckAccess(*c, type, received);
  if (!access.allowed) {
    spdlog::warn("refused control client pid {}: {}", c->peer_pid, access.message);
    SendError(c, id, ErrorCode::kPermissionDenied, access.message, false);
    return;
  }
  for (const auto& r : access.refused)
    spdlog::warn("refused control client pid {}: {}", c->peer_pid, r.message);
  if (!access.refused.empty()) c->refused[id] = std::move(access.refused);
  const std::vector<uint8_t>& payload = access.payload ? *access.payload : received;
  std::weak_ptr<Connection> weak = c;
  auto reply_later = [this, weak, id, serial](MessageType reply_type) {
    return [this, weak, id, serial, reply_type](ActionOutcomes outcomes) {
      auto conn = weak.lock();
      if (!conn || conn->closed || conn->Abandoned(serial)) return;
      Send(conn, Type(reply_type), id,
           proto::Encode(proto::ActionReply{wire::ToWire(std::move(outcomes))}));
    };
  };

  switch (static_cast<MessageType>(type)) {
    case MessageType::kHello: {
      proto::HelloRequest hello;
      if (!proto::Decode(payload, &hello)) return malformed("HELLO");
      if (hello.min_version > proto::kProtocolVersion ||
          hello.max_version < proto::kProtocolVersion) {
        SendError(c, id, ErrorCode::kProtocol,
                  "no common protocol version (wardend speaks version 1)", true);
        return;
      }
      c->hello_done = true;
      Send(c, Type(MessageType::kHelloReply), id,
           proto::Encode(proto::HelloReply{proto::kProtocolVersion,
                                           std::string("wardend ") + WARDEN_VERSION,
                                           static_cast<uint32_t>(getpid())}));
      return;
    }
    case MessageType::kStatus: {
      proto::StatusRequest request;
      if (!proto::Decode(payload, &request)) return malformed("STATUS");
      Send(c, Type(MessageType::kStatusReply), id,
           proto::Encode(wire::ToWire(supervisor_.Status(request.names))));
      return;
    }
    case MessageType::kStart:
    case MessageType::kStop:
    case MessageType::kRestart: {
      proto::ActionRequest request;
      if (!proto::Decode(payload, &request)) return malformed("action");
      auto reply_type = static_cast<MessageType>(type | proto::kReplyBit);
      if (type == Type(MessageType::kStart)) {
        supervisor_.Start(request.names, reply_later(reply_type));
      } else if (type == Type(MessageType::kStop)) {
        supervisor_.Stop(request.names, reply_later(reply_type));
      } else {
        supervisor_.Restart(request.names, reply_later(reply_type));
      }
      return;
    }
    case MessageType::kSignal: {
      proto::ActionRequest request;
      if (!proto::Decode(payload, &request)) return malformed("SIGNAL");
      if (request.signal <= 0 || request.signal >= 65) {
        SendError(c, id, ErrorCode::kInvalidArgument,
                  "bad signal number " + std::to_string(request.signal), false);
        return;
      }
      Send(c, Type(MessageType::kSignalReply), id,
           proto::Encode(proto::ActionReply{
               wire::ToWire(supervisor_.Signal(request.names, request.signal))}));
      return;
    }
    case MessageType::kPid: {
      proto::PidRequest request;
      if (!proto::Decode(payload, &request)) return malformed("PID");
      std::optional<int> pid =
          request.name.empty() ? std::optional<int>(getpid()) : supervisor_.Pid(request.name);
      if (!pid) {
        SendError(c, id, ErrorCode::kNotFound, request.name + ": no such process", false);
        return;
      }
      Send(c, Type(MessageType::kPidReply), id, proto::Encode(proto::PidReply{*pid}));
      return;
    }
    case MessageType::kVersion:
      Send(c, Type(MessageType::kVersionReply), id,
           proto::Encode(proto::VersionReply{WARDEN_VERSION}));
      return;
    case MessageType::kReread: {
      auto changes = supervisor_.Reread();
      if (!changes.ok()) {
        SendError(c, id, changes.status().code(), changes.status().message(), false);
        return;
      }
      proto::RereadReply reply;
      for (const auto& change : *changes) {
        auto kind = change.kind == config::ProgramChange::Kind::kAdded ? proto::ChangeKind::kAdded
                    : change.kind == config::ProgramChange::Kind::kRemoved
                        ? proto::ChangeKind::kRemoved
                        : proto::ChangeKind::kChanged;
        reply.changes.push_back({change.name, kind, change.restart, change.keys});
      }
      Send(c, Type(MessageType::kRereadReply), id, proto::Encode(reply));
      return;
    }
    case MessageType::kUpdate:
    case MessageType::kReload: {
      proto::ActionRequest request;
      if (type == Type(MessageType::kUpdate) && !proto::Decode(payload, &request)) {
        return malformed("UPDATE");
      }
      if (supervisor_.shutting_down()) {
        SendError(c, id, ErrorCode::kShuttingDown, "wardend is shutting down", false);
        return;
      }
      auto reply_type = static_cast<uint16_t>(type | proto::kReplyBit);
      supervisor_.Update(request.names, [this, weak, id, serial, reply_type](
                                            ::warden::Status status, ActionOutcomes outcomes) {
        auto conn = weak.lock();
        if (!conn || conn->closed || conn->Abandoned(serial)) return;
        if (!status.ok()) {
          SendError(conn, id, status.code(), status.message(), false);
          return;
        }
        Send(conn, reply_type, id,
             proto::Encode(proto::ActionReply{wire::ToWire(std::move(outcomes))}));
      });
      return;
    }
    case MessageType::kShutdown:
      spdlog::info("shutdown requested by pid {} (uid {})", c->peer_pid, c->peer_uid);
      Send(c, Type(MessageType::kShutdownReply), id, {});
      request_shutdown_();
      return;
    case MessageType::kReexec: {
      // daemon/reexec/reexec.h. The reply goes out before the execve; the connection does not
      // survive.
      if (!reexec_check_ || reexec_checking_) {
        SendError(c, id, reexec_check_ ? ErrorCode::kBusy : ErrorCode::kInternal,
                  reexec_check_ ? "a re-execution is being checked already"
                                : "re-execution is not available",
                  false);
        return;
      }
      reexec_checking_ = true;
      reexec_check_([this, weak, id, serial, pid = c->peer_pid, uid = c->peer_uid](Status can) {
        reexec_checking_ = false;
        auto conn = weak.lock();
        if (conn && conn->Abandoned(serial)) conn = nullptr;
        if (!can.ok()) {
          spdlog::warn("reexec requested by pid {} refused: {}", pid, can.message());
          if (conn && !conn->closed) SendError(conn, id, can.code(), can.message(), false);
          return;
        }
        if (!conn || conn->closed) {
          spdlog::warn("reexec requested by pid {}: it left during the checks; not re-executing",
                       pid);
          return;
        }
        spdlog::info("reexec requested by pid {} (uid {})", pid, uid);
        Send(conn, Type(MessageType::kReexecReply), id, {});
        loop_.Post(reexec_run_);
      });
      return;
    }
    case MessageType::kTail:
    case MessageType::kLogRotate:
    case MessageType::kClear: {
      // Logs: daemon/control/log_requests.cc. A `tail -f` stream lives as long as the connection.
      SendFrame send = [this, weak, id](MessageType t, const std::vector<uint8_t>& bytes) {
        auto conn = weak.lock();
        if (!conn || conn->closed) return false;
        Send(conn, Type(t), id, bytes);
        return !conn->closed;
      };
      auto stream = HandleLogRequest(supervisor_, static_cast<MessageType>(type), payload, send);
      if (stream && !c->closed) c->streams.push_back(std::move(stream));
      return;
    }
    case MessageType::kEvents:
    case MessageType::kWait: {
      // Events: daemon/control/events.cc. An EVENTS stream (or a pending WAIT) lives as long as the
      // connection.
      EventSendFrame send = [this, weak, id](MessageType t, const std::vector<uint8_t>& bytes) {
        auto conn = weak.lock();
        if (!conn || conn->closed) return false;
        Send(conn, Type(t), id, bytes);
        return !conn->closed;
      };
      auto stream = HandleEventRequest(supervisor_, static_cast<MessageType>(type), payload, send);
      if (stream && !c->closed) c->streams.push_back(std::move(stream));
      return;
    }
    default:
      SendError(c, id, ErrorCode::kUnknownMessage, "unknown message type " + std::to_string(type),
                false);
      return;
  }
}

void ControlServer::Send(const std::shared_ptr<Connection>& c, uint16_t type, uint32_t id,
                         const std::vector<uint8_t>& payload) {
  if (c->closed) return;
  if (auto it = c->refused.find(id); it != c->refused.end()) {
    auto with_refusals = access::AddRefused(type, payload, it->second);
    c->refused.erase(it);
    Send(c, type, id, with_refusals);
    return;
  }
  if (payload.size() > proto::kMaxPayload) {
    SendError(c, id, ErrorCode::kTooLarge, "reply too large", false);
    return;
  }
  auto bytes = proto::EncodeFrame(type, id, payload);
  if (payload.size() >= kTrimAfterReply) loop_.TrimAfter();  // what building it allocated
  if (c->out.size() - c->out_pos + bytes.size() > kMaxQueuedBytes) {
    spdlog::warn("dropping control client pid {}: it does not read its replies", c->peer_pid);
    Close(c);
    return;
  }
  c->out.insert(c->out.end(), bytes.begin(), bytes.end());
  Flush(c);
}

void ControlServer::SendError(const std::shared_ptr<Connection>& c, uint32_t id, ErrorCode code,
                              const std::string& message, bool close_after) {
  if (close_after) spdlog::info("closing control client pid {}: {}", c->peer_pid, message);
  Send(c, Type(MessageType::kError), id, proto::Encode(proto::ErrorReply{code, message}));
  if (close_after && !c->closed) {
    c->closing = true;
    loop_.CancelTimer(c->frame_timer);
    c->frame_timer = 0;
    if (c->out_pos == c->out.size()) Close(c);
  }
}

void ControlServer::Flush(const std::shared_ptr<Connection>& c) {
  while (c->out_pos < c->out.size()) {
    ssize_t n = send(c->fd.get(), c->out.data() + c->out_pos, c->out.size() - c->out_pos,
                     MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      Close(c);
      return;
    }
    c->out_pos += static_cast<size_t>(n);
  }
  if (c->out_pos == c->out.size()) {
    c->out.clear();
    c->out_pos = 0;
    if (c->closing) {
      Close(c);
      return;
    }
  } else if (c->out_pos > (1u << 16)) {
    c->out.erase(c->out.begin(), c->out.begin() + static_cast<ptrdiff_t>(c->out_pos));
    c->out_pos = 0;
  }
  bool want = !c->out.empty();
  if (want != c->want_write) {
    c->want_write = want;
    (void)loop_.Modify(c->fd.get(), EPOLLIN | (want ? EPOLLOUT : 0u));
  }
}

void ControlServer::OnWritable(const std::shared_ptr<Connection>& c) { Flush(c); }

void ControlServer::Close(const std::shared_ptr<Connection>& c) {
  if (c->closed) return;
  c->closed = true;
  loop_.CancelTimer(c->frame_timer);
  c->frame_timer = 0;
  int fd = c->fd.get();
  loop_.Remove(fd);
  c->fd.reset();
  c->streams.clear();  // may run inside one of the streams' own deliveries: Followers allows it
  connections_.erase(fd);
}

}  // namespace warden
