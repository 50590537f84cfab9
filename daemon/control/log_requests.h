// The control server's log requests (docs/protocol.md, "Logs"): TAIL (also wardend's own log,
// for `maintail`), LOGROTATE and CLEAR. Kept out of control_server.cc, which only routes the
// message types 0x10-0x1F here.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

#include "daemon/supervisor/supervisor.h"
#include "proto/log_messages.h"
#include "proto/messages.h"

namespace warden {

// Sends one frame with the request's id; false once the connection is gone.
using SendFrame = std::function<bool(proto::MessageType type, const std::vector<uint8_t>& payload)>;

// A tail reads at most this many bytes back; more would hold the loop on disk reads.
inline constexpr size_t kMaxTailBytes = 4u << 20;

// Whether `type` is one of the requests HandleLogRequest answers.
bool IsLogRequest(proto::MessageType type);

// Answers one log request through `send` (its reply, or an ERROR). A `tail -f` returns the
// subscription that keeps the stream going: the caller holds it as long as the connection
// lives and drops it when the connection closes. Everything else returns null.
std::shared_ptr<void> HandleLogRequest(Supervisor& supervisor, proto::MessageType type,
                                       const std::vector<uint8_t>& payload, const SendFrame& send);

}  // namespace warden
