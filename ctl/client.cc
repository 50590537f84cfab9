#include "ctl/client.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "config/config.h"
#include "ctl/render.h"

namespace warden::ctl {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

std::string ErrnoText(int err) { return std::strerror(err); }

// See Client::SetInterruptFlag.
const volatile std::sig_atomic_t* g_interrupt_flag = nullptr;

bool Interrupted() { return g_interrupt_flag != nullptr && *g_interrupt_flag != 0; }

std::string SecondsText(milliseconds ms) {
  if (ms.count() % 1000 == 0) {
    auto s = ms.count() / 1000;
    return std::to_string(s) + (s == 1 ? " second" : " seconds");
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f seconds", static_cast<double>(ms.count()) / 1000.0);
  return buf;
}

// Milliseconds left before `deadline` for poll(): -1 for no deadline, 0 once it has passed.
int PollTimeout(const std::optional<steady_clock::time_point>& deadline) {
  if (!deadline) return -1;
  auto left = std::chrono::duration_cast<milliseconds>(*deadline - steady_clock::now()).count();
  if (left <= 0) return 0;
  return left > 0x7fffffff ? 0x7fffffff : static_cast<int>(left);
}

std::string ConnectFailure(const std::string& path, int err) {
  std::string text = "cannot connect to " + path + ": ";
  switch (err) {
    case ENOENT:
    case ECONNREFUSED:
      return text + ErrnoText(err) + " (is wardend running?)";
    case EACCES:
    case EPERM:
      return text + ErrnoText(err) + " (may this user use the socket? see warden.socket_group)";
    case EAGAIN:
      return text + "timed out (wardend is not accepting connections)";
    default:
      return text + ErrnoText(err);
  }
}

}  // namespace

const char* RequestName(proto::MessageType type) {
  switch (type) {
    case proto::MessageType::kHello:
      return "hello";
    case proto::MessageType::kStatus:
      return "status";
    case proto::MessageType::kStart:
      return "start";
    case proto::MessageType::kStop:
      return "stop";
    case proto::MessageType::kRestart:
      return "restart";
    case proto::MessageType::kSignal:
      return "signal";
    case proto::MessageType::kPid:
      return "pid";
    case proto::MessageType::kShow:
      return "show";
    case proto::MessageType::kVersion:
      return "version";
    case proto::MessageType::kShutdown:
      return "shutdown";
    case proto::MessageType::kReexec:
      return "reexec";
    case proto::MessageType::kTail:
      return "tail";
    case proto::MessageType::kEvents:
      return "events";
    case proto::MessageType::kWait:
      return "wait";
    case proto::MessageType::kLogRotate:
      return "logrotate";
    case proto::MessageType::kClear:
      return "clear";
    default:
      return "request";
  }
}

Result<std::string> ResolveSocketPath(const std::string& socket_option,
                                      const std::string& config_option, std::ostream& err,
                                      const char* program) {
  if (!socket_option.empty()) return socket_option;
  if (const char* env = std::getenv("WARDEN_SOCKET"); env != nullptr && *env != '\0') {
    return std::string(env);
  }
  if (!config_option.empty()) {
    // Only warden.socket is needed from the config: a mistake elsewhere in it is a warning, not
    // a refusal (wardend may well be running an older, valid version of the file).
    config::LoadResult loaded = config::LoadConfigFile(config_option);
    if (!loaded.socket) {
      for (const config::Diagnostic& d : loaded.errors) err << d.ToString() << "\n";
      return Status(ErrorCode::kConfig, "cannot take the socket path from " + config_option +
                                            ": its warden.socket cannot be read");
    }
    if (!loaded.errors.empty()) {
      const size_t n = loaded.errors.size();
      err << program << ": warning: " << config_option << " has " << n
          << (n == 1 ? " problem" : " problems") << " (first: " << loaded.errors[0].ToString()
          << "); see 'wardenctl check -c " << config_option << "'\n";
    }
    return *loaded.socket;
  }
  return config::DefaultSocketPath();
}

Result<Client> Client::Connect(const std::string& path, milliseconds timeout,
                               const std::string& client_name) {
  const auto deadline = steady_clock::now() + timeout;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty()) return Status(ErrorCode::kInvalidArgument, "no control socket path given");
  if (path.size() >= sizeof addr.sun_path) {
    return Status(ErrorCode::kIo, "cannot connect to " + path + ": the path is longer than " +
                                      std::to_string(sizeof addr.sun_path - 1) + " bytes");
  }
  std::memcpy(addr.sun_path, path.data(), path.size());

  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return Status(ErrorCode::kIo, "cannot create a socket: " + ErrnoText(errno));
  // A Unix-socket connect blocks only while the listener's backlog is full; SO_SNDTIMEO bounds
  // that wait (EAGAIN), so a wedged daemon cannot hang wardenctl here.
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>(timeout.count() % 1000 * 1000);
  (void)::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  int rc;
  do {
    rc = ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) return Status(ErrorCode::kIo, ConnectFailure(path, errno));
  tv = timeval{};
  (void)::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);

  Client client(std::move(fd), path);
  proto::HelloRequest hello;
  hello.min_version = proto::kProtocolVersion;
  hello.max_version = proto::kProtocolVersion;
  hello.client = client_name;
  auto left = std::chrono::duration_cast<milliseconds>(deadline - steady_clock::now());
  Result<proto::Frame> reply = client.Call(proto::MessageType::kHello, proto::Encode(hello),
                                           std::max(left, milliseconds(1)));
  if (!reply.ok()) {
    if (!client.connected()) return reply.status();
    // An ERROR reply to HELLO: a refusal (too many clients, shutting down, wrong version).
    return Status(reply.status().code(),
                  "wardend on " + path + " refused the connection: " +
                      ErrorText(reply.status().code(), reply.status().message()));
  }
  if (!proto::Decode(reply->payload, &client.hello_)) {
    return client.Fail(ErrorCode::kProtocol,
                       "bad reply from wardend on " + path + ": the HELLO reply is malformed");
  }
  if (client.hello_.version != proto::kProtocolVersion) {
    return client.Fail(ErrorCode::kProtocol, "wardend on " + path + " speaks protocol version " +
                                                 std::to_string(client.hello_.version) +
                                                 "; this wardenctl speaks " +
                                                 std::to_string(proto::kProtocolVersion));
  }
  return client;
}

Result<proto::Frame> Client::Call(proto::MessageType type, const std::vector<uint8_t>& payload,
                                  std::optional<milliseconds> timeout) {
  if (!connected()) return Status(ErrorCode::kIo, "not connected to wardend on " + path_);
  Deadline deadline;
  if (timeout) deadline = steady_clock::now() + *timeout;
  const uint32_t id = next_request_id_++;
  Status sent = Send(proto::EncodeFrame(static_cast<uint16_t>(type), id, payload), deadline);
  if (!sent.ok()) return sent;
  Result<proto::Frame> frame = Receive(id, deadline, timeout.value_or(milliseconds(0)));
  if (!frame.ok()) return frame;
  const uint16_t expected = static_cast<uint16_t>(static_cast<uint16_t>(type) | proto::kReplyBit);
  if (frame->header.type != expected) {
    return Fail(ErrorCode::kProtocol, "bad reply from wardend on " + path_ + ": message type " +
                                          std::to_string(frame->header.type) + " in answer to " +
                                          RequestName(type));
  }
  return frame;
}

Status Client::CallStream(proto::MessageType type, const std::vector<uint8_t>& payload,
                          const OnReply& on_reply, std::optional<milliseconds> idle,
                          const OnIdle& on_idle) {
  if (!connected()) return Status(ErrorCode::kIo, "not connected to wardend on " + path_);
  const uint32_t id = next_request_id_++;
  Status sent = Send(proto::EncodeFrame(static_cast<uint16_t>(type), id, payload), std::nullopt);
  if (!sent.ok()) return sent;
  const uint16_t expected = static_cast<uint16_t>(static_cast<uint16_t>(type) | proto::kReplyBit);
  const bool watch_idle = idle.has_value() && on_idle != nullptr;
  while (true) {
    Deadline deadline;
    if (watch_idle) deadline = steady_clock::now() + *idle;
    Result<proto::Frame> frame = Receive(id, deadline, idle.value_or(milliseconds(0)), watch_idle);
    if (!frame.ok()) {
      if (watch_idle && connected() && frame.status().code() == ErrorCode::kTimeout &&
          frame.status().message().empty()) {
        if (!on_idle()) return Status::Ok();
        continue;
      }
      return frame.status();
    }
    if (frame->header.type != expected) {
      return Fail(ErrorCode::kProtocol, "bad reply from wardend on " + path_ + ": message type " +
                                            std::to_string(frame->header.type) + " in answer to " +
                                            RequestName(type));
    }
    if (!on_reply(frame->payload)) return Status::Ok();
  }
}

Status Client::Send(const std::vector<uint8_t>& bytes, Deadline deadline) {
  size_t done = 0;
  while (done < bytes.size()) {
    pollfd pfd{fd_.get(), POLLOUT, 0};
    int ready = ::poll(&pfd, 1, PollTimeout(deadline));
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) {
      return Fail(ErrorCode::kTimeout, "wardend on " + path_ + " is not reading its socket");
    }
    // MSG_NOSIGNAL: a daemon that went away is an error to report, not a SIGPIPE to die of.
    ssize_t n =
        ::send(fd_.get(), bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
      if (errno == EPIPE || errno == ECONNRESET) {
        if (std::optional<Status> why = PendingRefusal()) return *why;
        return Fail(ErrorCode::kIo, "wardend on " + path_ + " closed the connection");
      }
      return Fail(ErrorCode::kIo, "cannot write to " + path_ + ": " + ErrnoText(errno));
    }
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

Result<std::optional<proto::Frame>> Client::NextFrame(uint32_t request_id) {
  for (;;) {
    proto::Frame frame;
    Status error;
    switch (decoder_.Next(&frame, &error)) {
      case proto::FrameDecoder::Outcome::kFrame: {
        const bool is_error =
            frame.header.type == static_cast<uint16_t>(proto::MessageType::kError);
        // Request id 0 on an ERROR is the daemon speaking about the connection as a whole
        // (e.g. refusing a client past the cap) before it read our request.
        if (frame.header.request_id != request_id && !(is_error && frame.header.request_id == 0)) {
          continue;  // not ours (a late reply to an abandoned request)
        }
        // A reply over 1 MiB comes as PART frames, then the reply (or ERROR) frame with the rest.
        const bool part = frame.header.type == proto::kPartType;
        if (part || !parts_.empty()) {
          if (parts_.size() + frame.payload.size() > kMaxReply) {
            return Fail(ErrorCode::kProtocol, "bad reply from wardend on " + path_ +
                                                  ": a reply over " +
                                                  std::to_string(kMaxReply >> 20) + " MiB");
          }
          parts_.insert(parts_.end(), frame.payload.begin(), frame.payload.end());
          if (part) continue;
          frame.payload = std::move(parts_);
          parts_.clear();
        }
        if (is_error) {
          proto::ErrorReply reply;
          if (!proto::Decode(frame.payload, &reply)) {
            return Fail(ErrorCode::kProtocol,
                        "bad reply from wardend on " + path_ + ": malformed ERROR reply");
          }
          return Status(reply.code, reply.message);
        }
        return std::optional<proto::Frame>(std::move(frame));
      }
      case proto::FrameDecoder::Outcome::kError:
        return Fail(ErrorCode::kProtocol,
                    "bad reply from wardend on " + path_ + ": " + error.message());
      case proto::FrameDecoder::Outcome::kNeedMore:
        return std::optional<proto::Frame>();
    }
  }
}

Result<proto::Frame> Client::Receive(uint32_t request_id, Deadline deadline, milliseconds timeout,
                                     bool idle_ok) {
  for (;;) {
    Result<std::optional<proto::Frame>> next = NextFrame(request_id);
    if (!next.ok()) return next.status();
    if (*next) return std::move(**next);

    // A Ctrl-C that came before the poll started must count too (a small window remains
    // between this check and the poll: the next Ctrl-C covers it).
    if (Interrupted()) return Fail(ErrorCode::kIo, "interrupted");
    pollfd pfd{fd_.get(), POLLIN, 0};
    int ready = ::poll(&pfd, 1, PollTimeout(deadline));
    if (ready < 0) {
      if (errno == EINTR && Interrupted()) return Fail(ErrorCode::kIo, "interrupted");
      if (errno == EINTR) continue;
      return Fail(ErrorCode::kIo, "cannot wait for " + path_ + ": " + ErrnoText(errno));
    }
    if (ready == 0) {
      if (idle_ok) return Status(ErrorCode::kTimeout, "");  // the caller's idle tick
      return Fail(ErrorCode::kTimeout,
                  "no answer from wardend on " + path_ + " within " + SecondsText(timeout));
    }
    // A reply whose header has arrived is read straight into the decoder, all that is missing
    // at once (one allocation of the frame's size, no copy); otherwise a small read finds the
    // header (and, for most replies, all of the frame).
    uint8_t small[4096];
    const size_t missing = decoder_.Missing();
    uint8_t* into = missing > sizeof small ? decoder_.WriteSpace(missing) : small;
    ssize_t n = ::read(fd_.get(), into, into == small ? sizeof small : missing);
    if (into != small) decoder_.Commit(n > 0 ? static_cast<size_t>(n) : 0);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      if (errno == ECONNRESET) {
        return Fail(ErrorCode::kIo, "wardend on " + path_ + " closed the connection");
      }
      return Fail(ErrorCode::kIo, "cannot read from " + path_ + ": " + ErrnoText(errno));
    }
    if (n == 0) return Fail(ErrorCode::kIo, "wardend on " + path_ + " closed the connection");
    if (into == small) decoder_.Feed(small, static_cast<size_t>(n));
  }
}

void Client::SetInterruptFlag(const volatile std::sig_atomic_t* flag) { g_interrupt_flag = flag; }

bool Client::Interrupted() { return ::warden::ctl::Interrupted(); }

Status Client::StartStream(proto::MessageType type, const std::vector<uint8_t>& payload) {
  if (!connected()) return Status(ErrorCode::kIo, "not connected to wardend on " + path_);
  stream_id_ = next_request_id_++;
  stream_type_ = type;
  return Send(proto::EncodeFrame(static_cast<uint16_t>(type), stream_id_, payload), std::nullopt);
}

Result<bool> Client::ReadStream(const OnReply& on_reply) {
  if (!connected()) return Status(ErrorCode::kIo, "not connected to wardend on " + path_);
  uint8_t buf[16384];
  const ssize_t n = ::recv(fd_.get(), buf, sizeof buf, MSG_DONTWAIT);
  if (n < 0 && errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
    if (errno == ECONNRESET) {
      return Fail(ErrorCode::kIo, "wardend on " + path_ + " closed the connection");
    }
    return Fail(ErrorCode::kIo, "cannot read from " + path_ + ": " + ErrnoText(errno));
  }
  if (n == 0) return Fail(ErrorCode::kIo, "wardend on " + path_ + " closed the connection");
  if (n > 0) decoder_.Feed(buf, static_cast<size_t>(n));
  const uint16_t expected =
      static_cast<uint16_t>(static_cast<uint16_t>(stream_type_) | proto::kReplyBit);
  for (;;) {
    Result<std::optional<proto::Frame>> next = NextFrame(stream_id_);
    if (!next.ok()) return next.status();
    if (!*next) return true;  // the rest of a frame is still to come
    const proto::Frame& frame = **next;
    if (frame.header.type != expected) {
      return Fail(ErrorCode::kProtocol, "bad reply from wardend on " + path_ + ": message type " +
                                            std::to_string(frame.header.type) + " in answer to " +
                                            RequestName(stream_type_));
    }
    if (!on_reply(frame.payload)) return false;
  }
}

bool Client::PeerGone() const {
  if (!fd_.valid()) return true;
  pollfd pfd{fd_.get(), POLLIN | POLLRDHUP, 0};
  int n;
  do {
    n = ::poll(&pfd, 1, 0);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) return false;  // nothing pending: still connected
  if ((pfd.revents & (POLLHUP | POLLRDHUP | POLLERR)) != 0) return true;
  // Readable but not hung up: a late reply to an abandoned request (Receive skips it), or the
  // end of the stream on a kernel that does not report POLLRDHUP here.
  uint8_t byte;
  ssize_t got;
  do {
    got = ::recv(fd_.get(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  } while (got < 0 && errno == EINTR);
  return got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

std::optional<Status> Client::PendingRefusal() {
  uint8_t buf[4096];
  for (;;) {
    ssize_t n = ::recv(fd_.get(), buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    decoder_.Feed(buf, static_cast<size_t>(n));
  }
  proto::Frame frame;
  Status error;
  while (decoder_.Next(&frame, &error) == proto::FrameDecoder::Outcome::kFrame) {
    proto::ErrorReply reply;
    if (frame.header.type == static_cast<uint16_t>(proto::MessageType::kError) &&
        frame.header.request_id == 0 && proto::Decode(frame.payload, &reply)) {
      return Status(reply.code, reply.message);
    }
  }
  return std::nullopt;
}

Status Client::Fail(ErrorCode code, const std::string& message) {
  fd_.reset();
  return Status(code, message);
}

Result<std::vector<uint8_t>> Session::Call(proto::MessageType type,
                                           const std::vector<uint8_t>& payload) {
  if (!client_) {
    Result<Client> client = Client::Connect(socket_path_);
    if (!client.ok()) return client.status();
    client_.emplace(std::move(client).value());
  }
  Result<proto::Frame> frame = client_->Call(type, payload);
  if (!frame.ok()) {
    Status status = frame.status();
    if (!client_->connected()) {
      client_.reset();  // the next call connects again
      return status;
    }
    return Status(status.code(), std::string(RequestName(type)) + ": " +
                                     ErrorText(status.code(), status.message()));
  }
  return std::move(frame->payload);
}

void Session::DropIfClosed() {
  if (client_ && client_->PeerGone()) client_.reset();
}

Status Session::Stream(proto::MessageType type, const std::vector<uint8_t>& payload,
                       const Client::OnReply& on_reply) {
  if (!client_) {
    Result<Client> client = Client::Connect(socket_path_);
    if (!client.ok()) return client.status();
    client_.emplace(std::move(client).value());
  }
  Status status = client_->CallStream(type, payload, on_reply);
  if (!status.ok() && !client_->connected()) client_.reset();  // the next call connects again
  return status;
}

}  // namespace warden::ctl
