// The control server's EVENTS and WAIT requests (docs/protocol.md, "Events"): subscriptions to
// the supervisor's EventBus, served from the dispatch table (handlers.cc).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "daemon/control/request.h"
#include "proto/event_messages.h"
#include "proto/messages.h"

namespace warden {

class Supervisor;

// EVENTS: the snapshot, then every change. WAIT: one reply once every process named is in the
// state, or an ERROR. Each returns what keeps the request going (the stream, a WAIT not yet
// answered): the caller holds it while the connection lives and drops it when the connection
// closes. Null when nothing is left to do.
std::shared_ptr<void> ServeEvents(Supervisor& supervisor, const proto::EventsRequest& request,
                                  const control::SendFrame& send);
std::shared_ptr<void> ServeWait(Supervisor& supervisor, const proto::WaitRequest& request,
                                const control::SendFrame& send);

}  // namespace warden
