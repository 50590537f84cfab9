// What a program definition asks of a process's start, turned into an os::SpawnSpec before the
// fork (name lookups, string building and expansion all happen here, in the parent):
//
//   - identity: `user` (uid, its primary group, initgroups-style supplementary groups, HOME,
//     USER, LOGNAME) and `group` (the primary group instead; alone, only the group changes).
//     Switching needs root; otherwise the start fails and says why.
//   - environment: wardend's, minus what belongs to wardend itself (NOTIFY_SOCKET, LISTEN_*,
//     WATCHDOG_*, JOURNAL_STREAM, WARDEN_*); then HOME/USER/LOGNAME; WARDEN_PROGRAM,
//     WARDEN_PROCESS, WARDEN_GROUP; then the variables of its `env_file`s, read now
//     (config/env_file.h); then the program's `environment` in file order, each value
//     with ${VAR} expanded against what is set so far (config/expand.h). WARDEN_* are set again
//     last, so the names wardend finds its processes by cannot be overridden.
//   - argv: each word of `command` with ${VAR} expanded against the final environment; the
//     executable found through that environment's PATH.
//   - directory, umask, rlimits (soft = hard = the value), and oom_score_adj 0 when wardend's
//     own differs (so the OOM killer treats programs as it would if started by init).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "daemon/core/process_machine.h"
#include "daemon/os/os.h"

namespace warden {

std::optional<core::SpawnError> PrepareProgramSpawn(const config::Program& program,
                                                    const config::ProcessName& name,
                                                    os::SpawnSpec* spec);

// wardend's own environment minus what belongs to wardend (NOTIFY_SOCKET, LISTEN_*, WATCHDOG_*,
// JOURNAL_STREAM, INVOCATION_ID, WARDEN_*): where every child's environment starts.
std::vector<std::string> InheritedEnvironment();

// Environment helpers on "KEY=VALUE" lists.
void SetVariable(std::vector<std::string>& env, const std::string& key, const std::string& value);
std::optional<std::string> GetVariable(const std::vector<std::string>& env, std::string_view key);

// setrlimit resource for a `rlimits:` name ("nofile" -> RLIMIT_NOFILE); -1 when unknown.
int ResourceByName(std::string_view name);

}  // namespace warden
