// How wardenctl prints what the daemon answered. Pure functions of their arguments (and, for
// stop times, of the local time zone), so tests can pin every column.
//
// Text status keeps supervisorctl's shape, '%-Ns%-10s%s': the name padded to N = max(longest
// full name, 30) + 3, the state padded to 10, then the description; `awk '{print $2}'` gives
// the state. Descriptions:
//   RUNNING/STARTING/STOPPING with a pid:
//       pid 4242, uptime 0:01:02, state S, cpu 0.3%, rss 12.1M[, children 2 (Z: 1)]
//     (state/cpu/rss only when the daemon could read /proc, i.e. kernel_state is known)
//       ", restarts N" follows when the process was restarted (N > 0)
//   STOPPED:       [reason, ]2026-11-27 17:47:03            or "Not started"
//   EXITED:        [reason, ]exit status 1, 2026-11-27 17:47:03
//   FATAL/BACKOFF: the reason, or: unknown error (try "tail NAME"); a pending retry adds
//                  ", next try in 2.0s" (BACKOFF, or FATAL with fatal_retry)
// Lines are sorted by full name (group:name), as supervisorctl sorts them. On a terminal too
// narrow for a line, the name column shrinks to the longest name + 2 and what still does not fit
// is cut with an ellipsis (FitLine); piped output is never cut.
//   a live process that sent STATUS= (ready: notify) ends with ", status: TEXT"
// With colour (wardenctl on a terminal, no NO_COLOR, no --no-color) the state word alone is
// wrapped in an ANSI colour; the padding after it stays outside, so the columns still line up.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "ctl/commands.h"
#include "proto/messages.h"

namespace warden::ctl {

// As Python's str(timedelta) without fractions: "0:01:02", "1 day, 2:03:04", "3 days, 0:00:00".
std::string FormatUptime(uint64_t uptime_ms);
// Binary units, one decimal: "512B", "1.0K", "12.1M", "2.0G".
std::string FormatBytes(uint64_t bytes);
// Average CPU over the process's life, one decimal: "0.3%". "0.0%" when uptime is 0.
std::string FormatCpuPercent(uint64_t cpu_time_ms, uint64_t uptime_ms);
// Local time, ISO-style to the second: "2026-11-27 17:47:03".
std::string FormatStopTime(int64_t unix_ms);
// "exit status 1", "terminated by SIGKILL"; "" for ExitKind::kNone.
std::string ExitDescription(proto::ExitKind kind, int32_t value);

// The description column (see the top of this file).
std::string Describe(const proto::ProcessInfo& info);

// max(longest full name, 30) + 3.
size_t NameColumnWidth(const std::vector<proto::ProcessInfo>& processes);
// The same from the longest full name's size, for processes seen one at a time.
size_t NameColumnWidthFor(size_t longest_full_name);
// info.FullName().size(), without building the name.
size_t FullNameSize(const proto::ProcessInfo& info);
// The name column on a narrow terminal: the longest full name + 2.
size_t TightNameColumnWidth(size_t longest_full_name);
// Columns a line takes on a terminal: UTF-8 characters, not counting ANSI colour sequences.
size_t VisibleWidth(std::string_view line);
// Cuts `line` to `columns` (0: no limit) with a trailing "…" when it is wider.
void FitLine(std::string* line, size_t columns);
// One status line, without a newline and without trailing blanks.
std::string StatusLine(const proto::ProcessInfo& info, size_t name_width, bool color = false);
// Every process's line, in the order given.
std::vector<std::string> StatusLines(const std::vector<proto::ProcessInfo>& processes,
                                     bool color = false);
// StatusLine appended to *out (which may hold earlier lines).
void AppendStatusLine(std::string* out, const proto::ProcessInfo& info, size_t name_width,
                      bool color = false);
// The ANSI SGR sequence for a state ("\033[32m" for RUNNING); "" for a state shown plain.
const char* StateColor(proto::ProcessState state);
// Whether to colour: stdout is a terminal, $NO_COLOR is unset or empty (no-color.org),
// $TERM is not "dumb" and --no-color was not given.
bool ColorWanted(bool stdout_is_tty, bool no_color_option, const char* no_color_env,
                 const char* term_env);
// supervisorctl's line for a name that matched nothing: "web: ERROR (no such process)".
std::string NoSuchProcessLine(const std::string& name);

// `status --json`: an array with one object per process (fields: name, group, state, pid,
// kernel_state, uptime_s, restarts, exit_status, exit_signal, description, start_time,
// stop_time, cpu_time_s, rss_bytes, children [{pid, kernel_state}], reason, status_text,
// retry_in_s).
nlohmann::ordered_json StatusJson(const std::vector<proto::ProcessInfo>& processes);

// 4 if a name matched nothing; else 3 if any process listed is not RUNNING; else 0.
int StatusExitCode(const proto::StatusReply& reply);
// The same from what a reply decoded one process at a time showed.
int StatusExitCode(bool any_unknown_name, bool all_running);

// The lines for a start/stop/restart/signal reply, one per result (two for a good restart:
// "web: stopped", "web: started"). A failure keeps supervisorctl's word first:
// "web: ERROR (spawn error: exec: No such file or directory)".
std::vector<std::string> ActionLines(CommandKind kind, const proto::ActionReply& reply);
// The same as JSON: [{name, ok, result, error, message}].
nlohmann::ordered_json ActionJson(CommandKind kind, const proto::ActionReply& reply);
// 4 if any result is "no such process"; else 1 if any failed; else 0.
int ActionExitCode(const proto::ActionReply& reply);

// "ERROR (word)" or "ERROR (word: message)" for a failed result or error reply; a message that
// already starts with the word ("spawn error: exec: ...") does not repeat it.
std::string ErrorText(ErrorCode code, const std::string& message);

}  // namespace warden::ctl
