// warden-web's HTTP side: the routes of docs/web.md on cpp-httplib, each one an ordinary
// client of wardend's control socket (ctl::Client), rendered with ctl's JSON (ctl/render.h),
// so that the API's JSON is wardenctl --json's.
//
// Threads: cpp-httplib serves each connection on a thread of its pool. A request opens its own
// connection to wardend, so requests never wait for each other; a stream (SSE) holds a thread
// and a wardend connection for its life, and at most kMaxStreams run at once.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "base/status.h"
#include "web/auth.h"

namespace httplib {
class Server;
struct Response;
}  // namespace httplib

namespace warden::web {

inline constexpr int kMaxStreams = 32;  // concurrent SSE streams (tail -f, events)
inline constexpr int kThreads = kMaxStreams + 16;

struct ServerConfig {
  std::string socket;      // wardend's control socket
  std::string static_dir;  // the dashboard's files; empty: no dashboard
  Auth auth;
  std::string listen_host;
  uint16_t listen_port = 0;
};

class WebServer {
 public:
  explicit WebServer(ServerConfig config);
  ~WebServer();

  // Binds the listening socket (port 0: any free one); an error names the address and the
  // reason.
  Status Bind();
  // The port bound.
  uint16_t port() const { return config_.listen_port; }
  // Serves until Stop() (from another thread).
  void Run();
  void Stop();

 private:
  void Routes();
  // Counts a new stream in; false (and a 503 in `res`) when kMaxStreams already run. The
  // stream's resource releaser gives the slot back.
  bool TakeStreamSlot(httplib::Response& res);

  ServerConfig config_;
  std::unique_ptr<httplib::Server> server_;
  std::atomic<int> streams_{0};
};

// The HTTP status for a protocol error code (docs/web.md, "Errors"): NOT_FOUND 404,
// PERMISSION_DENIED 403, ALREADY_STARTED/NOT_RUNNING 409, BUSY/SHUTTING_DOWN 503, TIMEOUT 504,
// INVALID_ARGUMENT 400, TOO_LARGE 413, PROTOCOL/UNKNOWN_MESSAGE 502, the rest 500.
int HttpStatusFor(ErrorCode code);

}  // namespace warden::web
