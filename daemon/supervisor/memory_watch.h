// MemoryWatch: `memory_limit`. Every warden.memory_check_interval, the memory of each process
// whose program has a limit and that is up (STARTING or RUNNING with a main process) is
// measured; one over its limit is restarted gracefully (Supervisor::RestartForMemory: the stop
// signal, then a start, for that process alone), which counts as a restart and never as a
// crash, so it cannot make the program FATAL.
//
// Measure: the cgroup's memory.current where the process has a cgroup with the memory
// controller (MemoryUse::from_cgroup; Supervisor::CgroupMemoryBytes), else the sum of the
// RSS of the main process and every process status shows as its children, read in one scan of
// their /proc/PID/stat (the figures status shows). RSS rather than PSS: it comes with the stat
// read, where smaps_rollup would walk every mapping of every process at each check; the price
// is that pages shared between the processes count once per process.
//
// Timer: one, armed only while some process with a limit is up and not watched through its
// cgroup's memory.events (below) (Arm after every state change and every update), so that a
// wardend with no limit, or whose limited programs are all stopped, makes no wakeup for it. A process already stopping (its memory restart under way,
// or any stop) is never restarted again: a check sees at most one restart per process.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "daemon/core/process_machine.h"
#include "daemon/os/event_loop.h"

namespace warden {

class Supervisor;
class Process;

// "212M", "1.5G", "512K", "900B": 1024-based, one decimal unless whole (config sizes' units).
std::string FormatMemory(uint64_t bytes);

// What a check found for one process.
struct MemoryUse {
  uint64_t bytes = 0;
  int processes = 0;  // how many /proc figures were summed (0 with from_cgroup)
  bool from_cgroup = false;
};

// The decision, pure: the reason to restart ("memory 212M over memory_limit 200M"), or "" when
// the process stays. Only a process that is up (STARTING or RUNNING with a pid) and not
// already being restarted for memory is restarted; limit 0 is no limit.
std::string MemoryVerdict(core::State state, int pid, bool restart_pending, uint64_t used,
                          uint64_t limit);

// Event-driven where the kernel offers it: with the memory controller on a process's cgroup,
// its memory.high is set to memory_limit and its memory.events watched (the `high` count rises,
// and the file signals a modification, each time the cgroup goes past memory.high). memory.high
// throttles the processes only above it, where wardend restarts them anyway, so nothing is slowed
// below its limit. Such a process needs no interval check. The memory.high for a limit: the
// limit, unless memory_max is as low or lower (the kernel's cap acts first; then none: 0).
uint64_t MemoryHighFor(uint64_t memory_limit, uint64_t memory_max);
// The decision after the `high` count rose: restart a process that is up and not already being
// restarted. The cgroup went past its limit, though reclaim may have brought memory.current back
// under it by the time it is read: the reason then says so.
std::string MemoryHighVerdict(core::State state, int pid, bool restart_pending, uint64_t current,
                              uint64_t limit);

class MemoryWatch {
 public:
  explicit MemoryWatch(Supervisor& supervisor) : supervisor_(supervisor) {}
  ~MemoryWatch() { Disarm(); }
  MemoryWatch(const MemoryWatch&) = delete;
  MemoryWatch& operator=(const MemoryWatch&) = delete;

  // Arms the timer (one interval from now) when some process with a limit is up and it is not
  // armed; disarms it when none is. Cheap: a pass over the processes, no /proc read.
  void Arm();
  bool armed() const { return timer_ != 0; }
  // The number of checks made so far (for the simulation's invariants).
  uint64_t checks() const { return checks_; }

 private:
  bool Needed() const;
  void Disarm();
  // Measures every up process with a limit and restarts those over it.
  void Check();

  Supervisor& supervisor_;
  EventLoop::TimerId timer_ = 0;
  uint64_t checks_ = 0;
};

}  // namespace warden
