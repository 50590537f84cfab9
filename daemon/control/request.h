// A control request as wardend acts on it: decoded once from its frame, then checked by the
// access rules (which narrow its names in place) and served. Nothing after the decoding reads
// the payload bytes again.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <variant>
#include <vector>

#include "proto/event_messages.h"
#include "proto/log_messages.h"
#include "proto/messages.h"

namespace warden::control {

// Sends one reply frame with the request's id; false once the connection is gone.
using SendFrame = std::function<bool(proto::MessageType type, const std::vector<uint8_t>& payload)>;

// The body of each request type (see the dispatch table in handlers.cc); std::monostate for the
// types whose request is empty (VERSION, REREAD, RELOAD, SHUTDOWN, REEXEC) and for types wardend
// does not serve.
using RequestBody = std::variant<std::monostate, proto::HelloRequest, proto::StatusRequest,
                                 proto::ActionRequest, proto::PidRequest, proto::TailRequest,
                                 proto::LogNamesRequest, proto::EventsRequest, proto::WaitRequest>;

struct Request {
  proto::MessageType type{};
  uint32_t id = 0;      // the client's request id, echoed in every reply
  uint64_t serial = 0;  // the connection's count of requests, this one included
  RequestBody body;
  // Per-process refusals by the access rules: added to the request's ActionReply.
  std::vector<proto::ActionResult> refused;

  // The NAME list of a request that has one (STATUS, START, STOP, RESTART, SIGNAL, UPDATE,
  // LOGROTATE, CLEAR, EVENTS, WAIT); null otherwise.
  std::vector<std::string>* names() {
    return std::visit(
        [](auto& b) -> std::vector<std::string>* {
          if constexpr (requires { b.names; }) {
            return &b.names;
          } else {
            return nullptr;
          }
        },
        body);
  }
  // The one name of PID and TAIL (empty: wardend itself); null otherwise.
  std::string* name() {
    return std::visit(
        [](auto& b) -> std::string* {
          if constexpr (requires { b.name; }) {
            return &b.name;
          } else {
            return nullptr;
          }
        },
        body);
  }
  template <class T>
  T& as() {
    return std::get<T>(body);
  }
};

}  // namespace warden::control
