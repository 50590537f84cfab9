// MemoryWatch (memory_watch.h) and Supervisor::RestartForMemory.
#include "daemon/supervisor/memory_watch.h"

#include <spdlog/spdlog.h>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <vector>

#include "daemon/os/cgroup.h"
#include "daemon/supervisor/supervisor.h"

namespace warden {
namespace {

bool IsUp(const Process& p) {
  const core::State s = p.machine().state();
  return (s == core::State::kStarting || s == core::State::kRunning) && p.machine().pid() != 0;
}

bool Limited(const Process& p) { return p.program().memory_limit > 0 && !p.removing(); }

std::string FormatScaled(double value, const char* unit, int decimals) {
  char text[48];
  std::snprintf(text, sizeof text, "%.*f", decimals, value);
  std::string out = text;
  if (const size_t dot = out.find('.'); dot != std::string::npos) {
    while (out.back() == '0') out.pop_back();
    if (out.back() == '.') out.pop_back();
  }
  return out + unit;
}

std::string FormatMemoryWith(uint64_t bytes, int decimals) {
  constexpr double kKiB = 1024.0;
  const double b = static_cast<double>(bytes);
  if (b >= kKiB * kKiB * kKiB) return FormatScaled(b / (kKiB * kKiB * kKiB), "G", decimals);
  if (b >= kKiB * kKiB) return FormatScaled(b / (kKiB * kKiB), "M", decimals);
  if (b >= kKiB) return FormatScaled(b / kKiB, "K", decimals);
  return std::to_string(bytes) + "B";
}

}  // namespace

std::string FormatMemory(uint64_t bytes) { return FormatMemoryWith(bytes, 1); }

std::string MemoryVerdict(core::State state, int pid, bool restart_pending, uint64_t used,
                          uint64_t limit) {
  const bool up = state == core::State::kStarting || state == core::State::kRunning;
  if (limit == 0 || !up || pid == 0 || restart_pending || used <= limit) return "";
  std::string shown = FormatMemory(used);
  const std::string limit_text = FormatMemory(limit);
  // 200.04M over a limit of 200M must not read "200M over memory_limit 200M".
  if (shown == limit_text) shown = FormatMemoryWith(used, 3);
  if (shown == limit_text) shown = std::to_string(used) + "B";
  return "memory " + shown + " over memory_limit " + limit_text;
}

uint64_t MemoryHighFor(uint64_t memory_limit, uint64_t memory_max) {
  if (memory_limit == 0 || (memory_max != 0 && memory_max <= memory_limit)) return 0;
  return memory_limit;
}

std::string MemoryHighVerdict(core::State state, int pid, bool restart_pending, uint64_t current,
                              uint64_t limit) {
  std::string why = MemoryVerdict(state, pid, restart_pending, current, limit);
  if (!why.empty()) return why;
  const bool up = state == core::State::kStarting || state == core::State::kRunning;
  if (limit == 0 || !up || pid == 0 || restart_pending) return "";
  return "memory over memory_limit " + FormatMemory(limit) + " (its cgroup went past memory.high)";
}

bool MemoryWatch::Needed() const {
  if (!supervisor_.AnyMemoryLimit()) return false;
  for (const auto& p : supervisor_.processes()) {
    if (Limited(*p) && IsUp(*p) && !p->memory_by_events()) return true;
  }
  return false;
}

void MemoryWatch::Disarm() {
  if (timer_ == 0) return;
  supervisor_.loop().CancelTimer(timer_);
  timer_ = 0;
}

void MemoryWatch::Arm() {
  if (!Needed()) {
    Disarm();
    return;
  }
  if (timer_ != 0) return;
  const auto interval = std::chrono::duration_cast<core::Duration>(
      std::chrono::duration<double>(supervisor_.config().warden.memory_check_interval));
  timer_ = supervisor_.loop().AddTimer(EventLoop::Now() + interval, [this] {
    timer_ = 0;
    Check();
    Arm();
  });
}

void MemoryWatch::Check() {
  ++checks_;
  std::vector<Process*> wanted;
  for (const auto& p : supervisor_.processes()) {
    if (Limited(*p) && IsUp(*p) && !p->memory_restart_pending() && !p->memory_by_events()) {
      wanted.push_back(p.get());
    }
  }
  if (wanted.empty()) return;
  // One scan for all of them: the processes below each main process, as status reads them.
  supervisor_.ScanTree(&wanted);
  const uint64_t page = static_cast<uint64_t>(os::PageSize());
  std::vector<std::pair<uint64_t, std::string>> over;  // by id: a restart may reorder processes_
  for (Process* p : wanted) {
    MemoryUse use;
    if (auto current = supervisor_.CgroupMemoryBytes(*p)) {
      use.bytes = *current;
      use.from_cgroup = true;
    } else {
      if (auto main = supervisor_.MainOf(p)) {
        use.bytes += main->rss_pages * page;
        ++use.processes;
      }
      for (const os::ProcStat& member : supervisor_.MembersOf(p)) {
        use.bytes += member.rss_pages * page;
        ++use.processes;
      }
    }
    const std::string why =
        MemoryVerdict(p->machine().state(), p->machine().pid(), p->memory_restart_pending(),
                      use.bytes, p->program().memory_limit);
    if (why.empty()) continue;
    spdlog::warn("{}: restarting: {} ({})", p->full_name(), why,
                 use.from_cgroup ? std::string("memory.current of its cgroup")
                                 : "resident memory of " + std::to_string(use.processes) +
                                       (use.processes == 1 ? " process" : " processes"));
    over.emplace_back(p->id(), why);
  }
  for (const auto& [id, why] : over) {
    if (Process* p = supervisor_.Find(id)) supervisor_.RestartForMemory(p, why);
  }
}

// --- the restart -----------------------------------------------------------------------------

void Supervisor::RestartForMemory(Process* process, const std::string& why) {
  process->memory_note_ = why;
  process->memory_restart_pending_ = true;
  process->memory_restart_stops_ = process->stop_requests_;
  process->memory_note_spawn_ = 0;
  const uint64_t id = process->id();
  // This process alone: its dependents keep running, as after a crash and its restart.
  StopThenStart({process}, {process}, [this, id](size_t, ActionOutcome result) {
    Process* p = Find(id);
    if (p == nullptr || result.code == ErrorCode::kOk) return;
    // Cancelled by a stop, or the new instance failed: nothing to say about memory any more.
    if (p->memory_restart_pending_) p->memory_restart_pending_ = false;
  });
}

// --- memory.events ------------------------------------------------------------------------------

void Process::ApplyMemoryHigh() {
  memory_by_events_ = false;
  CgroupTree* cgroups = supervisor_.cgroups_.get();
  if (cgroups == nullptr || cgroup_.empty() || !in_cgroup_ || !supervisor_.MemoryMaxEnforceable()) {
    return;
  }
  const uint64_t high = MemoryHighFor(program_->memory_limit, program_->memory_max);
  if (Status set = os::SetCgroupMemoryHigh(cgroup_, high); !set.ok()) {
    spdlog::warn("{}: memory.high: {}; memory_limit is checked every memory_check_interval",
                 full_name_, set.message());
    return;
  }
  if (high == 0) return;
  auto events = os::ReadCgroupMemoryEvents(cgroup_);
  if (!events) return;
  memory_high_seen_ = events->high;
  cgroups->WatchMemory(cgroup_, id_);
  memory_by_events_ = true;
}

void Supervisor::OnMemoryEvent(uint64_t id) {
  Process* p = Find(id);
  if (p == nullptr || !p->memory_by_events_) return;
  auto events = os::ReadCgroupMemoryEvents(p->cgroup_);
  if (!events || events->high <= p->memory_high_seen_) return;  // max, oom: not memory_limit's
  p->memory_high_seen_ = events->high;
  const std::string why =
      MemoryHighVerdict(p->machine().state(), p->machine().pid(), p->memory_restart_pending(),
                        CgroupMemoryBytes(*p).value_or(0), p->program().memory_limit);
  if (why.empty()) return;
  spdlog::warn("{}: restarting: {} (memory.events of its cgroup)", p->full_name(), why);
  RestartForMemory(p, why);
}

// --- OOM kills ----------------------------------------------------------------------------------

void Supervisor::NoteOomKill(Process* process, int pid, core::ExitStatus* status) {
  if (!status->signaled || status->value != SIGKILL || process->sent_kill_) return;
  // Nobody here sent it: the OOM killer did when the machine's count rose since the last look.
  // (Where the program has a cgroup of its own, its memory.events oom_kill would say it for this
  // program alone: the cgroup backend's refinement.)
  const std::optional<uint64_t> now = system_.OomKillCount();
  const bool rose = now && oom_kills_ && *now > *oom_kills_;
  if (now) oom_kills_ = now;
  if (!rose) return;
  status->oom_killed = true;
  spdlog::warn(
      "{}: pid {} killed by the OOM killer (SIGKILL, and the oom_kill count of "
      "/proc/vmstat rose)",
      process->full_name(), pid);
}

std::string Process::MemoryReason() const {
  if (memory_restart_pending_ && stop_requests_ == memory_restart_stops_) {
    return "restarting: " + memory_note_;
  }
  if (memory_note_spawn_ != 0 && memory_note_spawn_ == spawn_count_ && machine_.pid() != 0) {
    return "restarted: " + memory_note_;
  }
  return "";
}

void Process::NoteSpawnForMemory() {
  if (memory_restart_pending_ && stop_requests_ == memory_restart_stops_) {
    memory_note_spawn_ = spawn_count_;
    spdlog::info("{}: restarted: {}", full_name_, memory_note_);
  } else {
    memory_note_spawn_ = 0;
  }
  memory_restart_pending_ = false;
}

}  // namespace warden
