// wardenctl's configuration commands: reread (show changes), update / reload (apply them) and
// check (validate offline, no daemon needed).
#pragma once

#include <ostream>

#include "ctl/client.h"
#include "ctl/commands.h"
#include "proto/messages.h"

namespace warden::ctl {

int Reread(const Command& command, DaemonLink& daemon, std::ostream& out, std::ostream& err);
// supervisorctl's avail: every process in use, then the programs the files add (avail), with
// the ones the files no longer have marked removed.
int Avail(const Command& command, DaemonLink& daemon, std::ostream& out, std::ostream& err);
// `type` is kUpdate or kReload.
int Update(const Command& command, proto::MessageType type, DaemonLink& daemon, std::ostream& out,
           std::ostream& err);
// Loads command.names[0] with its includes; prints every problem as FILE:LINE:COL: message.
int Check(const Command& command, std::ostream& out, std::ostream& err);

// `import-supervisord FILE`: YAML on `out`; messages and a one-line summary on `err`. Exit 0
// when everything converted (warnings allowed: they were listed), 1 when there was an error.
int ImportSupervisordCommand(const Command& command, std::ostream& out, std::ostream& err);

}  // namespace warden::ctl
