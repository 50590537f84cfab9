// Private to config/: the pieces of LoadConfig that live in separate files. loader.cc reads the
// files, the `warden`, `include` and `groups` sections, and checks references across files;
// program.cc reads one program; validate.cc checks names, dependencies and groups.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "config/yaml_reader.h"

namespace warden::config::internal {

// A program as read, with the positions validate.cc needs to point at.
struct ProgramDraft {
  Program program;
  std::vector<Located> depends_on;  // program.depends_on, each with where it was written
};

struct GroupDraft {
  Group group;
  std::vector<Located> members;  // group.programs, each with where it was written
};

// Reads `entry` (a program name and its settings) into a draft, reporting every problem.
// `base_dir` is the absolute folder of the file, for relative log paths.
ProgramDraft ReadProgram(const FileReader& reader, const Entry& entry, const std::string& base_dir);

// A command as `command:` takes it: a list (the argv) or a string split into words; reports an
// empty command or an empty first word. (`command`, `on_fatal`.)
std::optional<std::vector<std::string>> ReadCommandWords(const FileReader& reader,
                                                         const Entry& entry);

// The keys of how a program runs (program_running_keys.cc): `ready`, `backoff`, `rlimits`; and
// the check that every ${...} in `texts` is well formed, reported at `where` as "<what>: why".
void ReadReady(const FileReader& reader, const Entry& entry, Program* program);
void ReadBackoff(const FileReader& reader, const Entry& entry, Program* program);
void ReadRlimits(const FileReader& reader, const Entry& entry, Program* program);
// `healthcheck:` (healthcheck.cc).
void ReadHealthCheck(const FileReader& reader, const Entry& entry, Program* program);
void CheckExpansions(const FileReader& reader, const SourceLocation& where, std::string_view what,
                     const std::vector<std::string>& texts);

// `access:` under `warden` or a program (access.cc): users and groups resolved to ids; unknown
// names are errors. `owner` names the section in messages: "'warden'", "program 'web'".
void ReadAccess(const FileReader& reader, const Entry& entry, const std::string& owner,
                AccessRules* rules);

// The id a user or group name stands for on this host; nullopt (with *why set: "no such user",
// "no such group", or why it could not be looked up) when there is none.
enum class IdKind { kUser, kGroup };
std::optional<uint32_t> LookUp(IdKind kind, const std::string& name, std::string* why);

// The keys each section accepts, for config::AcceptedKeys (and the docs test).
std::span<const std::string_view> ProgramKeys();      // program.cc
std::span<const std::string_view> LogKeys();          // program.cc: stdout/stderr
std::span<const std::string_view> BackoffKeys();      // program_running_keys.cc
std::span<const std::string_view> HealthCheckKeys();  // healthcheck.cc
std::span<const std::string_view> AccessKeys();       // access.cc: read, control
std::span<const std::string_view> AccessListKeys();   // access.cc: users, groups

// Checks what spans programs and groups: names, duplicates, depends_on targets and cycles, group
// membership and process names. Reports through `errors`.
void ValidateReferences(const std::vector<ProgramDraft>& programs,
                        const std::vector<GroupDraft>& groups, std::vector<Diagnostic>* errors);

// Why the memory controller of cgroup v2 is not available to wardend's cgroup ("" when it is),
// from the texts of /proc/self/cgroup and /proc/self/mountinfo; `read` reads a file (the
// cgroup's cgroup.controllers) or gives nullopt (host_check.cc; MemoryMaxUnavailable).
std::string MemoryControllerProblem(
    std::string_view proc_self_cgroup, std::string_view mountinfo,
    const std::function<std::optional<std::string>(const std::string&)>& read);

// `path` made absolute against `base_dir` when relative, lexically normalized.
std::string ResolvePath(const std::string& base_dir, const std::string& path);

}  // namespace warden::config::internal
