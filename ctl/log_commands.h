// wardenctl's log commands:
//   tail [-f] [-n LINES | -c BYTES] NAME [stdout|stderr]   the end of a process's log
//   maintail [-f] [-n LINES | -c BYTES]                    the end of wardend's own log
//   logrotate [NAME...]                                    reopen log files (every one by default)
//   clear NAME...|all                                      empty log files
// Parsing helpers for commands.cc, and the commands themselves for dispatch.cc.
#pragma once

#include <cstddef>
#include <ostream>
#include <string>
#include <vector>

#include "base/status.h"
#include "ctl/client.h"
#include "ctl/commands.h"

namespace warden::ctl {

inline constexpr uint64_t kDefaultTailLines = 10;

bool IsLogCommand(CommandKind kind);

// An option of tail/maintail at words[*i] (-f, --follow, -n N, -nN, --lines=N, -c N, -cN,
// --bytes=N); consumes a separate value word by advancing *i. Returns false when words[*i] is
// not such an option; a bad value is a usage error in *error.
bool ParseLogOption(const std::vector<std::string>& words, size_t* i, Command* command,
                    Status* error);

// Checks the arguments of a log command and stores them in *command.
Status FinishLogCommand(Command* command, std::vector<std::string> args);

// tail and maintail: prints the bytes as they come (all of them, binary-safe) and, with -f,
// until the connection ends. 0 done; 4 no such process; 1 anything else.
int Tail(const Command& command, DaemonLink& daemon, std::ostream& out, std::ostream& err);
// logrotate and clear: one line per process, "web: reopened" / "web: cleared".
int LogAction(const Command& command, DaemonLink& daemon, std::ostream& out, std::ostream& err);

}  // namespace warden::ctl
