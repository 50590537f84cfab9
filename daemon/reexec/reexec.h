// Re-executing wardend without downtime (`wardenctl reexec`, REEXEC in docs/protocol.md).
//
//   1. Check (old image, before anything changes): not shutting down; no log sink holds output
//      in memory (a full disk with on_full: block); the binary on disk (/proc/self/exe's path,
//      read before, so an upgraded file takes over) answers `--state-version` with a list of
//      versions that holds the one this image writes. Any failure refuses the request with the
//      reason; nothing changes. The config file is not looked at: the state carries the
//      configuration in force, as the files it was built from.
//   2. The client gets its reply; then Exec: the whole state (daemon/reexec/state_codec.h) goes into a
//      memfd, FD_CLOEXEC is cleared on the fds that must live on (control socket, log pipes'
//      read ends, readiness sockets and pipes), RELOADING=1 goes to systemd, and wardend
//      execve()s `BINARY --restore-from MEMFD --listen-fd FD -c CONFIG`. The PID stays the same,
//      so the programs stay its children. Every other fd (epoll, signalfd, timerfd, client
//      connections, log files) closes with the exec. Nothing is drained: what programs write
//      in the meantime waits in the pipes.
//   3. The new image reads the state, builds the same config from the files in it (never from
//      the disk, which may say something else by now), takes the processes over (no
//      spawn, no signal), the pipes and readiness fds, the listening socket, then reaps: a
//      child that exited during the exec window is a zombie still, and its exit goes to its
//      machine as usual; a timer that came due fires at once. READY=1 to systemd.
//   4. A state that cannot be read is a loud error, never an exit: the new image loads the
//      config named on its command line, keeps the listening socket (--listen-fd), adopts the
//      children it can name (WARDEN_GROUP / WARDEN_PROCESS in their environment, as RUNNING),
//      and collects the output of the pipes it finds open into log_dir/wardend-recovered.log.
//      A config that cannot be built from the state is loaded from the file instead; when that
//      fails too, wardend runs with no programs (main.cc): still never an exit.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "daemon/reexec/state_codec.h"

namespace warden {

class ControlServer;
class Supervisor;
class SystemdNotifier;

// Serves REEXEC on `server`: CheckReexec, then (after the reply) SaveState and ExecWithState,
// with RELOADING=1 before; a failed exec is logged and the daemon goes on (READY=1 again).
void ServeReexec(ControlServer& server, Supervisor& supervisor, SystemdNotifier& notifier);

// In the new image, instead of ControlServer::Listen and StartAutostart: the listening socket
// and the processes of `state`, or, when it could not be read (`state_error`), what
// RecoverWithoutState finds. Every problem is logged; it never fails.
void TakeOver(std::optional<DaemonState> state, const std::string& state_error, int listen_fd,
              Supervisor& supervisor, ControlServer& server);

// The file /proc/self/exe names (without " (deleted)" when it was replaced since).
Result<std::string> OwnBinary();
// Runs `binary --state-version` (no shell, empty signal mask) without blocking the loop: its
// output is read as the loop sees it, its exit status comes from Supervisor::ReapChildren
// (WatchChild), and past `timeout` it is killed. `done` gets the state versions it printed,
// space-separated: the versions it can read.
void ProbeStateVersions(Supervisor& supervisor, const std::string& binary,
                        std::chrono::milliseconds timeout,
                        std::function<void(Result<std::vector<uint32_t>>)> done);
// What `binary --state-version` printed, as numbers; kSpawnError when it is anything else.
Result<std::vector<uint32_t>> ParseStateVersions(const std::string& binary,
                                                 const std::string& printed);
// OK when `versions` (what the binary reads) holds kStateVersion (what this image writes).
Status AcceptStateVersions(const std::string& binary, const std::vector<uint32_t>& versions);
// Step 1 above; `done` gets the binary to execute, or why not. The probe of the binary runs
// while the loop goes on (up to 5 s); the quick checks are made again once it has answered.
void CheckReexec(Supervisor& supervisor, std::function<void(Result<std::string>)> done);

// Step 2: writes `state` into a memfd, clears FD_CLOEXEC on every fd it names and execve()s
// `binary`. Returns only when that failed, with every fd as it was.
Status ExecWithState(const std::string& binary, const DaemonState& state);

// In the new image: the state written by the previous one, read from (and closing) `fd`.
Result<DaemonState> ReadStateFd(int fd);

// Step 4, for a state that could not be read: what can be found without it, as a state to
// restore (children named by their environment) plus the log pipes found among the open fds
// (as pipes into `recovered_log`).
DaemonState RecoverWithoutState(const Supervisor& supervisor, int listen_fd,
                                const std::string& recovered_log);

}  // namespace warden
