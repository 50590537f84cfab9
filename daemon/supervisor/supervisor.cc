#include "daemon/supervisor/supervisor.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <map>

#include "base/unique_fd.h"
#include "daemon/os/cgroup.h"
#include "daemon/os/os.h"
#include "daemon/os/spawn_setup.h"
#include "daemon/supervisor/outcomes.h"

namespace warden {

using outcomes::IsStoppedState;
using outcomes::Ok;

namespace {

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

core::Duration Seconds(double s) {
  return std::chrono::duration_cast<core::Duration>(std::chrono::duration<double>(s));
}

core::Policy PolicyFor(const config::Program& p) {
  core::Policy policy;
  switch (p.autorestart) {
    case config::AutoRestart::kFalse:
      policy.autorestart = core::AutoRestart::kFalse;
      break;
    case config::AutoRestart::kTrue:
      policy.autorestart = core::AutoRestart::kTrue;
      break;
    case config::AutoRestart::kUnexpected:
      policy.autorestart = core::AutoRestart::kUnexpected;
      break;
  }
  policy.exitcodes = p.exitcodes;
  policy.startsecs = Seconds(p.startsecs);
  policy.startretries = p.startretries;
  policy.readiness = p.ready == config::ReadyMode::kStartsecs ? core::Readiness::kStartsecs
                                                              : core::Readiness::kReported;
  policy.ready_timeout = Seconds(p.ready_timeout);
  policy.stopsignal = p.stopsignal;
  policy.stopwaitsecs = Seconds(p.stopwaitsecs);
  policy.stopasgroup = p.stopasgroup;
  policy.killasgroup = p.killasgroup || p.stopasgroup;
  policy.crash_backoff = {Seconds(p.backoff.initial), Seconds(p.backoff.max),
                          Seconds(p.backoff.reset_after), p.backoff.jitter};
  policy.keep_orphans = p.keep_orphans;
  policy.fatal_retry = Seconds(p.fatal_retry);
  return policy;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Process

Process::Process(Supervisor& supervisor, std::shared_ptr<const config::Program> program,
                 config::ProcessName name)
    : supervisor_(supervisor),
      program_(std::move(program)),
      name_(std::move(name)),
      full_name_(name_.FullName()),
      id_(++supervisor.next_id_),
      logs_(supervisor.logs(), full_name_),
      machine_(PolicyFor(*program_), this),
      serial_(++supervisor.next_serial_) {}

Process::~Process() {
  *alive_ = false;
  if (start_pending_) supervisor_.SetPending(this, false);
  for (auto& waiter : start_waiters_) {
    waiter({full_name_, ErrorCode::kNotFound, "removed from the configuration"});
  }
  supervisor_.loop().CancelTimer(timer_);
  supervisor_.loop().CancelTimer(watchdog_timer_);
  if (machine_.pid() > 0) supervisor_.Untrack(machine_.pid());
  if (supervisor_.record_) {  // removed by an update (at exit the record is finished first)
    for (const auto& [pid, start] : claim_.known) supervisor_.record_->Remove(pid, start);
    for (const os::ProcStat& p : foreign_processes_)
      supervisor_.record_->Remove(p.pid, p.start_ticks);
  }
  if (!cgroup_.empty() && supervisor_.cgroups_) {
    supervisor_.cgroups_->Unwatch(cgroup_);
    (void)os::RemoveCgroup(cgroup_);  // EBUSY when something still runs there: kept
  }
}

void Process::Replace(std::shared_ptr<const config::Program> program) {
  pending_program_.reset();  // the newest definition wins
  const config::HealthCheck previous_health = program_->healthcheck;
  const bool memory_changed = program_->memory_limit != program->memory_limit ||
                              program_->memory_max != program->memory_max;
  program_ = std::move(program);
  // A new memory_limit applies at once: to memory.high too, where it is watched that way.
  if (memory_changed && machine_.pid() != 0) ApplyMemoryHigh();
  supervisor_.GraphChanged();
  const bool health_changed = program_->healthcheck != previous_health;
  machine_.SetPolicy(PolicyFor(*program_));
  logs_.Reconfigure(*program_, supervisor_.config().warden.log_dir);
  // A changed healthcheck applies from the next check on.
  if (health_changed && machine_.state() == core::State::kRunning) StartHealthChecks();
}

void Process::ApplyPendingProgram() {
  if (!pending_program_) return;
  spdlog::info("{}: now stopped: its new definition takes effect", full_name_);
  Replace(std::move(pending_program_));
}

core::SpawnOutcome Process::Spawn() {
  const config::Program& p = *program_;
  os::SpawnSpec spec;
  // Identity, environment, argv, directory, umask, limits (daemon/os/spawn_setup.h).
  if (auto error = PrepareProgramSpawn(p, name_, &spec)) {
    spdlog::warn("{}: cannot start: {}", full_name_, error->ToString());
    return {0, *error};
  }
  // Readiness other than startsecs: the notify socket or readiness pipe
  // (daemon/supervisor/readiness.h).
  // Its cgroup (cgroups.h), made if missing: the child starts in it.
  // An earlier wardend's processes found through the record, left alone: none may run.
  if (auto held = HeldByForeign()) return {0, *held};
  UniqueFd cgroup_dir;
  std::string cgroup;
  bool new_folder = false;  // made for this start: nothing was set or counted in it yet
  if (supervisor_.cgroups_) {
    cgroup = supervisor_.cgroups_->FolderOf(name_);
    if (!foreign_pids_.empty()) {
      auto events = os::ReadCgroupEvents(cgroup);
      if (events && events->populated) {
        std::string pids;
        for (int pid : os::ReadCgroupProcsDeep(cgroup)) {
          pids += (pids.empty() ? "" : " ") + std::to_string(pid);
        }
        spdlog::warn(
            "{}: not started: an earlier wardend's processes still run in {} (pids {}; "
            "warden.on_leftovers is leave)",
            full_name_, cgroup, pids);
        return {0, core::SpawnError{"an earlier wardend's processes still run (pids " + pids +
                                        "; warden.on_leftovers: leave)",
                                    0}};
      }
      foreign_pids_.clear();
    }
    auto dir = supervisor_.cgroups_->Prepare(cgroup, &new_folder);
    if (dir.ok()) {
      cgroup_dir = std::move(dir).value();
      spec.cgroup_fd = cgroup_dir.get();
      // memory_max, where the memory controller reaches the folder (else --check and the log
      // at start said why it cannot be enforced); set at each start, so a changed value and a
      // removed one apply. A new folder's is "max" already.
      if ((!new_folder || program_->memory_max != 0) && supervisor_.CanSetMemoryMax(*this)) {
        if (Status set = os::SetCgroupMemoryMax(cgroup, program_->memory_max); !set.ok()) {
          spdlog::warn("{}: memory_max: {}", full_name_, set.message());
        }
      }
    } else {
      spdlog::warn("{}: {}: its processes are tracked through /proc", full_name_,
                   dir.status().message());
      cgroup.clear();
    }
  }
  if (auto error = PrepareReadiness(&spec)) return {0, *error};
  last_pid_ = 0;

  // Output goes through pipes into the log files (daemon/logs/log_capture.h). Our copies of the
  // write ends close when `pipes` goes out of scope, once the child has its own.
  ProcessLogs::SpawnPipes pipes;
  if (auto error = logs_.Prepare(p, supervisor_.config().warden.log_dir, &pipes)) {
    return {0, *error};
  }
  spec.stdout_fd = pipes.stdout_fd;
  spec.stderr_fd = pipes.stderr_fd;

  core::SpawnOutcome outcome = supervisor_.system_.Spawn(spec);
  if (outcome.pid > 0) {
    claim_.sessions.insert(outcome.pid);  // setsid: its session id
    last_pid_ = outcome.pid;
    ++spawn_count_;
    NoteSpawnForMemory();
    sent_kill_ = false;
  }
  if (readiness_ && outcome.pid > 0) readiness_->Started();
  if (outcome.pid <= 0) readiness_.reset();
  if (outcome.pid > 0) {
    start_wall_ms_ = WallMs();
    supervisor_.Track(outcome.pid, this);
    // For the /proc attribution of what it leaves unnamed once it is gone (orphans.h, rule d).
    auto stat = supervisor_.ReadStat(outcome.pid);
    main_start_ticks_ = stat ? stat->start_ticks : supervisor_.system_.TicksSinceBoot();
    if (!cgroup.empty() && cgroup != cgroup_) {
      if (!cgroup_.empty()) supervisor_.cgroups_->Unwatch(cgroup_);
      supervisor_.cgroups_->Watch(cgroup, id_);
    }
    in_cgroup_ = !cgroup.empty();
    if (in_cgroup_) cgroup_ = std::move(cgroup);
    // Status counts the cgroup's cpu from now: a folder kept from an earlier instance (its
    // leftovers kept) has counted that one's too; a new one counts this one's only.
    if (in_cgroup_) {
      cgroup_cpu_base_usec_ = new_folder ? 0 : os::ReadCgroupCpuUsec(cgroup_).value_or(0);
    }
    // memory_limit by memory.events, where it can be. A new folder's memory.high is "max"
    // already, which is what no memory_limit asks for.
    if (in_cgroup_ && new_folder &&
        MemoryHighFor(program_->memory_limit, program_->memory_max) == 0) {
      memory_by_events_ = false;
    } else if (in_cgroup_) {
      ApplyMemoryHigh();
    }
    // Tracked through /proc: written down before anything else happens, so that a wardend
    // started after this one is killed finds it (process_record.h).
    if (!in_cgroup_ && supervisor_.record_) {
      supervisor_.record_->Add(outcome.pid, main_start_ticks_, full_name_);
    }
    spdlog::info("{}: spawned with pid {}", full_name_, outcome.pid);
  } else if (outcome.error) {
    spdlog::warn("{}: spawn failed: {}", full_name_, outcome.error->ToString());
  }
  return outcome;
}

void Process::Kill(int pid, int signal, bool whole_group) {
  if (signal == SIGKILL) sent_kill_ = true;
  spdlog::debug("{}: sending SIG{} to {}{}", full_name_, os::SignalName(signal),
                whole_group ? "group " : "pid ", pid);
  supervisor_.FactsChanged();
  if (signal != SIGCONT && pid > 0 && !exit_expected_) {
    exit_expected_ = true;
    supervisor_.exits_expected_.push_back({pid, id_});
  }
  if (!supervisor_.system_.SendSignal(pid, signal, whole_group) && errno != ESRCH) {
    spdlog::warn("{}: kill({}, SIG{}): {}", full_name_, whole_group ? -pid : pid,
                 os::SignalName(signal), strerror(errno));
  }
}

void Process::Continue(int pid, bool whole_group) {
  if (!supervisor_.system_.SendSignal(pid, SIGCONT, whole_group) && errno != ESRCH) {
    spdlog::warn("{}: kill({}, SIGCONT): {}", full_name_, whole_group ? -pid : pid,
                 strerror(errno));
  }
}

void Process::SetTimer(std::optional<core::TimePoint> deadline) {
  EventLoop& loop = supervisor_.loop();
  loop.CancelTimer(timer_);
  timer_ = 0;
  if (!deadline) return;
  timer_ = loop.AddTimer(*deadline, [this] {
    timer_ = 0;
    machine_.OnTimer(EventLoop::Now());
  });
}

std::string Process::reason() const {
  if (!hold_reason_.empty() && IsStoppedState(machine_.state())) return hold_reason_;
  // A memory restart says why while it is under way and while the instance it started lives.
  const std::string& why = machine_.reason();
  if (why.empty() || machine_.state() == core::State::kStopped) {
    if (std::string memory = MemoryReason(); !memory.empty()) return memory;
  }
  return why;
}

void Process::OnStateChange(core::State from, core::State to) {
  if (to == core::State::kRunning) running_mark_ = ++supervisor_.marks_;
  supervisor_.CountTransition(from, to);
  supervisor_.FactsChanged();
  if (to != core::State::kStarting && to != core::State::kRunning && to != core::State::kStopping) {
    readiness_.reset();  // the process it watched is gone
    status_text_.clear();
  }
  if (to == core::State::kRunning) {
    StartHealthChecks();
    ArmWatchdog();
  } else {
    health_.reset();  // checks and the watchdog run only while RUNNING
    StopWatchdog();
  }
  if (IsStoppedState(to) || to == core::State::kBackoff) stop_wall_ms_ = WallMs();
  if (to == core::State::kFatal || to == core::State::kBackoff) {
    spdlog::warn("{}: {} -> {} ({})", full_name_, core::StateName(from), core::StateName(to),
                 machine_.reason());
  } else {
    spdlog::info("{}: {} -> {}", full_name_, core::StateName(from), core::StateName(to));
  }
  // The event, as of now; published from the loop with the observers. A STARTING published
  // before its spawn gets the pid once the spawn is done.
  StateChange event = EventFor(from, to);
  const uint64_t spawns = spawn_count_;
  std::weak_ptr<bool> alive = alive_;
  supervisor_.loop().Post([this, alive, to, event, spawns]() mutable {
    if (alive.expired()) return;
    if (to == core::State::kStarting && event.pid == 0 && spawn_count_ == spawns + 1) {
      event.pid = last_pid_;
    }
    supervisor_.events().Publish(event);
    // A definition that waited for the stop is in place before any observer starts it again.
    if (IsStoppedState(to)) ApplyPendingProgram();
    // Observers may add observers: run the ones present now, keep those not finished.
    std::vector<Observer> current;
    current.swap(observers_);
    std::vector<Observer> keep;
    for (auto& observer : current) {
      if (!observer(to)) keep.push_back(std::move(observer));
      if (alive.expired()) return;
    }
    keep.insert(keep.end(), std::make_move_iterator(observers_.begin()),
                std::make_move_iterator(observers_.end()));
    observers_ = std::move(keep);
    supervisor_.OnProcessChanged(this, to);
    if (to == core::State::kFatal && machine_.state() == core::State::kFatal) {
      supervisor_.OnFatal(*this);
    }
    supervisor_.NotifyChange();
  });
}

// ---------------------------------------------------------------------------------------------
// Supervisor

Supervisor::Supervisor(EventLoop& loop, config::Config config, os::System& system)
    : loop_(loop), system_(system), config_(std::move(config)), index_(system.SelfPid()) {
  for (const auto& program : config_.programs) {
    auto shared = std::make_shared<const config::Program>(program);
    for (auto& name : config::ExpandProcessNames(config_, program)) AddProcess(shared, name);
  }
}

Supervisor::~Supervisor() {
  loop_.CancelTimer(pump_timer_);
  loop_.CancelTimer(reap_timer_);
  loop_.CancelTimer(walk_timer_);
  loop_.CancelTimer(later_timer_);
  later_.clear();
  // What still runs stays in the record (left alone, or not dead yet); else it is removed.
  if (record_) record_->Finish();
  record_.reset();
  // Out of processes_ first, so that what a destructor calls back finds no half-destroyed one.
  auto processes = std::move(processes_);
  processes_.clear();
  by_full_name_.clear();
  by_id_.clear();
  while (!processes.empty()) processes.pop_back();
  if (cgroups_) cgroups_->RemoveEmpty();
}

Process* Supervisor::AddProcess(std::shared_ptr<const config::Program> program,
                                config::ProcessName name) {
  auto process = std::make_unique<Process>(*this, std::move(program), std::move(name));
  Process* raw = process.get();
  by_full_name_[raw->full_name()] = raw;
  by_id_[raw->id()] = raw;
  state_counts_[core::State::kStopped]++;
  raw->order_ = processes_.size();
  processes_.push_back(std::move(process));
  GraphChanged();
  tree_valid_ = false;  // the scan has no slot for it
  FactsChanged();
  return raw;
}

void Supervisor::Renumber() {
  start_order_valid_ = false;
  for (size_t i = 0; i < processes_.size(); ++i) processes_[i]->order_ = i;
}

void Supervisor::SetPending(Process* process, bool pending) {
  process->start_pending_ = pending;
  if (pending) {
    if (pending_.insert(process).second) start_order_valid_ = false;
  } else {
    pending_.erase(process);
  }
}

void Supervisor::SortProcesses() {
  std::stable_sort(processes_.begin(), processes_.end(), [](const auto& a, const auto& b) {
    if (a->program().priority != b->program().priority) {
      return a->program().priority < b->program().priority;
    }
    if (a->program().name != b->program().name) return a->program().name < b->program().name;
    // PROGRAM_NN of one program: by number (web_9 before web_10), as they were loaded.
    const std::string& x = a->name().name;
    const std::string& y = b->name().name;
    return x.size() != y.size() ? x.size() < y.size() : x < y;
  });
  Renumber();
  tree_valid_ = false;  // slots are processes_ indexes
  FactsChanged();
}

void Supervisor::RemoveProcess(Process* process, std::function<void()> done) {
  // From now on no name resolves to it and nothing starts it; a program of the same name added
  // meanwhile is a new process that waits for this one to stop (PumpStarts).
  process->removing_ = true;
  GraphChanged();
  by_full_name_.erase(process->full_name());
  jobs_.Forget(process->id());
  CancelStart(process, {process->full_name(), ErrorCode::kNotFound, "removed by update"});
  tree_valid_ = false;
  FactsChanged();
  // The stops begin in a later turn (an update removes its processes in one go: each stop
  // asked for here would make that turn as long as all of them).
  process->removal_queued_ = true;
  QueueStop([this, id = process->id(), done = std::move(done)]() mutable {
    Process* queued = Find(id);
    if (queued == nullptr) {
      done();
      return false;
    }
    queued->removal_queued_ = false;
    const bool asked = queued->machine().Stop(EventLoop::Now()).ok();
    if (!asked && IsStoppedState(queued->machine().state())) {
      Destroy(id, std::move(done));  // it was not running
      return false;
    }
    // Stopping now (or already, by a shutdown or a client's stop): destroyed once down.
    queued->Observe([this, id, done = std::move(done)](core::State state) {
      if (!IsStoppedState(state)) return false;
      Destroy(id, done);
      return true;
    });
    return asked;
  });
}

void Supervisor::QueueStop(std::function<bool()> stop) {
  queued_stops_.push_back(std::move(stop));
  BookStops();
}

void Supervisor::BookStops() {
  if (stops_booked_) return;  // the booked slice goes on, after everyone else was served
  stops_booked_ = true;
  Later([this] {
    stops_booked_ = false;
    StopQueued();
  });
}

void Supervisor::StopQueued() {
  const EventLoop::TimePoint began = EventLoop::Now();
  int stopped = 0;
  while (!queued_stops_.empty()) {
    if (stopped >= launches_per_turn_ ||
        (stopped > 0 && EventLoop::Now() - began >= kLaunchTimePerTurn)) {
      BookStops();
      return;
    }
    std::function<bool()> stop = std::move(queued_stops_.front());
    queued_stops_.pop_front();
    if (stop()) ++stopped;
  }
}

void Supervisor::Destroy(uint64_t id, std::function<void()> done) {
  doomed_.emplace_back(id, std::move(done));
  if (destroy_posted_) return;
  destroy_posted_ = true;
  loop_.Post([this] { DestroyDoomed(); });
}

void Supervisor::DestroyDoomed() {
  destroy_posted_ = false;
  auto doomed = std::move(doomed_);
  doomed_.clear();
  std::unordered_set<const Process*> gone;
  for (auto& [id, done] : doomed) {
    Process* process = Find(id);
    if (process == nullptr) continue;
    process->FinishObservers(core::State::kStopped);
    state_counts_[process->machine().state()]--;
    by_id_.erase(id);
    gone.insert(process);
  }
  if (!gone.empty()) {
    std::erase_if(processes_, [&gone](const auto& p) { return gone.count(p.get()) > 0; });
    Renumber();
    GraphChanged();
    tree_valid_ = false;
    FactsChanged();
    PumpStarts();  // a successor of the same name may start now
  }
  for (auto& [id, done] : doomed) done();
}

bool Supervisor::AnyMemoryLimit() const {
  if (limits_dirty_) {
    limits_dirty_ = false;
    any_memory_limit_ = std::any_of(processes_.begin(), processes_.end(), [](const auto& p) {
      return p->program().memory_limit > 0 && !p->removing();
    });
  }
  return any_memory_limit_;
}

size_t Supervisor::removing_count() const {
  return static_cast<size_t>(std::count_if(processes_.begin(), processes_.end(),
                                           [](const auto& p) { return p->removing(); }));
}

void Supervisor::Later(std::function<void()> fn) {
  later_.push_back(std::move(fn));
  if (later_timer_ != 0) return;
  later_timer_ = loop_.AddTimer(EventLoop::Now(), [this] {
    later_timer_ = 0;
    auto slices = std::move(later_);
    later_.clear();
    for (auto& slice : slices) slice();
  });
}

void Supervisor::ReapChildren() {
  loop_.CancelTimer(reap_timer_);
  reap_timer_ = 0;
  tree_valid_ = false;  // what was scanned before may have just been reaped
  FactsChanged();       // or stopped, or continued
  bool orphan_reaped = false;
  const EventLoop::TimePoint began = EventLoop::Now();
  const size_t slice = static_cast<size_t>(std::max(reaps_per_turn_, 1));
  size_t reaped_count = 0;
  const size_t expected_budget = exits_expected_.size();
  size_t tried = 0;
  bool walk_skipped = false;
  bool more = true;  // the last waitpid round was cut short: zombies may be left
  while (more && reaped_count < slice &&
         (reaped_count == 0 || EventLoop::Now() - began < kLaunchTimePerTurn)) {
    // A few at a time, so that the time limit is checked between exits that spawn again; more
    // when processes are tracked through /proc, whose batch costs one scan (ScanBeforeExits)
    // that lists every child of wardend: 20 ms at 10,000, so that a stop of all of them in
    // batches of 8 cost 1250 scans (over 60 s). The scan, not the exits, is then what a batch
    // costs.
    const size_t batch = cgroups_ ? 8 : 8 + by_pid_.size() / 128;
    const size_t ask = std::min<size_t>(batch, slice - reaped_count);
    // Each expected exit is tried once a call at most: those still running wait at the back.
    const std::vector<int> likely =
        TakeExpectedExits(std::min(ask, expected_budget - std::min(expected_budget, tried)));
    tried += likely.size();
    std::vector<os::Reaped> reaped_now = system_.ReapAll(ask, likely, /*any=*/false);
    ReturnExpectedExits(likely, reaped_now);
    if (reaped_now.size() < ask) {
      // The walk over every child (waitpid(-1)) for the other zombies: always when this call
      // found no expected exit (the SIGCHLD is someone else's), else at most once per
      // kReapWalkGap, so that a stop of N, whose exits wake the loop one or two at a time,
      // costs O(N) and not one walk of N children per wakeup.
      const EventLoop::TimePoint now = EventLoop::Now();
      if ((reaped_count == 0 && reaped_now.empty()) || now - last_walk_ >= kReapWalkGap) {
        last_walk_ = now;
        loop_.CancelTimer(walk_timer_);
        walk_timer_ = 0;
        walk_skipped = false;
        for (const os::Reaped& r : system_.ReapAll(ask - reaped_now.size(), {}, /*any=*/true))
          reaped_now.push_back(r);
      } else {
        walk_skipped = true;
      }
    }
    more = reaped_now.size() == ask;
    reaped_count += reaped_now.size();
    ScanBeforeExits(reaped_now);
    for (const os::Reaped& reaped : reaped_now) ReapOne(reaped, &orphan_reaped);
    exiting_.clear();
  }
  CheckCleanups(orphan_reaped);
  if (more) {
    reap_timer_ = loop_.AddTimer(EventLoop::Now(), [this] {
      reap_timer_ = 0;
      ReapChildren();
    });
  }
  if (walk_skipped && walk_timer_ == 0) {  // the walk left out is done within kReapWalkGap
    walk_timer_ = loop_.AddTimer(last_walk_ + kReapWalkGap, [this] {
      walk_timer_ = 0;
      ReapChildren();
    });
  }
}

std::vector<int> Supervisor::TakeExpectedExits(size_t count) {
  std::vector<int> out;
  while (out.size() < count && !exits_expected_.empty()) {
    const ExpectedExit e = exits_expected_.front();
    exits_expected_.pop_front();
    if (Process* p = Find(e.id)) p->exit_expected_ = false;
    auto it = by_pid_.find(e.pid);
    if (it == by_pid_.end() || it->second.process->id() != e.id) continue;  // reaped already
    if (std::find(out.begin(), out.end(), e.pid) != out.end()) continue;    // TERM, then KILL
    out.push_back(e.pid);
  }
  return out;
}

void Supervisor::ReturnExpectedExits(const std::vector<int>& tried,
                                     const std::vector<os::Reaped>& reaped) {
  for (int pid : tried) {
    if (std::any_of(reaped.begin(), reaped.end(),
                    [&](const os::Reaped& r) { return r.pid == pid; }))
      continue;
    auto it = by_pid_.find(pid);
    if (it == by_pid_.end()) continue;
    Process* process = it->second.process;
    // Still being stopped: it is tried again in a later call.
    if (process->machine().state() == core::State::kStopping && !process->exit_expected_) {
      process->exit_expected_ = true;
      exits_expected_.push_back({pid, process->id()});
    }
  }
}

void Supervisor::ScanBeforeExits(const std::vector<os::Reaped>& reaped) {
  std::vector<Process*> exiting;
  for (const os::Reaped& r : reaped) {
    auto it = by_pid_.find(r.pid);
    if (it == by_pid_.end() || it->second.process->in_cgroup_) continue;
    exiting.push_back(it->second.process);
  }
  // One exit scans for itself in ReapOne, as it always did.
  if (exiting.size() < 2) return;
  for (Process* process : exiting) {
    exiting_.insert(process->machine().pid());
    NoteMainEnded(process);
  }
  ScanTree(&exiting);
}

void Supervisor::NoteMainEnded(Process* process) {
  // Rule d of orphans.h: what starts after this (the +1: within the same tick) was not started
  // by this main process.
  process->claim_.ended_main_start = process->main_start_ticks_;
  process->claim_.ended_main_exit = system_.TicksSinceBoot() + 1;
}

void Supervisor::ReapOne(const os::Reaped& reaped, bool* orphan_reaped) {
  if (auto watched = watched_.find(reaped.pid); watched != watched_.end()) {
    auto on_exit = std::move(watched->second);
    watched_.erase(watched);
    on_exit(reaped.status);
    return;
  }
  auto it = by_pid_.find(reaped.pid);
  if (it == by_pid_.end()) {
    spdlog::debug("reaped pid {} (not a program's main process)", reaped.pid);
    *orphan_reaped = true;
    return;
  }
  Process* process = it->second.process;
  by_pid_.erase(it);
  index_.ParentGone(reaped.pid);
  if (record_) record_->Remove(reaped.pid, process->main_start_ticks_);
  // ScanBeforeExits noted it already for the batch it scanned for.
  if (exiting_.count(reaped.pid) == 0) NoteMainEnded(process);
  core::ExitStatus status = reaped.status;
  NoteOomKill(process, reaped.pid, &status);
  if (reaped.status.signaled) {
    spdlog::info("{}: pid {} terminated by SIG{}", process->full_name(), reaped.pid,
                 os::SignalName(reaped.status.value));
  } else {
    spdlog::info("{}: pid {} exited with status {}", process->full_name(), reaped.pid,
                 reaped.status.value);
  }
  process->machine().OnExit(status, EventLoop::Now());
  // What it started and left running (a daemon's double fork) goes into the record now,
  // while wardend still knows it is the program's (process_record.h).
  if (record_ && !process->in_cgroup_) ScanFor(process);
}

Supervisor::Resolved Supervisor::Resolve(const std::vector<std::string>& names) const {
  Resolved out;
  // One process named by its full name (status NAME, stop NAME): a lookup, not a pass over
  // every process. A full name wins over a program or group of the same name, as below.
  if (names.size() == 1 && names[0] != "all") {
    if (auto it = by_full_name_.find(names[0]); it != by_full_name_.end()) {
      out.processes.push_back(it->second);
      out.explicitly.push_back(true);
      return out;
    }
  }
  enum Pick : uint8_t { kNo, kWildcard, kExplicit };
  std::vector<Pick> picked(processes_.size(), kNo);
  auto choose_if = [&](bool wildcard, auto predicate) {
    bool any = false;
    for (size_t i = 0; i < processes_.size(); ++i) {
      if (processes_[i]->removing()) continue;
      if (predicate(*processes_[i])) {
        picked[i] = std::max(picked[i], wildcard ? kWildcard : kExplicit);
        any = true;
      }
    }
    return any;
  };
  if (names.empty()) choose_if(true, [](const Process&) { return true; });
  for (const std::string& name : names) {
    bool any = false;
    if (name == "all") {
      any = choose_if(true, [](const Process&) { return true; });
    } else if (size_t colon = name.find(':'); colon != std::string::npos) {
      std::string group = name.substr(0, colon);
      std::string proc = name.substr(colon + 1);
      any = choose_if(proc == "*", [&](const Process& p) {
        return p.name().group == group && (proc == "*" || p.name().name == proc);
      });
    } else {
      any = choose_if(false, [&](const Process& p) { return p.full_name() == name; }) ||
            choose_if(true, [&](const Process& p) {
              return p.name().group == name || p.program().name == name;
            });
    }
    if (!any) out.unknown.push_back(name);
  }
  for (size_t i = 0; i < processes_.size(); ++i) {
    if (picked[i] == kNo) continue;  // removing ones were never picked
    out.processes.push_back(processes_[i].get());
    out.explicitly.push_back(picked[i] == kExplicit);
  }
  return out;
}

StatusReport Supervisor::Status(const std::vector<std::string>& names) const {
  Resolved resolved = Resolve(names);
  StatusReport reply;
  reply.unknown_names = resolved.unknown;

  // One scan of wardend's subtree: main processes and what each program started or lost;
  // or, within status_max_age of the last whole one with nothing changed, what it read.
  const core::TimePoint now = EventLoop::Now();
  bool reuse = FactsFresh(now);
  bool memory_controller = false;
  if (!reuse) {
    const bool whole = resolved.processes.size() == processes_.size();
    ScanTree(whole ? nullptr : &resolved.processes);
    // A whole status reads each process's figures once, into the facts it then shows (it read
    // each cgroup's cpu.stat and memory.current twice).
    if (whole) KeepFacts(now);
    reuse = whole;
    memory_controller = !whole && MemoryMaxEnforceable();
  }
  for (Process* p : resolved.processes) {
    const core::ProcessMachine& m = p->machine();
    ProcessReport info;
    info.name = p->name().name;
    info.group = p->name().group;
    info.state = m.state();
    info.pid = m.pid();
    info.start_time_ms = p->start_wall_ms();
    info.stop_time_ms = p->stop_wall_ms();
    info.restarts = m.restarts();
    info.reason = p->reason();
    info.status_text = p->status_text();
    info.health = p->HealthText();
    const bool by_cgroup = cgroups_ && (p->in_cgroup_ || p->spawn_count_ == 0);
    info.tracking = by_cgroup ? Tracking::kCgroup : Tracking::kProc;
    if (auto next = m.next_spawn_at(); next && *next > now) {
      info.retry_in_ms = static_cast<uint64_t>(
          std::chrono::duration_cast<std::chrono::milliseconds>(*next - now).count());
    }
    if (auto exit = m.last_exit()) {
      info.exit_kind = exit->signaled ? ExitKind::kSignaled : ExitKind::kExited;
      info.exit_value = exit->value;
    }
    if (m.pid() > 0) {
      if (auto started = m.started_at()) {
        info.uptime_ms = static_cast<uint64_t>(
            std::chrono::duration_cast<std::chrono::milliseconds>(now - *started).count());
      }
      KernelFacts facts;
      if (reuse) {
        facts = facts_main_[p->tree_slot_];
      } else if (auto ps = MainOf(p)) {
        facts = FactsOf(*p, *ps, memory_controller);
      }
      if (facts.state != 0) {
        info.kernel_state = facts.state;
        info.cpu_time_ms = facts.cpu_ms;
        info.rss_bytes = facts.memory_bytes;
      }
    }
    // Descendants, and what the program lost (orphans still attributed to it), even when its
    // main process is gone.
    if (reuse) {
      info.children.assign(facts_members_.begin() + facts_members_begin_[p->tree_slot_],
                           facts_members_.begin() + facts_members_begin_[p->tree_slot_ + 1]);
    } else {
      for (const os::ProcStat& ps : MembersOf(p)) {
        info.children.push_back({ps.pid, ps.state});
      }
    }
    reply.processes.push_back(std::move(info));
  }
  return reply;
}

// Like supervisorctl: "all" and "group:*" pass over processes already in the wanted state;
// a process named on its own reports "already started" / "not running" instead.
void Supervisor::DropSettled(Resolved* resolved, bool want_running) {
  std::vector<Process*> kept;
  for (size_t i = 0; i < resolved->processes.size(); ++i) {
    Process* p = resolved->processes[i];
    core::State s = p->machine().state();
    bool settled = want_running
                       ? !IsStoppedState(s) && s != core::State::kBackoff
                       : IsStoppedState(s) && !p->start_pending() && !p->machine().cleaning();
    if (resolved->explicitly[i] || !settled) kept.push_back(p);
  }
  resolved->processes = std::move(kept);
  resolved->explicitly.assign(resolved->processes.size(), true);
}

std::vector<ActionOutcome> Supervisor::Signal(const std::vector<std::string>& names, int signal) {
  Resolved resolved = Resolve(names);
  std::vector<ActionOutcome> results;
  for (const auto& name : resolved.unknown) {
    results.push_back({name, ErrorCode::kNotFound, "no such process"});
  }
  for (Process* p : resolved.processes) {
    ::warden::Status s = p->machine().Signal(signal);
    results.push_back(s.ok() ? Ok(p->full_name())
                             : ActionOutcome{p->full_name(), s.code(), s.message()});
  }
  return results;
}

Result<int> Supervisor::Pid(const std::string& name) const {
  Resolved resolved = Resolve({name});
  if (resolved.processes.empty()) {
    return ::warden::Status(ErrorCode::kNotFound, name + ": no such process");
  }
  if (resolved.processes.size() > 1) {
    std::string names;
    for (const Process* p : resolved.processes) {
      names += (names.empty() ? "" : ", ") + p->full_name();
    }
    return ::warden::Status(ErrorCode::kInvalidArgument,
                            "'" + name + "' names " + std::to_string(resolved.processes.size()) +
                                " processes (" + names + "); ask for one of them");
  }
  return resolved.processes.front()->machine().pid();
}

bool Supervisor::AnyUp(const std::string& program) const {
  return std::any_of(processes_.begin(), processes_.end(), [&](const auto& p) {
    const core::State state = p->machine().state();
    return !p->removing() && p->program().name == program &&
           (state == core::State::kStarting || state == core::State::kRunning);
  });
}

std::string Supervisor::Summary() const {
  std::string out;
  for (const auto& [state, n] : state_counts_) {
    if (n == 0) continue;
    if (!out.empty()) out += ", ";
    std::string name = core::StateName(state);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    out += std::to_string(n) + " " + name;
  }
  return out.empty() ? "no programs" : out;
}

void Supervisor::NotifyChange() {
  if (on_change_) on_change_();
}

}  // namespace warden
