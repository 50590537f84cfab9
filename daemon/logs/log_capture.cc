#include "daemon/logs/log_capture.h"

#include <fcntl.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <algorithm>
#include <cerrno>
#include <cstring>

#include "daemon/logs/log_targets.h"

namespace warden {

// ---------------------------------------------------------------------------------------------
// PipeReader

PipeReader::PipeReader(LogCapture& capture, UniqueFd fd, std::shared_ptr<LogSink> sink)
    : capture_(capture), fd_(std::move(fd)), sink_(std::move(sink)) {
  sink_->AddReader(this);
}

PipeReader::~PipeReader() {
  if (registered_) capture_.loop().Remove(fd_.get());
  sink_->RemoveReader(this);
}

Status PipeReader::Start() {
  if (sink_->paused()) return Status::Ok();  // the sink resumes it
  Resume();
  return registered_ ? Status::Ok() : Status(ErrorCode::kIo, "cannot watch a log pipe");
}

void PipeReader::Pause() {
  // Leave the loop altogether: epoll reports EPOLLHUP even for an empty event mask, so a paused
  // pipe whose writer exited would wake the loop forever.
  if (!registered_) return;
  capture_.loop().Remove(fd_.get());
  registered_ = false;
}

void PipeReader::Resume() {
  if (registered_ || finished_) return;
  Status s = capture_.loop().Add(fd_.get(), EPOLLIN, EventLoop::kPriorityIo,
                                 [this](uint32_t) { OnReadable(); });
  if (!s.ok()) {
    spdlog::error("{}: {}", sink_->label(), s.message());
    return;
  }
  registered_ = true;
}

void PipeReader::OnReadable() {
  if (!Pump(kBudgetPerWakeup, /*honour_pause=*/true)) Finish();
}

bool PipeReader::Pump(size_t budget, bool honour_pause) {
  while (budget > 0) {
    if (honour_pause && sink_->paused()) {
      Pause();
      return true;
    }
    const size_t chunk = std::min(budget, LogCapture::kReadChunk);
    if (!sink_->wants_copy()) {
      size_t moved = 0;
      switch (sink_->Splice(fd_.get(), chunk, &moved)) {
        case LogSink::SpliceResult::kMoved:
          budget -= std::min(budget, moved);
          continue;
        case LogSink::SpliceResult::kEof:
          return false;
        case LogSink::SpliceResult::kEmpty:
          return true;
        case LogSink::SpliceResult::kFailed:
          if (!honour_pause) return true;  // draining at exit: nowhere to put it
          continue;                        // paused, or reading to drop
      }
    }
    ssize_t n = read(fd_.get(), capture_.buffer(), chunk);
    if (n > 0) {
      sink_->Accept(std::string_view(capture_.buffer(), static_cast<size_t>(n)));
      budget -= static_cast<size_t>(n);
      continue;
    }
    if (n == 0) return false;
    if (errno == EINTR) continue;
    if (errno == EAGAIN) return true;
    spdlog::warn("{}: reading its pipe: {}", sink_->label(), std::strerror(errno));
    return false;
  }
  return true;
}

void PipeReader::Drain(size_t budget) {
  if (finished_) return;
  if (!Pump(budget, /*honour_pause=*/false)) finished_ = true;
}

void PipeReader::Finish() {
  Pause();
  finished_ = true;
  capture_.Finished(this);
}

// ---------------------------------------------------------------------------------------------
// LogCapture

LogCapture::LogCapture(EventLoop& loop) : loop_(loop) {}

char* LogCapture::buffer() {
  // Not zero-filled: read(2) writes what is used, and untouched pages cost no memory.
  if (!buffer_) buffer_ = std::make_unique_for_overwrite<char[]>(kReadChunk);
  return buffer_.get();
}

LogCapture::~LogCapture() {
  *alive_ = false;
  // Whatever the programs wrote before wardend stopped still goes to the files. Bounded: a
  // descendant that keeps writing cannot hold the exit up.
  constexpr size_t kDrainBudget = 16u << 20;
  for (auto& [ptr, reader] : readers_) reader->Drain(kDrainBudget);
  readers_.clear();
}

Result<std::shared_ptr<LogSink>> LogCapture::SinkFor(LogSinkOptions options) {
  auto it = sinks_.find(options.file.path);
  if (it != sinks_.end()) {
    if (auto sink = it->second.lock()) {
      sink->Configure(options);
      return sink;
    }
  }
  // Sinks of ended processes are swept when the map has doubled since the last sweep: amortized
  // O(1) per new sink, where a sweep each time made starting N programs O(N^2).
  if (sinks_.size() >= sweep_at_) {
    std::erase_if(sinks_, [](const auto& entry) { return entry.second.expired(); });
    sweep_at_ = std::max<size_t>(kFirstSweep, 2 * sinks_.size());
  }
  // The sink keeps the strings built for it (no copy freed behind it: a start of many programs
  // would leave the heap full of small holes).
  std::string key = options.file.path;
  Result<std::shared_ptr<LogSink>> sink = LogSink::Open(loop_, std::move(options), closer_);
  if (sink.ok()) sinks_[std::move(key)] = *sink;
  return sink;
}

Result<UniqueFd> LogCapture::NewPipe(const std::shared_ptr<LogSink>& sink) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    return Status(ErrorCode::kIo, std::string("pipe: ") + std::strerror(errno));
  }
  UniqueFd read_end(fds[0]);
  UniqueFd write_end(fds[1]);
  // Only our end is non-blocking: the program's writes block when the pipe is full.
  fcntl(read_end.get(), F_SETFL, fcntl(read_end.get(), F_GETFL) | O_NONBLOCK);
  // Fewer wakeups per megabyte; refused past the per-user pipe quota, which is fine.
  (void)fcntl(read_end.get(), F_SETPIPE_SZ, kPipeSize);
  auto reader = std::make_unique<PipeReader>(*this, std::move(read_end), sink);
  if (Status s = reader->Start(); !s.ok()) return s;
  PipeReader* key = reader.get();
  readers_.emplace(key, std::move(reader));
  return write_end;
}

std::vector<LogCapture::PipeInfo> LogCapture::Pipes() const {
  std::vector<PipeInfo> out;
  for (const auto& [key, reader] : readers_) {
    if (reader->finished()) continue;
    out.push_back({reader->fd(), reader->sink().options()});
  }
  return out;
}

size_t LogCapture::HeldBytes() const {
  size_t held = 0;
  for (const auto& [path, weak] : sinks_) {
    if (auto sink = weak.lock()) held += sink->held_bytes();
  }
  return held;
}

Status LogCapture::AdoptPipe(UniqueFd read_end, const LogSinkOptions& options) {
  Result<std::shared_ptr<LogSink>> sink = SinkFor(options);
  if (!sink.ok()) return sink.status();
  fcntl(read_end.get(), F_SETFD, FD_CLOEXEC);
  fcntl(read_end.get(), F_SETFL, fcntl(read_end.get(), F_GETFL) | O_NONBLOCK);
  auto reader = std::make_unique<PipeReader>(*this, std::move(read_end), *sink);
  if (Status s = reader->Start(); !s.ok()) return s;
  PipeReader* key = reader.get();
  readers_.emplace(key, std::move(reader));
  return Status::Ok();
}

void LogCapture::Finished(PipeReader* reader) {
  // The reader is inside its own callback: destroy it once that has returned.
  std::weak_ptr<bool> alive = alive_;
  loop_.Post([this, alive, reader] {
    if (!alive.expired()) readers_.erase(reader);
  });
}

size_t LogCapture::ReopenAll() {
  size_t reopened = 0;
  for (auto& [path, weak] : sinks_) {
    auto sink = weak.lock();
    if (!sink) continue;
    if (Status s = sink->Reopen(); !s.ok()) {
      spdlog::error("{}: cannot reopen its log: {}", sink->label(), s.message());
      continue;
    }
    ++reopened;
  }
  return reopened;
}

// ---------------------------------------------------------------------------------------------
// ProcessLogs

namespace {

const char* StreamName(LogStream stream) {
  return stream == LogStream::kStdout ? "stdout" : "stderr";
}

}  // namespace

int InheritedFdFor(const config::LogSpec& spec) {
  if (spec.file == "/dev/stdout") return STDOUT_FILENO;
  if (spec.file == "/dev/stderr") return STDERR_FILENO;
  return -1;
}

ProcessLogs::ProcessLogs(LogCapture& capture, std::string full_name)
    : capture_(capture), full_name_(std::move(full_name)) {}

std::string ProcessLogs::PathFor(const config::LogSpec& spec, const std::string& log_dir,
                                 const std::string& full_name, LogStream stream) {
  if (spec.file != "AUTO") return spec.file;
  std::string name = full_name;
  std::replace(name.begin(), name.end(), ':', '.');
  return log_dir + "/" + name + "." + StreamName(stream) + ".log";
}

Result<std::shared_ptr<LogSink>> ProcessLogs::Sink(const config::Program& program,
                                                   const std::string& log_dir, LogStream stream) {
  if (stream == LogStream::kStderr && program.stderr_log.merge_into_stdout) {
    stream = LogStream::kStdout;
  }
  const config::LogSpec& spec =
      stream == LogStream::kStdout ? program.stdout_log : program.stderr_log;
  std::shared_ptr<LogSink>& slot = sinks_[stream == LogStream::kStdout ? 0 : 1];
  if (spec.file == "NONE") {
    slot.reset();
    return Status(ErrorCode::kNotFound,
                  full_name_ + ": " + StreamName(stream) + " is not logged (file: NONE)");
  }
  if (spec.journal) {
    slot.reset();
    return Status(ErrorCode::kNotFound, full_name_ + ": " + StreamName(stream) +
                                            " goes to the journal (journalctl -t " + program.name +
                                            ")");
  }
  if (const int fd = InheritedFdFor(spec); fd >= 0) {
    slot.reset();
    return Status(ErrorCode::kNotFound, full_name_ + ": " + StreamName(stream) +
                                            " goes to wardend's own " + spec.file +
                                            ", not to a log file");
  }
  Result<std::shared_ptr<LogSink>> sink = capture_.SinkFor(OptionsFor(spec, log_dir, stream));
  if (sink.ok()) slot = *sink;
  return sink;
}

LogSinkOptions ProcessLogs::OptionsFor(const config::LogSpec& spec, const std::string& log_dir,
                                       LogStream stream) const {
  LogSinkOptions options;
  options.label = full_name_ + " " + StreamName(stream);
  options.file.path = PathFor(spec, log_dir, full_name_, stream);
  options.file.max_bytes = spec.max_bytes;
  options.file.backups = spec.backups;
  options.drop_when_full = spec.on_full == config::OnFull::kDrop;
  options.timestamps = spec.timestamps;
  return options;
}

void ProcessLogs::Reconfigure(const config::Program& program, const std::string& log_dir) {
  for (LogStream stream : {LogStream::kStdout, LogStream::kStderr}) {
    const std::shared_ptr<LogSink>& sink = sinks_[stream == LogStream::kStdout ? 0 : 1];
    if (!sink) continue;
    const config::LogSpec& spec =
        stream == LogStream::kStdout ? program.stdout_log : program.stderr_log;
    if (spec.file == "NONE" || (stream == LogStream::kStderr && spec.merge_into_stdout)) continue;
    LogSinkOptions options = OptionsFor(spec, log_dir, stream);
    if (options.file.path == sink->path()) sink->Configure(options);
  }
}

std::optional<core::SpawnError> ProcessLogs::Prepare(const config::Program& program,
                                                     const std::string& log_dir,
                                                     SpawnPipes* pipes) {
  auto open = [&](LogStream stream, UniqueFd* pipe) -> std::optional<core::SpawnError> {
    const config::LogSpec& spec =
        stream == LogStream::kStdout ? program.stdout_log : program.stderr_log;
    if (InheritedFdFor(spec) >= 0) return std::nullopt;  // no pipe: wardend's own fd
    if (spec.journal) {
      // syslog's LOG_INFO for stdout, LOG_ERR for stderr, as systemd's StandardOutput=journal.
      Result<UniqueFd> stream_fd =
          OpenJournalStream(program.name, stream == LogStream::kStdout ? 6 : 3);
      if (!stream_fd.ok()) {
        return core::SpawnError{
            std::string(StreamName(stream)) + " journal: " + stream_fd.status().message(), 0};
      }
      *pipe = std::move(stream_fd).value();
      return std::nullopt;
    }
    Result<std::shared_ptr<LogSink>> sink = Sink(program, log_dir, stream);
    if (!sink.ok()) {
      if (sink.status().code() == ErrorCode::kNotFound) return std::nullopt;  // NONE
      return core::SpawnError{std::string(StreamName(stream)) + " log: " + sink.status().message(),
                              0};
    }
    Result<UniqueFd> write_end = capture_.NewPipe(*sink);
    if (!write_end.ok()) {
      return core::SpawnError{
          std::string(StreamName(stream)) + " log: " + write_end.status().message(), 0};
    }
    *pipe = std::move(write_end).value();
    return std::nullopt;
  };
  // `/dev/stdout` and `/dev/stderr` are wardend's own fds 1 and 2, given to the child as they
  // are: under systemd they are the journal's stream socket, which cannot be open(2)ed.
  if (auto error = open(LogStream::kStdout, &pipes->stdout_pipe)) return error;
  const int stdout_inherited = InheritedFdFor(program.stdout_log);
  pipes->stdout_fd = stdout_inherited >= 0 ? stdout_inherited : pipes->stdout_pipe.get();
  if (program.stderr_log.merge_into_stdout) {
    pipes->stderr_fd = pipes->stdout_fd;
  } else {
    if (auto error = open(LogStream::kStderr, &pipes->stderr_pipe)) return error;
    const int stderr_inherited = InheritedFdFor(program.stderr_log);
    pipes->stderr_fd = stderr_inherited >= 0 ? stderr_inherited : pipes->stderr_pipe.get();
  }
  return std::nullopt;
}

}  // namespace warden
