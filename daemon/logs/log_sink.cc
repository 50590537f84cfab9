#include "daemon/logs/log_sink.h"

#include <time.h>

#include <spdlog/spdlog.h>
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "daemon/logs/log_capture.h"

namespace warden {

// ---------------------------------------------------------------------------------------------
// LineStamper

std::string LineStamper::Apply(std::string_view bytes, std::chrono::system_clock::time_point now) {
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  const int64_t ms = duration_cast<milliseconds>(now.time_since_epoch()).count();
  const int64_t second = ms / 1000;
  if (second != cached_second_) {
    time_t t = static_cast<time_t>(second);
    struct tm local {};
    localtime_r(&t, &local);
    strftime(cached_prefix_, sizeof cached_prefix_, "%Y-%m-%d %H:%M:%S", &local);
    cached_second_ = second;
  }
  char prefix[32];
  int len =
      std::snprintf(prefix, sizeof prefix, "%s.%03d ", cached_prefix_, static_cast<int>(ms % 1000));
  const std::string_view stamp(prefix, static_cast<size_t>(std::max(len, 0)));

  std::string out;
  out.reserve(bytes.size() + stamp.size() * 2);
  size_t pos = 0;
  while (pos < bytes.size()) {
    if (at_line_start_) out += stamp;
    size_t newline = bytes.find('\n', pos);
    size_t end = newline == std::string_view::npos ? bytes.size() : newline + 1;
    out.append(bytes.substr(pos, end - pos));
    at_line_start_ = newline != std::string_view::npos;
    pos = end;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// LogSink

LogSink::LogSink(Key, EventLoop& loop, LogSinkOptions options)
    : loop_(loop),
      label_(std::move(options.label)),
      drop_when_full_(options.drop_when_full),
      timestamps_(options.timestamps),
      file_(std::move(options.file)) {}

Result<std::shared_ptr<LogSink>> LogSink::Open(EventLoop& loop, LogSinkOptions options,
                                               std::shared_ptr<BackgroundCloser> closer) {
  auto sink = std::make_shared<LogSink>(Key{}, loop, std::move(options));
  sink->file_.set_closer(std::move(closer));
  if (Status s = sink->file_.Open(); !s.ok()) return s;
  // Opened to check that it can be (a spawn fails when its log cannot), then given back until
  // the program writes: a program that writes nothing costs no fd for its log.
  sink->file_.CloseUntilWritten();
  return sink;
}

LogSink::~LogSink() {
  loop_.CancelTimer(retry_timer_);
  if (!held_.empty()) {
    auto r = file_.Write(held_);
    if (r.written < held_.size()) {
      spdlog::error("{}: {} bytes of output could not be written to {} and are lost", label_,
                    held_.size() - r.written, path());
    }
  }
  followers_.EndAll();
}

void LogSink::Configure(const LogSinkOptions& options) {
  bool was_dropping = drop_when_full_;
  label_ = options.label;
  drop_when_full_ = options.drop_when_full;
  timestamps_ = options.timestamps;
  file_.SetLimits(options.file.max_bytes, options.file.backups);
  // Switching from block to drop while blocked: what is held stays held (it was accepted) and
  // goes out at the next retry; the readers may read again.
  if (!was_dropping && drop_when_full_ && failing_) ResumeReaders();
}

void LogSink::Accept(std::string_view bytes) {
  bytes_in_ += bytes.size();
  std::string stamped;
  if (timestamps_) {
    if (!stamper_) stamper_ = std::make_unique<LineStamper>();
    stamped = stamper_->Apply(bytes, std::chrono::system_clock::now());
    bytes = stamped;
  }
  // Followers see the output as it arrives, whether or not the disk takes it now.
  if (!followers_.empty()) followers_.Deliver(bytes);
  if (failing_) {
    if (drop_when_full_) {
      episode_dropped_ += bytes.size();
      dropped_total_ += bytes.size();
    } else {
      held_.append(bytes);  // read just before the pause took effect
    }
    return;
  }
  WriteOut(bytes);
}

void LogSink::WriteOut(std::string_view bytes) {
  LogFile::WriteResult r = file_.Write(bytes);
  if (r.error != 0) {
    Fail(r.error, bytes.substr(r.written));
    return;
  }
  Succeeded();
}

LogSink::SpliceResult LogSink::Splice(int pipe_fd, size_t max, size_t* moved) {
  *moved = 0;
  ssize_t n = file_.SpliceFrom(pipe_fd, max);
  if (n > 0) {
    *moved = static_cast<size_t>(n);
    bytes_in_ += *moved;
    Succeeded();
    return SpliceResult::kMoved;
  }
  if (n == 0) return SpliceResult::kEof;
  if (errno == EAGAIN) return SpliceResult::kEmpty;
  Fail(errno, {});  // the pipe still holds every byte that did not reach the file
  return SpliceResult::kFailed;
}

void LogSink::Fail(int error, std::string_view unwritten) {
  const auto now = EventLoop::Now();
  if (!in_trouble_) {
    in_trouble_ = true;
    trouble_since_ = now;
    retry_delay_ = kFirstRetry;
    episode_dropped_ = 0;
    if (error == EAGAIN) {
      spdlog::debug("{}: {} is not taking output fast enough", label_, path());
    } else {
      spdlog::error("{}: cannot write {}: {}; {}", label_, path(), std::strerror(error),
                    drop_when_full_
                        ? "dropping its output until it can (on_full: drop)"
                        : "holding its output until it can (the program blocks meanwhile)");
    }
  } else {
    retry_delay_ = std::min(retry_delay_ * 2, kMaxRetry);
  }
  failing_ = true;
  if (drop_when_full_) {
    episode_dropped_ += unwritten.size();
    dropped_total_ += unwritten.size();
  } else {
    held_.append(unwritten);
    PauseReaders();
  }
  if (retry_timer_ == 0) {
    retry_timer_ = loop_.AddTimer(now + retry_delay_, [this] { OnRetry(); });
  }
}

void LogSink::Succeeded() {
  if (!in_trouble_) return;
  in_trouble_ = false;
  retry_delay_ = kFirstRetry;
  const double seconds = std::chrono::duration<double>(EventLoop::Now() - trouble_since_).count();
  if (episode_dropped_ > 0) {
    spdlog::warn("{}: writing {} again after {:.1f} s; {} bytes of output were dropped", label_,
                 path(), seconds, episode_dropped_);
  } else {
    spdlog::info("{}: writing {} again after {:.1f} s; no output was lost", label_, path(),
                 seconds);
  }
  episode_dropped_ = 0;
}

void LogSink::OnRetry() {
  retry_timer_ = 0;
  failing_ = false;
  if (!held_.empty()) {
    LogFile::WriteResult r = file_.Write(held_);
    held_.erase(0, r.written);
    if (r.error != 0) {
      Fail(r.error, {});
      return;
    }
    Succeeded();
  }
  // Readers try again; the first refusal pauses them anew with a longer delay.
  ResumeReaders();
}

void LogSink::AddReader(PipeReader* reader) { readers_.push_back(reader); }

void LogSink::RemoveReader(PipeReader* reader) {
  std::erase(readers_, reader);
  // Nobody writes any more (the program and what it started are gone): the fd goes back until
  // someone does, unless bytes wait for a retry.
  if (readers_.empty() && held_.empty() && !failing_) file_.CloseUntilWritten();
}

void LogSink::PauseReaders() {
  for (PipeReader* reader : readers_) reader->Pause();
}

void LogSink::ResumeReaders() {
  for (PipeReader* reader : readers_) reader->Resume();
}

Status LogSink::Reopen() {
  Status s = file_.Reopen();
  if (!s.ok()) return Status(s.code(), s.message() + " (still writing to the old file)");
  // A new file may well take what the old one refused.
  if (failing_) {
    loop_.CancelTimer(retry_timer_);
    OnRetry();
  }
  return s;
}

Status LogSink::Clear() { return file_.Clear(); }

Result<std::string> LogSink::Tail(TailUnit unit, uint64_t count, size_t cap) const {
  if (!file_.regular()) {
    return Status(ErrorCode::kInvalidArgument, path() + " is not a regular file");
  }
  return ReadTail(file_.Files(), unit, count, cap);
}

std::shared_ptr<void> LogSink::Follow(Followers::OnData on_data, Followers::OnEnd on_end) {
  uint64_t id = followers_.Add(std::move(on_data), std::move(on_end));
  std::weak_ptr<LogSink> weak = weak_from_this();
  return MakeSubscription([weak, id] {
    if (auto sink = weak.lock()) sink->followers_.Remove(id);
  });
}

}  // namespace warden
