// The one place where the supervisor's types (supervisor/reports.h, core::State) become wire
// messages (proto::) and back. The enums are tied together by static_asserts in wire_types.cc:
// renumbering one side without the other does not compile.
#pragma once

#include <optional>
#include <vector>

#include "daemon/supervisor/reports.h"
#include "daemon/supervisor/show.h"
#include "proto/event_messages.h"
#include "proto/messages.h"

namespace warden::wire {

proto::ProcessState ToWire(core::State state);
// nullopt for a number that names no state (a client's WAIT may carry anything).
std::optional<core::State> StateFromWire(proto::ProcessState state);

proto::ActionResult ToWire(ActionOutcome outcome);
std::vector<proto::ActionResult> ToWire(ActionOutcomes outcomes);
proto::StatusReply ToWire(StatusReport report);
proto::StateEvent ToWire(const StateChange& change);
proto::ShowReply ToWire(ShowReport show);

}  // namespace warden::wire
