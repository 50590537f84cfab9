// Log capture: program output through pipes into LogSinks, driven by the event loop.
//
// Each spawn gets a fresh pipe per captured stream (stdout; stderr unless `stderr: stdout` sends
// it into the stdout pipe). The child gets the write end as fd 1 or 2 and wardend closes its own
// copy right after the spawn, so the read end sees EOF only when every holder of the write end
// is gone: the program and any descendant that kept it. Until then a PipeReader keeps reading,
// also after the program has exited or been restarted (the new process writes through a new
// pipe into the same sink), so nothing a program wrote is ever left behind in a pipe.
//
// Reads are non-blocking and bounded per wakeup (kBudgetPerWakeup), so one chatty program
// cannot starve the loop. A reader whose sink is paused (a full disk, on_full: block) leaves the
// loop entirely and is resumed by its sink; a reader at EOF goes away.
//
// `file: NONE` gives no pipe at all: the child writes to /dev/null. `file: /dev/stdout` and
// `file: /dev/stderr` give no pipe either: the child gets wardend's own fd 1 or 2 (the path is
// never opened), so its output goes wherever wardend's goes (a container's log, the journal).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "base/unique_fd.h"
#include "config/config.h"
#include "daemon/core/process_machine.h"
#include "daemon/os/event_loop.h"
#include "daemon/logs/log_follow.h"
#include "daemon/logs/log_sink.h"

namespace warden {

class LogCapture;

// Drains one pipe's read end into a sink until EOF.
class PipeReader {
 public:
  static constexpr size_t kBudgetPerWakeup = 1u << 20;

  PipeReader(LogCapture& capture, UniqueFd fd, std::shared_ptr<LogSink> sink);
  ~PipeReader();
  PipeReader(const PipeReader&) = delete;
  PipeReader& operator=(const PipeReader&) = delete;

  Status Start();  // registers with the loop
  void Pause();    // leaves the loop (the sink refuses bytes)
  void Resume();   // back in the loop (level-triggered: pending bytes wake it at once)
  // Reads what the pipe holds now, up to `budget` bytes, without the loop (at exit).
  void Drain(size_t budget);

  bool finished() const { return finished_; }
  int fd() const { return fd_.get(); }
  const LogSink& sink() const { return *sink_; }

 private:
  void OnReadable();
  // Moves up to `budget` bytes; false once the pipe is at EOF (or broken).
  bool Pump(size_t budget, bool honour_pause);
  void Finish();

  LogCapture& capture_;
  UniqueFd fd_;
  std::shared_ptr<LogSink> sink_;
  bool registered_ = false;
  bool finished_ = false;
};

class LogCapture {
 public:
  static constexpr int kPipeSize = 256 * 1024;  // F_SETPIPE_SZ, best effort
  static constexpr size_t kReadChunk = 256 * 1024;

  explicit LogCapture(EventLoop& loop);
  // Reads what the pipes still hold into their logs (bounded), then closes them.
  ~LogCapture();
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  EventLoop& loop() { return loop_; }

  // The sink for options.file.path, shared by every writer of that path (settings: the latest
  // caller's). Fails when the file cannot be opened. A new sink takes over `options`' strings.
  Result<std::shared_ptr<LogSink>> SinkFor(LogSinkOptions options);
  // A new pipe whose read end feeds `sink` until EOF; returns the write end (close-on-exec).
  Result<UniqueFd> NewPipe(const std::shared_ptr<LogSink>& sink);
  // Every open log file opened again (SIGUSR2). Returns how many; failures are logged.
  size_t ReopenAll();

  // wardend's own log, for `maintail`; may be null.
  void set_daemon_log(std::shared_ptr<TailSource> log) { daemon_log_ = std::move(log); }
  const std::shared_ptr<TailSource>& daemon_log() const { return daemon_log_; }

  size_t open_pipes() const { return readers_.size(); }

  // Re-execution of wardend (daemon/reexec/reexec.h): every read end still being read, with its
  // sink's settings. What the pipes hold stays in them across execve: nothing is drained.
  struct PipeInfo {
    int fd;
    LogSinkOptions options;
  };
  std::vector<PipeInfo> Pipes() const;
  // In the new image: a read end the previous image kept, feeding the sink for `options`
  // (opened, or shared with whoever writes that path already) until EOF.
  Status AdoptPipe(UniqueFd read_end, const LogSinkOptions& options);
  // Bytes sinks hold in memory because their files refuse them (on_full: block): they would not
  // survive an exec.
  size_t HeldBytes() const;

 private:
  friend class PipeReader;
  // The read buffer of copying reads, made on the first one: logs of regular files with nobody
  // following them move by splice(2) and never need it.
  char* buffer();
  // Called by a reader at EOF: it is destroyed after the current callback.
  void Finished(PipeReader* reader);

  EventLoop& loop_;
  std::shared_ptr<BackgroundCloser> closer_ = std::make_shared<BackgroundCloser>();
  std::unordered_map<std::string, std::weak_ptr<LogSink>> sinks_;  // by path
  static constexpr size_t kFirstSweep = 64;
  size_t sweep_at_ = kFirstSweep;  // sinks_ size at which expired entries are swept
  std::unordered_map<PipeReader*, std::unique_ptr<PipeReader>> readers_;
  std::unique_ptr<char[]> buffer_;  // kReadChunk bytes once needed; see buffer()
  std::shared_ptr<TailSource> daemon_log_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

enum class LogStream : uint8_t { kStdout = 1, kStderr = 2 };

// STDOUT_FILENO for `file: /dev/stdout`, STDERR_FILENO for `file: /dev/stderr`: the stream goes
// to wardend's own fd, with no pipe and no log file (tail says so); -1 for any other file.
int InheritedFdFor(const config::LogSpec& spec);

// The logs of one process: the sinks its stdout and stderr go to, as its program's LogSpec says.
// The spec is read again at every spawn, so a changed definition applies from the next start.
class ProcessLogs {
 public:
  ProcessLogs(LogCapture& capture, std::string full_name);

  // What one spawn needs: the write ends the child gets as stdout and stderr (-1: /dev/null);
  // the parent closes its copies (the UniqueFds) once the child has them.
  struct SpawnPipes {
    UniqueFd stdout_pipe;
    UniqueFd stderr_pipe;
    int stdout_fd = -1;
    int stderr_fd = -1;
  };
  // Fails when a log cannot be opened (or no pipe can be made): the spawn fails with the reason.
  std::optional<core::SpawnError> Prepare(const config::Program& program,
                                          const std::string& log_dir, SpawnPipes* pipes);

  // The sink `stream` is written to (stderr merged into stdout: stdout's), opened if need be.
  // kNotFound when the stream is not logged (file: NONE).
  Result<std::shared_ptr<LogSink>> Sink(const config::Program& program, const std::string& log_dir,
                                        LogStream stream);
  // A changed definition (reload) with the same files: their limits, on_full and timestamps
  // apply from now on. A changed file is taken up by the next spawn.
  void Reconfigure(const config::Program& program, const std::string& log_dir);

  // AUTO: "<log_dir>/<full name, ':' -> '.'>.<stdout|stderr>.log"; else the configured path.
  static std::string PathFor(const config::LogSpec& spec, const std::string& log_dir,
                             const std::string& full_name, LogStream stream);

 private:
  LogSinkOptions OptionsFor(const config::LogSpec& spec, const std::string& log_dir,
                            LogStream stream) const;

  LogCapture& capture_;
  std::string full_name_;
  std::shared_ptr<LogSink> sinks_[2];  // kept open between spawns, as supervisord does
};

}  // namespace warden
