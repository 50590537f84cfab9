// wardenctl's side of the control socket: a blocking Unix-socket client that says HELLO first
// and then sends one request at a time, waiting for the reply with the same request id.
//
// Errors come in two kinds and callers print them differently:
//   - the daemon answered with an ERROR reply: the Status carries the daemon's code and message,
//     and the connection stays usable;
//   - the daemon could not be reached or understood (connect failed, closed, garbled, timed
//     out): the Status message is a whole sentence naming the socket ("cannot connect to
//     /run/warden/warden.sock: No such file or directory (is wardend running?)") and the
//     connection is dropped.
#pragma once

#include <chrono>
#include <csignal>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "base/status.h"
#include "base/unique_fd.h"
#include "proto/frame.h"
#include "proto/messages.h"

namespace warden::ctl {

inline constexpr std::chrono::milliseconds kConnectTimeout{5000};

class Client {
 public:
  // Connects to the socket at `path` and completes the HELLO handshake, both within `timeout`.
  // `client_name` is HELLO's free text ("wardenctl 0.1.0", "warden-web 0.1.0").
  static Result<Client> Connect(const std::string& path,
                                std::chrono::milliseconds timeout = kConnectTimeout,
                                const std::string& client_name = "wardenctl " WARDEN_VERSION);

  Client(Client&&) = default;
  Client& operator=(Client&&) = default;

  // Sends `payload` as a `type` request and waits for its reply, forever unless `timeout` is
  // given (start and stop answer only when the outcome is known). On success the frame's type
  // is `type | kReplyBit`. See the top of this file for the two kinds of failure; connected()
  // tells them apart afterwards.
  Result<proto::Frame> Call(proto::MessageType type, const std::vector<uint8_t>& payload,
                            std::optional<std::chrono::milliseconds> timeout = std::nullopt);
  // For requests answered by a stream of replies with the request's id (TAIL): sends the
  // request, then calls on_reply with each reply's payload until it returns false. Failures as
  // for Call; an ERROR reply ends the stream.
  //
  // With `idle` and `on_idle`: each time no reply has come for `idle`, on_idle is called (the
  // connection stays); the stream ends, successfully, when it returns false. A proxy uses it to
  // notice that its own client has gone while the stream is quiet.
  using OnReply = std::function<bool(const std::vector<uint8_t>& payload)>;
  using OnIdle = std::function<bool()>;
  Status CallStream(proto::MessageType type, const std::vector<uint8_t>& payload,
                    const OnReply& on_reply,
                    std::optional<std::chrono::milliseconds> idle = std::nullopt,
                    const OnIdle& on_idle = nullptr);

  // Several streams at once, each on a Client of its own (wardenctl logs): StartStream sends a
  // stream request and returns; then, whenever fd() is readable, ReadStream reads what is there
  // (without blocking) and hands each whole reply of that request to on_reply, in order. It
  // returns false once on_reply has returned false (the stream is done), true while it goes on;
  // an ERROR reply, a garbled frame or a closed connection is a failure, as for Call.
  Status StartStream(proto::MessageType type, const std::vector<uint8_t>& payload);
  Result<bool> ReadStream(const OnReply& on_reply);
  int fd() const { return fd_.get(); }
  // Whether the interrupt flag (SetInterruptFlag) is raised: a Ctrl-C in the shell.
  static bool Interrupted();

  // The interactive shell's Ctrl-C: while `*flag` is non-zero, a wait for the daemon that a
  // signal interrupts gives up with "interrupted" (kIo) and drops the connection, so that
  // `tail -f` or a long `start` returns to the prompt. nullptr (the default, and the one-shot
  // command line): interrupted waits resume. Process-wide, as signal handlers are.
  static void SetInterruptFlag(const volatile std::sig_atomic_t* flag);

  bool connected() const { return fd_.valid(); }
  // Whether the daemon has closed this (idle) connection: it exited or restarted since the last
  // request. Does not block.
  bool PeerGone() const;
  const std::string& path() const { return path_; }
  const proto::HelloReply& hello() const { return hello_; }

 private:
  Client(UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}

  using Deadline = std::optional<std::chrono::steady_clock::time_point>;
  Status Send(const std::vector<uint8_t>& bytes, Deadline deadline);
  // A deadline that passes is a transport failure (the connection is dropped), unless
  // `idle_ok`: then it is kTimeout with the connection kept.
  Result<proto::Frame> Receive(uint32_t request_id, Deadline deadline,
                               std::chrono::milliseconds timeout, bool idle_ok = false);
  // The next whole frame for `request_id` the decoder holds (nullopt: it needs more bytes);
  // an ERROR reply for it, or a garbled frame, is the failure.
  Result<std::optional<proto::Frame>> NextFrame(uint32_t request_id);
  // Closes the connection and returns a transport failure.
  Status Fail(ErrorCode code, const std::string& message);
  // After a failed write: the ERROR the daemon sent about the connection before it closed it
  // (request id 0: past its client cap, out of fds), if it is there to read.
  std::optional<Status> PendingRefusal();

  UniqueFd fd_;
  std::string path_;
  proto::FrameDecoder decoder_;
  uint32_t next_request_id_ = 1;
  proto::HelloReply hello_;
  // The PART frames of the reply being received (docs/protocol.md, "Replies over 1 MiB"),
  // up to kMaxReply bytes: more than any configuration wardend can load would need.
  static constexpr size_t kMaxReply = size_t{1} << 30;
  std::vector<uint8_t> parts_;
  uint32_t stream_id_ = 0;  // StartStream's request
  proto::MessageType stream_type_ = proto::MessageType::kTail;
};

// The daemon as commands see it: one request, one reply payload. Session is the real one; tests
// substitute a fake.
class DaemonLink {
 public:
  virtual ~DaemonLink() = default;
  // The payload of the reply to a `type` request. A failure's message is ready to print after
  // "wardenctl: "; its code is the daemon's for an ERROR reply (kNotFound: no such process) and
  // kIo, kProtocol or kTimeout when the daemon could not be reached or understood.
  virtual Result<std::vector<uint8_t>> Call(proto::MessageType type,
                                            const std::vector<uint8_t>& payload) = 0;
  // A request answered by a stream of replies (TAIL): on_reply gets each reply's payload until
  // it returns false. This default serves one reply through Call, which is all a fake needs.
  virtual Status Stream(proto::MessageType type, const std::vector<uint8_t>& payload,
                        const Client::OnReply& on_reply) {
    Result<std::vector<uint8_t>> reply = Call(type, payload);
    if (!reply.ok()) return reply.status();
    on_reply(*reply);
    return Status::Ok();
  }
  // A connection of its own to the same daemon, for reading several streams at once (logs).
  virtual Result<Client> Connect() {
    return Status(ErrorCode::kInternal, "no socket to open another connection to");
  }
  // Between commands of the interactive shell: forget a connection the daemon has closed (it
  // exited or restarted since), so that the next command connects to the daemon that is there
  // now instead of failing once. Not done inside Call, where a command that waits for the
  // daemon to go away (reexec) must see the old connection end.
  virtual void DropIfClosed() {}
};

// Connects on first use and keeps the connection for later calls (the interactive shell); after
// a transport failure the next call connects again.
class Session : public DaemonLink {
 public:
  explicit Session(std::string socket_path) : socket_path_(std::move(socket_path)) {}

  Result<std::vector<uint8_t>> Call(proto::MessageType type,
                                    const std::vector<uint8_t>& payload) override;
  Status Stream(proto::MessageType type, const std::vector<uint8_t>& payload,
                const Client::OnReply& on_reply) override;
  void DropIfClosed() override;
  Result<Client> Connect() override { return Client::Connect(socket_path_); }

  const std::string& socket_path() const { return socket_path_; }

 private:
  std::string socket_path_;
  std::optional<Client> client_;
};

// "status", "start", ... for a request type; used in messages.
const char* RequestName(proto::MessageType type);

// The control socket a client uses (wardenctl and warden-web alike): `socket_option` (-s) when
// given, else $WARDEN_SOCKET, else the `config_option` (-c) file's warden.socket, else the
// default. Only warden.socket must be readable in the config: other problems are one warning
// on `err` (starting with `program`); an unreadable socket has the diagnostics printed there.
Result<std::string> ResolveSocketPath(const std::string& socket_option,
                                      const std::string& config_option, std::ostream& err,
                                      const char* program);

}  // namespace warden::ctl
