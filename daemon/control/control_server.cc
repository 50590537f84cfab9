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
#include "daemon/control/connection.h"
#include "daemon/control/events.h"
#include "daemon/control/log_requests.h"
#include "daemon/control/wire_types.h"
#include "daemon/os/os.h"
#include "daemon/systemd/notify.h"
#include "proto/frame.h"
#include "proto/messages.h"

namespace warden {

using proto::MessageType;

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
    loop_.CancelTimer(c->resume_timer);
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
  RefillReserve();
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
  RefillReserve();
  return loop_.Add(listen_fd_.get(), EPOLLIN, EventLoop::kPriorityIo,
                   [this](uint32_t) { OnAccept(); });
}

void ControlServer::OnAccept() {
  bool made_room = false;
  while (true) {
    int fd = accept4(listen_fd_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR) continue;
      if ((errno == EMFILE || errno == ENFILE) && !made_room) {
        // Out of fds: one comes from the reserve, or from the idlest connection, and the
        // client gets it. (accept reports EMFILE before it looks at the backlog, so there may
        // be no one: the freed fd then goes back into the reserve below.)
        const int error = errno;
        if (MakeRoom(error)) {
          made_room = true;
          continue;
        }
        // Nothing to give: the client waits in the backlog. Stop accepting for a second
        // (level-triggered epoll would spin).
        spdlog::error(
            "cannot accept control connection: {}; no reserve fd and no idle "
            "connection to close",
            strerror(error));
        (void)loop_.Modify(listen_fd_.get(), 0);
        loop_.AddTimer(EventLoop::Now() + std::chrono::seconds(1),
                       [this] { (void)loop_.Modify(listen_fd_.get(), EPOLLIN); });
      }
      RefillReserve();
      return;
    }
    if (out_of_fds_ && !made_room && reserve_.size() == kReserveFds) {
      spdlog::info("file descriptors available again: the control socket's reserve is whole");
      out_of_fds_ = false;
    }
    made_room = false;
    auto c = std::make_shared<Connection>();
    c->fd.reset(fd);
    c->last_active = EventLoop::Now();
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
    // Past the cap, a clear refusal (the contract): a client that keeps its connection open
    // keeps its place. Only a shortage of fds makes room by closing idle ones (below).
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

bool ControlServer::MakeRoom(int error) {
  if (!reserve_.empty()) {
    reserve_.pop_back();  // closed: its slot is the lowest free fd, the accept's
    if (!out_of_fds_) {
      spdlog::error("out of file descriptors ({}): serving control clients from the reserve",
                    strerror(error));
      out_of_fds_ = true;
    }
    return true;
  }
  auto idle = Idlest();
  if (!idle) return false;
  Evict(idle, std::string("wardend is out of file descriptors (") + strerror(error) +
                  ") and a new client needed this idle connection's place");
  return true;
}

std::shared_ptr<ControlServer::Connection> ControlServer::Idlest() const {
  const EventLoop::TimePoint now = EventLoop::Now();
  std::shared_ptr<Connection> idlest;
  for (const auto& [fd, c] : connections_) {
    const bool quiet = !c->closed && !c->closing && c->streams.empty() &&
                       c->awaited.use_count() == 1 && c->decoder.buffered() == 0 &&
                       c->out_pos == c->out.size() && now - c->last_active >= kEvictableIdle;
    if (quiet && (!idlest || c->last_active < idlest->last_active)) idlest = c;
  }
  return idlest;
}

void ControlServer::Evict(const std::shared_ptr<Connection>& c, const std::string& why) {
  spdlog::warn("closing idle control client pid {}: {}", c->peer_pid, why);
  Refuse(c->fd.get(), "closed: " + why);
  evicting_ = true;  // its fd is for the client that waits, not for the reserve
  Close(c);
  evicting_ = false;
}

void ControlServer::RefillReserve() {
  while (reserve_.size() < kReserveFds) {
    UniqueFd fd(open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (!fd) return;
    reserve_.push_back(std::move(fd));
  }
}

void ControlServer::OnReadable(const std::shared_ptr<Connection>& c) {
  // While paused, the connection is not watched for input; a hang-up still wakes it (epoll
  // always reports those), and waits for the turn that is already booked.
  if (c->paused || c->closing) return;
  // One read per wakeup: the loop is level-triggered, so more input wakes it again after the
  // other connections had theirs.
  uint8_t buf[65536];
  ssize_t n;
  do {
    n = recv(c->fd.get(), buf, sizeof buf, 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK) Close(c);
    return;
  }
  if (n == 0) {  // the client hung up; replies still pending are dropped
    Close(c);
    return;
  }
  c->last_active = EventLoop::Now();
  c->decoder.Feed(buf, static_cast<size_t>(n));
  ServeBuffered(c);
}

void ControlServer::ServeBuffered(const std::shared_ptr<Connection>& c) {
  // EventLoop::Now(): the monotonic clock, or a simulation's (which does not move within a step,
  // so a simulated run is the same whatever the machine's speed).
  const EventLoop::TimePoint began = EventLoop::Now();
  for (int served = 0; !c->closed && !c->closing && c->decoder.buffered() > 0; ++served) {
    if (served == kRequestsPerTurn || EventLoop::Now() - began >= kWorkPerTurn) {
      ResumeLater(c);
      return;
    }
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
  if (c->closed) return;
  if (c->paused) {
    c->paused = false;
    UpdateInterest(c);
  }
  UpdateFrameTimer(c);
}

void ControlServer::ResumeLater(const std::shared_ptr<Connection>& c) {
  if (!c->paused) {
    c->paused = true;
    UpdateInterest(c);
    // Complete requests are waiting, not a frame in progress: no deadline runs meanwhile.
    loop_.CancelTimer(c->frame_timer);
    c->frame_timer = 0;
  }
  // A timer due now fires at the loop's next wait: the connections ready in this one are
  // served first, and those ready then get their turn right after this one's.
  std::weak_ptr<Connection> weak = c;
  c->resume_timer = loop_.AddTimer(EventLoop::Now(), [this, weak] {
    auto conn = weak.lock();
    if (!conn || conn->closed) return;
    conn->resume_timer = 0;
    ServeBuffered(conn);
  });
}

void ControlServer::UpdateInterest(const std::shared_ptr<Connection>& c) {
  if (!c->fd.valid()) return;  // a local client (OpenLocal): nothing is watched
  // Closing: nothing more is read, so input must not wake the loop (it is level-triggered).
  const uint32_t want = (c->paused || c->closing ? 0u : static_cast<uint32_t>(EPOLLIN)) |
                        (c->want_write ? static_cast<uint32_t>(EPOLLOUT) : 0u);
  if (want == c->interest) return;
  c->interest = want;
  (void)loop_.Modify(c->fd.get(), want);
}

void ControlServer::UpdateFrameTimer(const std::shared_ptr<Connection>& c) {
  if (c->decoder.buffered() == 0 || c->closing) {
    loop_.CancelTimer(c->frame_timer);
    c->frame_timer = 0;
    return;
  }
  if (c->frame_timer != 0 || c->paused) return;  // the deadline runs from the frame's first byte
  std::weak_ptr<Connection> weak = c;
  c->frame_timer = loop_.AddTimer(EventLoop::Now() + kFrameTimeout, [this, weak] {
    auto conn = weak.lock();
    if (!conn || conn->closed) return;
    conn->frame_timer = 0;
    SendError(conn, 0, ErrorCode::kTimeout, "frame not completed within 10 s", true);
  });
}

void ControlServer::Send(const std::shared_ptr<Connection>& c, uint16_t type, uint32_t id,
                         const std::vector<uint8_t>& payload) {
  if (c->closed || c->dropped) return;
  // Over 1 MiB: PART frames, then the reply frame with the rest (docs/protocol.md).
  auto bytes = proto::EncodeReplyFrames(type, id, payload);
  if (payload.size() >= kTrimAfterReply) loop_.TrimAfter();  // what building it allocated
  if (c->sink) return c->sink(bytes);                        // a local client: nothing to queue
  // The cap is on what waits before this reply: one reply, however large, always fits, so
  // every legal configuration can be answered; a client that does not read loses its
  // connection once earlier replies pile up.
  if (c->out.size() - c->out_pos > kMaxQueuedBytes) {
    DropSlow(c, "it does not read its replies (" + std::to_string(kMaxQueuedBytes >> 20) +
                    " MiB queued for it)");
    return;
  }
  Queue(c, bytes);
  Flush(c);
  if (queued_total_ > kMaxQueuedTotal) ShedOutput();
}

void ControlServer::Queue(const std::shared_ptr<Connection>& c, const std::vector<uint8_t>& bytes) {
  // Frame by frame (a reply over 1 MiB is several): each one's end, for DropSlow.
  uint64_t end = c->out_base + c->out.size();
  for (size_t at = 0; at + proto::kHeaderSize <= bytes.size();) {
    const size_t length = (size_t{bytes[at + 12]} << 24) | (size_t{bytes[at + 13]} << 16) |
                          (size_t{bytes[at + 14]} << 8) | size_t{bytes[at + 15]};
    at += proto::kHeaderSize + length;
    c->frame_ends.push_back(end + std::min(at, bytes.size()));
  }
  c->out.insert(c->out.end(), bytes.begin(), bytes.end());
  Account(*c);
}

void ControlServer::Account(Connection& c) {
  // The memory the queue holds, not only what it queues: a vector grows by doubling.
  queued_total_ = queued_total_ - c.accounted + c.out.capacity();
  c.accounted = c.out.capacity();
}

void ControlServer::DropSlow(const std::shared_ptr<Connection>& c, const std::string& why) {
  spdlog::warn("dropping control client pid {}: {}", c->peer_pid, why);
  c->dropped = true;
  c->streams.clear();  // no more output for it (may run inside one of the streams' deliveries)
  // Keep the rest of the frame it is in the middle of, so that what it reads stays whole
  // frames, then the error.
  ForgetSent(*c);
  const uint64_t sent = c->out_base + c->out_pos;
  const uint64_t keep_to =
      c->sent_boundary == sent || c->frame_ends.empty() ? sent : c->frame_ends.front();
  const auto keep = static_cast<size_t>(keep_to - c->out_base);
  c->out.resize(keep);
  c->out.shrink_to_fit();
  Account(*c);
  c->frame_ends.clear();
  if (keep_to != sent) c->frame_ends.push_back(keep_to);
  Queue(c,
        proto::EncodeFrame(Type(MessageType::kError), 0,
                           proto::Encode(proto::ErrorReply{ErrorCode::kBusy, "dropped: " + why})));
  c->closing = true;
  loop_.CancelTimer(c->frame_timer);
  c->frame_timer = 0;
  Flush(c);  // closes it once all is sent
  if (c->closed) return;
  // A client that reads nothing at all is closed anyway.
  std::weak_ptr<Connection> weak = c;
  c->frame_timer = loop_.AddTimer(EventLoop::Now() + kFrameTimeout, [this, weak] {
    auto conn = weak.lock();
    if (!conn || conn->closed) return;
    conn->frame_timer = 0;
    Close(conn);
  });
}

void ControlServer::ShedOutput() {
  while (queued_total_ > kMaxQueuedTotal) {
    // The connection holding the most goes first, whether it was dropped already or not: a
    // dropped client still holds the rest of its frame and the error until it reads them, and
    // a crowd of them that read nothing would otherwise keep the total over the budget for
    // their 10 s, while every client that asked meanwhile was dropped in turn, however little
    // it held. A dropped one is closed at once (it will not hear why).
    std::shared_ptr<Connection> slowest;
    size_t most = 0;
    for (const auto& [fd, c] : connections_) {
      if (!c->closed && c->accounted > most) {
        most = c->accounted;
        slowest = c;
      }
    }
    if (!slowest) return;
    if (slowest->dropped) {
      spdlog::warn(
          "closing dropped control client pid {} at once ({} bytes held for it): the "
          "output queued for all clients is over {} MiB",
          slowest->peer_pid, most, kMaxQueuedTotal >> 20);
      Close(slowest);
      continue;
    }
    DropSlow(slowest, "it reads slowest (" + std::to_string(most) +
                          " bytes held for it) while the output queued for all clients "
                          "passed " +
                          std::to_string(kMaxQueuedTotal >> 20) + " MiB");
  }
}

void ControlServer::ForgetSent(Connection& c) {
  const uint64_t sent = c.out_base + c.out_pos;
  while (!c.frame_ends.empty() && c.frame_ends.front() <= sent) {
    c.sent_boundary = c.frame_ends.front();
    c.frame_ends.pop_front();
  }
}

void ControlServer::SendError(const std::shared_ptr<Connection>& c, uint32_t id, ErrorCode code,
                              const std::string& message, bool close_after) {
  if (close_after) spdlog::info("closing control client pid {}: {}", c->peer_pid, message);
  Send(c, Type(MessageType::kError), id, proto::Encode(proto::ErrorReply{code, message}));
  if (close_after && !c->closed) {
    c->closing = true;
    loop_.CancelTimer(c->frame_timer);
    c->frame_timer = 0;
    if (c->out_pos == c->out.size()) {
      Close(c);
    } else {
      UpdateInterest(c);
    }
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
    c->last_active = EventLoop::Now();
  }
  ForgetSent(*c);
  if (c->out_pos == c->out.size()) {
    c->out_base += c->out.size();
    // A big reply's buffer is not kept for the next small one.
    if (c->out.capacity() > (1u << 16)) {
      c->out = {};
    } else {
      c->out.clear();
    }
    c->out_pos = 0;
    Account(*c);
    if (c->closing) {
      Close(c);
      return;
    }
  } else if (c->out_pos > (1u << 16)) {
    c->out.erase(c->out.begin(), c->out.begin() + static_cast<ptrdiff_t>(c->out_pos));
    c->out_base += c->out_pos;
    c->out_pos = 0;
    Account(*c);
  }
  c->want_write = !c->out.empty();
  UpdateInterest(c);
}

void ControlServer::OnWritable(const std::shared_ptr<Connection>& c) { Flush(c); }

void ControlServer::Close(const std::shared_ptr<Connection>& c) {
  if (c->closed) return;
  c->closed = true;
  loop_.CancelTimer(c->frame_timer);
  c->frame_timer = 0;
  loop_.CancelTimer(c->resume_timer);
  c->resume_timer = 0;
  int fd = c->fd.get();
  c->fd.reset();
  c->out_base += c->out.size();
  c->out = {};
  Account(*c);
  c->out_pos = 0;
  c->frame_ends.clear();
  c->streams.clear();  // may run inside one of the streams' own deliveries: Followers allows it
  if (fd >= 0) {       // a local client has none
    loop_.Remove(fd);
    connections_.erase(fd);
    if (reserve_.size() < kReserveFds && !evicting_) RefillReserve();
  }
}

std::shared_ptr<void> ControlServer::OpenLocal(access::Peer peer, FrameSink sink) {
  auto c = std::make_shared<Connection>();
  c->peer_pid = peer.pid;
  c->peer_uid = peer.uid;
  c->peer = std::move(peer);
  c->sink = std::move(sink);
  return std::shared_ptr<void>(c, c.get());
}

void ControlServer::Feed(const std::shared_ptr<void>& local, const std::vector<uint8_t>& bytes) {
  auto c = std::static_pointer_cast<Connection>(local);
  if (c->closed || c->closing) return;
  c->decoder.Feed(bytes.data(), bytes.size());
  if (!c->paused) ServeBuffered(c);  // paused: its next turn is booked already
}

}  // namespace warden
