// Client against a scripted daemon on a real Unix socket: handshake, request ids, error
// replies, refusals, a daemon that goes away, and the connect errors users see.
#include "ctl/client.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <thread>

#include <gtest/gtest.h>

#include "proto/log_messages.h"

namespace warden::ctl {
namespace {

using proto::MessageType;

// A listening socket in a fresh temporary folder.
class TempSocket {
 public:
  TempSocket() {
    char tmpl[] = "/tmp/wardenctl-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
    path_ = dir_ + "/w.sock";
  }
  ~TempSocket() {
    unlink(path_.c_str());
    rmdir(dir_.c_str());
  }
  const std::string& path() const { return path_; }

  UniqueFd Listen() const {
    UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path_.c_str());
    EXPECT_EQ(bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(listen(fd.get(), 8), 0);
    return fd;
  }

 private:
  std::string dir_;
  std::string path_;
};

// One side of a connection, as the daemon sees it.
class Peer {
 public:
  explicit Peer(int fd) : fd_(fd) {}

  // The next frame, or nullopt at EOF.
  std::optional<proto::Frame> Read() {
    for (;;) {
      proto::Frame frame;
      Status error;
      if (decoder_.Next(&frame, &error) == proto::FrameDecoder::Outcome::kFrame) return frame;
      uint8_t buf[4096];
      ssize_t n = read(fd_, buf, sizeof buf);
      if (n <= 0) return std::nullopt;
      decoder_.Feed(buf, static_cast<size_t>(n));
    }
  }

  void Write(uint16_t type, uint32_t id, const std::vector<uint8_t>& payload) {
    std::vector<uint8_t> bytes = proto::EncodeFrame(type, id, payload);
    ASSERT_EQ(write(fd_, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  }
  void WriteRaw(const std::vector<uint8_t>& bytes) {
    ASSERT_EQ(write(fd_, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  }
  void Reply(const proto::Frame& request, const std::vector<uint8_t>& payload) {
    Write(static_cast<uint16_t>(request.header.type | proto::kReplyBit), request.header.request_id,
          payload);
  }
  void Error(uint32_t id, ErrorCode code, const std::string& message) {
    proto::ErrorReply e;
    e.code = code;
    e.message = message;
    Write(static_cast<uint16_t>(MessageType::kError), id, proto::Encode(e));
  }

  // Reads HELLO and answers it as wardend 4242 would.
  void Handshake() {
    std::optional<proto::Frame> hello = Read();
    ASSERT_TRUE(hello.has_value());
    ASSERT_EQ(hello->header.type, static_cast<uint16_t>(MessageType::kHello));
    proto::HelloRequest request;
    ASSERT_TRUE(proto::Decode(hello->payload, &request));
    EXPECT_EQ(request.min_version, 1);
    EXPECT_EQ(request.client, "wardenctl " WARDEN_VERSION);
    proto::HelloReply reply;
    reply.server = "wardend test";
    reply.daemon_pid = 4242;
    Reply(*hello, proto::Encode(reply));
  }

 private:
  int fd_;
  proto::FrameDecoder decoder_;
};

// Serves `connections` connections one after another, each with `script`, on its own thread.
class ScriptedDaemon {
 public:
  ScriptedDaemon(const TempSocket& socket, std::function<void(Peer&)> script, int connections = 1)
      : listen_(socket.Listen()) {
    thread_ = std::thread([this, script, connections] {
      for (int i = 0; i < connections; ++i) {
        UniqueFd conn(accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC));
        if (!conn) return;
        Peer peer(conn.get());
        script(peer);
      }
    });
  }
  ~ScriptedDaemon() { thread_.join(); }

 private:
  UniqueFd listen_;
  std::thread thread_;
};

TEST(Client, MissingSocketSaysWhyAndHints) {
  TempSocket socket;
  Result<Client> client = Client::Connect(socket.path());
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.status().code(), ErrorCode::kIo);
  EXPECT_EQ(client.status().message(), "cannot connect to " + socket.path() +
                                           ": No such file or directory (is wardend running?)");
}

TEST(Client, StaleSocketIsConnectionRefused) {
  TempSocket socket;
  { UniqueFd listener = socket.Listen(); }  // bound, then closed: the file stays behind
  Result<Client> client = Client::Connect(socket.path());
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.status().message(),
            "cannot connect to " + socket.path() + ": Connection refused (is wardend running?)");
}

TEST(Client, TooLongPath) {
  Result<Client> client = Client::Connect("/tmp/" + std::string(200, 'x'));
  ASSERT_FALSE(client.ok());
  EXPECT_NE(client.status().message().find("the path is longer than 107 bytes"), std::string::npos);
}

TEST(Client, HandshakeThenCallsMatchedById) {
  TempSocket socket;
  ScriptedDaemon daemon(socket, [](Peer& peer) {
    peer.Handshake();
    std::optional<proto::Frame> status = peer.Read();
    ASSERT_TRUE(status.has_value());
    EXPECT_EQ(status->header.type, static_cast<uint16_t>(MessageType::kStatus));
    proto::StatusReply reply;
    reply.unknown_names = {"late"};
    // A reply to some other request id first: the client must skip it.
    peer.Write(static_cast<uint16_t>(MessageType::kStatusReply), status->header.request_id + 100,
               proto::Encode(reply));
    reply.unknown_names = {"right"};
    peer.Reply(*status, proto::Encode(reply));
    EXPECT_FALSE(peer.Read().has_value());  // the client hangs up
  });

  Result<Client> client = Client::Connect(socket.path());
  ASSERT_TRUE(client.ok()) << client.status().message();
  EXPECT_EQ(client->hello().daemon_pid, 4242u);
  EXPECT_EQ(client->hello().server, "wardend test");
  Result<proto::Frame> frame =
      client->Call(MessageType::kStatus, proto::Encode(proto::StatusRequest{}));
  ASSERT_TRUE(frame.ok()) << frame.status().message();
  EXPECT_EQ(frame->header.type, static_cast<uint16_t>(MessageType::kStatusReply));
  proto::StatusReply reply;
  ASSERT_TRUE(proto::Decode(frame->payload, &reply));
  EXPECT_EQ(reply.unknown_names, std::vector<std::string>{"right"});
  EXPECT_TRUE(client->connected());
}

TEST(Client, AReplyInPartsIsPutBackTogether) {
  // A STATUS reply over 1 MiB (docs/protocol.md, "Replies over 1 MiB"): PART frames, then the
  // reply frame with the rest. Another request's reply may come before the parts.
  proto::StatusReply big;
  for (int i = 0; i < 12000; ++i) {
    proto::ProcessInfo p;
    p.name = "worker_" + std::to_string(i);
    p.group = "pool";
    p.reason = std::string(60, 'r');
    big.processes.push_back(std::move(p));
  }
  const std::vector<uint8_t> payload = proto::Encode(big);
  ASSERT_GT(payload.size(), proto::kMaxPayload);
  TempSocket socket;
  ScriptedDaemon daemon(socket, [&payload](Peer& peer) {
    peer.Handshake();
    std::optional<proto::Frame> status = peer.Read();
    ASSERT_TRUE(status.has_value());
    peer.Write(static_cast<uint16_t>(MessageType::kPidReply), status->header.request_id + 7,
               proto::Encode(proto::PidReply{1}));
    peer.WriteRaw(proto::EncodeReplyFrames(static_cast<uint16_t>(MessageType::kStatusReply),
                                           status->header.request_id, payload));
    EXPECT_FALSE(peer.Read().has_value());
  });

  Result<Client> client = Client::Connect(socket.path());
  ASSERT_TRUE(client.ok()) << client.status().message();
  Result<proto::Frame> frame =
      client->Call(MessageType::kStatus, proto::Encode(proto::StatusRequest{}));
  ASSERT_TRUE(frame.ok()) << frame.status().message();
  EXPECT_EQ(frame->header.type, static_cast<uint16_t>(MessageType::kStatusReply));
  EXPECT_EQ(frame->payload, payload);
}

TEST(Client, AnErrorInPartsIsPutBackTogether) {
  // REREAD of a big broken config: an ERROR whose message passes 1 MiB comes in parts too.
  const std::string message(proto::kMaxPayload + 1000, 'e');
  TempSocket socket;
  ScriptedDaemon daemon(socket, [&message](Peer& peer) {
    peer.Handshake();
    std::optional<proto::Frame> reread = peer.Read();
    ASSERT_TRUE(reread.has_value());
    peer.WriteRaw(proto::EncodeReplyFrames(
        static_cast<uint16_t>(MessageType::kError), reread->header.request_id,
        proto::Encode(proto::ErrorReply{ErrorCode::kConfig, message})));
    EXPECT_FALSE(peer.Read().has_value());
  });

  Result<Client> client = Client::Connect(socket.path());
  ASSERT_TRUE(client.ok()) << client.status().message();
  Result<proto::Frame> frame = client->Call(MessageType::kReread, {});
  ASSERT_FALSE(frame.ok());
  EXPECT_EQ(frame.status().code(), ErrorCode::kConfig);
  EXPECT_EQ(frame.status().message(), message);
  EXPECT_TRUE(client->connected());
}

TEST(Client, ErrorReplyKeepsTheConnection) {
  TempSocket socket;
  ScriptedDaemon daemon(socket, [](Peer& peer) {
    peer.Handshake();
    std::optional<proto::Frame> start = peer.Read();
    ASSERT_TRUE(start.has_value());
    peer.Error(start->header.request_id, ErrorCode::kShuttingDown, "wardend is stopping");
    std::optional<proto::Frame> pid = peer.Read();
    ASSERT_TRUE(pid.has_value());
    proto::PidReply reply;
    reply.pid = 4242;
    peer.Reply(*pid, proto::Encode(reply));
    peer.Read();
  });

  Session session(socket.path());
  Result<std::vector<uint8_t>> start =
      session.Call(MessageType::kStart, proto::Encode(proto::ActionRequest{{"web"}, 0}));
  ASSERT_FALSE(start.ok());
  EXPECT_EQ(start.status().code(), ErrorCode::kShuttingDown);
  EXPECT_EQ(start.status().message(), "start: ERROR (shutting down: wardend is stopping)");
  Result<std::vector<uint8_t>> pid =
      session.Call(MessageType::kPid, proto::Encode(proto::PidRequest{}));
  ASSERT_TRUE(pid.ok()) << pid.status().message();
  proto::PidReply reply;
  ASSERT_TRUE(proto::Decode(*pid, &reply));
  EXPECT_EQ(reply.pid, 4242);
}

TEST(Client, DaemonThatGoesAwayIsATransportFailure) {
  TempSocket socket;
  ScriptedDaemon daemon(socket, [](Peer& peer) {
    peer.Handshake();
    peer.Read();  // the request; then hang up without answering
  });
  Result<Client> client = Client::Connect(socket.path());
  ASSERT_TRUE(client.ok()) << client.status().message();
  Result<proto::Frame> frame = client->Call(MessageType::kVersion, {});
  ASSERT_FALSE(frame.ok());
  EXPECT_EQ(frame.status().code(), ErrorCode::kIo);
  EXPECT_EQ(frame.status().message(), "wardend on " + socket.path() + " closed the connection");
  EXPECT_FALSE(client->connected());
}

TEST(Client, RefusalBeforeHello) {
  TempSocket socket;
  ScriptedDaemon daemon(socket,
                        [](Peer& peer) { peer.Error(0, ErrorCode::kBusy, "too many clients"); });
  Result<Client> client = Client::Connect(socket.path());
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.status().code(), ErrorCode::kBusy);
  EXPECT_EQ(
      client.status().message(),
      "wardend on " + socket.path() + " refused the connection: ERROR (busy: too many clients)");
}

TEST(Client, SilentDaemonTimesOutTheHandshake) {
  TempSocket socket;
  ScriptedDaemon daemon(socket, [](Peer& peer) {
    peer.Read();  // HELLO, never answered
    peer.Read();  // returns when the client gives up and hangs up
  });
  Result<Client> client = Client::Connect(socket.path(), std::chrono::milliseconds(200));
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.status().code(), ErrorCode::kTimeout);
  EXPECT_EQ(client.status().message(),
            "no answer from wardend on " + socket.path() + " within 0.2 seconds");
}

TEST(Client, BadMagicIsAProtocolError) {
  TempSocket socket;
  ScriptedDaemon daemon(socket, [](Peer& peer) {
    peer.Read();
    peer.WriteRaw(std::vector<uint8_t>(16, 'X'));
    peer.Read();
  });
  Result<Client> client = Client::Connect(socket.path());
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.status().code(), ErrorCode::kProtocol);
  EXPECT_EQ(client.status().message().rfind("bad reply from wardend on " + socket.path() + ": ", 0),
            0u)
      << client.status().message();
}

TEST(Client, WrongReplyTypeIsAProtocolError) {
  TempSocket socket;
  ScriptedDaemon daemon(socket, [](Peer& peer) {
    std::optional<proto::Frame> hello = peer.Read();
    ASSERT_TRUE(hello.has_value());
    peer.Write(static_cast<uint16_t>(MessageType::kStatusReply), hello->header.request_id, {});
    peer.Read();
  });
  Result<Client> client = Client::Connect(socket.path());
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.status().code(), ErrorCode::kProtocol);
  EXPECT_EQ(client.status().message(), "bad reply from wardend on " + socket.path() +
                                           ": message type 32770 in answer to hello");
}

TEST(Client, PeerGoneOnlyOnceTheDaemonHangsUp) {
  TempSocket socket;
  ScriptedDaemon daemon(socket, [](Peer& peer) {
    peer.Handshake();
    for (int i = 0; i < 2; ++i) {  // answer two requests, then hang up
      std::optional<proto::Frame> request = peer.Read();
      if (!request) return;
      peer.Reply(*request, proto::Encode(proto::VersionReply{}));
    }
  });
  Result<Client> client = Client::Connect(socket.path());
  ASSERT_TRUE(client.ok()) << client.status().message();
  ASSERT_TRUE(client->Call(MessageType::kVersion, {}).ok());
  EXPECT_FALSE(client->PeerGone());  // the daemon is waiting for the next request
  ASSERT_TRUE(client->Call(MessageType::kVersion, {}).ok());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!client->PeerGone() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  EXPECT_TRUE(client->PeerGone());
}

TEST(Session, ReconnectsAfterTheConnectionDrops) {
  TempSocket socket;
  ScriptedDaemon daemon(
      socket,
      [](Peer& peer) {
        peer.Handshake();
        std::optional<proto::Frame> request = peer.Read();
        if (!request) return;
        proto::VersionReply reply;
        reply.version = "1.2.3";
        peer.Reply(*request, proto::Encode(reply));
        // Then hang up: the session must notice on its next call and connect again.
      },
      /*connections=*/2);
  Session session(socket.path());
  ASSERT_TRUE(session.Call(MessageType::kVersion, {}).ok());
  Result<std::vector<uint8_t>> dropped = session.Call(MessageType::kVersion, {});
  ASSERT_FALSE(dropped.ok());
  EXPECT_EQ(dropped.status().code(), ErrorCode::kIo);
  Result<std::vector<uint8_t>> again = session.Call(MessageType::kVersion, {});
  ASSERT_TRUE(again.ok()) << again.status().message();
  proto::VersionReply reply;
  ASSERT_TRUE(proto::Decode(*again, &reply));
  EXPECT_EQ(reply.version, "1.2.3");
}

TEST(Client, StreamIdleTicksKeepTheConnectionUntilOnIdleSaysStop) {
  TempSocket socket;
  ScriptedDaemon daemon(socket, [](Peer& peer) {
    peer.Handshake();
    std::optional<proto::Frame> tail = peer.Read();
    ASSERT_TRUE(tail.has_value());
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // quiet: idle ticks
    proto::TailReply reply;
    reply.more = true;
    reply.data = "a";
    peer.Reply(*tail, proto::Encode(reply));
    EXPECT_FALSE(peer.Read().has_value());  // the client hangs up after on_idle said stop
  });

  Result<Client> client = Client::Connect(socket.path());
  ASSERT_TRUE(client.ok()) << client.status().message();
  int ticks = 0;
  std::string data;
  Status status = client->CallStream(
      MessageType::kTail, proto::Encode(proto::TailRequest{}),
      [&](const std::vector<uint8_t>& payload) {
        proto::TailReply reply;
        EXPECT_TRUE(proto::Decode(payload, &reply));
        data += reply.data;
        return true;
      },
      std::chrono::milliseconds(20), [&] { return ++ticks < 3 || data.empty(); });
  EXPECT_TRUE(status.ok()) << status.message();
  EXPECT_EQ(data, "a");
  EXPECT_GE(ticks, 3);
  EXPECT_TRUE(client->connected()) << "an idle tick is not a failure";
}

}  // namespace
}  // namespace warden::ctl
