// `wardenctl logs [NAME...] [-f] [-n N] [--json]`: the last lines of several processes' logs
// (stdout and stderr; every process when no NAME is given, `group:*` and `all` as elsewhere),
// each line prefixed with its process's name, aligned; with -f, then the live output of all of
// them interleaved in arrival order, with wardend's lifecycle lines in the stream
// (`web | started, pid 4242`, `web | exited: exit status 3`). Names are coloured on a terminal
// (not with NO_COLOR / --no-color or when piped). --json: one object a line
// ({"process", "stream", "line"}; lifecycle lines with "stream": "event" and "state", "pid",
// "reason").
//
// And `tail -f NAME` with a marker in the stream when the process is started again
// (`==> web: started, pid 4243 <==`).
//
// Each stream is a TAIL request (follow) on a connection of its own and lifecycle lines an
// EVENTS request on one more; one poll(2) reads them all. Two streams that read the same file
// (stderr: stdout sends stderr into the stdout log) are shown once.
#pragma once

#include <ostream>
#include <string>

#include "ctl/client.h"
#include "ctl/commands.h"
#include "proto/messages.h"

namespace warden::ctl {

// The lifecycle line for a state change: "started, pid 4242", "running, pid 4242",
// "exited: exit status 3", "backoff: Exited too quickly ...", "stopped", "FATAL: reason".
std::string LifecycleText(proto::ProcessState to, int pid, const std::string& reason);

// The prefix of a line of `name`: the name padded to `width`, " | "; in colour number
// `color_index` (cycling through six) when `color`.
std::string LinePrefix(const std::string& name, size_t width, bool color, size_t color_index);

// logs: 0 done, 4 a name matches no process, 1 anything else (Ctrl-C in the shell: 1,
// "interrupted", as tail -f).
int Logs(const Command& command, DaemonLink& daemon, std::ostream& out, std::ostream& err);
// tail -f NAME [stream] with restart markers. Same exit statuses as tail.
int FollowWithMarkers(const Command& command, DaemonLink& daemon, std::ostream& out,
                      std::ostream& err);

}  // namespace warden::ctl
