// What changed between two configs, program by program, and whether a change needs the
// program's processes restarted. `wardenctl reread` prints this; `update`, `reload` and SIGHUP
// apply it.
//
// Keys that shape the running process (command, environment, directory, user, umask, output
// files, numprocs_start, group membership) need a restart. Keys that only shape supervision
// (autostart, autorestart, exitcodes, startsecs, startretries, ready, stop*, priority,
// depends_on, log sizes, access) apply live. numprocs alone starts or stops only the surplus
// processes.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "config/config.h"

namespace warden::config {

struct ProgramChange {
  enum class Kind { kAdded, kRemoved, kChanged };
  std::string name;
  Kind kind = Kind::kChanged;
  std::vector<std::string> keys;  // kChanged: the keys that differ, in a stable order
  bool restart = false;           // kChanged: at least one key needs the processes restarted
};

// Changes from `before` to `after`, sorted by program name. Unchanged programs are absent.
std::vector<ProgramChange> Diff(const Config& before, const Config& after);

// The keys that differ between two definitions of one program (same name), each with the name
// of the group that holds it ("" for none).
std::vector<std::string> ChangedKeys(const Program& a, const std::string& group_a, const Program& b,
                                     const std::string& group_b);
bool KeyNeedsRestart(const std::string& key);

// The configuration in force once `next` (the file read again) is applied on top of `current`:
// for every program (`only` empty), next's programs and groups, with current's `warden` section
// but for log_level and access (socket and log_dir changes need a restart of wardend); for the
// programs in `only`, their definitions and group membership from next, every other program's
// from current. Its sources (Config::sources) record the update, so that LoadConfigSources
// builds the same result again.
Config Merge(const Config& current, Config next, const std::vector<std::string>& only);

// Program name -> the name of the `groups:` entry holding it (programs in none are absent).
// Built once per config: a scan of every group for each program made a diff of 10,000
// grouped programs O(N^2).
std::unordered_map<std::string, std::string> GroupsByProgram(const Config& config);

}  // namespace warden::config
