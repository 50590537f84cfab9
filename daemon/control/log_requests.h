// The control server's log requests (docs/protocol.md, "Logs"): TAIL (also wardend's own log,
// for `maintail`), LOGROTATE and CLEAR, served from the dispatch table (handlers.cc).
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

#include "daemon/control/request.h"
#include "daemon/supervisor/supervisor.h"
#include "proto/log_messages.h"
#include "proto/messages.h"

namespace warden {

// A tail reads at most this many bytes back; more would hold the loop on disk reads.
inline constexpr size_t kMaxTailBytes = 4u << 20;

// TAIL: the last bytes or lines, and with follow the subscription that keeps the stream going
// (the caller holds it as long as the connection lives); null when nothing is left to do.
std::shared_ptr<void> ServeTail(Supervisor& supervisor, const proto::TailRequest& request,
                                const control::SendFrame& send);
// LOGROTATE and CLEAR: one result per process, then `refused` (the access rules' refusals).
void ServeLogRotate(Supervisor& supervisor, const proto::LogNamesRequest& request,
                    std::vector<proto::ActionResult> refused, const control::SendFrame& send);
void ServeClear(Supervisor& supervisor, const proto::LogNamesRequest& request,
                std::vector<proto::ActionResult> refused, const control::SendFrame& send);

}  // namespace warden
