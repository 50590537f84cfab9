// Process (the ProcessHost of one supervised process): readiness watches, leftover processes and
// jitter. The rest of Process is in supervisor.cc.
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <tuple>

#include "daemon/os/cgroup.h"
#include "daemon/os/spawn_setup.h"
#include "daemon/supervisor/supervisor.h"

namespace warden {
namespace {

// Notify sockets live in a folder beside the control socket: /run/warden/notify/7.sock.
std::string NotifyDir(const std::string& control_socket) {
  const size_t slash = control_socket.rfind('/');
  const std::string parent = slash == std::string::npos ? "." : control_socket.substr(0, slash);
  return (parent.empty() ? "" : parent) + "/notify";
}

}  // namespace

std::optional<core::SpawnError> Process::PrepareReadiness(os::SpawnSpec* spec) {
  readiness_.reset();
  status_text_.clear();
  const config::Program& p = *program_;
  if (p.ready == config::ReadyMode::kStartsecs) return std::nullopt;

  ReadinessWatch::Options options;
  options.mode = p.ready;
  options.fd = p.ready_fd;
  options.port = p.ready_port;
  options.name = full_name_;
  options.uid = spec->uid.value_or(geteuid());
  options.gid = spec->uid || spec->change_group ? spec->gid : getegid();
  if (p.ready == config::ReadyMode::kNotify) {
    const std::string dir = NotifyDir(supervisor_.config().warden.socket);
    if (Status made = os::MakeDirs(dir); !made.ok()) {
      return core::SpawnError{"notify socket folder " + dir, errno};
    }
    options.notify_path = dir + "/" + std::to_string(serial_) + ".sock";
  }

  auto watch = ReadinessWatch::Prepare(supervisor_.loop(), options, spec, ReadinessCallbacks());
  if (!watch.ok()) {
    spdlog::warn("{}: readiness: {}", full_name_, watch.status().message());
    return core::SpawnError{"readiness: " + watch.status().message(), 0};
  }
  readiness_ = std::move(watch).value();
  if (p.ready == config::ReadyMode::kNotify && p.watchdog_sec > 0) {
    // As systemd sets them for WatchdogSec= (sd_watchdog_enabled(3)).
    const auto usec = static_cast<uint64_t>(p.watchdog_sec * 1e6);
    std::erase_if(spec->env, [](const std::string& e) { return e.rfind("WATCHDOG_", 0) == 0; });
    spec->env.push_back("WATCHDOG_USEC=" + std::to_string(usec));
    spec->own_pid_variable = "WATCHDOG_PID";
  }
  return std::nullopt;
}

ReadinessWatch::Callbacks Process::ReadinessCallbacks() {
  std::weak_ptr<bool> alive = alive_;
  ReadinessWatch::Callbacks callbacks;
  callbacks.on_ready = [this, alive] {
    if (!alive.expired()) machine_.OnReady(EventLoop::Now());
  };
  callbacks.on_status = [this, alive](const std::string& text) {
    if (alive.expired()) return;
    if (text != status_text_) spdlog::info("{}: STATUS={}", full_name_, text);
    status_text_ = text;
  };
  callbacks.on_watchdog = [this, alive](bool trigger) {
    if (alive.expired() || program_->watchdog_sec <= 0) return;
    if (machine_.state() != core::State::kRunning) return;  // the deadline starts at RUNNING
    if (trigger) {
      spdlog::warn("{}: restarted: WATCHDOG=trigger", full_name_);
      machine_.Fail(EventLoop::Now(), "restarted: the program asked for it (WATCHDOG=trigger)");
      return;
    }
    ArmWatchdog();
  };
  return callbacks;
}

// --- watchdog_sec ------------------------------------------------------------------------------

void Process::ArmWatchdog() {
  EventLoop& loop = supervisor_.loop();
  loop.CancelTimer(watchdog_timer_);
  watchdog_timer_ = 0;
  const double seconds = program_->watchdog_sec;
  if (seconds <= 0 || program_->ready != config::ReadyMode::kNotify) return;
  const auto timeout =
      std::chrono::duration_cast<core::Duration>(std::chrono::duration<double>(seconds));
  std::weak_ptr<bool> alive = alive_;
  watchdog_timer_ = loop.AddTimer(EventLoop::Now() + timeout, [this, alive] {
    if (alive.expired()) return;
    watchdog_timer_ = 0;
    char text[32];
    std::snprintf(text, sizeof text, "%gs", program_->watchdog_sec);
    spdlog::warn("{}: restarted: watchdog timeout after {}", full_name_, text);
    machine_.Fail(EventLoop::Now(), std::string("restarted: watchdog timeout after ") + text);
  });
}

void Process::StopWatchdog() {
  supervisor_.loop().CancelTimer(watchdog_timer_);
  watchdog_timer_ = 0;
}

// --- health checks -----------------------------------------------------------------------------

void Process::StartHealthChecks() {
  health_.reset();
  const config::HealthCheck& check = program_->healthcheck;
  if (check.kind == config::HealthKind::kNone) return;
  std::weak_ptr<bool> alive = alive_;
  HealthMonitor::Hooks hooks;
  hooks.spawn = [this](std::function<void(core::ExitStatus)> on_exit) -> Result<int> {
    // As the program's own processes are started (user, directory, environment), but not
    // named as one of them: a check is no leftover of the program.
    config::Program as_check = *program_;
    as_check.command = program_->healthcheck.command;
    os::SpawnSpec spec;
    if (auto error = PrepareProgramSpawn(as_check, name_, &spec)) {
      return Status(ErrorCode::kSpawnError, error->ToString());
    }
    std::erase_if(spec.env, [](const std::string& entry) {
      return entry.rfind("WARDEN_PROCESS=", 0) == 0 || entry.rfind("WARDEN_GROUP=", 0) == 0;
    });
    const core::SpawnOutcome outcome = supervisor_.system_.Spawn(spec);
    if (outcome.pid <= 0) {
      return Status(ErrorCode::kSpawnError,
                    outcome.error ? outcome.error->ToString() : std::string("spawn failed"));
    }
    supervisor_.WatchChild(outcome.pid, std::move(on_exit));
    return outcome.pid;
  };
  hooks.kill = [this](int pid) { (void)supervisor_.system_.SendSignal(pid, SIGKILL, true); };
  hooks.on_unhealthy = [this, alive](const std::string& reason) {
    if (alive.expired()) return;
    spdlog::warn("{}: restarted: {}", full_name_, reason);
    machine_.Fail(EventLoop::Now(), "restarted: " + reason);
  };
  health_ =
      std::make_unique<HealthMonitor>(supervisor_.loop(), check, full_name_, std::move(hooks));
}

// --- leftovers ---------------------------------------------------------------------------------

namespace {

bool Alive(const os::ProcStat& p) { return p.state != 'Z' && p.state != 'X'; }

}  // namespace

bool Process::HasLeftovers() {
  if (!cgroup_.empty()) {
    // In a cgroup, its members are the cgroup's (ScanTree says so too): read that alone. A scan
    // goes over every process, and each exit asks this: a restart after kill -9 cost 15 ms of
    // wardend's CPU at 1000 programs.
    for (const os::ProcStat& m : supervisor_.CgroupMembers(this)) {
      if (Alive(m)) return true;
    }
    return false;
  }
  for (const os::ProcStat& m : supervisor_.MembersOf(this)) {
    if (Alive(m)) return true;
  }
  return false;
}

void Process::KillLeftovers(int signal) {
  supervisor_.FactsChanged();
  if (signal != leftover_signal_) {
    leftover_signal_ = signal;
    signalled_.clear();
  }
  if (signal == SIGKILL && !cgroup_.empty() && machine_.pid() == 0) {
    // Everything in the cgroup, whatever it forks meanwhile, in one write (cgroup.kill).
    spdlog::info("{}: killing every process left in {}", full_name_, cgroup_);
    if (::warden::Status killed = os::KillCgroup(cgroup_); !killed.ok()) {
      spdlog::warn("{}: {}", full_name_, killed.message());
    }
    return;
  }
  for (const os::ProcStat& m : supervisor_.MembersOf(this)) {
    if (!Alive(m)) continue;
    auto sent = signalled_.find(m.pid);
    if (signal != SIGKILL && sent != signalled_.end() && sent->second == m.start_ticks) continue;
    signalled_[m.pid] = m.start_ticks;
    spdlog::info("{}: sending SIG{} to leftover pid {}", full_name_, os::SignalName(signal), m.pid);
    if (!supervisor_.system_.SignalProcess(m, signal) && errno != ESRCH) {
      spdlog::warn("{}: kill({}, SIG{}): {}", full_name_, m.pid, os::SignalName(signal),
                   strerror(errno));
    }
    // A stopped leftover can act on it only once continued (as Process::Continue).
    if (signal != SIGKILL && signal != SIGCONT) (void)supervisor_.system_.SignalProcess(m, SIGCONT);
  }
}

void Supervisor::ScanTree(const std::vector<Process*>* wanted) const {
  std::vector<const ProcessClaim*> claims;
  claims.reserve(processes_.size());
  for (size_t i = 0; i < processes_.size(); ++i) {
    const Process* p = processes_[i].get();
    const int main_pid = p->machine().pid();
    p->claim_.main_pid = exiting_.count(main_pid) != 0 ? 0 : main_pid;
    if (p->claim_.process.empty()) {
      p->claim_.group = p->name().group;
      p->claim_.process = p->name().name;
    }
    claims.push_back(&p->claim_);
    p->tree_slot_ = i;
    p->tree_complete_ = wanted == nullptr || p->claim_.main_pid == 0;
  }
  std::unordered_set<int> descend;  // the live main processes to look below
  std::vector<bool> is_wanted(processes_.size(), wanted == nullptr);
  if (wanted != nullptr) {
    for (const Process* p : *wanted) {
      p->tree_complete_ = true;
      is_wanted[p->tree_slot_] = true;
      if (p->claim_.main_pid != 0) descend.insert(p->claim_.main_pid);
    }
  }
  const int self = system_.SelfPid();
  std::vector<os::ProcStat> snapshot;
  const os::StatReader read = [this](int pid) { return ReadStat(pid); };
  // With every process in a cgroup, /proc has nothing to tell: no scan of wardend's subtree.
  bool any_by_proc = cgroups_ == nullptr;
  for (const auto& p : processes_) {
    if (!p->in_cgroup_ && p->spawn_count_ > 0) any_by_proc = true;
  }
  if (!any_by_proc) {
    // snapshot stays empty
  } else if (wanted == nullptr) {
    // Every process: the index is made again from the same reading, for free.
    const os::PidCursor cursor = system_.ReadPidCursor();
    snapshot = system_.ScanWhole(self, processes_.size() + index_.size(), read);
    index_.Reset(
        cursor, snapshot, [this](int pid) { return system_.ReadProcStat(pid); }, IndexAnchor());
  } else {
    snapshot = LookBelow(descend, read);
  }
  tree_ =
      Attribute(self, snapshot, claims, [this](int pid) { return ReadEnvironNames(system_, pid); });
  for (size_t i = 0; i < processes_.size(); ++i) {
    const Process* p = processes_[i].get();
    if (p->cgroup_.empty()) continue;
    // In a cgroup: its members are the cgroup's, whatever the scan attributed. A scan for some
    // processes reads their cgroups only: reading every stopped process's cgroup too made each
    // exit cost a read per process whose cgroup was still there (a stop of 1000 took 24 s).
    if (!is_wanted[i]) {
      p->tree_complete_ = false;
      continue;
    }
    if (p->claim_.main_pid != 0 && !tree_.main[i]) tree_.main[i] = ReadStat(p->claim_.main_pid);
    tree_.members[i] = CgroupMembers(p);
    p->tree_complete_ = true;
  }
  for (size_t i = 0; i < processes_.size(); ++i) {
    // What is remembered of a process the scan did not see whole stays.
    if (!processes_[i]->tree_complete_) continue;
    if (record_ && processes_[i]->cgroup_.empty()) RecordMembers(*processes_[i], tree_.members[i]);
    Remember(&processes_[i]->claim_, tree_.members[i]);
  }
  for (int pid : tree_.unclaimed) {
    spdlog::debug("pid {} is wardend's child but no program's: left alone", pid);
  }
  // Valid for the rest of this event-loop callback only: processes come and go. Dropped then
  // (a scan of 1000 programs holds ~90 KiB), as every use scans again first.
  if (!tree_valid_) {
    loop_.Post([this] {
      tree_valid_ = false;
      tree_ = Attribution{};
    });
  }
  tree_valid_ = true;
}

SubtreeIndex::Anchor Supervisor::IndexAnchor() const {
  return [this, self = system_.SelfPid()](int pid) -> std::optional<uint64_t> {
    if (pid == self) return 0;
    auto it = by_pid_.find(pid);
    // A main process reaped in this batch (ScanBeforeExits) is gone already.
    if (it == by_pid_.end() || exiting_.count(pid) != 0) return std::nullopt;
    return it->second.process->main_start_ticks_;
  };
}

std::vector<os::ProcStat> Supervisor::LookBelow(const std::unordered_set<int>& descend,
                                                const os::StatReader& read) const {
  const SubtreeIndex::Anchor anchor = IndexAnchor();
  const os::StatReader fresh = [this](int pid) { return system_.ReadProcStat(pid); };
  for (int pid : exiting_) index_.ParentGone(pid);
  const os::PidCursor cursor = system_.ReadPidCursor();
  // Reading more pids than the subtree has processes costs more than a listing of it.
  const size_t max_range = 4096 + by_pid_.size() + index_.size();
  if (!index_.Advance(cursor, fresh, anchor, max_range)) {
    spdlog::debug("process tree: listing it whole (last pid {}, {} tasks, {} forks so far)",
                  cursor.last_pid, cursor.tasks, cursor.forks);
    // The first scan, a wrap of the pids, or many forks since the last: the whole subtree,
    // once (every process of the machine, or wardend's children and below), and the index
    // made from it.
    std::vector<os::ProcStat> whole =
        system_.ScanWhole(system_.SelfPid(), by_pid_.size() + index_.size(), read);
    index_.Reset(cursor, whole, fresh, anchor);
    return whole;
  }
  std::vector<os::ProcStat> out;
  const std::vector<int> mains(descend.begin(), descend.end());
  for (int pid : mains) {
    if (auto ps = ReadStat(pid)) out.push_back(*ps);
  }
  for (int pid : index_.Below(mains)) {
    std::optional<os::ProcStat> ps = fresh(pid);
    if (index_.Refresh(pid, ps, anchor)) out.push_back(*ps);
  }
  return out;
}

void Supervisor::Track(int pid, Process* process) {
  // A kept fd costs one of wardend's fds per program: keep it only while at most half of the
  // fd limit is in use (fds are handed out lowest first, so the number says how many are), and
  // leave the rest to log pipes and clients.
  static const rlim_t spare = [] {
    rlimit limit{};
    return getrlimit(RLIMIT_NOFILE, &limit) == 0 ? limit.rlim_cur / 2 : 512;
  }();
  UniqueFd stat = system_.OpenProcStat(pid);
  if (stat && static_cast<rlim_t>(stat.get()) >= spare) stat.reset();
  by_pid_[pid] = Tracked{process, std::move(stat)};
  FactsChanged();
}

bool Supervisor::FactsFresh(core::TimePoint now) const {
  const double max_age = config_.warden.status_max_age;
  return facts_valid_ && max_age > 0 && facts_main_.size() == processes_.size() &&
         now - facts_taken_ <= std::chrono::duration<double>(max_age);
}

void Supervisor::KeepFacts(core::TimePoint now) const {
  facts_main_.assign(processes_.size(), KernelFacts{});
  facts_members_begin_.assign(processes_.size() + 1, 0);
  facts_members_.clear();
  const bool memory_controller = MemoryMaxEnforceable();
  for (size_t i = 0; i < processes_.size(); ++i) {
    facts_members_begin_[i] = static_cast<uint32_t>(facts_members_.size());
    if (i < tree_.main.size() && tree_.main[i]) {
      const os::ProcStat& ps = *tree_.main[i];
      facts_main_[i] = FactsOf(*processes_[i], ps, memory_controller);
    }
    if (i < tree_.members.size()) {
      for (const os::ProcStat& ps : tree_.members[i]) {
        facts_members_.push_back({ps.pid, ps.state});
      }
    }
  }
  facts_members_begin_[processes_.size()] = static_cast<uint32_t>(facts_members_.size());
  facts_taken_ = now;
  facts_valid_ = true;
}

Supervisor::KernelFacts Supervisor::FactsOf(const Process& process, const os::ProcStat& main,
                                            bool memory_controller) const {
  static const uint64_t ticks = static_cast<uint64_t>(os::ClockTicksPerSecond());
  static const uint64_t page = static_cast<uint64_t>(os::PageSize());
  KernelFacts facts{main.state, main.cpu_ticks * 1000 / ticks, main.rss_pages * page};
  if (process.in_cgroup_ && !process.cgroup_.empty()) {
    if (auto usec = os::ReadCgroupCpuUsec(process.cgroup_)) {
      facts.cpu_ms = (*usec - std::min(*usec, process.cgroup_cpu_base_usec_)) / 1000;
    }
    if (!memory_controller) return facts;
    if (auto bytes = os::ReadCgroupMemoryCurrent(process.cgroup_)) facts.memory_bytes = *bytes;
  }
  return facts;
}

std::optional<os::ProcStat> Supervisor::ReadStat(int pid) const {
  auto it = by_pid_.find(pid);
  if (it == by_pid_.end() || !it->second.stat) return system_.ReadProcStat(pid);
  return system_.ReadOpenProcStat(pid, it->second.stat.get());
}

void Supervisor::ScanFor(const Process* process) const {
  if (tree_valid_ && process->tree_complete_) return;
  const std::vector<Process*> just{const_cast<Process*>(process)};
  ScanTree(&just);
}

const std::vector<os::ProcStat>& Supervisor::MembersOf(const Process* process) const {
  static const std::vector<os::ProcStat> kNone;
  ScanFor(process);
  if (process->tree_slot_ >= tree_.members.size()) return kNone;
  return tree_.members[process->tree_slot_];
}

std::optional<os::ProcStat> Supervisor::MainOf(const Process* process) const {
  ScanFor(process);
  if (process->tree_slot_ >= tree_.main.size()) return std::nullopt;
  return tree_.main[process->tree_slot_];
}

void Supervisor::CheckCleanups(bool orphan_reaped) {
  // Every process tracked through /proc asked about below gets its members from one scan, not
  // one scan each.
  std::vector<Process*> asked;
  bool all_seen = tree_valid_;
  for (auto& p : processes_) {
    if (!p->cgroup_.empty()) continue;
    if (p->machine().cleaning() ||
        (orphan_reaped && p->machine().pid() == 0 && !p->program().keep_orphans)) {
      asked.push_back(p.get());
      all_seen = all_seen && p->tree_complete_;
    }
  }
  if (asked.size() > 1 && !all_seen) ScanTree(&asked);
  for (auto& p : processes_) CheckCleanupOf(p.get(), orphan_reaped);
}

void Supervisor::CheckCleanupOf(Process* p, bool orphan_reaped) {
  if (!p->machine().cleaning()) {
    MaybeRemoveCgroup(p);
    if (orphan_reaped && p->machine().pid() == 0 && !p->program().keep_orphans &&
        p->HasLeftovers()) {
      spdlog::info("{}: found processes its exited main process left behind", p->full_name());
      p->machine().OnLeftoversFound(EventLoop::Now());
    }
    return;
  }
  if (p->HasLeftovers()) {
    // Leftovers can appear during a cleanup (an intermediate parent dies, its children become
    // wardend's): they get the signal the others got.
    if (p->leftover_signal_ != 0) p->KillLeftovers(p->leftover_signal_);
    return;
  }
  spdlog::info("{}: no processes left behind", p->full_name());
  p->leftover_signal_ = 0;
  p->signalled_.clear();
  p->machine().OnLeftoversGone(EventLoop::Now());
  MaybeRemoveCgroup(p);
}

// --- the cgroup v2 backend ---------------------------------------------------------------------

void Supervisor::UseCgroups(std::unique_ptr<CgroupTree> cgroups) {
  cgroups_ = std::move(cgroups);
  if (!cgroups_) return;
  cgroups_->set_on_change([this](uint64_t id) { OnCgroupChange(id); });
  cgroups_->set_on_memory([this](uint64_t id) { OnMemoryEvent(id); });
}

void Supervisor::OnCgroupChange(uint64_t id) {
  Process* process = Find(id);
  if (process == nullptr) return;
  tree_valid_ = false;
  FactsChanged();
  // Its own cgroup changed, nobody else's: a look at every process per change made a stop of
  // N programs in cgroups cost N^2 (and a start, as each cgroup became populated).
  CheckCleanupOf(process, false);
}

void Supervisor::MaybeRemoveCgroup(Process* process) {
  if (process->cgroup_.empty() || process->machine().pid() != 0 || process->machine().cleaning()) {
    return;
  }
  auto events = os::ReadCgroupEvents(process->cgroup_);
  if (events && events->populated) return;  // leftovers kept (keep_orphans): it stays
  cgroups_->Unwatch(process->cgroup_);
  if (::warden::Status removed = os::RemoveCgroup(process->cgroup_); !removed.ok()) {
    spdlog::warn("{}: {}", process->full_name(), removed.message());
  }
  process->cgroup_.clear();
}

std::vector<os::ProcStat> Supervisor::CgroupMembers(const Process* process) const {
  std::vector<os::ProcStat> out;
  const int main_pid = process->machine().pid();
  std::unordered_set<int> seen{main_pid};
  for (int pid : os::ReadCgroupProcsDeep(process->cgroup_)) {
    if (!seen.insert(pid).second) continue;
    if (auto ps = system_.ReadProcStat(pid)) out.push_back(*ps);
  }
  // A process that exited leaves its cgroup at once, but stays a zombie until its parent
  // reaps it: status shows those too, as the /proc attribution does (the parents' children).
  std::vector<std::pair<int, int>> parents;  // pid, threads
  if (main_pid != 0) {
    if (auto main = ReadStat(main_pid)) parents.emplace_back(main_pid, main->threads);
  }
  for (const os::ProcStat& ps : out) parents.emplace_back(ps.pid, ps.threads);
  for (const auto& [parent, threads] : parents) {
    for (int child : os::ListChildren(parent, threads)) {
      if (seen.count(child) != 0) continue;
      auto ps = system_.ReadProcStat(child);
      if (ps && ps->state == 'Z' && seen.insert(child).second) out.push_back(*ps);
    }
  }
  // Parents before children, as the /proc attribution lists them: a child starts after its
  // parent.
  std::sort(out.begin(), out.end(), [](const os::ProcStat& a, const os::ProcStat& b) {
    return std::tie(a.start_ticks, a.pid) < std::tie(b.start_ticks, b.pid);
  });
  return out;
}

void Supervisor::HandleLeftovers() {
  if (cgroups_) HandleCgroupLeftovers();
  if (record_) HandleRecordedLeftovers();
}

void Supervisor::HandleCgroupLeftovers() {
  const bool kill = config_.warden.on_leftovers == config::OnLeftovers::kKill;
  std::vector<CgroupTree::Populated> found = cgroups_->FindPopulated();
  std::vector<std::string> killed;
  for (const CgroupTree::Populated& f : found) {
    std::string named;
    for (int pid : f.pids) {
      if (!named.empty()) named += ", ";
      named += std::to_string(pid);
      if (std::string command = os::ProcessCommand(pid); !command.empty()) {
        named += " (" + command + ")";
      }
    }
    spdlog::warn("an earlier wardend left processes running in {}: pids {}: {}", f.folder, named,
                 kill ? "killing them (warden.on_leftovers: kill)"
                      : "leaving them, and not starting their program while they run "
                        "(warden.on_leftovers: leave)");
    if (kill) {
      if (::warden::Status sent = os::KillCgroup(f.folder); !sent.ok())
        spdlog::warn("{}", sent.message());
      killed.push_back(f.folder);
    }
  }
  if (!killed.empty() && !CgroupTree::WaitEmpty(killed, 5000)) {
    spdlog::warn(
        "some of the earlier wardend's processes still run 5 s after SIGKILL: their "
        "programs are not started while they run");
  }
  // Whatever still runs (left on purpose, or not dead yet) holds its program back.
  for (const CgroupTree::Populated& f : found) {
    auto events = os::ReadCgroupEvents(f.folder);
    if (!events || !events->populated) {
      (void)os::RemoveCgroup(f.folder);
      continue;
    }
    for (auto& p : processes_) {
      if (cgroups_->FolderOf(p->name()) == f.folder) p->foreign_pids_ = f.pids;
    }
  }
}

// --- the record of tracked processes --------------------------------------------------------

void Supervisor::UseRecord(const std::string& path, bool resume) {
  record_ = std::make_unique<ProcessRecord>(system_, path);
  if (resume) record_->Resume();
}

void Supervisor::RecordRestored() {
  if (!record_) return;
  for (const auto& p : processes_) {
    const int pid = p->machine().pid();
    if (pid > 0 && !p->in_cgroup_) record_->Add(pid, p->main_start_ticks_, p->full_name());
  }
}

void Supervisor::RecordMembers(const Process& process,
                               const std::vector<os::ProcStat>& members) const {
  std::unordered_map<int, uint64_t> now;
  now.reserve(members.size());
  for (const os::ProcStat& m : members) {
    if (m.state == 'Z' || m.state == 'X') continue;
    now[m.pid] = m.start_ticks;
    record_->Add(m.pid, m.start_ticks, process.full_name());
  }
  for (const auto& [pid, start] : process.claim_.known) {
    auto it = now.find(pid);
    if (it == now.end() || it->second != start) record_->Remove(pid, start);
  }
}

namespace {

std::string NamePids(const std::vector<os::ProcStat>& processes) {
  std::string named;
  for (const os::ProcStat& p : processes) {
    if (!named.empty()) named += ", ";
    named += std::to_string(p.pid);
    if (std::string command = os::ProcessCommand(p.pid); !command.empty()) {
      named += " (" + command + ")";
    }
  }
  return named;
}

}  // namespace

void Supervisor::HandleRecordedLeftovers() {
  std::vector<RecordEntry> entries = record_->Read();
  const int self = system_.SelfPid();
  // Every process of the machine, once: the recorded ones were reparented away from wardend
  // when the earlier one died.
  auto find = [&] {
    return FindRecordedLeftovers(entries, system_.ScanWhole(self, SIZE_MAX / 4, {}), self);
  };
  std::vector<RecordedLeftovers> found =
      entries.empty() ? std::vector<RecordedLeftovers>() : find();
  const bool kill = config_.warden.on_leftovers == config::OnLeftovers::kKill;
  for (const RecordedLeftovers& f : found) {
    spdlog::warn("an earlier wardend left processes of {} running (recorded in {}): pids {}: {}",
                 f.name, record_->path(), NamePids(f.processes),
                 kill ? "killing them (warden.on_leftovers: kill)"
                      : "leaving them, and not starting their program while they run "
                        "(warden.on_leftovers: leave)");
  }
  // kill: SIGKILL to each (through a pidfd, only if its pid still names it), then a wait for
  // them, at most 5 s in all. What one forked in between is found again by its session or its
  // parent among the ones found, and gets the same.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (int round = 0; kill && !found.empty() && round < 4; ++round) {
    std::vector<os::ProcStat> targets;
    for (const RecordedLeftovers& f : found) {
      for (const os::ProcStat& p : f.processes) {
        if (round > 0) spdlog::warn("{}: killing pid {} too", f.name, p.pid);
        (void)system_.SignalProcess(p, SIGKILL);
        targets.push_back(p);
        entries.push_back({p.pid, p.start_ticks, f.name});
      }
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          deadline - std::chrono::steady_clock::now())
                          .count();
    const bool some_left =
        !system_.WaitGone(targets, static_cast<int>(std::max<long>(left, 0))).empty();
    found = find();
    if (some_left) break;
  }
  if (kill && !found.empty()) {
    spdlog::warn(
        "some of the earlier wardend's processes still run 5 s after SIGKILL: their "
        "programs are not started while they run");
  }
  // Whatever still runs (left on purpose, or not dead yet) holds its program back, and stays
  // in the record.
  std::vector<RecordEntry> still;
  for (const RecordedLeftovers& f : found) {
    for (const os::ProcStat& p : f.processes) still.push_back({p.pid, p.start_ticks, f.name});
    if (auto it = by_full_name_.find(f.name); it != by_full_name_.end()) {
      it->second->foreign_processes_ = f.processes;
    }
  }
  record_->Reset(still);
}

std::optional<core::SpawnError> Process::HeldByForeign() {
  if (foreign_processes_.empty()) return std::nullopt;
  std::vector<os::ProcStat> still;
  std::string pids;
  for (const os::ProcStat& p : foreign_processes_) {
    auto now = supervisor_.system_.ReadProcStat(p.pid);
    if (now && now->start_ticks == p.start_ticks && now->state != 'Z' && now->state != 'X') {
      still.push_back(p);
      pids += (pids.empty() ? "" : " ") + std::to_string(p.pid);
    } else if (supervisor_.record_) {
      supervisor_.record_->Remove(p.pid, p.start_ticks);
    }
  }
  foreign_processes_ = std::move(still);
  if (foreign_processes_.empty()) return std::nullopt;
  spdlog::warn(
      "{}: not started: an earlier wardend's processes still run (pids {}; "
      "warden.on_leftovers is leave)",
      full_name_, pids);
  return core::SpawnError{
      "an earlier wardend's processes still run (pids " + pids + "; warden.on_leftovers: leave)",
      0};
}

void Supervisor::AdoptCgroups() {
  if (!cgroups_) return;
  for (auto& p : processes_) {
    const std::string folder = cgroups_->FolderOf(p->name());
    if (!os::ReadCgroupEvents(folder)) continue;  // none: it never started in one
    p->cgroup_ = folder;
    p->in_cgroup_ = true;
    cgroups_->Watch(folder, p->id());
    if (p->machine().pid() != 0) p->ApplyMemoryHigh();
  }
}

std::optional<uint64_t> Supervisor::CgroupMemoryBytes(const Process& process) const {
  if (process.cgroup_.empty()) return std::nullopt;
  return os::ReadCgroupMemoryCurrent(process.cgroup_);
}

bool Supervisor::CanSetMemoryMax(const Process& process) const {
  (void)process;  // every process's folder is made the same way, below BASE/programs
  return MemoryMaxEnforceable();
}

bool Supervisor::MemoryMaxEnforceable() const {
  return cgroups_ && os::CgroupEnables(cgroups_->base() + "/programs", "memory");
}

StateChange Process::EventFor(core::State from, core::State to) const {
  StateChange e;
  e.time_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
  e.process = full_name_;
  e.from = from;
  e.to = to;
  // The process in the new state, else the one that just ended (leaving a state that had one).
  const bool had_process = from == core::State::kStarting || from == core::State::kRunning ||
                           from == core::State::kStopping;
  e.pid = machine_.pid() != 0 ? machine_.pid() : had_process ? last_pid_ : 0;
  e.reason = machine_.reason();
  // A memory restart's STOPPING, STOPPED, STARTING and RUNNING say why.
  if (e.reason.empty() || to == core::State::kStopped) {
    if (std::string memory = MemoryReason(); !memory.empty()) e.reason = std::move(memory);
  }
  return e;
}

double Process::Random() {
  return std::uniform_real_distribution<double>(0.0, 1.0)(supervisor_.random_);
}

}  // namespace warden
