// State-change events: the bus the supervised processes publish on, and the control server's
// EVENTS and WAIT requests (docs/protocol.md, "Events"), kept out of control_server.cc, which
// only routes the message types 0x20-0x2F here.
//
// Every state change of every process is published once, in order, from the event loop (never
// from inside a state machine). A subscriber is called synchronously and must not block: the
// control server only queues the frame (a client that does not read loses its connection).
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

class EventBus {
 public:
  using Subscriber = std::function<void(const proto::StateEvent&)>;

  EventBus() = default;
  EventBus(const EventBus&) = delete;
  EventBus& operator=(const EventBus&) = delete;

  // The subscription lasts as long as the returned handle (it may outlive the bus).
  [[nodiscard]] std::shared_ptr<void> Subscribe(Subscriber subscriber);
  // Calls every subscriber; one may subscribe or unsubscribe (itself included) meanwhile.
  void Publish(const proto::StateEvent& event);
  size_t subscribers() const { return subscribers_->size(); }

 private:
  using Map = std::map<uint64_t, Subscriber>;
  std::shared_ptr<Map> subscribers_ = std::make_shared<Map>();
  uint64_t next_id_ = 1;
};

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
