// wardenctl's lifecycle commands:
//   events [--json] [--current] [NAME...] print state changes as they happen, until interrupted
//                                         (--current: each process's state now, first)
//   wait NAME STATE [--timeout SECONDS]   block until NAME is in STATE (every process it names)
// Parsing helpers for commands.cc, and the commands themselves for dispatch.cc.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "base/status.h"
#include "ctl/client.h"
#include "ctl/commands.h"
#include "proto/event_messages.h"

namespace warden::ctl {

bool IsEventCommand(CommandKind kind);

// `wait`'s --timeout S / --timeout=S / -t S at words[*i]; consumes a separate value word by
// advancing *i. False when words[*i] is not such an option; a bad value is a usage error.
bool ParseEventOption(const std::vector<std::string>& words, size_t* i, Command* command,
                      Status* error);

// Checks the arguments of an event command and stores them in *command.
Status FinishEventCommand(Command* command, std::vector<std::string> args);

// One event as a line: "2026-11-27 19:35:47.475 web RUNNING -> EXITED pid 4242 (exit status 1)",
// local time; or as a JSON object {time, process, from, to, pid, reason}.
std::string EventLine(const proto::StateEvent& event);
std::string EventJson(const proto::StateEvent& event);

// events: one line (or JSON line) per state change, flushed as it comes. Ends when wardend
// closes the connection (0) or cannot be reached (1); 4 when a NAME matches nothing.
int Events(const Command& command, DaemonLink& daemon, std::ostream& out, std::ostream& err);
// wait: 0 once the state holds, 1 on timeout (or failure), 4 when NAME matches nothing.
int Wait(const Command& command, DaemonLink& daemon, std::ostream& out, std::ostream& err);

}  // namespace warden::ctl
