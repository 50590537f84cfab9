// The bus state changes are published on. Every state change of every process is published
// once, in order, from the event loop (never from inside a state machine). A subscriber is called
// synchronously and must not block: the control server only queues a frame (a client that does
// not read loses its connection).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>

#include "daemon/supervisor/reports.h"

namespace warden {

class EventBus {
 public:
  using Subscriber = std::function<void(const StateChange&)>;

  EventBus() = default;
  EventBus(const EventBus&) = delete;
  EventBus& operator=(const EventBus&) = delete;

  // The subscription lasts as long as the returned handle (it may outlive the bus).
  [[nodiscard]] std::shared_ptr<void> Subscribe(Subscriber subscriber);
  // Calls every subscriber; one may subscribe or unsubscribe (itself included) meanwhile.
  void Publish(const StateChange& event);
  size_t subscribers() const { return subscribers_->size(); }

 private:
  using Map = std::map<uint64_t, Subscriber>;
  std::shared_ptr<Map> subscribers_ = std::make_shared<Map>();
  uint64_t next_id_ = 1;
};

}  // namespace warden
