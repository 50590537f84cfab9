// The requests wardend serves: one table (kHandlers) says, for each message type, its name, how
// its payload decodes, and which member of ControlServer serves it. A request is decoded once,
// checked by the access rules (access.h) on its decoded names, then served. Adding a message
// touches this table, access.cc's Classify, and the codec in proto/.
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <new>
#include <string>
#include <utility>

#include "daemon/control/connection.h"
#include "daemon/control/control_server.h"
#include "daemon/control/events.h"
#include "daemon/control/log_requests.h"
#include "daemon/control/wire_types.h"
#include "daemon/os/os.h"

namespace warden {

using control::Request;
using proto::MessageType;

namespace {

uint16_t Type(MessageType t) { return static_cast<uint16_t>(t); }

template <class T>
bool DecodeAs(const std::vector<uint8_t>& payload, control::RequestBody* body,
              proto::ReadError* why) {
  T message;
  if (!proto::Decode(payload, &message, why)) return false;
  *body = std::move(message);
  return true;
}

// VERSION, REREAD, RELOAD, SHUTDOWN, REEXEC: nothing to decode (a payload is ignored).
bool DecodeEmpty(const std::vector<uint8_t>&, control::RequestBody* body, proto::ReadError*) {
  *body = std::monostate{};
  return true;
}

}  // namespace

struct ControlServer::Handler {
  MessageType type;
  const char* name;  // as in "malformed STATUS request"
  // False for a payload that is not as docs/protocol.md says; *why says what is wrong.
  bool (*decode)(const std::vector<uint8_t>& payload, control::RequestBody* body,
                 proto::ReadError* why);
  void (ControlServer::*serve)(const std::shared_ptr<Connection>& c, Request& request);
};

const ControlServer::Handler* ControlServer::FindHandler(uint16_t type) {
  static const Handler kHandlers[] = {
      {MessageType::kHello, "HELLO", DecodeAs<proto::HelloRequest>, &ControlServer::ServeHello},
      {MessageType::kStatus, "STATUS", DecodeAs<proto::StatusRequest>, &ControlServer::ServeStatus},
      {MessageType::kStart, "START", DecodeAs<proto::ActionRequest>, &ControlServer::ServeAction},
      {MessageType::kStop, "STOP", DecodeAs<proto::ActionRequest>, &ControlServer::ServeAction},
      {MessageType::kRestart, "RESTART", DecodeAs<proto::ActionRequest>,
       &ControlServer::ServeAction},
      {MessageType::kSignal, "SIGNAL", DecodeAs<proto::ActionRequest>, &ControlServer::ServeSignal},
      {MessageType::kPid, "PID", DecodeAs<proto::PidRequest>, &ControlServer::ServePid},
      {MessageType::kVersion, "VERSION", DecodeEmpty, &ControlServer::ServeVersion},
      {MessageType::kShutdown, "SHUTDOWN", DecodeEmpty, &ControlServer::ServeShutdown},
      {MessageType::kShow, "SHOW", DecodeAs<proto::PidRequest>, &ControlServer::ServeShow},
      {MessageType::kTail, "TAIL", DecodeAs<proto::TailRequest>, &ControlServer::ServeTail},
      {MessageType::kLogRotate, "LOGROTATE", DecodeAs<proto::LogNamesRequest>,
       &ControlServer::ServeLogNames},
      {MessageType::kClear, "CLEAR", DecodeAs<proto::LogNamesRequest>,
       &ControlServer::ServeLogNames},
      {MessageType::kEvents, "EVENTS", DecodeAs<proto::EventsRequest>, &ControlServer::ServeEvents},
      {MessageType::kWait, "WAIT", DecodeAs<proto::WaitRequest>, &ControlServer::ServeWait},
      {MessageType::kReread, "REREAD", DecodeEmpty, &ControlServer::ServeReread},
      {MessageType::kUpdate, "UPDATE", DecodeAs<proto::ActionRequest>, &ControlServer::ServeUpdate},
      {MessageType::kReload, "RELOAD", DecodeEmpty, &ControlServer::ServeUpdate},
      {MessageType::kReexec, "REEXEC", DecodeEmpty, &ControlServer::ServeReexec},
  };
  for (const Handler& h : kHandlers) {
    if (Type(h.type) == type) return &h;
  }
  return nullptr;
}

void ControlServer::HandleFrame(const std::shared_ptr<Connection>& c, uint16_t type, uint32_t id,
                                const std::vector<uint8_t>& payload) {
  Request request;
  request.type = static_cast<MessageType>(type);
  request.id = id;
  request.serial = ++c->served;
  try {
    Dispatch(c, request, payload);
  } catch (const std::bad_alloc&) {
    try {
      c->abandoned.insert(request.serial);
      spdlog::error("out of memory serving a request of control client pid {}", c->peer_pid);
      SendError(c, id, ErrorCode::kBusy, "wardend is out of memory; try again later", false);
    } catch (const std::bad_alloc&) {
      Close(c);  // not even the error fits: the client sees the connection end
    }
  }
}

void ControlServer::Dispatch(const std::shared_ptr<Connection>& c, Request& request,
                             const std::vector<uint8_t>& payload) {
  const auto type = Type(request.type);
  if (!c->hello_done && request.type != MessageType::kHello) {
    SendError(c, request.id, ErrorCode::kProtocol, "expected HELLO as the first request", true);
    return;
  }
  const Handler* handler = FindHandler(type);
  // INVALID_ARGUMENT naming what is wrong, never the bytes themselves (they may not be text).
  proto::ReadError why = proto::ReadError::kNone;
  if (handler && !handler->decode(payload, &request.body, &why)) {
    SendError(c, request.id, ErrorCode::kInvalidArgument,
              std::string("malformed ") + handler->name + " request: " + proto::ReadErrorText(why),
              false);
    return;
  }
  // Access control (access.h): refused outright, or in part (only the allowed names go on).
  access::Decision access = CheckAccess(*c, request);
  if (!access.allowed) {
    spdlog::warn("refused control client pid {}: {}", c->peer_pid, access.message);
    SendError(c, request.id, ErrorCode::kPermissionDenied, access.message, false);
    return;
  }
  for (const auto& r : access.refused) {
    spdlog::warn("refused control client pid {}: {}", c->peer_pid, r.message);
  }
  request.refused = std::move(access.refused);
  if (!handler) {
    SendError(c, request.id, ErrorCode::kUnknownMessage,
              "unknown message type " + std::to_string(type), false);
    return;
  }
  (this->*handler->serve)(c, request);
}

access::Decision ControlServer::CheckAccess(Connection& c, Request& request) {
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
  return access::Check(policy, c.peer, expand, request);
}

// The reply of an operation that ends later: sent unless the connection is gone or the request
// was answered already (out of memory), with the access rules' refusals after the results.
std::function<void(ActionOutcomes)> ControlServer::ReplyLater(const std::shared_ptr<Connection>& c,
                                                              Request& request) {
  std::weak_ptr<Connection> weak = c;
  const auto reply_type = static_cast<uint16_t>(Type(request.type) | proto::kReplyBit);
  return [this, weak, awaited = c->awaited, id = request.id, serial = request.serial, reply_type,
          refused = std::move(request.refused)](ActionOutcomes outcomes) {
    auto conn = weak.lock();
    if (!conn || conn->closed || conn->Abandoned(serial)) return;
    proto::ActionReply reply{wire::ToWire(std::move(outcomes))};
    reply.results.insert(reply.results.end(), refused.begin(), refused.end());
    Send(conn, reply_type, id, proto::Encode(reply));
  };
}

control::SendFrame ControlServer::SendFrameTo(const std::shared_ptr<Connection>& c, uint32_t id) {
  std::weak_ptr<Connection> weak = c;
  return [this, weak, id](MessageType t, const std::vector<uint8_t>& bytes) {
    auto conn = weak.lock();
    if (!conn || conn->closed) return false;
    Send(conn, Type(t), id, bytes);
    return !conn->closed;
  };
}

void ControlServer::ServeHello(const std::shared_ptr<Connection>& c, Request& request) {
  const auto& hello = request.as<proto::HelloRequest>();
  if (hello.min_version > proto::kProtocolVersion || hello.max_version < proto::kProtocolVersion) {
    SendError(c, request.id, ErrorCode::kProtocol,
              "no common protocol version (wardend speaks version 1)", true);
    return;
  }
  c->hello_done = true;
  Send(c, Type(MessageType::kHelloReply), request.id,
       proto::Encode(proto::HelloReply{proto::kProtocolVersion,
                                       std::string("wardend ") + WARDEN_VERSION,
                                       static_cast<uint32_t>(getpid())}));
}

void ControlServer::ServeStatus(const std::shared_ptr<Connection>& c, Request& request) {
  Send(c, Type(MessageType::kStatusReply), request.id,
       proto::Encode(wire::ToWire(supervisor_.Status(request.as<proto::StatusRequest>().names))));
}

// START, STOP, RESTART and UPDATE carry an ActionRequest whose signal must be 0: refused
// (answered) otherwise.
bool ControlServer::RefuseStraySignal(const std::shared_ptr<Connection>& c, Request& request) {
  const auto* action = std::get_if<proto::ActionRequest>(&request.body);
  if (action == nullptr || action->signal == 0) return false;
  SendError(c, request.id, ErrorCode::kInvalidArgument,
            "the signal field is for SIGNAL only; send 0", false);
  return true;
}

// Nothing starts during shutdown (START, RESTART, UPDATE, RELOAD): refused (answered) then.
bool ControlServer::RefuseWhileShuttingDown(const std::shared_ptr<Connection>& c,
                                            Request& request) {
  if (!supervisor_.shutting_down()) return false;
  SendError(c, request.id, ErrorCode::kShuttingDown, "wardend is shutting down", false);
  return true;
}

void ControlServer::ServeAction(const std::shared_ptr<Connection>& c, Request& request) {
  if (RefuseStraySignal(c, request)) return;
  // STOP is served during shutdown: everything is stopping anyway.
  if (request.type != MessageType::kStop && RefuseWhileShuttingDown(c, request)) return;
  const std::vector<std::string>& names = request.as<proto::ActionRequest>().names;
  if (request.type == MessageType::kStart) {
    supervisor_.Start(names, ReplyLater(c, request));
  } else if (request.type == MessageType::kStop) {
    supervisor_.Stop(names, ReplyLater(c, request));
  } else {
    supervisor_.Restart(names, ReplyLater(c, request));
  }
}

void ControlServer::ServeSignal(const std::shared_ptr<Connection>& c, Request& request) {
  const auto& action = request.as<proto::ActionRequest>();
  if (action.signal <= 0 || action.signal >= 65) {
    SendError(c, request.id, ErrorCode::kInvalidArgument,
              "bad signal number " + std::to_string(action.signal), false);
    return;
  }
  ReplyLater(c, request)(supervisor_.Signal(action.names, action.signal));
}

void ControlServer::ServePid(const std::shared_ptr<Connection>& c, Request& request) {
  const std::string& name = request.as<proto::PidRequest>().name;
  Result<int> pid = name.empty() ? Result<int>(static_cast<int>(getpid())) : supervisor_.Pid(name);
  if (!pid.ok()) {
    SendError(c, request.id, pid.status().code(), pid.status().message(), false);
    return;
  }
  Send(c, Type(MessageType::kPidReply), request.id, proto::Encode(proto::PidReply{*pid}));
}

void ControlServer::ServeVersion(const std::shared_ptr<Connection>& c, Request& request) {
  Send(c, Type(MessageType::kVersionReply), request.id,
       proto::Encode(proto::VersionReply{WARDEN_VERSION}));
}

void ControlServer::ServeReread(const std::shared_ptr<Connection>& c, Request& request) {
  // The file is read aside: the reply goes out in a later turn, if the client is still there.
  std::weak_ptr<Connection> weak = c;
  supervisor_.Reread(
      [this, weak, awaited = c->awaited, id = request.id, serial = request.serial](auto changes) {
        auto conn = weak.lock();
        if (!conn || conn->closed || conn->Abandoned(serial)) return;
        if (!changes.ok()) {
          SendError(conn, id, changes.status().code(), changes.status().message(), false);
          return;
        }
        proto::RereadReply reply;
        for (const auto& change : *changes) {
          auto kind = change.kind == config::ProgramChange::Kind::kAdded ? proto::ChangeKind::kAdded
                      : change.kind == config::ProgramChange::Kind::kRemoved
                          ? proto::ChangeKind::kRemoved
                          : proto::ChangeKind::kChanged;
          // What an update would do now: restart only processes that run (as Apply does).
          const proto::ApplyMode apply =
              kind != proto::ChangeKind::kChanged || !change.restart ? proto::ApplyMode::kLive
              : supervisor_.AnyUp(change.name)                       ? proto::ApplyMode::kRestart
                                                                     : proto::ApplyMode::kNextStart;
          reply.changes.push_back({change.name, kind, apply, change.keys});
        }
        Send(conn, Type(MessageType::kRereadReply), id, proto::Encode(reply));
      });
}

// UPDATE of the names (programs and groups; none: everything), and RELOAD (everything).
// RELOAD is empty: whatever comes with it is ignored, as trailing bytes are.
void ControlServer::ServeUpdate(const std::shared_ptr<Connection>& c, Request& request) {
  if (RefuseStraySignal(c, request) || RefuseWhileShuttingDown(c, request)) return;
  std::vector<std::string> names;
  if (auto* update = std::get_if<proto::ActionRequest>(&request.body)) names = update->names;
  std::weak_ptr<Connection> weak = c;
  supervisor_.Update(
      names, [this, weak, id = request.id, serial = request.serial, reply = ReplyLater(c, request)](
                 ::warden::Status status, ActionOutcomes outcomes) {
        if (status.ok()) return reply(std::move(outcomes));
        auto conn = weak.lock();
        if (!conn || conn->closed || conn->Abandoned(serial)) return;
        SendError(conn, id, status.code(), status.message(), false);
      });
}

void ControlServer::ServeShutdown(const std::shared_ptr<Connection>& c, Request& request) {
  spdlog::info("shutdown requested by pid {} (uid {})", c->peer_pid, c->peer_uid);
  Send(c, Type(MessageType::kShutdownReply), request.id, {});
  request_shutdown_();
}

// reexec.h. The reply goes out before the execve; the connection does not survive it.
void ControlServer::ServeReexec(const std::shared_ptr<Connection>& c, Request& request) {
  const uint32_t id = request.id;
  if (!reexec_check_ || reexec_checking_) {
    SendError(
        c, id, reexec_check_ ? ErrorCode::kBusy : ErrorCode::kInternal,
        reexec_check_ ? "a re-execution is being checked already" : "re-execution is not available",
        false);
    return;
  }
  reexec_checking_ = true;
  std::weak_ptr<Connection> weak = c;
  reexec_check_([this, weak, id, serial = request.serial, pid = c->peer_pid,
                 uid = c->peer_uid](Status can) {
    reexec_checking_ = false;
    auto conn = weak.lock();
    if (conn && conn->Abandoned(serial)) conn = nullptr;
    if (!can.ok()) {
      spdlog::warn("reexec requested by pid {} refused: {}", pid, can.message());
      if (conn && !conn->closed) SendError(conn, id, can.code(), can.message(), false);
      return;
    }
    if (!conn || conn->closed) {
      spdlog::warn("reexec requested by pid {}: it left during the checks; not re-executing", pid);
      return;
    }
    spdlog::info("reexec requested by pid {} (uid {})", pid, uid);
    Send(conn, Type(MessageType::kReexecReply), id, {});
    loop_.Post(reexec_run_);
  });
}

// A `tail -f` stream, an EVENTS stream or a pending WAIT lives as long as the connection.
void ControlServer::KeepStream(const std::shared_ptr<Connection>& c, std::shared_ptr<void> stream) {
  if (stream && !c->closed) c->streams.push_back(std::move(stream));
}

void ControlServer::ServeShow(const std::shared_ptr<Connection>& c, Request& request) {
  Result<ShowReport> show = ShowProcess(supervisor_, request.as<proto::PidRequest>().name);
  if (!show.ok()) {
    SendError(c, request.id, show.status().code(), show.status().message(), false);
    return;
  }
  Send(c, Type(MessageType::kShowReply), request.id,
       proto::Encode(wire::ToWire(std::move(show).value())));
}

void ControlServer::ServeTail(const std::shared_ptr<Connection>& c, Request& request) {
  KeepStream(c, ::warden::ServeTail(supervisor_, request.as<proto::TailRequest>(),
                                    SendFrameTo(c, request.id)));
}

void ControlServer::ServeLogNames(const std::shared_ptr<Connection>& c, Request& request) {
  const auto& names = request.as<proto::LogNamesRequest>();
  if (request.type == MessageType::kLogRotate) {
    ::warden::ServeLogRotate(supervisor_, names, std::move(request.refused),
                             SendFrameTo(c, request.id));
  } else {
    ::warden::ServeClear(supervisor_, names, std::move(request.refused),
                         SendFrameTo(c, request.id));
  }
}

void ControlServer::ServeEvents(const std::shared_ptr<Connection>& c, Request& request) {
  KeepStream(c, ::warden::ServeEvents(supervisor_, request.as<proto::EventsRequest>(),
                                      SendFrameTo(c, request.id)));
}

void ControlServer::ServeWait(const std::shared_ptr<Connection>& c, Request& request) {
  KeepStream(c, ::warden::ServeWait(supervisor_, request.as<proto::WaitRequest>(),
                                    SendFrameTo(c, request.id)));
}

}  // namespace warden
