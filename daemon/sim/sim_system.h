// SimSystem: the operating system of the deterministic simulation (docs/design.md,
// "Simulation"). Processes are entries in a table, not forks: a spawn gives a fake pid, a signal
// changes when (and how) the process will exit, an exit leaves a zombie until ReapAll, and /proc
// is that table. Nothing here makes a system call, sleeps or reads a clock but EventLoop::Now(),
// which the simulation advances; every random choice comes from one seeded generator.
//
// A program's behaviour is its command: `/bin/sh sim PROFILE SECONDS` (the path only has to
// exist for the real PATH lookup before the spawn):
//   runs          runs until signalled; stops soon after TERM/INT/HUP
//   exits         exits by itself after a random time up to 2*SECONDS, code 0, 1 or 2
//   crashes       exits with code 1 within 0.2 s of its start
//   ignores-term  only SIGKILL ends it (stopwaitsecs runs out)
//   slow-stop     exits up to 2*SECONDS after TERM (sometimes past stopwaitsecs)
//   spawn-error   the spawn fails (exec: ENOEXEC)
// SIGKILL ends every profile at once.
//
// Memory: each process has a resident size (ProcStat::rss_pages) of base_pages, and one spawn in
// three leaks: it grows by growth_pages each simulated second from its spawn, so that programs
// with a memory_limit go over it at a time OverLimitSince can tell.
//
// Readiness (`ready: notify` or `ready: fd:N`): a process given $NOTIFY_SOCKET or a readiness
// fd reports ready at a random time within SECONDS, through the real socket or pipe the
// supervisor made (so the real ReadinessWatch reads it, when the simulation runs the loop's ready
// sources); one in seven never does, and ready_timeout must catch it. Its end closes its side.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "base/unique_fd.h"
#include "daemon/os/event_loop.h"
#include "daemon/os/os.h"

namespace warden::sim {

enum class Profile : uint8_t { kRuns, kExits, kCrashes, kIgnoresTerm, kSlowStop, kSpawnError };
const char* ProfileName(Profile profile);

struct SimProcess {
  int pid = 0;
  uint64_t start_ticks = 0;  // unique per spawn: tells a pid from its reuse
  std::string group;         // WARDEN_GROUP and WARDEN_PROCESS of its environment
  std::string name;
  std::string full_name;  // as config::ProcessName::FullName
  Profile profile = Profile::kRuns;
  double seconds = 1;
  std::optional<EventLoop::TimePoint> exit_at;  // when it will exit on its own (or by a signal)
  core::ExitStatus exit_status;                 // how, then
  bool zombie = false;                          // exited, not reaped yet
  // Readiness: its side of the readiness pipe or its socket connected to $NOTIFY_SOCKET (at
  // most one), when it will report, and whether it did.
  bool reports_readiness = false;  // spawned with a readiness fd or $NOTIFY_SOCKET
  UniqueFd ready_pipe;
  UniqueFd notify;
  std::optional<EventLoop::TimePoint> ready_at;
  bool reported_ready = false;
  // Memory: base_pages, plus growth_pages for each second since `spawned` (a leak).
  EventLoop::TimePoint spawned{};
  uint64_t base_pages = 0;
  double growth_pages = 0;
};

class SimSystem final : public os::System {
 public:
  // `log` gets one line per thing that happens to a process (the replay's trace).
  SimSystem(uint64_t seed, std::function<void(const std::string&)> log);

  // --- os::System ---
  core::SpawnOutcome Spawn(const os::SpawnSpec& spec) override;
  bool SendSignal(int pid, int signal, bool whole_group) override;
  bool SignalProcess(const os::ProcStat& process, int signal) override;
  std::vector<os::Reaped> ReapAll(size_t max, const std::vector<int>& likely, bool any) override;
  bool HasChildren() override { return !processes_.empty(); }
  std::optional<os::ProcStat> ReadProcStat(int pid) override;
  UniqueFd OpenProcStat(int) override { return UniqueFd(); }  // no fds: read by pid
  std::optional<os::ProcStat> ReadOpenProcStat(int pid, int) override { return ReadProcStat(pid); }
  std::vector<os::ProcStat> ScanSubtree(int root, const std::function<bool(int pid)>& skip,
                                        const os::StatReader& read) override;
  std::vector<os::ProcStat> ScanWhole(int root, size_t expected,
                                      const os::StatReader& read) override;
  std::string ReadProcEnviron(int pid, size_t max_bytes) override;
  // The pid allocation as the kernel's reads: the last pid handed out, the spawns so far as the
  // forks, the table's size as the tasks.
  os::PidCursor ReadPidCursor() override {
    return os::PidCursor{last_pid_, processes_.size(), spawns_, kMaxPid + 1};
  }
  int SelfPid() override { return kSelfPid; }
  std::optional<uint64_t> OomKillCount() override { return std::nullopt; }  // no OOM killer
  uint64_t RandomSeed() override { return random_(); }
  uint64_t TicksSinceBoot() override { return ticks_; }
  // No waiting in simulated time: what is still alive now.
  std::vector<os::ProcStat> WaitGone(const std::vector<os::ProcStat>& processes,
                                     int timeout_ms) override;
  // Simulated files, in memory (the record of tracked processes): nothing touches the disk.
  std::optional<std::string> ReadFile(const std::string& path) override;
  // An fd opened for appending is a real one (/dev/null, for its number) that stands for the
  // file as it was opened: once the file is replaced or removed, what it writes is lost, as
  // the kernel's writes to an unlinked file are.
  UniqueFd OpenAppend(const std::string& path) override;
  Status AppendTo(int fd, const std::string& path, std::string_view text) override;
  Status ReplaceFile(const std::string& path, std::string_view text) override;
  void RemoveFile(const std::string& path) override {
    files_.erase(path);
    file_versions_.erase(path);
  }

  // --- the simulation's side ---
  static constexpr int kSelfPid = 1;
  // The earliest exit a process has scheduled.
  std::optional<EventLoop::TimePoint> NextExit() const { return Earliest(&SimProcess::exit_at); }
  // Every process whose exit is due (at or before Now()) becomes a zombie; how many did.
  size_t ExitDue();
  // The earliest readiness report a live process has scheduled.
  std::optional<EventLoop::TimePoint> NextReady() const { return Earliest(&SimProcess::ready_at); }
  // Every live process whose report is due writes it (a newline to its pipe, or READY=1 to its
  // socket); how many did. The supervisor sees them when the loop runs its ready sources.
  size_t ReadyDue();
  // Ends a live process now, as if something outside wardend killed it or it crashed.
  void Crash(int pid, core::ExitStatus status);
  // The resident size of a process now, in pages (0 for a zombie).
  uint64_t MemoryPages(const SimProcess& process) const;
  // Since when the live process `pid` has used more than `limit` bytes (its spawn, or the moment
  // its leak passed the limit), or nothing when it does not now.
  std::optional<EventLoop::TimePoint> OverLimitSince(int pid, uint64_t limit) const;
  // Live processes and zombies, by pid.
  const std::map<int, SimProcess>& processes() const { return processes_; }
  size_t zombies() const;
  size_t spawns() const { return spawns_; }

 private:
  void Deliver(SimProcess& process, int signal);
  void ExitNow(SimProcess& process, core::ExitStatus status);
  void ExitWithin(SimProcess& process, double seconds, core::ExitStatus status);
  os::ProcStat StatOf(const SimProcess& process) const;
  // The earliest of one scheduled time point over every process.
  std::optional<EventLoop::TimePoint> Earliest(
      std::optional<EventLoop::TimePoint> SimProcess::*when) const;
  int NextPid();

  std::mt19937_64 random_;
  std::function<void(const std::string&)> log_;
  std::map<int, SimProcess> processes_;
  std::map<std::string, std::string> files_;
  // Each file's version (a new one per ReplaceFile), and the version each append fd opened.
  std::map<std::string, uint64_t> file_versions_;
  std::map<int, std::pair<std::string, uint64_t>> append_fds_;
  uint64_t next_file_version_ = 0;
  int last_pid_ = 99;
  uint64_t ticks_ = 0;
  size_t spawns_ = 0;
  // Pids run from 100 to kMaxPid and wrap around, as the kernel's do: reuse happens.
  static constexpr int kMaxPid = 1123;
};

}  // namespace warden::sim
