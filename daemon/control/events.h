// The control server's EVENTS and WAIT requests (docs/protocol.md, "Events"): subscriptions to
// the supervisor's EventBus, kept out of control_server.cc, which only routes them here.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "proto/event_messages.h"
#include "proto/messages.h"

namespace warden {

class Supervisor;


// Sends one frame with the request's id; false once the connection is gone.
using EventSendFrame =
    std::function<bool(proto::MessageType type, const std::vector<uint8_t>& payload)>;

// Whether `type` is one of the requests HandleEventRequest answers.
bool IsEventRequest(proto::MessageType type);

// Answers EVENTS or WAIT through `send`. Returns what keeps the request going (the EVENTS
// stream, a WAIT not yet answered): the caller holds it while the connection lives and drops it
// when the connection closes. Null when nothing is left to do.
std::shared_ptr<void> HandleEventRequest(Supervisor& supervisor, proto::MessageType type,
                                         const std::vector<uint8_t>& payload,
                                         const EventSendFrame& send);

}  // namespace warden
