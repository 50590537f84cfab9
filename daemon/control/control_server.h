// ControlServer: the Unix-domain control socket. Accepts connections, decodes frames with
// proto::FrameDecoder, dispatches requests to the Supervisor and writes replies.
//
// It never blocks on a client: sockets are non-blocking, replies are queued per connection up
// to kMaxQueuedBytes (a client that does not read loses its connection), a frame that does not
// complete within kFrameTimeout gets an error and the connection is closed, and past kMaxClients
// a new connection gets a "busy" error and is closed, unless an idle connection (kEvictableIdle)
// can make room for it.
//
// An operator can always connect: kReserveFds descriptors (on /dev/null) are held for the
// moment wardend runs out of fds (its programs' pipes and files, or clients, took the rest).
// Then accept(2) fails with EMFILE; a reserve fd is given up and the client is served in its
// slot. With the reserve spent, the idlest connection is closed (told why) to make room. The
// reserve is taken back as fds come free.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include "base/status.h"
#include "base/unique_fd.h"
#include "config/config.h"
#include "daemon/control/access.h"
#include "daemon/control/request.h"
#include "daemon/os/event_loop.h"
#include "daemon/supervisor/supervisor.h"

namespace warden {

class ControlServer {
 public:
  static constexpr size_t kMaxClients = 256;
  static constexpr size_t kReserveFds = 4;
  // A connection with nothing in flight (no partial frame, no reply queued or awaited, no
  // stream) that has been quiet this long may be closed to make room for a new client.
  static constexpr std::chrono::seconds kEvictableIdle{2};
  static constexpr size_t kMaxQueuedBytes = 8u << 20;
  // All clients together: past this many queued bytes, the clients with the most queued are
  // dropped (told why) until the total is below it again.
  static constexpr size_t kMaxQueuedTotal = 64u << 20;
  static constexpr size_t kTrimAfterReply = 64u << 10;  // EventLoop::TrimAfter past this size
  static constexpr std::chrono::seconds kFrameTimeout{10};
  // Fairness (docs/protocol.md, "Serving order"): one connection's turn ends after this many
  // requests, or after the first that brings its work past kWorkPerTurn; then the others are
  // served before it gets another.
  static constexpr int kRequestsPerTurn = 16;
  static constexpr std::chrono::microseconds kWorkPerTurn{1000};

  ControlServer(EventLoop& loop, Supervisor& supervisor, std::function<void()> request_shutdown);
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Binds settings.socket (replacing a stale socket file, refusing one a live wardend holds),
  // or adopts a listening socket passed by systemd socket activation (LISTEN_FDS).
  Status Listen(const config::Settings& settings);
  const std::string& path() const { return path_; }
  bool socket_activated() const { return activated_; }

  // Re-execution of wardend (daemon/reexec/reexec.h): the listening socket survives execve.
  int listen_fd() const { return listen_fd_.get(); }
  bool bound() const { return bound_; }
  // In the new image, instead of Listen: the listening socket the previous image kept.
  Status Adopt(UniqueFd fd, std::string path, bool bound, bool activated);

  // A client without a socket, for the simulation: frames go in through Feed, and every frame
  // of the replies comes out through `sink`, in order, at once. It is served exactly as a
  // socket's client is (HELLO first, the access rules for `peer`, one reply per request) and
  // ends when the last copy of the returned handle is dropped.
  using FrameSink = std::function<void(const std::vector<uint8_t>& frame)>;
  std::shared_ptr<void> OpenLocal(access::Peer peer, FrameSink sink);
  void Feed(const std::shared_ptr<void>& local, const std::vector<uint8_t>& bytes);

  // REEXEC requests: `check` finds out whether wardend can re-execute now, and tells its
  // `reply` (maybe later: the loop goes on meanwhile; why not, when it cannot: the error reply).
  // When it can and the requester is still connected, the reply is sent first and `run` is
  // called from the loop right after; the connections are then dropped by the execve. One
  // check at a time: a request during one is refused as busy.
  using ReexecCheck = std::function<void(std::function<void(Status)> reply)>;
  void set_reexec(ReexecCheck check, std::function<void()> run) {
    reexec_check_ = std::move(check);
    reexec_run_ = std::move(run);
  }

 private:
  struct Connection;

  void OnAccept();
  // Out of fds (`error`, the accept's errno): frees one descriptor for the client that waits,
  // from the reserve or by closing the idlest connection. False when there is none to free.
  bool MakeRoom(int error);
  // The connection that may be closed to make room (kEvictableIdle), idlest first; null if none.
  std::shared_ptr<Connection> Idlest() const;
  // Closes `c` at once after telling it why (ERROR BUSY, best effort).
  void Evict(const std::shared_ptr<Connection>& c, const std::string& why);
  // Takes the reserve back up to kReserveFds, as far as fds allow.
  void RefillReserve();
  void OnReadable(const std::shared_ptr<Connection>& c);
  // Serves the complete requests buffered for `c`, one turn's worth; when some are left, stops
  // reading from it and comes back once the loop has served everyone else (ResumeLater).
  void ServeBuffered(const std::shared_ptr<Connection>& c);
  void ResumeLater(const std::shared_ptr<Connection>& c);
  // EPOLLIN unless paused, EPOLLOUT while replies wait.
  void UpdateInterest(const std::shared_ptr<Connection>& c);
  void OnWritable(const std::shared_ptr<Connection>& c);
  // --- serving requests (handlers.cc) ---
  // One row of the dispatch table: a message type, its name, its decoder and its handler.
  struct Handler;
  static const Handler* FindHandler(uint16_t type);
  // Serves one request; memory running out while serving it gets an error reply (BUSY) and
  // drops whatever reply that request would still have sent.
  void HandleFrame(const std::shared_ptr<Connection>& c, uint16_t type, uint32_t id,
                   const std::vector<uint8_t>& payload);
  // Decodes the payload once, checks access on the decoded request, then serves it.
  void Dispatch(const std::shared_ptr<Connection>& c, control::Request& request,
                const std::vector<uint8_t>& payload);
  // The access check of one request (access.h) for the connection's peer; narrows its names.
  access::Decision CheckAccess(Connection& c, control::Request& request);
  std::function<void(ActionOutcomes)> ReplyLater(const std::shared_ptr<Connection>& c,
                                                 control::Request& request);
  control::SendFrame SendFrameTo(const std::shared_ptr<Connection>& c, uint32_t id);
  void KeepStream(const std::shared_ptr<Connection>& c, std::shared_ptr<void> stream);
  void ServeHello(const std::shared_ptr<Connection>& c, control::Request& request);
  void ServeStatus(const std::shared_ptr<Connection>& c, control::Request& request);
  // Answer the request with an error and return true when it must not be served.
  bool RefuseStraySignal(const std::shared_ptr<Connection>& c, control::Request& request);
  bool RefuseWhileShuttingDown(const std::shared_ptr<Connection>& c, control::Request& request);
  void ServeAction(const std::shared_ptr<Connection>& c, control::Request& request);
  void ServeSignal(const std::shared_ptr<Connection>& c, control::Request& request);
  void ServePid(const std::shared_ptr<Connection>& c, control::Request& request);
  void ServeShow(const std::shared_ptr<Connection>& c, control::Request& request);
  void ServeVersion(const std::shared_ptr<Connection>& c, control::Request& request);
  void ServeReread(const std::shared_ptr<Connection>& c, control::Request& request);
  void ServeUpdate(const std::shared_ptr<Connection>& c, control::Request& request);
  void ServeShutdown(const std::shared_ptr<Connection>& c, control::Request& request);
  void ServeReexec(const std::shared_ptr<Connection>& c, control::Request& request);
  void ServeTail(const std::shared_ptr<Connection>& c, control::Request& request);
  void ServeLogNames(const std::shared_ptr<Connection>& c, control::Request& request);
  void ServeEvents(const std::shared_ptr<Connection>& c, control::Request& request);
  void ServeWait(const std::shared_ptr<Connection>& c, control::Request& request);

  void Send(const std::shared_ptr<Connection>& c, uint16_t type, uint32_t id,
            const std::vector<uint8_t>& payload);
  void SendError(const std::shared_ptr<Connection>& c, uint32_t id, ErrorCode code,
                 const std::string& message, bool close_after);
  void Flush(const std::shared_ptr<Connection>& c);
  // A client that does not read: everything queued for it after the frame it is in the middle
  // of is dropped, an ERROR BUSY saying `why` takes its place, and the connection closes once
  // that is sent, or after kFrameTimeout.
  void DropSlow(const std::shared_ptr<Connection>& c, const std::string& why);
  // Until the total is within kMaxQueuedTotal: the connection holding the most is dropped,
  // or closed if it was dropped already.
  void ShedOutput();
  // Queues `bytes` (whole frames) for `c`, noting where each frame ends.
  void Queue(const std::shared_ptr<Connection>& c, const std::vector<uint8_t>& bytes);
  // Counts what `c`'s queue holds now (its capacity) in queued_total_.
  void Account(Connection& c);
  // Forgets the ends of the frames `c` has been sent whole.
  static void ForgetSent(Connection& c);
  void Close(const std::shared_ptr<Connection>& c);
  void UpdateFrameTimer(const std::shared_ptr<Connection>& c);

  EventLoop& loop_;
  Supervisor& supervisor_;
  std::function<void()> request_shutdown_;
  UniqueFd listen_fd_;
  std::vector<UniqueFd> reserve_;  // /dev/null, given up one by one to accept when out of fds
  bool out_of_fds_ = false;
  bool evicting_ = false;
  size_t queued_total_ = 0;  // bytes held by every connection's queue together
  std::string path_;
  bool bound_ = false;      // we created the socket file (and remove it on exit)
  bool activated_ = false;  // the socket came from systemd
  std::unordered_map<int, std::shared_ptr<Connection>> connections_;
  ReexecCheck reexec_check_;
  bool reexec_checking_ = false;
  std::function<void()> reexec_run_;
};

}  // namespace warden
