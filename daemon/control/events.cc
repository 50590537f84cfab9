// The event bus and the EVENTS and WAIT requests. See events.h.
#include "daemon/control/events.h"

#include <spdlog/spdlog.h>
#include <algorithm>
#include <chrono>
#include <string>
#include <unordered_set>
#include <utility>

#include "daemon/control/wire_types.h"
#include "daemon/supervisor/supervisor.h"

namespace warden {
namespace {

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The state a process is in now, as an event from that state to itself.
proto::StateEvent Current(const Process& p) {
  const core::ProcessMachine& m = p.machine();
  proto::StateEvent e;
  e.time_ms = WallMs();
  e.process = p.full_name();
  e.from = e.to = wire::ToWire(m.state());
  e.pid = m.pid();
  e.reason = p.reason();
  return e;
}

std::string Join(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

std::vector<uint8_t> ErrorPayload(ErrorCode code, const std::string& message) {
  return proto::Encode(proto::ErrorReply{code, message});
}

// An EVENTS stream: forwards the events of the processes it covers until it is dropped.
struct EventStream {
  std::shared_ptr<void> subscription;
};

// A WAIT not answered yet. Owned by the connection (through HandleEventRequest's result); the
// bus and the timer only hold it weakly.
class Waiter : public std::enable_shared_from_this<Waiter> {
 public:
  Waiter(Supervisor& supervisor, std::vector<std::string> targets, proto::ProcessState state,
         control::SendFrame send)
      : supervisor_(supervisor),
        targets_(std::move(targets)),
        state_(state),
        send_(std::move(send)) {}
  ~Waiter() { supervisor_.loop().CancelTimer(timer_); }

  void Start(uint32_t timeout_ms) {
    if (Check()) return;
    std::weak_ptr<Waiter> weak = shared_from_this();
    std::unordered_set<std::string> watched(targets_.begin(), targets_.end());
    subscription_ = supervisor_.events().Subscribe([weak, watched](const StateChange& change) {
      if (!watched.count(change.process)) return;
      if (auto self = weak.lock()) self->Check();
    });
    if (timeout_ms > 0) {
      timer_ = supervisor_.loop().AddTimer(EventLoop::Now() + std::chrono::milliseconds(timeout_ms),
                                           [weak, timeout_ms] {
                                             if (auto self = weak.lock())
                                               self->TimedOut(timeout_ms);
                                           });
    }
  }

 private:
  // Answers and finishes when every target is in the state now.
  bool Check() {
    if (done_) return true;
    Supervisor::Resolved resolved = supervisor_.Resolve(targets_);
    if (!resolved.unknown.empty()) return false;  // removed meanwhile: it cannot get there
    proto::WaitReply reply;
    for (const Process* p : resolved.processes) {
      proto::StateEvent e = Current(*p);
      if (e.to != state_) return false;
      reply.processes.push_back(std::move(e));
    }
    Finish();
    send_(proto::MessageType::kWaitReply, proto::Encode(reply));
    return true;
  }

  void TimedOut(uint32_t timeout_ms) {
    timer_ = 0;
    if (done_) return;
    std::vector<std::string> off;
    Supervisor::Resolved resolved = supervisor_.Resolve(targets_);
    for (const Process* p : resolved.processes) {
      proto::StateEvent e = Current(*p);
      if (e.to != state_) off.push_back(p->full_name() + " is " + proto::ProcessStateName(e.to));
    }
    for (const std::string& gone : resolved.unknown) off.push_back(gone + " is gone");
    Finish();
    send_(proto::MessageType::kError,
          ErrorPayload(ErrorCode::kTimeout, "not " + std::string(proto::ProcessStateName(state_)) +
                                                " after " + std::to_string(timeout_ms / 1000) +
                                                "." + std::to_string(timeout_ms % 1000 / 100) +
                                                " s: " + Join(off)));
  }

  void Finish() {
    done_ = true;
    subscription_.reset();
    supervisor_.loop().CancelTimer(timer_);
    timer_ = 0;
  }

  Supervisor& supervisor_;
  std::vector<std::string> targets_;  // full names
  proto::ProcessState state_;
  control::SendFrame send_;
  std::shared_ptr<void> subscription_;
  EventLoop::TimerId timer_ = 0;
  bool done_ = false;
};

}  // namespace

// --- requests -----------------------------------------------------------------------------------

std::shared_ptr<void> ServeEvents(Supervisor& supervisor, const proto::EventsRequest& request,
                                  const control::SendFrame& send) {
  Supervisor::Resolved resolved = supervisor.Resolve(request.names);
  if (!resolved.unknown.empty()) {
    send(proto::MessageType::kError,
         ErrorPayload(ErrorCode::kNotFound, "no such process: " + Join(resolved.unknown)));
    return nullptr;
  }
  proto::EventsReply snapshot;
  snapshot.snapshot = true;
  std::unordered_set<std::string> covered;
  for (const Process* p : resolved.processes) {
    snapshot.events.push_back(Current(*p));
    covered.insert(p->full_name());
  }
  if (!send(proto::MessageType::kEventsReply, proto::Encode(snapshot))) return nullptr;
  const bool everything = request.names.empty();
  auto stream = std::make_shared<EventStream>();
  stream->subscription =
      supervisor.events().Subscribe([send, covered, everything](const StateChange& change) {
        if (!everything && !covered.count(change.process)) return;
        proto::EventsReply reply;
        reply.events.push_back(wire::ToWire(change));
        send(proto::MessageType::kEventsReply, proto::Encode(reply));
      });
  return stream;
}

std::shared_ptr<void> ServeWait(Supervisor& supervisor, const proto::WaitRequest& request,
                                const control::SendFrame& send) {
  if (!proto::IsKnownState(request.state)) {
    send(proto::MessageType::kError,
         ErrorPayload(ErrorCode::kInvalidArgument,
                      "no such state " + std::to_string(static_cast<int>(request.state))));
    return nullptr;
  }
  if (request.names.empty()) {
    send(proto::MessageType::kError,
         ErrorPayload(ErrorCode::kInvalidArgument, "WAIT needs at least one name"));
    return nullptr;
  }
  Supervisor::Resolved resolved = supervisor.Resolve(request.names);
  if (!resolved.unknown.empty()) {
    send(proto::MessageType::kError,
         ErrorPayload(ErrorCode::kNotFound, "no such process: " + Join(resolved.unknown)));
    return nullptr;
  }
  std::vector<std::string> targets;
  for (const Process* p : resolved.processes) targets.push_back(p->full_name());
  auto waiter = std::make_shared<Waiter>(supervisor, std::move(targets), request.state, send);
  waiter->Start(request.timeout_ms);
  return waiter;
}
}  // namespace warden
