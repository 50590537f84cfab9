// The simulation's invariants (docs/design.md, "Simulation"): plain functions over the real
// Supervisor and the simulated OS, checked after every step. Each returns the first violation
// it finds, described for a human, or nothing.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>

#include "daemon/sim/sim_system.h"
#include "daemon/supervisor/supervisor.h"

namespace warden::sim {

// Processes against the config in force and against the simulated process table:
// - every process not being removed is named by the config in force, and every name the config
//   gives has exactly one such process;
// - every live simulated process is the main process of a process wardend supervises (one being
//   removed only while it is STOPPING), and no full name has two live (or unreaped) instances;
// - each state agrees with the pid: STARTING, RUNNING and STOPPING have one the table knows, of
//   the same name; STOPPED, EXITED, FATAL and BACKOFF have none (the simulation makes no
//   leftovers, so no cleanup holds a state);
// - a process being removed is STOPPING and waits for no start;
// - Summary() agrees with a recount of the states.
std::optional<std::string> CheckProcesses(const Supervisor& supervisor, const SimSystem& system);

// Jobs: no job refers to a destroyed process (Find is null for it) or to one being removed
// (shutdown aside, which stops those too); at most one job per request in flight, and none with
// no request in flight.
std::optional<std::string> CheckJobs(const Supervisor& supervisor,
                                     const std::set<uint64_t>& destroyed,
                                     size_t job_requests_in_flight);

// memory_limit: a process up (STARTING or RUNNING with a pid) whose main process has used more
// than its program's memory_limit since longer than one check interval (counted from when the
// limit and the memory watch applied to it: `applies_since`, for a limit changed by an update
// or a supervisor replaced by a re-execution) has not been restarted in time; and a process
// whose memory restart is under way is never up with a pid before its new spawn (no second
// restart of a process already stopping).
std::optional<std::string> CheckMemory(
    const Supervisor& supervisor, const SimSystem& system, EventLoop::TimePoint now,
    core::Duration interval,
    const std::function<EventLoop::TimePoint(const Process&)>& applies_since);

// The record of tracked processes (process_record.h): every live main process is in it (pid
// and start), and the simulated file, read as a wardend started again would read it, holds
// exactly the entries the record keeps in memory.
std::optional<std::string> CheckRecord(const Supervisor& supervisor, SimSystem& system);

// After a shutdown: every process STOPPED (or EXITED/FATAL) with no pid, nothing left in the
// simulated process table (not even a zombie), no job open.
std::optional<std::string> CheckShutDown(const Supervisor& supervisor, const SimSystem& system);

}  // namespace warden::sim
