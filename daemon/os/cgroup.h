// cgroup v2, as far as wardend uses it: finding a writable cgroup2 hierarchy without assuming a
// layout (/proc/self/cgroup's `0::` line and /proc/self/mountinfo's cgroup2 mount), and the few
// files of one cgroup it reads and writes (cgroup.procs, cgroup.events, cgroup.kill, cpu.stat,
// memory.current, cgroup.controllers). The parsers are pure, for tests; the rest are thin
// synchronous wrappers over the files, as the rest of os/.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace warden::os {

// --- parsing (pure) ------------------------------------------------------------------------------

// The path of the `0::` line of /proc/PID/cgroup (the process's cgroup in the unified
// hierarchy, relative to its cgroup namespace's root); nullopt when there is none.
std::optional<std::string> ParseUnifiedCgroup(std::string_view proc_cgroup);

// The first cgroup2 mount of /proc/PID/mountinfo: its root (field 4: which part of the hierarchy
// is mounted, "/" normally) and its mount point, with the kernel's octal escapes (\040 for a
// space) undone. nullopt when no cgroup2 file system is mounted.
struct Cgroup2Mount {
  std::string root;
  std::string mount_point;
};
std::optional<Cgroup2Mount> ParseCgroup2Mount(std::string_view mountinfo);

// The folder of the cgroup `cgroup_path` (a `0::` path) under `mount`; nullopt when the mount
// does not show that part of the hierarchy.
std::optional<std::string> CgroupFolder(const Cgroup2Mount& mount, const std::string& cgroup_path);

// cgroup.events: "populated 0|1" and "frozen 0|1" lines. nullopt without a populated line.
struct CgroupEvents {
  bool populated = false;
  bool frozen = false;
};
std::optional<CgroupEvents> ParseCgroupEvents(std::string_view text);

// cgroup.procs: one pid a line. Lines that are not numbers are skipped.
std::vector<int> ParseCgroupProcs(std::string_view text);

// The `usage_usec` of cpu.stat; nullopt when absent.
std::optional<uint64_t> ParseCpuUsageUsec(std::string_view cpu_stat);

// memory.events: how many times the cgroup went over memory.high (`high`: its processes were
// throttled and made to reclaim), hit memory.max, met the OOM killer. The kernel signals each
// change of the file as a modification (inotify IN_MODIFY). nullopt without a `high` line.
struct CgroupMemoryEvents {
  uint64_t high = 0;
  uint64_t max = 0;
  uint64_t oom = 0;
  uint64_t oom_kill = 0;
};
std::optional<CgroupMemoryEvents> ParseMemoryEvents(std::string_view text);

// Whether the space-separated controller list (cgroup.controllers) names `controller`.
bool HasController(std::string_view controllers, std::string_view controller);

// The folder name of a supervised process's cgroup: `name` for a lone program, `group.name` in a
// group. Characters other than [A-Za-z0-9_-] are written %XX (so '.' only ever separates group
// and name, and no name can reach outside the folder), and a name that could be taken for one of
// the kernel's files (cgroup.*, cpu.*, memory.*, ..., or one starting with '_') gets a '_' in
// front, as systemd does.
std::string CgroupFolderName(const std::string& group, const std::string& name);

// --- the files -----------------------------------------------------------------------------------

// /proc/self/cgroup and /proc/self/mountinfo read and parsed: wardend's own cgroup folder, or
// why there is none. *cgroup_path (when given) gets its `0::` path ("/" for the root).
Result<std::string> OwnCgroupFolder(std::string* cgroup_path = nullptr);

// mkdir, EEXIST being fine.
Status MakeCgroup(const std::string& folder);
// rmdir; ENOENT is fine; EBUSY while populated.
Status RemoveCgroup(const std::string& folder);
// cgroup.events; nullopt when unreadable (the cgroup is gone).
std::optional<CgroupEvents> ReadCgroupEvents(const std::string& folder);
// cgroup.procs (this cgroup only, not its descendants); empty when unreadable.
std::vector<int> ReadCgroupProcs(const std::string& folder);
// Every pid in the cgroup and in its descendants.
std::vector<int> ReadCgroupProcsDeep(const std::string& folder);
// Moves process `pid` (0: the caller) into the cgroup.
Status MoveToCgroup(const std::string& folder, int pid);
// SIGKILL to every process in the cgroup and its descendants: cgroup.kill where the kernel has
// it (5.14), else kill(2) for each pid listed.
Status KillCgroup(const std::string& folder);
// memory.max of `folder`: the kernel's hard cap on its memory, in bytes (0: "max", none).
Status SetCgroupMemoryMax(const std::string& folder, uint64_t bytes);
// memory.high of `folder`: past it the kernel throttles the cgroup's processes and reclaims (0:
// "max", none).
Status SetCgroupMemoryHigh(const std::string& folder, uint64_t bytes);
std::optional<CgroupMemoryEvents> ReadCgroupMemoryEvents(const std::string& folder);
// cpu.stat usage_usec, memory.current; nullopt when the file is absent (controller not enabled).
std::optional<uint64_t> ReadCgroupCpuUsec(const std::string& folder);
std::optional<uint64_t> ReadCgroupMemoryCurrent(const std::string& folder);
// Whether the cgroup has `controller` (its cgroup.controllers lists it).
bool CgroupHasController(const std::string& folder, std::string_view controller);
// Whether the cgroup's children get `controller` (its cgroup.subtree_control lists it).
bool CgroupEnables(const std::string& folder, std::string_view controller);
// Writes "+controller" to cgroup.subtree_control for each that cgroup.controllers lists; those
// the kernel refuses are left out. Best effort.
void EnableControllers(const std::string& folder, const std::vector<std::string_view>& controllers);
// /proc/PID/comm without its newline; "" when the process is gone.
std::string ProcessCommand(int pid);
// Whether systemd delegated the cgroup (the trusted.delegate or user.delegate extended attribute
// systemd 251+ sets on a unit's cgroup with Delegate=yes).
bool CgroupDelegated(const std::string& folder);
// Whether the folder is in a cgroup2 file system.
bool IsCgroup2(const std::string& folder);

}  // namespace warden::os
