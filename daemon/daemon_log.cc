#include "daemon/daemon_log.h"

#include <spdlog/pattern_formatter.h>
#include <utility>

namespace warden {

DaemonLog::DaemonLog(size_t capacity) : capacity_(capacity) {
  formatter_ = std::make_unique<spdlog::pattern_formatter>(kPattern);
}

void DaemonLog::sink_it_(const spdlog::details::log_msg& msg) {
  spdlog::memory_buf_t formatted;
  formatter_->format(msg, formatted);
  std::string line(formatted.data(), formatted.size());
  bytes_ += line.size();
  lines_.push_back(line);
  while (bytes_ > capacity_ && lines_.size() > 1) {
    bytes_ -= lines_.front().size();
    lines_.pop_front();
  }
  if (followers_.empty()) return;
  undelivered_.push_back(std::move(line));
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
  std::string all;
  all.reserve(bytes_);
  for (const std::string& line : lines_) all += line;
  std::string_view tail = TailOf(all, unit, count);
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
