#include "daemon/sim/invariants.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <tuple>
#include <unordered_map>

namespace warden::sim {
namespace {

bool Settled(core::State s) {
  return s == core::State::kStopped || s == core::State::kExited || s == core::State::kFatal;
}

std::string Describe(const Process& p) {
  return p.full_name() + " (id " + std::to_string(p.id()) + ", " +
         core::StateName(p.machine().state()) + ", pid " + std::to_string(p.machine().pid()) +
         (p.removing() ? ", removing" : "") + ")";
}

// Summary() as it should read, from the states themselves.
std::string Recount(const Supervisor& supervisor) {
  std::map<core::State, int> counts;
  for (const auto& p : supervisor.processes()) counts[p->machine().state()]++;
  std::string out;
  for (const auto& [state, n] : counts) {
    if (!out.empty()) out += ", ";
    std::string name = core::StateName(state);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    out += std::to_string(n) + " " + name;
  }
  return out.empty() ? "no programs" : out;
}

}  // namespace

std::optional<std::string> CheckProcesses(const Supervisor& supervisor, const SimSystem& system) {
  const config::Config& config = supervisor.config();
  // The config in force, expanded, against the processes not being removed.
  std::unordered_map<std::string, int> named;  // full name -> processes not being removed
  for (const auto& p : supervisor.processes()) {
    if (!p->removing()) named[p->full_name()]++;
  }
  size_t expected = 0;
  for (const config::Program& program : config.programs) {
    for (const config::ProcessName& name : config::ExpandProcessNames(config, program)) {
      ++expected;
      auto it = named.find(name.FullName());
      if (it == named.end()) return "the config names " + name.FullName() + ", no process has it";
      if (it->second != 1) {
        return std::to_string(it->second) + " processes are named " + name.FullName();
      }
    }
  }
  if (named.size() != expected) {
    for (const auto& p : supervisor.processes()) {
      if (p->removing()) continue;
      const config::Program* program = config.FindProgram(p->program().name);
      bool found = false;
      if (program != nullptr) {
        for (const auto& name : config::ExpandProcessNames(config, *program)) {
          found = found || name.FullName() == p->full_name();
        }
      }
      if (!found) return "process " + Describe(*p) + " is not in the config in force";
    }
  }

  // Each process's state against its pid and the simulated table.
  std::unordered_map<int, const Process*> by_pid;
  for (const auto& p : supervisor.processes()) {
    const core::State state = p->machine().state();
    const int pid = p->machine().pid();
    const bool has_process = state == core::State::kStarting || state == core::State::kRunning ||
                             state == core::State::kStopping;
    if (has_process && pid <= 0) return Describe(*p) + " has no main process";
    if (!has_process && pid != 0) return Describe(*p) + " still has a pid";
    // A removed process waits for a slice of stops (Supervisor::StopRemoved), then stops.
    if (p->removing() && !p->removal_queued() && state != core::State::kStopping) {
      return Describe(*p) + " is being removed but not stopping";
    }
    if (p->removing() && p->start_pending()) return Describe(*p) + " is being removed, yet pending";
    if (Settled(state) && p->machine().cleaning()) return Describe(*p) + " cleans leftovers";
    if (pid <= 0) continue;
    auto sim = system.processes().find(pid);
    if (sim == system.processes().end()) {
      return Describe(*p) + ": its pid is in no process table (reaped or never spawned)";
    }
    if (sim->second.full_name != p->full_name()) {
      return Describe(*p) + ": pid " + std::to_string(pid) + " is " + sim->second.full_name;
    }
    // Spawned with `ready: notify` or `fd:N` (the program's `ready` may have changed since: that
    // applies at the next start), RUNNING means the process said so, not startsecs' clock.
    if (state == core::State::kRunning && sim->second.reports_readiness &&
        !sim->second.reported_ready) {
      return Describe(*p) + " is RUNNING, but never reported ready";
    }
    if (!by_pid.emplace(pid, p.get()).second) {
      return Describe(*p) + " and " + Describe(*by_pid[pid]) + " share a pid";
    }
  }

  // Every simulated process against the supervised ones.
  std::unordered_map<std::string, int> instances;
  for (const auto& [pid, sim] : system.processes()) {
    if (++instances[sim.full_name] > 1) return "two instances of " + sim.full_name + " exist";
    if (sim.zombie) continue;
    auto owner = by_pid.find(pid);
    if (owner == by_pid.end()) {
      return "pid " + std::to_string(pid) + " (" + sim.full_name +
             ") runs, but is no supervised process's main process";
    }
  }

  const std::string summary = supervisor.Summary();
  const std::string recount = Recount(supervisor);
  if (summary != recount) return "Summary() says \"" + summary + "\", the states say " + recount;
  return std::nullopt;
}

std::optional<std::string> CheckRecord(const Supervisor& supervisor, SimSystem& system) {
  const ProcessRecord* record = supervisor.record();
  if (record == nullptr) return std::nullopt;
  for (const auto& p : supervisor.processes()) {
    const int pid = p->machine().pid();
    if (pid == 0 || !supervisor.CgroupOf(*p).empty()) continue;
    auto stat = system.ReadProcStat(pid);
    if (stat && !record->Has(pid, stat->start_ticks)) {
      return p->full_name() + ": its main process " + std::to_string(pid) +
             " is not in the record of tracked processes";
    }
  }
  auto text = system.ReadFile(record->path());
  std::vector<RecordEntry> on_file = text ? ParseRecord(*text).live : std::vector<RecordEntry>();
  std::vector<RecordEntry> in_memory = record->Entries();
  auto order = [](const RecordEntry& a, const RecordEntry& b) {
    return std::tie(a.pid, a.start_ticks) < std::tie(b.pid, b.start_ticks);
  };
  std::sort(on_file.begin(), on_file.end(), order);
  std::sort(in_memory.begin(), in_memory.end(), order);
  if (on_file != in_memory) {
    return "the record's file holds " + std::to_string(on_file.size()) + " entries, its memory " +
           std::to_string(in_memory.size()) + " (or other ones)";
  }
  return std::nullopt;
}

std::optional<std::string> CheckJobs(const Supervisor& supervisor,
                                     const std::set<uint64_t>& destroyed,
                                     size_t job_requests_in_flight) {
  const JobTable& jobs = supervisor.jobs();
  for (uint64_t id : destroyed) {
    if (supervisor.Find(id) != nullptr) {
      return "Find(" + std::to_string(id) + ") finds a destroyed process";
    }
  }
  for (const auto& [id, job] : jobs.jobs()) {
    for (uint64_t process : job.processes) {
      const Process* p = supervisor.Find(process);
      if (p == nullptr) {
        return std::string("job ") + std::to_string(id) + " (" + JobKindName(job.kind) +
               ") refers to destroyed process " + std::to_string(process);
      }
      if (p->removing() && job.kind != JobKind::kShutdown) {
        return std::string("job ") + std::to_string(id) + " (" + JobKindName(job.kind) +
               ") still refers to " + Describe(*p);
      }
    }
  }
  if (jobs.size() > job_requests_in_flight) {
    return std::to_string(jobs.size()) + " jobs open for " +
           std::to_string(job_requests_in_flight) + " requests in flight";
  }
  return std::nullopt;
}

std::optional<std::string> CheckShutDown(const Supervisor& supervisor, const SimSystem& system) {
  for (const auto& p : supervisor.processes()) {
    if (!Settled(p->machine().state()) || p->machine().pid() != 0) {
      return "after shutdown, " + Describe(*p) + " is not stopped";
    }
  }
  if (!system.processes().empty()) {
    const SimProcess& sim = system.processes().begin()->second;
    return "after shutdown, pid " + std::to_string(sim.pid) + " (" + sim.full_name + ") " +
           (sim.zombie ? "was never reaped" : "still runs");
  }
  if (!supervisor.jobs().empty()) return "after shutdown, a job is still open";
  return std::nullopt;
}

std::optional<std::string> CheckMemory(
    const Supervisor& supervisor, const SimSystem& system, EventLoop::TimePoint now,
    core::Duration interval,
    const std::function<EventLoop::TimePoint(const Process&)>& applies_since) {
  // The timer fires at its deadline exactly; a millisecond covers rounding in the crossing time.
  const core::Duration slack = std::chrono::milliseconds(1);
  for (const auto& p : supervisor.processes()) {
    const uint64_t limit = p->program().memory_limit;
    const core::State state = p->machine().state();
    const int pid = p->machine().pid();
    const bool up = (state == core::State::kStarting || state == core::State::kRunning) && pid != 0;
    if (limit == 0 || p->removing() || !up) continue;
    if (p->memory_restart_pending()) {
      return p->full_name() + " is " + core::StateName(state) + " with pid " + std::to_string(pid) +
             " while its memory restart is under way";
    }
    const auto over = system.OverLimitSince(pid, limit);
    if (!over) continue;
    const EventLoop::TimePoint from = std::max(*over, applies_since(*p));
    if (now > from + interval + slack) {
      const double late = std::chrono::duration<double>(now - from).count();
      return p->full_name() + " (pid " + std::to_string(pid) + ") has been over its memory_limit " +
             std::to_string(limit) + " for " + std::to_string(late) +
             " s, more than one check "
             "interval, and is still " +
             core::StateName(state);
    }
  }
  return std::nullopt;
}

}  // namespace warden::sim
