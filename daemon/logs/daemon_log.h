// DaemonLog: the last lines of wardend's own log, kept in memory for `wardenctl maintail`.
// wardend logs to stderr (or the journal), which it cannot read back, so this spdlog sink sits
// beside the real one and keeps up to `capacity` bytes of recent lines; `maintail -f` followers
// get each line as it is logged.
//
// A follower's delivery can itself log (the control server reports a client it drops), which
// re-enters this sink: such lines are queued and delivered by the outer call, in order, so a
// delivery never recurses.
#pragma once

#include <spdlog/details/null_mutex.h>
#include <spdlog/sinks/base_sink.h>
#include <cstddef>
#include <deque>
#include <memory>
#include <string>
#include <string_view>

#include "daemon/logs/log_follow.h"

namespace warden {

// The newest lines, whole, in one buffer: up to `capacity` bytes (more only when the newest line
// alone is longer). One allocation for the text instead of one string per line (a start of 1000
// programs logs ~3000 lines: ~110 bytes each held as strings, ~65 here).
class LineRing {
 public:
  explicit LineRing(size_t capacity) : capacity_(capacity) {}
  void Push(std::string_view line);
  // Every line kept, oldest first.
  std::string_view Text() const { return std::string_view(text_).substr(head_); }
  size_t lines() const { return lengths_.size(); }

 private:
  size_t capacity_;
  std::string text_;  // text_[head_, end) is kept; the rest awaits compaction
  size_t head_ = 0;
  std::deque<uint32_t> lengths_;  // of the kept lines, oldest first
};

class DaemonLog final : public spdlog::sinks::base_sink<spdlog::details::null_mutex>,
                        public TailSource,
                        public std::enable_shared_from_this<DaemonLog> {
 public:
  static constexpr size_t kDefaultCapacity = 256 * 1024;
  // Its own pattern, whatever the logger's: the stderr sink may drop timestamps for the journal.
  static constexpr const char* kPattern = "%Y-%m-%d %H:%M:%S.%e %-5l %v";

  explicit DaemonLog(size_t capacity = kDefaultCapacity);

  std::string TailPath() const override { return ""; }
  Result<std::string> Tail(TailUnit unit, uint64_t count, size_t cap) const override;
  std::shared_ptr<void> Follow(Followers::OnData on_data, Followers::OnEnd on_end) override;

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override;
  void flush_() override {}
  void set_pattern_(const std::string&) override {}
  void set_formatter_(std::unique_ptr<spdlog::formatter>) override {}

 private:
  LineRing lines_;
  Followers followers_;
  std::deque<std::string> undelivered_;
  bool delivering_ = false;
};

}  // namespace warden
