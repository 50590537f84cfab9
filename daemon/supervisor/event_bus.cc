// The state-change bus. See event_bus.h.
#include "daemon/supervisor/event_bus.h"

#include <utility>
#include <vector>

namespace warden {

std::shared_ptr<void> EventBus::Subscribe(Subscriber subscriber) {
  const uint64_t id = next_id_++;
  (*subscribers_)[id] = std::move(subscriber);
  // Unsubscribes when the last copy of the returned pointer goes; built in place, never copied.
  struct Handle {
    Handle(std::weak_ptr<Map> m, uint64_t i) : map(std::move(m)), id(i) {}
    Handle(const Handle&) = delete;
    Handle& operator=(const Handle&) = delete;
    ~Handle() {
      if (auto m = map.lock()) m->erase(id);
    }
    std::weak_ptr<Map> map;
    uint64_t id;
  };
  return std::make_shared<Handle>(subscribers_, id);
}

void EventBus::Publish(const StateChange& event) {
  std::shared_ptr<Map> subscribers = subscribers_;
  std::vector<uint64_t> ids;
  ids.reserve(subscribers->size());
  for (const auto& [id, fn] : *subscribers) ids.push_back(id);
  for (uint64_t id : ids) {
    auto it = subscribers->find(id);
    if (it == subscribers->end()) continue;  // unsubscribed by an earlier delivery
    Subscriber fn = it->second;              // a copy: the delivery may unsubscribe itself
    fn(event);
  }
}

}  // namespace warden
