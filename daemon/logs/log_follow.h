// What `wardenctl tail` reads from: a program's log (LogSink) or wardend's own (DaemonLog).
//
// Followers is the list of `tail -f` subscribers of one log. A subscriber's callback may end its
// own subscription or another's (the control server drops a client that stops reading from
// inside a delivery), and may cause new deliveries; entries are therefore only marked dead
// while a delivery runs and removed after it, and a std::deque keeps every running callback in
// place while new subscribers are added.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "base/status.h"
#include "daemon/logs/log_file.h"

namespace warden {

class Followers {
 public:
  using OnData = std::function<void(std::string_view bytes)>;
  using OnEnd = std::function<void()>;

  uint64_t Add(OnData on_data, OnEnd on_end) {
    uint64_t id = next_id_++;
    if (!entries_) entries_ = std::make_unique<std::deque<Entry>>();
    entries_->push_back({id, std::move(on_data), std::move(on_end), true});
    ++live_;
    return id;
  }

  void Remove(uint64_t id) {
    if (!entries_) return;
    for (Entry& e : *entries_) {
      if (e.id == id && e.live) {
        e.live = false;
        --live_;
      }
    }
    Sweep();
  }

  // Gives `bytes` to every live subscriber (those added during the delivery included).
  void Deliver(std::string_view bytes) {
    if (!entries_) return;
    ++depth_;
    for (size_t i = 0; i < entries_->size(); ++i) {
      if ((*entries_)[i].live) (*entries_)[i].on_data(bytes);
    }
    --depth_;
    Sweep();
  }

  // Tells every subscriber the log is going away, and forgets them.
  void EndAll() {
    if (!entries_) return;
    ++depth_;
    for (size_t i = 0; i < entries_->size(); ++i) {
      Entry& e = (*entries_)[i];
      if (!e.live) continue;
      e.live = false;
      --live_;
      if (e.on_end) e.on_end();
    }
    --depth_;
    Sweep();
  }

  bool empty() const { return live_ == 0; }
  size_t size() const { return live_; }

 private:
  struct Entry {
    uint64_t id;
    OnData on_data;
    OnEnd on_end;
    bool live;
  };

  void Sweep() {
    if (depth_ > 0 || !entries_) return;
    std::erase_if(*entries_, [](const Entry& e) { return !e.live; });
    if (entries_->empty()) entries_.reset();
  }

  // Made on the first Add and dropped when the last subscriber goes: an empty std::deque holds
  // about 600 bytes, and every log (two per process) has a Followers.
  std::unique_ptr<std::deque<Entry>> entries_;
  uint64_t next_id_ = 1;
  size_t live_ = 0;
  int depth_ = 0;
};

// A subscription that ends when the last copy of it is destroyed.
inline std::shared_ptr<void> MakeSubscription(std::function<void()> cancel) {
  struct Subscription {
    std::function<void()> cancel;
    ~Subscription() {
      if (cancel) cancel();
    }
  };
  auto subscription = std::make_shared<Subscription>();
  subscription->cancel = std::move(cancel);
  return subscription;
}

class TailSource {
 public:
  virtual ~TailSource() = default;
  // The file the log is read from; "" for wardend's in-memory log.
  virtual std::string TailPath() const = 0;
  // The last `count` bytes or lines, at most `cap` bytes.
  virtual Result<std::string> Tail(TailUnit unit, uint64_t count, size_t cap) const = 0;
  // Calls on_data with every byte of the log from now on, until the returned subscription is
  // destroyed; on_end if the log itself goes away first.
  virtual std::shared_ptr<void> Follow(Followers::OnData on_data, Followers::OnEnd on_end) = 0;
};

}  // namespace warden
