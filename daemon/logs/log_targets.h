// Where wardend's own log goes (warden.log_target, docs/configuration.md):
//
//   stderr    the default. When $JOURNAL_STREAM names stderr (systemd connected it to the
//             journal), each line starts with its syslog priority, "<6>", and carries no
//             timestamp: the journal adds its own.
//   journald  structured entries in the journal's native protocol (journal-native(7)): MESSAGE,
//             PRIORITY, SYSLOG_IDENTIFIER=wardend, and WARDEN_PROGRAM=NAME on lines about a
//             program, so `journalctl WARDEN_PROGRAM=web` shows what wardend said about web.
//             Sent on a non-blocking datagram socket: when journald is slow or absent, lines
//             are dropped and counted, never waited for.
//   a path    (anything with a '/') a file, rotated at 10 MiB, five backups kept.
#pragma once

#include <spdlog/details/null_mutex.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/base_sink.h>
#include <sys/un.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/unique_fd.h"
#include "config/config.h"

namespace warden {

// True when stderr is the journal's stream (systemd sets $JOURNAL_STREAM to "DEV:INO"): a
// line written there may then start with its syslog priority, "<3>".
bool StderrIsJournal();

// syslog priority of an spdlog level: trace and debug 7, info 6, warn 4, error 3, critical 2.
int JournalPriority(spdlog::level::level_enum level);

// The program a log line is about: the NAME of a line "NAME: ...", where NAME has no space, as
// every line wardend logs about a process starts; "" otherwise.
std::string_view ProgramOfLine(std::string_view message);

// One entry in the journal's native protocol: KEY=VALUE lines, or KEY, a newline, the value's
// length as 64-bit little endian, the value and a newline when the value holds a newline.
std::string JournalEntry(int priority, std::string_view identifier, std::string_view message);

class JournalSink final : public spdlog::sinks::base_sink<spdlog::details::null_mutex> {
 public:
  static constexpr const char* kSocket = "/run/systemd/journal/socket";
  // `socket_path`: the journal's socket (tests give a socket of their own).
  explicit JournalSink(std::string socket_path = kSocket);
  uint64_t dropped() const { return dropped_; }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override;
  void flush_() override {}

 private:
  sockaddr_un addr_{};  // the journal's socket, built once
  UniqueFd fd_;
  uint64_t dropped_ = 0;
};

// A stream to the journal for a program's output, as systemd gives a service with
// StandardOutput=journal (the stream protocol of sd_journal_stream_fd(3)): a connection to
// journald's stdout socket that announces the identifier, the default priority and that a line
// may start with its own "<N>" priority; every line written to it is an entry. `socket_path`:
// the journal's stdout socket; by default /run/systemd/journal/stdout, or the folder of
// $WARDEN_JOURNAL_SOCKET + "/stdout" when that is set (tests). Never blocks: a journal that
// does not accept at once is an error that names the socket. The fd returned is blocking.
inline constexpr const char* kJournalStdoutSocket = "/run/systemd/journal/stdout";
Result<UniqueFd> OpenJournalStream(std::string_view identifier, int priority,
                                   std::string socket_path = "");

// The logger for `settings.log_target`; the journal's socket path comes from
// $WARDEN_JOURNAL_SOCKET when set (for tests), else JournalSink::kSocket. Fails with the
// reason when a log file cannot be opened.
Result<std::shared_ptr<spdlog::logger>> MakeDaemonLogger(const config::Settings& settings);

}  // namespace warden
