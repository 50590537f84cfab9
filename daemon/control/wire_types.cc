#include "daemon/control/wire_types.h"

#include <utility>

namespace warden::wire {
namespace {

// A wire number for every state, and the same number on both sides.
constexpr bool SameNumber(core::State a, proto::ProcessState b) {
  return static_cast<uint16_t>(a) == static_cast<uint16_t>(b);
}
static_assert(SameNumber(core::State::kStopped, proto::ProcessState::kStopped));
static_assert(SameNumber(core::State::kStarting, proto::ProcessState::kStarting));
static_assert(SameNumber(core::State::kRunning, proto::ProcessState::kRunning));
static_assert(SameNumber(core::State::kBackoff, proto::ProcessState::kBackoff));
static_assert(SameNumber(core::State::kStopping, proto::ProcessState::kStopping));
static_assert(SameNumber(core::State::kExited, proto::ProcessState::kExited));
static_assert(SameNumber(core::State::kFatal, proto::ProcessState::kFatal));
static_assert(SameNumber(core::State::kUnknown, proto::ProcessState::kUnknown));

static_assert(static_cast<uint8_t>(ExitKind::kNone) ==
              static_cast<uint8_t>(proto::ExitKind::kNone));
static_assert(static_cast<uint8_t>(ExitKind::kExited) ==
              static_cast<uint8_t>(proto::ExitKind::kExited));
static_assert(static_cast<uint8_t>(ExitKind::kSignaled) ==
              static_cast<uint8_t>(proto::ExitKind::kSignaled));

}  // namespace

proto::ProcessState ToWire(core::State state) { return static_cast<proto::ProcessState>(state); }

std::optional<core::State> StateFromWire(proto::ProcessState state) {
  switch (state) {
    case proto::ProcessState::kStopped:
    case proto::ProcessState::kStarting:
    case proto::ProcessState::kRunning:
    case proto::ProcessState::kBackoff:
    case proto::ProcessState::kStopping:
    case proto::ProcessState::kExited:
    case proto::ProcessState::kFatal:
    case proto::ProcessState::kUnknown:
      return static_cast<core::State>(state);
  }
  return std::nullopt;
}

proto::ActionResult ToWire(ActionOutcome outcome) {
  return {std::move(outcome.name), outcome.code, std::move(outcome.message)};
}

std::vector<proto::ActionResult> ToWire(ActionOutcomes outcomes) {
  std::vector<proto::ActionResult> results;
  results.reserve(outcomes.size());
  for (ActionOutcome& o : outcomes) results.push_back(ToWire(std::move(o)));
  return results;
}

proto::StatusReply ToWire(StatusReport report) {
  proto::StatusReply reply;
  reply.unknown_names = std::move(report.unknown_names);
  reply.processes.reserve(report.processes.size());
  for (ProcessReport& p : report.processes) {
    proto::ProcessInfo& info = reply.processes.emplace_back();
    info.name = std::move(p.name);
    info.group = std::move(p.group);
    info.state = ToWire(p.state);
    info.pid = p.pid;
    info.kernel_state = static_cast<uint8_t>(p.kernel_state);
    info.start_time_ms = p.start_time_ms;
    info.stop_time_ms = p.stop_time_ms;
    info.uptime_ms = p.uptime_ms;
    info.restarts = p.restarts;
    info.exit_kind = static_cast<proto::ExitKind>(p.exit_kind);
    info.exit_value = p.exit_value;
    info.reason = std::move(p.reason);
    info.cpu_time_ms = p.cpu_time_ms;
    info.rss_bytes = p.rss_bytes;
    info.children.reserve(p.children.size());
    for (const ChildReport& c : p.children) {
      info.children.push_back({c.pid, static_cast<uint8_t>(c.kernel_state)});
    }
    info.status_text = std::move(p.status_text);
    info.health = std::move(p.health);
    info.retry_in_ms = p.retry_in_ms;
  }
  return reply;
}

proto::ShowReply ToWire(ShowReport show) {
  proto::ShowReply reply;
  StatusReport one;
  one.processes.push_back(std::move(show.process));
  proto::StatusReply status = ToWire(std::move(one));
  reply.process = std::move(status.processes.front());
  reply.command = std::move(show.command);
  reply.directory = std::move(show.directory);
  reply.user = std::move(show.user);
  reply.environment = std::move(show.environment);
  reply.env_files = std::move(show.env_files);
  for (ShowReport::LogFile& l : show.logs) {
    reply.logs.push_back({std::move(l.stream), std::move(l.path), l.size});
  }
  reply.readiness = std::move(show.readiness);
  reply.healthcheck = std::move(show.healthcheck);
  reply.watchdog_sec = show.watchdog_sec;
  reply.stdout_tail = std::move(show.stdout_tail);
  reply.stderr_tail = std::move(show.stderr_tail);
  return reply;
}

proto::StateEvent ToWire(const StateChange& change) {
  return {change.time_ms,    change.process, ToWire(change.from),
          ToWire(change.to), change.pid,     change.reason};
}

}  // namespace warden::wire
