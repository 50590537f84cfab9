#include "daemon/logs/daemon_log.h"

#include <spdlog/pattern_formatter.h>
#include <utility>

namespace warden {

void LineRing::Push(std::string_view line) {
  text_.append(line);
  lengths_.push_back(static_cast<uint32_t>(line.size()));
  while (text_.size() - head_ > capacity_ && lengths_.size() > 1) {
    head_ += lengths_.front();
    lengths_.pop_front();
  }
  // Compact once a quarter of the capacity was dropped: the buffer stays under 1.25x the
  // capacity (plus a line), and each byte is moved about four times at most.
  if (head_ > 0 && head_ >= capacity_ / 4) {
    text_.erase(0, head_);
    head_ = 0;
  }
}

DaemonLog::DaemonLog(size_t capacity) : lines_(capacity) {
  formatter_ = std::make_unique<spdlog::pattern_formatter>(kPattern);
}

void DaemonLog::sink_it_(const spdlog::details::log_msg& msg) {
  spdlog::memory_buf_t formatted;
  formatter_->format(msg, formatted);
  lines_.Push(std::string_view(formatted.data(), formatted.size()));
  if (followers_.empty()) return;
  undelivered_.emplace_back(formatted.data(), formatted.size());
  if (delivering_) return;  // the outer call delivers it
  delivering_ = true;
  while (!undelivered_.empty()) {
    std::string next = std::move(undelivered_.front());
    undelivered_.pop_front();
    followers_.Deliver(next);
  }
  delivering_ = false;
}

Result<std::string> DaemonLog::Tail(TailUnit unit, uint64_t count, size_t cap) const {
  std::string_view tail = TailOf(lines_.Text(), unit, count);
  if (tail.size() > cap) tail.remove_prefix(tail.size() - cap);
  return std::string(tail);
}

std::shared_ptr<void> DaemonLog::Follow(Followers::OnData on_data, Followers::OnEnd on_end) {
  uint64_t id = followers_.Add(std::move(on_data), std::move(on_end));
  std::weak_ptr<DaemonLog> weak = weak_from_this();
  return MakeSubscription([weak, id] {
    if (auto log = weak.lock()) log->followers_.Remove(id);
  });
}

}  // namespace warden
