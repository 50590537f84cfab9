#include "web/server.h"

#include <httplib.h>

#include <charconv>
#include <chrono>
#include <iostream>
#include <mutex>
#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

#include "ctl/client.h"
#include "ctl/event_commands.h"
#include "ctl/render.h"
#include "ctl/signals.h"
#include "proto/event_messages.h"
#include "proto/log_messages.h"
#include "web/metrics.h"
#include "web/options.h"

namespace warden::web {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;
using Json = nlohmann::ordered_json;

constexpr milliseconds kConnectTimeout{5000};
constexpr milliseconds kReadTimeout{30000};     // status, tail, metrics
constexpr milliseconds kActionTimeout{300000};  // start/stop wait for the outcome
constexpr milliseconds kKeepaliveEvery{15000};  // an SSE comment while a stream is quiet
constexpr size_t kMaxRequestBody = 64 * 1024;
constexpr uint64_t kMaxTailLines = 100000;
constexpr uint64_t kMaxTailBytes = 4 * 1024 * 1024;  // wardend reads back at most this

// Who the request on this thread came in as (set by the pre-routing handler, which cpp-httplib
// runs on the thread that then runs the route's handler).
thread_local LoginResult t_login;

std::mutex g_log_mutex;
void LogLine(const std::string& line) {
  std::lock_guard<std::mutex> lock(g_log_mutex);
  std::cerr << "warden-web: " << line << std::endl;
}

std::string Dump(const Json& json) {
  return json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void SendJson(httplib::Response& res, int status, const Json& json) {
  res.status = status;
  res.set_content(Dump(json) + "\n", "application/json");
}

void SendError(httplib::Response& res, int status, ErrorCode code, const std::string& message) {
  SendJson(res, status,
           Json{{"error", std::string(ErrorCodeName(code))},
                {"code", static_cast<int>(code)},
                {"message", message}});
}

// A failure of a call to wardend: transport failures (wardend unreachable) are 502.
struct DaemonFailure {
  Status status;
  bool transport = false;
};

void SendFailure(httplib::Response& res, const DaemonFailure& failure) {
  SendError(res, failure.transport ? 502 : HttpStatusFor(failure.status.code()),
            failure.status.code(), failure.status.message());
}

class Daemon {
 public:
  explicit Daemon(const std::string& socket) : socket_(socket) {}

  Result<ctl::Client> Connect(DaemonFailure* failure) const {
    Result<ctl::Client> client =
        ctl::Client::Connect(socket_, kConnectTimeout, "warden-web " WARDEN_VERSION);
    if (!client.ok()) *failure = {client.status(), true};
    return client;
  }

  // One request, one reply payload; nullopt with *failure set otherwise.
  std::optional<std::vector<uint8_t>> Call(proto::MessageType type,
                                           const std::vector<uint8_t>& payload,
                                           milliseconds timeout, DaemonFailure* failure,
                                           proto::HelloReply* hello = nullptr) const {
    Result<ctl::Client> client = Connect(failure);
    if (!client.ok()) return std::nullopt;
    if (hello != nullptr) *hello = client->hello();
    Result<proto::Frame> frame = client->Call(type, payload, timeout);
    if (!frame.ok()) {
      *failure = {frame.status(), !client->connected()};
      return std::nullopt;
    }
    return std::move(frame->payload);
  }

 private:
  std::string socket_;
};

std::optional<uint64_t> ParseCount(const std::string& text) {
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

bool Truthy(const std::string& text) { return text == "1" || text == "true" || text == "yes"; }

std::string SseData(std::string_view event, const std::string& data) {
  std::string out;
  if (!event.empty()) out += "event: " + std::string(event) + "\n";
  out += "data: " + data + "\n\n";
  return out;
}

bool Write(httplib::DataSink& sink, const std::string& text) {
  return sink.write(text.data(), text.size());
}

// A stream that wardend ended with an error: an `error` event with the error object.
void WriteStreamError(httplib::DataSink& sink, const Status& status) {
  Write(sink, SseData("error", Dump(Json{{"error", std::string(ErrorCodeName(status.code()))},
                                         {"code", static_cast<int>(status.code())},
                                         {"message", status.message()}})));
}

// The Host header's name without its port.
std::string HostName(const std::string& host) {
  if (host.starts_with('[')) return host.substr(0, host.find(']') + 1);
  return host.substr(0, host.find(':'));
}

}  // namespace

int HttpStatusFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk:
      return 200;
    case ErrorCode::kInvalidArgument:
      return 400;
    case ErrorCode::kNotFound:
      return 404;
    case ErrorCode::kAlreadyStarted:
    case ErrorCode::kNotRunning:
      return 409;
    case ErrorCode::kTooLarge:
      return 413;
    case ErrorCode::kPermissionDenied:
      return 403;
    case ErrorCode::kBusy:
    case ErrorCode::kShuttingDown:
      return 503;
    case ErrorCode::kTimeout:
      return 504;
    case ErrorCode::kProtocol:
    case ErrorCode::kUnknownMessage:
      return 502;
    default:
      return 500;
  }
}

WebServer::WebServer(ServerConfig config)
    : config_(std::move(config)), server_(std::make_unique<httplib::Server>()) {
  httplib::Server& s = *server_;
  // Without TCP_NODELAY, Nagle's algorithm and delayed ACKs hold each reply ~40 ms
  // (bench/http: 36 requests/s instead of 2300 on one keep-alive connection).
  s.set_tcp_nodelay(true);
  s.new_task_queue = [] { return new httplib::ThreadPool(kThreads); };
  s.set_payload_max_length(kMaxRequestBody);
  s.set_read_timeout(10, 0);   // a request must arrive within 10 s (slowloris)
  s.set_write_timeout(10, 0);  // a client that stops reading is dropped
  s.set_keep_alive_timeout(5);
  s.set_keep_alive_max_count(100);
  Routes();
}

WebServer::~WebServer() = default;

Status WebServer::Bind() {
  if (config_.listen_port == 0) {
    const int port = server_->bind_to_any_port(config_.listen_host);
    if (port > 0) {
      config_.listen_port = static_cast<uint16_t>(port);
      return Status::Ok();
    }
  } else if (server_->bind_to_port(config_.listen_host, config_.listen_port)) {
    return Status::Ok();
  }
  return Status(ErrorCode::kIo, "cannot listen on " + config_.listen_host + ":" +
                                    std::to_string(config_.listen_port) + ": " +
                                    std::strerror(errno));
}

void WebServer::Run() { server_->listen_after_bind(); }

void WebServer::Stop() { server_->stop(); }

bool WebServer::TakeStreamSlot(httplib::Response& res) {
  if (streams_.fetch_add(1) < kMaxStreams) return true;
  streams_.fetch_sub(1);
  SendError(res, 503, ErrorCode::kBusy,
            "too many streams (" + std::to_string(kMaxStreams) + "); try again later");
  return false;
}

void WebServer::Routes() {
  httplib::Server& s = *server_;
  const Daemon daemon(config_.socket);

  s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    const Auth& auth = config_.auth;
    t_login = {};
    // Without authentication, answer only requests addressed to this machine by name: a web
    // page whose own name a DNS-rebinding attacker points at 127.0.0.1 sends its own Host.
    if (!auth.enabled() && !IsLoopback(HostName(req.get_header_value("Host")))) {
      SendError(res, 403, ErrorCode::kPermissionDenied,
                "Host '" + req.get_header_value("Host") +
                    "' is not a loopback name; without authentication warden-web answers "
                    "only to http://localhost:" +
                    std::to_string(config_.listen_port) + "/ and 127.0.0.1 (docs/security.md)");
      return httplib::Server::HandlerResponse::Handled;
    }
    t_login = auth.Check(req.get_header_value("Authorization"));
    if (t_login.login == Login::kRefused) {
      res.set_header("WWW-Authenticate",
                     auth.has_passwords() ? "Basic realm=\"warden\", charset=\"UTF-8\"" : "Bearer");
      SendError(res, 401, ErrorCode::kPermissionDenied,
                "authentication required (docs/security.md, \"warden-web\")");
      return httplib::Server::HandlerResponse::Handled;
    }
    if (req.method == "POST" && !auth.PostAllowed(t_login, req.get_header_value("X-CSRF-Token"))) {
      SendError(res, 403, ErrorCode::kPermissionDenied,
                "missing or wrong X-CSRF-Token header: get the token from GET /api/v1/csrf "
                "(or authenticate with the bearer token)");
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  s.set_post_routing_handler([](const httplib::Request&, httplib::Response& res) {
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_header("X-Frame-Options", "DENY");
    res.set_header("Referrer-Policy", "no-referrer");
    res.set_header("Content-Security-Policy",
                   "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'");
    if (!res.has_header("Cache-Control")) res.set_header("Cache-Control", "no-store");
  });
  s.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    SendError(res, 500, ErrorCode::kInternal, "internal error in warden-web");
  });
  s.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    if (res.status == 404) {
      SendError(res, 404, ErrorCode::kNotFound, "no such page: " + req.path);
    } else if (res.status == 413) {
      SendError(res, 413, ErrorCode::kTooLarge, "request body over 64 KiB");
    }
  });

  s.Get("/api/v1/csrf", [this](const httplib::Request&, httplib::Response& res) {
    SendJson(res, 200, Json{{"csrf_token", config_.auth.csrf_token()}});
  });

  auto send_status = [daemon](const std::vector<std::string>& names, httplib::Response& res) {
    proto::StatusRequest request;
    request.names = names;
    DaemonFailure failure;
    auto payload =
        daemon.Call(proto::MessageType::kStatus, proto::Encode(request), kReadTimeout, &failure);
    if (!payload) return SendFailure(res, failure);
    proto::StatusReply reply;
    if (!proto::Decode(*payload, &reply)) {
      return SendError(res, 502, ErrorCode::kProtocol, "malformed STATUS reply from wardend");
    }
    if (!reply.unknown_names.empty()) {
      return SendError(res, 404, ErrorCode::kNotFound,
                       reply.unknown_names[0] + ": no such process");
    }
    SendJson(res, 200, ctl::StatusJson(reply.processes));
  };
  s.Get("/api/v1/processes",
        [send_status](const httplib::Request&, httplib::Response& res) { send_status({}, res); });
  s.Get(R"(/api/v1/processes/([^/]+))",
        [send_status](const httplib::Request& req, httplib::Response& res) {
          send_status({req.matches[1].str()}, res);
        });

  s.Post(R"(/api/v1/processes/([^/]+)/(start|stop|restart|signal))",
         [daemon](const httplib::Request& req, httplib::Response& res) {
           const std::string name = req.matches[1].str();
           const std::string verb = req.matches[2].str();
           proto::ActionRequest request;
           request.names = {name};
           ctl::CommandKind kind = ctl::CommandKind::kStart;
           proto::MessageType type = proto::MessageType::kStart;
           if (verb == "stop") {
             kind = ctl::CommandKind::kStop;
             type = proto::MessageType::kStop;
           } else if (verb == "restart") {
             kind = ctl::CommandKind::kRestart;
             type = proto::MessageType::kRestart;
           } else if (verb == "signal") {
             kind = ctl::CommandKind::kSignal;
             type = proto::MessageType::kSignal;
             std::string text = req.get_param_value("signal");
             if (text.empty() && !req.body.empty()) {
               Json body = Json::parse(req.body, nullptr, false);
               if (body.is_object() && body.contains("signal")) {
                 text = body["signal"].is_number_integer()
                            ? std::to_string(body["signal"].get<int>())
                        : body["signal"].is_string() ? body["signal"].get<std::string>()
                                                     : "";
               }
             }
             std::optional<int> number = ctl::ParseSignal(text);
             if (!number) {
               return SendError(res, 400, ErrorCode::kInvalidArgument,
                                text.empty() ? "signal: name the signal (?signal=HUP, or a JSON "
                                               "body {\"signal\": \"HUP\"})"
                                             : "signal: unknown signal '" + text + "'");
             }
             request.signal = *number;
           }
           DaemonFailure failure;
           auto payload = daemon.Call(type, proto::Encode(request), kActionTimeout, &failure);
           const std::string who =
               t_login.user.empty() ? req.remote_addr : t_login.user + " from " + req.remote_addr;
           if (!payload) {
             LogLine(who + ": " + verb + " " + name + ": " + failure.status.message());
             return SendFailure(res, failure);
           }
           proto::ActionReply reply;
           if (!proto::Decode(*payload, &reply)) {
             return SendError(res, 502, ErrorCode::kProtocol, "malformed reply from wardend");
           }
           int http = 200;
           for (const proto::ActionResult& result : reply.results) {
             if (result.code != ErrorCode::kOk && http == 200) http = HttpStatusFor(result.code);
           }
           const std::vector<std::string> lines = ctl::ActionLines(kind, reply);
           std::string summary;
           for (const std::string& line : lines) summary += (summary.empty() ? "" : "; ") + line;
           LogLine(who + ": " + verb + " " + name + ": " + summary);
           SendJson(res, http, ctl::ActionJson(kind, reply));
         });

  s.Get(R"(/api/v1/processes/([^/]+)/log)", [this, daemon](const httplib::Request& req,
                                                           httplib::Response& res) {
    proto::TailRequest request;
    request.name = req.matches[1].str();
    const std::string stream = req.has_param("stream") ? req.get_param_value("stream") : "stdout";
    if (stream == "stderr") {
      request.stream = proto::LogStream::kStderr;
    } else if (stream != "stdout") {
      return SendError(res, 400, ErrorCode::kInvalidArgument,
                       "stream: '" + stream + "' is not stdout or stderr");
    }
    request.unit = proto::TailUnit::kLines;
    request.count = 10;
    if (req.has_param("bytes")) {
      auto n = ParseCount(req.get_param_value("bytes"));
      if (!n || *n > kMaxTailBytes) {
        return SendError(res, 400, ErrorCode::kInvalidArgument, "bytes: a number up to 4194304");
      }
      request.unit = proto::TailUnit::kBytes;
      request.count = *n;
    } else if (req.has_param("lines")) {
      auto n = ParseCount(req.get_param_value("lines"));
      if (!n || *n > kMaxTailLines) {
        return SendError(res, 400, ErrorCode::kInvalidArgument, "lines: a number up to 100000");
      }
      request.count = *n;
    }
    request.follow = Truthy(req.get_param_value("follow"));
    DaemonFailure failure;
    Result<ctl::Client> client = daemon.Connect(&failure);
    if (!client.ok()) return SendFailure(res, failure);
    if (!request.follow) {
      std::string data;
      Status status = client->CallStream(proto::MessageType::kTail, proto::Encode(request),
                                         [&](const std::vector<uint8_t>& payload) {
                                           proto::TailReply reply;
                                           if (!proto::Decode(payload, &reply)) return false;
                                           data += reply.data;
                                           return reply.more;
                                         });
      if (!status.ok()) return SendFailure(res, {status, !client->connected()});
      res.status = 200;
      res.set_content(data, "text/plain; charset=utf-8");
      return;
    }
    // A follow: the name is checked first, so that an unknown process is a 404 rather than an
    // error event in a stream that has already said 200.
    proto::StatusRequest check;
    check.names = {request.name};
    auto known =
        daemon.Call(proto::MessageType::kStatus, proto::Encode(check), kReadTimeout, &failure);
    if (!known) return SendFailure(res, failure);
    proto::StatusReply known_reply;
    if (!proto::Decode(*known, &known_reply) || !known_reply.unknown_names.empty()) {
      return SendError(res, 404, ErrorCode::kNotFound, request.name + ": no such process");
    }
    if (!TakeStreamSlot(res)) return;
    auto shared = std::make_shared<ctl::Client>(std::move(client).value());
    res.set_header("Cache-Control", "no-store");
    res.set_header("X-Accel-Buffering", "no");  // nginx: pass each event on at once
    res.set_chunked_content_provider(
        "text/event-stream",
        [shared, request](size_t, httplib::DataSink& sink) {
          bool open = Write(sink, ": following " + request.name + "\n\n");
          Status status;
          if (open) {
            status = shared->CallStream(
                proto::MessageType::kTail, proto::Encode(request),
                [&](const std::vector<uint8_t>& payload) {
                  proto::TailReply reply;
                  if (!proto::Decode(payload, &reply)) return false;
                  if (!reply.data.empty()) {
                    open = Write(sink, SseData("log", Dump(Json(reply.data))));
                  }
                  return open && reply.more;
                },
                kKeepaliveEvery, [&] { return open = Write(sink, ": keepalive\n\n"); });
          }
          if (open && !status.ok()) WriteStreamError(sink, status);
          if (open) Write(sink, SseData("end", "{}"));
          sink.done();
          return true;
        },
        [this](bool) { streams_.fetch_sub(1); });
  });

  s.Get("/api/v1/events", [this, daemon](const httplib::Request& req, httplib::Response& res) {
    proto::EventsRequest request;
    for (size_t i = 0; i < req.get_param_value_count("name"); ++i) {
      request.names.push_back(req.get_param_value("name", i));
    }
    const bool current = Truthy(req.get_param_value("current"));
    DaemonFailure failure;
    Result<ctl::Client> client = daemon.Connect(&failure);
    if (!client.ok()) return SendFailure(res, failure);
    if (!TakeStreamSlot(res)) return;
    auto shared = std::make_shared<ctl::Client>(std::move(client).value());
    res.set_header("Cache-Control", "no-store");
    res.set_header("X-Accel-Buffering", "no");
    res.set_chunked_content_provider(
        "text/event-stream",
        [shared, request, current](size_t, httplib::DataSink& sink) {
          bool open = Write(sink, ": subscribed\n\n");
          Status status;
          if (open) {
            status = shared->CallStream(
                proto::MessageType::kEvents, proto::Encode(request),
                [&](const std::vector<uint8_t>& payload) {
                  proto::EventsReply reply;
                  if (!proto::Decode(payload, &reply)) return false;
                  if (reply.snapshot && !current) return open;
                  for (const proto::StateEvent& event : reply.events) {
                    open = open && Write(sink, SseData("", ctl::EventJson(event)));
                  }
                  return open;
                },
                kKeepaliveEvery, [&] { return open = Write(sink, ": keepalive\n\n"); });
          }
          if (open && !status.ok()) WriteStreamError(sink, status);
          sink.done();
          return true;
        },
        [this](bool) { streams_.fetch_sub(1); });
  });

  s.Get("/metrics", [daemon](const httplib::Request&, httplib::Response& res) {
    MetricsInput input;
    DaemonFailure failure;
    const auto started = steady_clock::now();
    auto payload = daemon.Call(proto::MessageType::kStatus, proto::Encode(proto::StatusRequest{}),
                               kReadTimeout, &failure, &input.hello);
    input.scrape_seconds = std::chrono::duration<double>(steady_clock::now() - started).count();
    if (payload) {
      proto::StatusReply reply;
      if (proto::Decode(*payload, &reply)) {
        input.daemon_up = true;
        input.status = std::move(reply);
      }
    } else {
      LogLine("/metrics: " + failure.status.message());
    }
    res.status = 200;
    res.set_content(MetricsText(input), kMetricsContentType);
  });

  if (!config_.static_dir.empty()) {
    // Static files: the dashboard. cpp-httplib refuses paths that climb out ("..").
    s.set_mount_point("/", config_.static_dir);
    s.set_file_request_handler([](const httplib::Request&, httplib::Response& res) {
      res.set_header("Cache-Control", "no-cache");
    });
  }
}

}  // namespace warden::web
