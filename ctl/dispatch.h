// Runs wardenctl commands: parse the words, ask the daemon, print the answer, return the exit
// status. The one-shot command line (main.cc) and the interactive shell both come through here,
// so a command behaves the same in both; all output goes to the streams given.
#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "ctl/client.h"
#include "ctl/commands.h"

namespace warden::ctl {

// Parses COMMAND [ARGS...]. On a usage error prints "wardenctl: ..." (and the command's usage
// line, when the command is known) to `err` and returns nullopt; the exit status is kExitUsage.
std::optional<Command> ParseOrReport(const std::vector<std::string>& words, bool json,
                                     std::ostream& err);

// The width of the terminal `fd` is, for fitting status lines; 0 when it is not a terminal
// (piped output is never cut) or its size is unknown.
size_t TerminalColumns(int fd);

// Whether the command talks to the daemon (help does not).
bool NeedsDaemon(const Command& command);

// Runs one parsed command and returns wardenctl's exit status for it.
int Execute(const Command& command, DaemonLink& daemon, std::ostream& out, std::ostream& err);

// ParseOrReport, then Execute.
int RunWords(const std::vector<std::string>& words, bool json, DaemonLink& daemon,
             std::ostream& out, std::ostream& err);

}  // namespace warden::ctl
