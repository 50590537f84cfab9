// The operating-system seam of the daemon: spawning a program, signalling it, reaping, and
// reading /proc. Everything here is a thin, synchronous wrapper; policy lives in core/.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "base/unique_fd.h"
#include "daemon/core/process_machine.h"

namespace warden::os {

// Everything a child needs, resolved in the parent before fork (name lookups, PATH search,
// string building), so that the child runs only async-signal-safe calls until execve.
struct SpawnSpec {
  std::string path;  // absolute or relative path to execute (already searched)
  std::vector<std::string> argv;
  std::vector<std::string> env;  // "KEY=VALUE"
  std::string directory;         // empty: inherit
  std::optional<mode_t> umask;
  std::optional<uid_t> uid;  // set: drop to this user (initgroups done through groups)
  gid_t gid = 0;
  std::vector<gid_t> groups;
  bool change_group = false;  // without uid: still set groups and gid (a `group:` of its own)
  int stdin_fd = -1;          // -1: /dev/null
  int stdout_fd = -1;         // -1: /dev/null
  int stderr_fd = -1;         // -1: /dev/null
  // Readiness fd (ready: fd:N): the child gets ready_fd as its fd ready_fd_target, open across
  // exec; every other fd but 0, 1, 2 is closed.
  int ready_fd = -1;
  int ready_fd_target = -1;
  // setrlimit(resource, {soft, hard}) each, before the user is switched.
  struct Limit {
    int resource;
    rlim_t soft;  // RLIM_INFINITY for unlimited
    rlim_t hard;
  };
  std::vector<Limit> rlimits;
  bool reset_oom_score_adj = false;  // write 0 to /proc/self/oom_score_adj (best effort)
  // Set: the child gets this variable set to its own pid ("WATCHDOG_PID", as systemd sets it
  // for a service with WatchdogSec=), written in the child, which alone knows its pid.
  std::string own_pid_variable;
  // A cgroup v2 folder (an O_RDONLY | O_DIRECTORY fd) the child goes into before it can fork:
  // it is born there (clone3's CLONE_INTO_CGROUP), or, where the kernel cannot, writes itself
  // into the folder's cgroup.procs before anything else. -1: wardend's own cgroup.
  int cgroup_fd = -1;
};

// Spawns and execs, as posix_spawn does: clone (clone3 into a cgroup) with CLONE_VM |
// CLONE_VFORK, so no page table is copied. The child becomes a session and process-group leader
// (setsid), gets default signal dispositions and an empty mask, and keeps no fd but 0, 1, 2 (and
// the readiness fd). A failure in the child is reported as {stage, errno} in memory it shares with
// the caller, who resumes when the child has exec'd or exited, and reaps a child that failed.
core::SpawnOutcome Spawn(const SpawnSpec& spec);
// Reads which signals wardend catches or ignores: the child puts those back to SIG_DFL (and
// only those, one system call each). Spawn reads them at its first call; call this after
// changing a signal's disposition later than that.
void NoteSignalDispositions();
// Reserves four low fds (and a fifth) for Spawn, which puts each child's stdio and readiness
// fds there: the child then copies wardend's fd table only up to them, not the thousands of
// log pipes and files above. Call first thing, while the lowest fds are free; without it Spawn
// still works, copying (and closing) every fd in each child.
void ReserveSpawnSlots();

// Raises wardend's soft RLIMIT_NOFILE to its hard limit (systemd starts services with soft
// 1024, hard 524288, and asks daemons to raise their own) and remembers the limit it was
// started with, which programs get back (FdLimitForPrograms). Call first thing at start.
void RaiseFdLimit();
// The RLIMIT_NOFILE wardend was started with; nullopt when RaiseFdLimit changed nothing.
std::optional<rlimit> FdLimitForPrograms();
// Puts the limit wardend was started with back (before a re-execution, whose new image raises
// it again and so learns the same starting limit); RaiseFdLimit undoes it.
void RestoreFdLimit();

// Looks `name` up in the colon-separated `path_var` like execvp would. Names containing '/'
// are returned as they are. Returns the resolved path, or "" with *error set (ENOENT, EACCES).
std::string SearchPath(const std::string& name, const std::string& path_var, int* error);

// kill(2) on pid or -pid. ESRCH is not an error worth reporting: it returns false.
bool SendSignal(int pid, int signal, bool whole_group);

// One waitpid(-1, WNOHANG) result.
struct Reaped {
  int pid = 0;
  core::ExitStatus status;
};
// Reaps exited children now, in a loop until none is left or `max` were reaped (the others
// stay zombies, their pids held, for a later call). The pids in `likely` (children that were
// just sent a signal to end) are asked first, each by its pid: waitpid(pid) costs the kernel
// one look, while waitpid(-1) walks the list of children, oldest first, up to the first
// zombie: a stop of N children, newest first (reverse order), had each reap walk past every
// child still running, N^2/2 looks (45% of wardend's CPU in a stop of 3000, most of it at
// 10,000). The ones that have not exited are left; the walk then finds any other zombie,
// unless `any` is false (the likely ones only: no walk).
std::vector<Reaped> ReapAll(size_t max, const std::vector<int>& likely = {}, bool any = true);
// Whether this process has a child, living or not reaped yet (waitid: ECHILD when none).
bool HasChildren();

// The fields of /proc/PID/stat that status needs.
struct ProcStat {
  int pid = 0;
  char state = 0;  // R, S, D, Z, T, t, X, I ...
  int ppid = 0;
  int pgrp = 0;
  int session = 0;
  uint64_t cpu_ticks = 0;  // utime + stime
  uint64_t rss_pages = 0;
  uint64_t start_ticks = 0;  // field 22: start time after boot; with pid, names one process
  int threads = 1;           // field 20
  bool thread = false;       // a thread other than its process's first (exit_signal, field 38, -1)
};
std::optional<ProcStat> ReadProcStat(int pid);
// The text of /proc/PID/stat, parsed; nullopt when it is not that (fewer than 6 fields).
std::optional<ProcStat> ParseProcStat(int pid, std::string_view text);
// /proc/PID/stat kept open and read again with pread: one system call a reading instead of
// three (open, read, close), which is most of what a status of many processes costs. The fd
// stands for the process, not for its number: once the process is reaped, reading it fails
// (ESRCH), even if the pid has been reused. An invalid fd when the process is gone.
UniqueFd OpenProcStat(int pid);
std::optional<ProcStat> ReadProcStat(int pid, int stat_fd);
// How the scans below read a process's stat: ReadProcStat(pid) when empty; a caller that keeps
// fds open for some processes passes a reader that uses them.
using StatReader = std::function<std::optional<ProcStat>(int pid)>;
// The pids of a process's children, from /proc/PID/task/TID/children: each thread's own (a
// child's parent is the thread that forked it). `threads` > 1 (or pid 0, meaning this process)
// lists the task folder; 1 reads the main thread's file only.
std::vector<int> ListChildren(int pid, int threads);
// The processes below `root` (not root itself), parents before children, found by walking
// the children files: its cost is the subtree's size, not the machine's process count. A
// child for which `skip` says true is left out with everything below it.
std::vector<ProcStat> ScanSubtree(int root, const std::function<bool(int pid)>& skip = {},
                                  const StatReader& read = {});
// Every process below `root` (and maybe others: callers follow ppid from root), by the cheaper
// of two ways: when `expected` (about how many processes are below root) is at least half the
// machine's process count, one pass over every /proc/PID/stat (one file per process of the
// machine); else ScanSubtree (two files per process below root).
std::vector<ProcStat> ScanWhole(int root, size_t expected, const StatReader& read = {});
// Where the kernel's allocation of pids stands, for a look at only the pids allocated since an
// earlier one (supervisor/subtree_index.h): the last pid allocated in wardend's pid namespace and
// the tasks that live now (/proc/loadavg), the forks since boot (`processes` of /proc/stat) and
// the largest pid plus one (/proc/sys/kernel/pid_max). 0 each when unreadable.
struct PidCursor {
  int last_pid = 0;
  uint64_t tasks = 0;
  uint64_t forks = 0;
  int pid_max = 0;
};
PidCursor ReadPidCursor();
// The two texts, parsed (false when a field is missing).
bool ParseLoadavgPids(std::string_view loadavg, PidCursor* out);
bool ParseStatForks(std::string_view stat, PidCursor* out);
// /proc/PID/environ (NUL-separated KEY=VALUE), at most max_bytes; "" when unreadable.
std::string ReadProcEnviron(int pid, size_t max_bytes);
// Sends `signal` to the process `process` describes, only if its pid still names that process
// (same start time): through a pidfd, so a pid reused since the scan is never signalled.
bool SignalProcess(const ProcStat& process, int signal);

// Waits, at most `timeout_ms`, until every process of `processes` has exited (through pidfds:
// readable once the process is dead, whoever its parent is); returns those still alive. Without
// pidfds (before Linux 5.3) it looks again every 50 ms.
std::vector<ProcStat> WaitGone(const std::vector<ProcStat>& processes, int timeout_ms);

// Small files of wardend's own (the record of tracked processes, process_record.h): the whole
// text, or nullopt when missing or unreadable; opened for appending (O_APPEND, created 0600:
// an invalid fd with errno set when it cannot be), and one write(2) to that fd (`path` names
// it in errors); the whole text replaced atomically (a temporary file beside it, renamed over
// it: an fd opened before still writes to the file replaced); removed.
std::optional<std::string> ReadFile(const std::string& path);
UniqueFd OpenAppend(const std::string& path);
Status AppendTo(int fd, const std::string& path, std::string_view text);
Status ReplaceFile(const std::string& path, std::string_view text);
void RemoveFile(const std::string& path);

// How many processes the kernel's OOM killer has killed since boot: the `oom_kill` line of
// /proc/vmstat (Linux 4.13 and later); nullopt when there is none.
std::optional<uint64_t> ReadOomKillCount();
std::optional<uint64_t> ParseOomKillCount(std::string_view vmstat);

long ClockTicksPerSecond();
// CLOCK_BOOTTIME in clock ticks: the clock /proc/PID/stat's start time is on.
uint64_t TicksSinceBoot();
long PageSize();

// Resolves a user name (or numeric uid) to uid, gid and supplementary groups.
struct UserInfo {
  uid_t uid = 0;
  gid_t gid = 0;
  std::string name;
  std::string home;
  std::vector<gid_t> groups;
};
Result<UserInfo> LookupUser(const std::string& user);

// mkdir -p with mode 0755 for each folder it creates.
Status MakeDirs(const std::string& dir);

std::string SignalName(int signal);                          // "TERM", "KILL", ... or the number
std::optional<int> SignalFromName(const std::string& name);  // "TERM", "SIGTERM", "15"

// What the Supervisor and its Processes ask of the operating system, as an interface: spawning,
// signalling, reaping, the /proc reads and scans, wardend's own pid and the seed of its random
// numbers (backoff jitter). RealSystem() is the functions above, unchanged (one indirect call
// more, nothing else); a deterministic simulation (daemon/sim) puts fake processes behind it.
// Time is the other half of the seam: EventLoop::Now().
class System {
 public:
  virtual ~System() = default;
  virtual core::SpawnOutcome Spawn(const SpawnSpec& spec) = 0;
  // False with errno set (ESRCH: no such process), as the functions above.
  virtual bool SendSignal(int pid, int signal, bool whole_group) = 0;
  virtual bool SignalProcess(const ProcStat& process, int signal) = 0;
  virtual std::vector<Reaped> ReapAll(size_t max, const std::vector<int>& likely, bool any) = 0;
  virtual bool HasChildren() = 0;
  virtual std::optional<ProcStat> ReadProcStat(int pid) = 0;
  virtual UniqueFd OpenProcStat(int pid) = 0;
  // ReadProcStat(pid, stat_fd) above: a reading of a stat file OpenProcStat kept open.
  virtual std::optional<ProcStat> ReadOpenProcStat(int pid, int stat_fd) = 0;
  virtual std::vector<ProcStat> ScanSubtree(int root, const std::function<bool(int pid)>& skip,
                                            const StatReader& read) = 0;
  virtual std::vector<ProcStat> ScanWhole(int root, size_t expected, const StatReader& read) = 0;
  virtual std::string ReadProcEnviron(int pid, size_t max_bytes) = 0;
  virtual PidCursor ReadPidCursor() = 0;
  virtual int SelfPid() = 0;
  // ReadOomKillCount above: the machine's OOM kills so far, or nullopt when unknown.
  virtual std::optional<uint64_t> OomKillCount() = 0;
  virtual uint64_t RandomSeed() = 0;
  // Now, on the clock of ProcStat::start_ticks (clock ticks since boot).
  virtual uint64_t TicksSinceBoot() = 0;
  // The files and the wait above.
  virtual std::vector<ProcStat> WaitGone(const std::vector<ProcStat>& processes,
                                         int timeout_ms) = 0;
  virtual std::optional<std::string> ReadFile(const std::string& path) = 0;
  virtual UniqueFd OpenAppend(const std::string& path) = 0;
  virtual Status AppendTo(int fd, const std::string& path, std::string_view text) = 0;
  virtual Status ReplaceFile(const std::string& path, std::string_view text) = 0;
  virtual void RemoveFile(const std::string& path) = 0;
};
// The kernel: one instance for the whole process.
System& RealSystem();

}  // namespace warden::os
