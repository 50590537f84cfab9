// wardenctl's command line, parsed into values. Pure: no I/O, nothing here talks to the daemon,
// so the interactive shell and the one-shot command line share it.
//
//   wardenctl [-c FILE | -s SOCKET] [--json] COMMAND [ARGS...]
//
// ParseGlobalOptions takes the whole argv: the options before the first word that is not an
// option (the command), and -c/-s/--config/--socket/--no-color written after it too (`wardenctl
// check -c FILE`; not -c after tail and maintail, whose -c is a byte count; nothing after `--`).
// ParseCommand takes the command word and the rest; there --json, -h/--help and `--`
// (everything after it is an argument) are options.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace warden::ctl {

// wardenctl's exit status (spec: "wardenctl").
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;        // cannot connect; an action failed
inline constexpr int kExitUsage = 2;          // bad command line
inline constexpr int kExitNotRunning = 3;     // `status` found a process that is not RUNNING
inline constexpr int kExitNoSuchProcess = 4;  // a NAME matched nothing

enum class CommandKind {
  kHelp,
  kStatus,
  kStart,
  kStop,
  kRestart,
  kSignal,
  kPid,
  kShow,
  kVersion,
  kShutdown,
  kReexec,
  kReread,
  kAvail,
  kUpdate,
  kReload,
  kCheck,
  kImportSupervisord,
  kTail,
  kLogs,
  kMaintail,
  kLogRotate,
  kClear,
  kEvents,
  kWait,
  kShell,
};

// One row of the command table: what `help` prints and how many NAME arguments it takes.
struct CommandSpec {
  CommandKind kind;
  const char* name;
  const char* args;         // usage after the name, e.g. "SIG NAME...|all"
  const char* description;  // one line
  const char* example;      // a whole command line
};

// Every command, in the order `help` lists them.
const std::vector<CommandSpec>& Commands();
const CommandSpec& SpecFor(CommandKind kind);
// nullptr when `name` is not a command.
const CommandSpec* FindCommand(std::string_view name);

// The closest command name to a mistyped one ("stauts" -> "status"), or "" when none is close.
std::string SuggestCommand(std::string_view typo);
// The closest of `names` to a mistyped one (within two edits, never a rewrite of the whole
// word), or "" when none is close.
std::string SuggestName(std::string_view typo, const std::vector<std::string>& names);

// The options before the command, and the command's words.
struct GlobalOptions {
  std::string socket;              // -s/--socket; empty when not given
  std::string config;              // -c/--config; empty when not given
  bool json = false;               // --json
  bool help = false;               // -h/--help
  bool version = false;            // --version (wardenctl's own, no daemon needed)
  bool no_color = false;           // --no-color: never colour the status states
  std::vector<std::string> words;  // COMMAND [ARGS...]; empty when no command was given
};

struct Command {
  CommandKind kind = CommandKind::kHelp;
  std::vector<std::string> names;  // NAME arguments, unchanged ("web", "web:*", "all")
  int signal = 0;                  // kSignal: the signal number
  bool json = false;
  bool color = false;  // colour status states (set by the caller: a TTY, no NO_COLOR)
  size_t columns = 0;  // status: the terminal's width, to fit lines to; 0: not a terminal
  bool help = false;   // `COMMAND --help`: print the command's help, do nothing
  std::string topic;   // kHelp: the command asked about, "" for the overview
  // tail / maintail (ctl/log_commands.h)
  bool follow = false;            // -f
  bool tail_bytes = false;        // -c BYTES rather than -n LINES
  uint64_t tail_count = 10;       // the N of -n / -c
  std::string stream = "stdout";  // tail: stdout | stderr
  // wait (ctl/event_commands.h)
  uint16_t wait_state = 0;       // a proto::ProcessState number
  uint32_t wait_timeout_ms = 0;  // --timeout; 0: none
  bool events_current = false;   // events --current: each process's state first
};

// argv[0] is skipped. A usage error is kInvalidArgument with a message ready to print after
// "wardenctl: ".
Result<GlobalOptions> ParseGlobalOptions(const std::vector<std::string>& argv);

// words[0] is the command. `json` is the value of a --json given before the command.
Result<Command> ParseCommand(const std::vector<std::string>& words, bool json);

// The overview printed by `wardenctl --help` and `help`.
std::string UsageText();
// One command's help: usage line, description, example.
std::string CommandHelp(const CommandSpec& spec);

}  // namespace warden::ctl
