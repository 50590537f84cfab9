// wardenctl's interactive shell: what `wardenctl` with no command (or `wardenctl shell`) runs.
//
// Each line is split into words (blanks separate; '...' and "..." quote; a backslash escapes
// the next character) and run through ctl/dispatch.h exactly as the one-shot command line would
// run it, so a command prints the same and fails the same way in both. `quit`, `exit` and EOF
// leave.
//
// On a terminal the line is read with libedit: editing, history (kept in HistoryPath()), and TAB
// completion of command names, options, and program names asked from wardend with a status
// request at the moment TAB is pressed. When stdin is not a terminal, lines are read one by one
// without the editor and without a prompt, so scripts can pipe commands in; the shell then
// exits with the status of the last command.
//
// The connection is the Session's: opened at the first command that needs wardend, kept, and
// opened again when wardend has restarted in between (DaemonLink::DropIfClosed before each
// command and each completion).
#pragma once

#include <istream>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "ctl/client.h"

namespace warden::ctl {

// The words of one shell line; nullopt when a quote is not closed.
std::optional<std::vector<std::string>> SplitLine(std::string_view line);

// What TAB offers for the word under the cursor. `before_cursor` is the line up to the cursor
// (the word being completed is its last word, or "" after a blank); `programs` are the names
// wardend reported (full names: "web", "webapps:api"). Sorted, without duplicates, each
// starting with the word being completed. `*files` is set when the word is a file name (check,
// import-supervisord), which the line editor completes itself.
std::vector<std::string> CompleteLine(std::string_view before_cursor,
                                      const std::vector<std::string>& programs,
                                      bool* files = nullptr);

// The program names TAB offers, from a status request: each process's full name, and
// "group:*" for every group of more than one process or with a name of its own. Empty when
// wardend cannot be asked (the shell then completes commands only).
std::vector<std::string> FetchProgramNames(DaemonLink& daemon);

// The history file: $XDG_STATE_HOME/wardenctl_history when XDG_STATE_HOME is set to an
// absolute path, else $HOME/.wardenctl_history; "" (no history kept) when neither is known.
std::string HistoryPath(const char* xdg_state_home, const char* home);

struct ShellOptions {
  bool json = false;          // --json before the command: applies to every command typed
  bool color = false;         // colour status states (see render.h)
  bool interactive = false;   // stdin is a terminal: use the line editor
  bool fit_terminal = false;  // status lines fit the terminal's width (asked at each command)
  std::string history_path;   // "" for none
  std::string check_config;   // what `check` with no FILE validates (-c FILE, else the default)
};

// Runs the shell until quit/exit/EOF. Interactive: returns 0. Otherwise reads `in` and returns
// the last command's exit status (0 when there was none).
int RunShell(const ShellOptions& options, DaemonLink& daemon, std::istream& in, std::ostream& out,
             std::ostream& err);

}  // namespace warden::ctl
