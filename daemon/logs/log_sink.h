// LogSink: where one log's bytes go once they are read from a program's pipe: its LogFile
// (rotated by size), its `tail -f` followers, and optionally a timestamp before each line.
// Everyone who writes to the same path shares one sink (LogCapture::SinkFor), so two pipes can
// never rotate one file under each other.
//
// When the file does not take the bytes (a full disk, a quota, EIO, a rotation that fails, a
// stream like /dev/stdout that is not draining), the sink reports it once per episode, then:
//   on_full: block  (the default) it keeps the bytes it could not write and pauses every pipe
//                   that feeds it: the program blocks in write(2) once its pipe is full.
//                   Back-pressure on that program only; nothing is lost.
//   on_full: drop   it keeps reading and discards what the file cannot take, counting it.
// Either way it tries again on a timer with backoff (kFirstRetry doubling to kMaxRetry), and
// reports once when the file takes bytes again (with the count of bytes dropped, if any).
//
// The fast path moves bytes from the pipe to the file with splice(2), never through memory; it
// applies when nobody needs to see the bytes (no follower, no timestamps, not dropping) and the
// file is a regular file. Otherwise the pipe is read into memory and Accept()ed.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "daemon/os/event_loop.h"
#include "daemon/logs/log_file.h"
#include "daemon/logs/log_follow.h"

namespace warden {

class PipeReader;

struct LogSinkOptions {
  std::string label;  // whose log, for messages: "web stdout"
  LogFile::Options file;
  bool drop_when_full = false;  // on_full: drop
  bool timestamps = false;      // prefix each line with the time wardend read it
};

// Puts "YYYY-MM-DD HH:MM:SS.mmm " (local time, as wardend's own log) before the first byte of
// every line. Lines may arrive in pieces: the state carries over between calls.
class LineStamper {
 public:
  std::string Apply(std::string_view bytes, std::chrono::system_clock::time_point now);

 private:
  bool at_line_start_ = true;
  int64_t cached_second_ = -1;
  char cached_prefix_[20] = {};  // "YYYY-MM-DD HH:MM:SS" of cached_second_
};

class LogSink final : public TailSource, public std::enable_shared_from_this<LogSink> {
 public:
  static constexpr std::chrono::milliseconds kFirstRetry{50};
  static constexpr std::chrono::milliseconds kMaxRetry{1000};

  // Opens the file. Fails (and nothing exists) when it cannot be opened. Deleted files are
  // closed by `closer` when given (see LogFile).
  static Result<std::shared_ptr<LogSink>> Open(EventLoop& loop, LogSinkOptions options,
                                               std::shared_ptr<BackgroundCloser> closer = {});
  ~LogSink() override;
  LogSink(const LogSink&) = delete;
  LogSink& operator=(const LogSink&) = delete;

  // Takes new settings for the same path (label, limits, policy, timestamps).
  void Configure(const LogSinkOptions& options);
  // The settings in force (the file's are kept once, by the LogFile).
  LogSinkOptions options() const { return {label_, file_.options(), drop_when_full_, timestamps_}; }
  const std::string& label() const { return label_; }
  const std::string& path() const { return file_.path(); }

  // --- the pipe readers' side ---
  // Block mode while the file refuses bytes: readers must not read.
  bool paused() const { return failing_ && !drop_when_full_; }
  // Readers must read(2) and Accept rather than Splice.
  bool wants_copy() const {
    return !followers_.empty() || timestamps_ || !file_.regular() || failing_;
  }
  // Bytes read from a pipe.
  void Accept(std::string_view bytes);
  enum class SpliceResult { kMoved, kEof, kEmpty, kFailed };
  // The fast path: up to `max` bytes from the pipe into the file (*moved says how many).
  // kFailed: the file refused them (handled here: paused() or wants_copy() is now true).
  SpliceResult Splice(int pipe_fd, size_t max, size_t* moved);
  void AddReader(PipeReader* reader);
  void RemoveReader(PipeReader* reader);

  // --- commands ---
  Status Reopen();  // wardenctl logrotate, SIGUSR2
  Status Clear();   // wardenctl clear

  // --- TailSource ---
  std::string TailPath() const override { return path(); }
  Result<std::string> Tail(TailUnit unit, uint64_t count, size_t cap) const override;
  std::shared_ptr<void> Follow(Followers::OnData on_data, Followers::OnEnd on_end) override;

  // --- counters ---
  uint64_t bytes_in() const { return bytes_in_; }  // accepted or spliced since creation
  uint64_t dropped_total() const { return dropped_total_; }
  size_t held_bytes() const { return held_.size(); }
  bool in_trouble() const { return in_trouble_; }  // a failure since the last good write
  const LogFile& file() const { return file_; }

 private:
  struct Key {};  // the constructor is for Open only (public for std::make_shared)

 public:
  LogSink(Key, EventLoop& loop, LogSinkOptions options);

 private:
  void WriteOut(std::string_view bytes);
  void Fail(int error, std::string_view unwritten);
  void Succeeded();
  void OnRetry();
  void PauseReaders();
  void ResumeReaders();

  EventLoop& loop_;
  std::string label_;
  bool drop_when_full_ = false;
  bool timestamps_ = false;
  LogFile file_;
  std::unique_ptr<LineStamper> stamper_;  // made when the first line is stamped
  Followers followers_;
  std::vector<PipeReader*> readers_;

  std::string held_;         // block mode: bytes accepted but not yet written
  bool failing_ = false;     // refusing bytes until the retry timer fires
  bool in_trouble_ = false;  // failed since the last complete write (one episode)
  EventLoop::TimePoint trouble_since_{};
  std::chrono::milliseconds retry_delay_ = kFirstRetry;
  EventLoop::TimerId retry_timer_ = 0;
  uint64_t episode_dropped_ = 0;
  uint64_t dropped_total_ = 0;
  uint64_t bytes_in_ = 0;
};

}  // namespace warden
