#include "daemon/supervisor.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <map>

#include "base/unique_fd.h"
#include "daemon/os.h"

extern char** environ;

namespace warden {
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
  policy.readiness = p.ready == config::ReadyMode::kNotify ? core::Readiness::kReported
                                                           : core::Readiness::kStartsecs;
  policy.stopsignal = p.stopsignal;
  policy.stopwaitsecs = Seconds(p.stopwaitsecs);
  policy.stopasgroup = p.stopasgroup;
  policy.killasgroup = p.killasgroup || p.stopasgroup;
  return policy;
}

// Variables wardend's own environment may hold that belong to wardend, not its children.
bool InheritedVariable(std::string_view entry) {
  static constexpr std::string_view kDropped[] = {
      "NOTIFY_SOCKET=", "LISTEN_FDS=",   "LISTEN_PID=", "LISTEN_FDNAMES=",
      "WATCHDOG_USEC=", "WATCHDOG_PID=", "WARDEN_",
  };
  for (auto prefix : kDropped) {
    if (entry.substr(0, prefix.size()) == prefix) return false;
  }
  return true;
}

void SetVariable(std::vector<std::string>& env, const std::string& key, const std::string& value) {
  std::string prefix = key + "=";
  for (auto& entry : env) {
    if (entry.compare(0, prefix.size(), prefix) == 0) {
      entry = prefix + value;
      return;
    }
  }
  env.push_back(prefix + value);
}

std::string GetVariable(const std::vector<std::string>& env, const std::string& key) {
  std::string prefix = key + "=";
  for (const auto& entry : env) {
    if (entry.compare(0, prefix.size(), prefix) == 0) return entry.substr(prefix.size());
  }
  return "";
}

std::string LogFileName(const std::string& full_name) {
  std::string out = full_name;
  std::replace(out.begin(), out.end(), ':', '.');
  return out;
}

bool IsStoppedState(core::State s) {
  return s == core::State::kStopped || s == core::State::kExited || s == core::State::kFatal ||
         s == core::State::kUnknown;
}

proto::ActionResult Ok(const std::string& name) { return {name, ErrorCode::kOk, ""}; }

// Collects one result per slot and calls done when the last one is in.
struct Gather {
  std::vector<proto::ActionResult> results;
  size_t remaining = 0;
  Supervisor::ResultsCallback done;
  void Put(size_t slot, proto::ActionResult r) {
    results[slot] = std::move(r);
    Release();
  }
  // Drops one count without a result (a hold taken while operations are being set up).
  void Release() {
    if (--remaining == 0 && done) {
      auto callback = std::move(done);
      done = nullptr;
      callback(std::move(results));
    }
  }
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// Process

Process::Process(Supervisor& supervisor, std::shared_ptr<const config::Program> program,
                 config::ProcessName name)
    : supervisor_(supervisor),
      program_(std::move(program)),
      name_(std::move(name)),
      full_name_(name_.FullName()),
      machine_(PolicyFor(*program_), this) {}

Process::~Process() {
  *alive_ = false;
  supervisor_.loop().CancelTimer(timer_);
  if (machine_.pid() > 0) supervisor_.Untrack(machine_.pid());
}

void Process::Replace(std::shared_ptr<const config::Program> program) {
  program_ = std::move(program);
  machine_.SetPolicy(PolicyFor(*program_));
}

core::SpawnOutcome Process::Spawn() {
  const config::Program& p = *program_;
  os::SpawnSpec spec;

  for (char** e = environ; *e != nullptr; ++e) {
    if (InheritedVariable(*e)) spec.env.emplace_back(*e);
  }
  if (!p.user.empty()) {
    auto user = os::LookupUser(p.user);
    if (!user.ok()) return {0, core::SpawnError{"user " + p.user, ENOENT}};
    if (geteuid() != 0 && user->uid != geteuid()) {
      return {0, core::SpawnError{"user " + p.user + " (wardend is not root)", EPERM}};
    }
    spec.uid = user->uid;
    spec.gid = user->gid;
    spec.groups = user->groups;
    SetVariable(spec.env, "HOME", user->home);
    SetVariable(spec.env, "USER", user->name);
    SetVariable(spec.env, "LOGNAME", user->name);
  }
  for (const auto& [key, value] : p.environment) SetVariable(spec.env, key, value);
  SetVariable(spec.env, "WARDEN_PROGRAM", p.name);
  SetVariable(spec.env, "WARDEN_PROCESS", name_.name);
  SetVariable(spec.env, "WARDEN_GROUP", name_.group);

  int search_error = 0;
  spec.path = os::SearchPath(p.command.front(), GetVariable(spec.env, "PATH"), &search_error);
  if (spec.path.empty()) return {0, core::SpawnError{"exec " + p.command.front(), search_error}};
  spec.argv = p.command;
  spec.directory = p.directory;
  spec.umask = p.umask;

  // Output goes to files opened here and handed to the child as its stdout and stderr.
  const std::string& log_dir = supervisor_.config().warden.log_dir;
  auto open_log = [&](const config::LogSpec& log, const char* stream,
                      UniqueFd* out) -> std::optional<core::SpawnError> {
    if (log.file == "NONE") return std::nullopt;
    std::string path = log.file == "AUTO"
                           ? log_dir + "/" + LogFileName(full_name_) + "." + stream + ".log"
                           : log.file;
    out->reset(open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
    if (!*out) return core::SpawnError{std::string("open ") + path, errno};
    return std::nullopt;
  };
  UniqueFd out_fd, err_fd;
  if (auto e = open_log(p.stdout_log, "stdout", &out_fd)) return {0, *e};
  if (!p.stderr_log.merge_into_stdout) {
    if (auto e = open_log(p.stderr_log, "stderr", &err_fd)) return {0, *e};
  }
  spec.stdout_fd = out_fd.get();
  spec.stderr_fd = p.stderr_log.merge_into_stdout ? out_fd.get() : err_fd.get();

  core::SpawnOutcome outcome = os::Spawn(spec);
  if (outcome.pid > 0) {
    start_wall_ms_ = WallMs();
    supervisor_.Track(outcome.pid, this);
    spdlog::info("{}: spawned with pid {}", full_name_, outcome.pid);
  } else if (outcome.error) {
    spdlog::warn("{}: spawn failed: {}", full_name_, outcome.error->ToString());
  }
  return outcome;
}

void Process::Kill(int pid, int signal, bool whole_group) {
  spdlog::debug("{}: sending SIG{} to {}{}", full_name_, os::SignalName(signal),
                whole_group ? "group " : "pid ", pid);
  if (!os::SendSignal(pid, signal, whole_group) && errno != ESRCH) {
    spdlog::warn("{}: kill({}, SIG{}): {}", full_name_, whole_group ? -pid : pid,
                 os::SignalName(signal), strerror(errno));
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

void Process::OnStateChange(core::State from, core::State to) {
  supervisor_.CountTransition(from, to);
  if (IsStoppedState(to) || to == core::State::kBackoff) stop_wall_ms_ = WallMs();
  if (to == core::State::kFatal || to == core::State::kBackoff) {
    spdlog::warn("{}: {} -> {} ({})", full_name_, core::StateName(from), core::StateName(to),
                 machine_.reason());
  } else {
    spdlog::info("{}: {} -> {}", full_name_, core::StateName(from), core::StateName(to));
  }
  std::weak_ptr<bool> alive = alive_;
  supervisor_.loop().Post([this, alive, to] {
    if (alive.expired()) return;
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
    supervisor_.NotifyChange();
  });
}

// ---------------------------------------------------------------------------------------------
// Supervisor

Supervisor::Supervisor(EventLoop& loop, config::Config config)
    : loop_(loop), config_(std::move(config)) {
  for (const auto& program : config_.programs) {
    auto shared = std::make_shared<const config::Program>(program);
    for (auto& name : config::ExpandProcessNames(config_, program)) AddProcess(shared, name);
  }
}

Process* Supervisor::AddProcess(std::shared_ptr<const config::Program> program,
                                config::ProcessName name) {
  auto process = std::make_unique<Process>(*this, std::move(program), std::move(name));
  Process* raw = process.get();
  by_full_name_[raw->full_name()] = raw;
  state_counts_[core::State::kStopped]++;
  processes_.push_back(std::move(process));
  return raw;
}

void Supervisor::SortProcesses() {
  std::stable_sort(processes_.begin(), processes_.end(), [](const auto& a, const auto& b) {
    if (a->program().priority != b->program().priority) {
      return a->program().priority < b->program().priority;
    }
    if (a->program().name != b->program().name) return a->program().name < b->program().name;
    return a->name().name < b->name().name;
  });
}

void Supervisor::RemoveProcess(Process* process, std::function<void()> done) {
  auto destroy = [this, process, done = std::move(done)] {
    // Never destroy a process inside its own notification: do it as a separate step.
    loop_.Post([this, process, done] {
      process->FinishObservers(core::State::kStopped);
      state_counts_[process->machine().state()]--;
      by_full_name_.erase(process->full_name());
      auto it = std::find_if(processes_.begin(), processes_.end(),
                             [process](const auto& p) { return p.get() == process; });
      if (it != processes_.end()) processes_.erase(it);
      done();
    });
  };
  if (!process->machine().Stop(EventLoop::Now()).ok()) {
    destroy();  // it was not running
    return;
  }
  process->Observe([destroy](core::State state) {
    if (!IsStoppedState(state)) return false;
    destroy();
    return true;
  });
}

void Supervisor::StartAutostart() {
  core::TimePoint now = EventLoop::Now();
  for (auto& process : processes_) {
    if (process->program().autostart) (void)process->machine().Start(now);
  }
}

void Supervisor::ReapChildren() {
  for (const os::Reaped& reaped : os::ReapAll()) {
    auto it = by_pid_.find(reaped.pid);
    if (it == by_pid_.end()) {
      spdlog::debug("reaped pid {} (not a program's main process)", reaped.pid);
      continue;
    }
    Process* process = it->second;
    by_pid_.erase(it);
    if (reaped.status.signaled) {
      spdlog::info("{}: pid {} terminated by SIG{}", process->full_name(), reaped.pid,
                   os::SignalName(reaped.status.value));
    } else {
      spdlog::info("{}: pid {} exited with status {}", process->full_name(), reaped.pid,
                   reaped.status.value);
    }
    process->machine().OnExit(reaped.status, EventLoop::Now());
  }
}

Supervisor::Resolved Supervisor::Resolve(const std::vector<std::string>& names) const {
  Resolved out;
  enum Pick : uint8_t { kNo, kWildcard, kExplicit };
  std::vector<Pick> picked(processes_.size(), kNo);
  auto choose_if = [&](bool wildcard, auto predicate) {
    bool any = false;
    for (size_t i = 0; i < processes_.size(); ++i) {
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
    if (picked[i] == kNo) continue;
    out.processes.push_back(processes_[i].get());
    out.explicitly.push_back(picked[i] == kExplicit);
  }
  return out;
}

proto::StatusReply Supervisor::Status(const std::vector<std::string>& names) const {
  Resolved resolved = Resolve(names);
  proto::StatusReply reply;
  reply.unknown_names = resolved.unknown;

  std::vector<int> sessions;
  for (Process* p : resolved.processes) {
    if (p->machine().pid() > 0) sessions.push_back(p->machine().pid());
  }
  auto by_session = os::ProcessesBySession(sessions);
  core::TimePoint now = EventLoop::Now();
  const uint64_t ticks = static_cast<uint64_t>(os::ClockTicksPerSecond());
  const uint64_t page = static_cast<uint64_t>(os::PageSize());

  for (Process* p : resolved.processes) {
    const core::ProcessMachine& m = p->machine();
    proto::ProcessInfo info;
    info.name = p->name().name;
    info.group = p->name().group;
    info.state = static_cast<proto::ProcessState>(m.state());
    info.pid = m.pid();
    info.start_time_ms = p->start_wall_ms();
    info.stop_time_ms = p->stop_wall_ms();
    info.restarts = m.restarts();
    info.reason = m.reason();
    if (auto exit = m.last_exit()) {
      info.exit_kind = exit->signaled ? proto::ExitKind::kSignaled : proto::ExitKind::kExited;
      info.exit_value = exit->value;
    }
    if (m.pid() > 0) {
      if (auto started = m.started_at()) {
        info.uptime_ms = static_cast<uint64_t>(
            std::chrono::duration_cast<std::chrono::milliseconds>(now - *started).count());
      }
      auto it = by_session.find(m.pid());
      if (it != by_session.end()) {
        for (const os::ProcStat& ps : it->second) {
          if (ps.pid == m.pid()) {
            info.kernel_state = static_cast<uint8_t>(ps.state);
            info.cpu_time_ms = ps.cpu_ticks * 1000 / ticks;
            info.rss_bytes = ps.rss_pages * page;
          } else {
            info.children.push_back({ps.pid, static_cast<uint8_t>(ps.state)});
          }
        }
      }
    }
    reply.processes.push_back(std::move(info));
  }
  return reply;
}

void Supervisor::StartOne(Process* process, std::function<void(proto::ActionResult)> done) {
  const std::string name = process->full_name();
  ::warden::Status started = process->machine().Start(EventLoop::Now());
  if (!started.ok()) {
    done({name, started.code(), started.message()});
    return;
  }
  // Start always changes the state (to STARTING at least), so the observer sees every step.
  process->Observe([process, name, done = std::move(done)](core::State state) {
    switch (state) {
      case core::State::kStarting:
        return false;
      case core::State::kRunning:
        done(Ok(name));
        return true;
      case core::State::kBackoff:
      case core::State::kFatal: {
        const std::string& reason = process->machine().reason();
        bool spawn = reason.rfind("spawn error", 0) == 0;
        done({name, spawn ? ErrorCode::kSpawnError : ErrorCode::kAbnormalTermination, reason});
        return true;
      }
      default:
        done({name, ErrorCode::kAbnormalTermination, process->machine().reason()});
        return true;
    }
  });
}

namespace {

// Stops processes tier by tier: all processes of one priority, then (once every one of them is
// stopped) the next lower priority. Observers hold the batch; nothing holds itself.
struct StopBatch {
  std::vector<Process*> processes;  // descending priority
  std::vector<proto::ActionResult> results;
  size_t next = 0;       // first process of the next tier
  size_t in_flight = 0;  // processes of the current tier not yet stopped
  Supervisor::ResultsCallback done;
};

void RunTiers(const std::shared_ptr<StopBatch>& batch) {
  auto& procs = batch->processes;
  while (batch->in_flight == 0) {
    if (batch->next == procs.size()) {
      if (batch->done) {
        auto callback = std::move(batch->done);
        batch->done = nullptr;
        callback(std::move(batch->results));
      }
      return;
    }
    int priority = procs[batch->next]->program().priority;
    size_t end = batch->next;
    while (end < procs.size() && procs[end]->program().priority == priority) ++end;
    for (size_t i = batch->next; i < end; ++i) {
      Process* p = procs[i];
      ::warden::Status stopped = p->machine().Stop(EventLoop::Now());
      if (!stopped.ok()) {
        batch->results[i] = {p->full_name(), stopped.code(), stopped.message()};
        continue;
      }
      // Stop succeeded, so STOPPED is still to come (a posted change or a later exit).
      batch->in_flight++;
      p->Observe([batch, i, p](core::State state) {
        if (!IsStoppedState(state)) return false;
        batch->results[i] = Ok(p->full_name());
        if (--batch->in_flight == 0) RunTiers(batch);
        return true;
      });
    }
    batch->next = end;
  }
}

}  // namespace

// Like supervisorctl: "all" and "group:*" pass over processes already in the wanted state;
// a process named on its own reports "already started" / "not running" instead.
void Supervisor::DropSettled(Resolved* resolved, bool want_running) {
  std::vector<Process*> kept;
  for (size_t i = 0; i < resolved->processes.size(); ++i) {
    Process* p = resolved->processes[i];
    core::State s = p->machine().state();
    bool settled =
        want_running ? !IsStoppedState(s) && s != core::State::kBackoff : IsStoppedState(s);
    if (resolved->explicitly[i] || !settled) kept.push_back(p);
  }
  resolved->processes = std::move(kept);
  resolved->explicitly.assign(resolved->processes.size(), true);
}

void Supervisor::Start(const std::vector<std::string>& names, ResultsCallback done) {
  Resolved resolved = Resolve(names);
  DropSettled(&resolved, /*want_running=*/true);
  size_t total = resolved.unknown.size() + resolved.processes.size();
  if (total == 0) {
    done({});
    return;
  }
  auto gather = std::make_shared<Gather>();
  gather->results.resize(total);
  gather->remaining = total;
  gather->done = std::move(done);
  size_t slot = 0;
  for (const auto& name : resolved.unknown) {
    gather->Put(slot++, {name, ErrorCode::kNotFound, "no such process"});
  }
  for (Process* p : resolved.processes) {
    size_t mine = slot++;
    if (shutting_down_) {
      gather->Put(mine, {p->full_name(), ErrorCode::kShuttingDown, "wardend is shutting down"});
      continue;
    }
    StartOne(p, [gather, mine](proto::ActionResult r) { gather->Put(mine, std::move(r)); });
  }
}

void Supervisor::StopTiers(std::vector<Process*> processes, ResultsCallback done) {
  auto batch = std::make_shared<StopBatch>();
  batch->processes.assign(processes.rbegin(), processes.rend());  // highest priority first
  batch->results.resize(batch->processes.size());
  batch->done = std::move(done);
  RunTiers(batch);
}

void Supervisor::Stop(const std::vector<std::string>& names, ResultsCallback done) {
  Resolved resolved = Resolve(names);
  DropSettled(&resolved, /*want_running=*/false);
  std::vector<proto::ActionResult> unknown;
  for (const auto& name : resolved.unknown) {
    unknown.push_back({name, ErrorCode::kNotFound, "no such process"});
  }
  StopTiers(resolved.processes,
            [unknown, done = std::move(done)](std::vector<proto::ActionResult> results) {
              results.insert(results.begin(), unknown.begin(), unknown.end());
              done(std::move(results));
            });
}

void Supervisor::Restart(const std::vector<std::string>& names, ResultsCallback done) {
  Resolved resolved = Resolve(names);
  auto gather = std::make_shared<Gather>();
  size_t total = resolved.unknown.size() + resolved.processes.size();
  gather->results.resize(total);
  gather->remaining = total;
  gather->done = std::move(done);
  if (total == 0) {
    auto callback = std::move(gather->done);
    callback({});
    return;
  }
  size_t slot = 0;
  for (const auto& name : resolved.unknown) {
    gather->Put(slot++, {name, ErrorCode::kNotFound, "no such process"});
  }
  for (Process* p : resolved.processes) {
    size_t mine = slot++;
    auto report = [gather, mine](proto::ActionResult r) { gather->Put(mine, std::move(r)); };
    if (shutting_down_) {
      report({p->full_name(), ErrorCode::kShuttingDown, "wardend is shutting down"});
      continue;
    }
    core::State state = p->machine().state();
    bool running = state == core::State::kStarting || state == core::State::kRunning ||
                   state == core::State::kStopping;
    if (!running) {
      StartOne(p, report);
      continue;
    }
    (void)p->machine().Stop(EventLoop::Now());
    p->Observe([this, p, report](core::State s) {
      if (!IsStoppedState(s)) return false;
      StartOne(p, report);
      return true;
    });
  }
}

std::vector<proto::ActionResult> Supervisor::Signal(const std::vector<std::string>& names,
                                                    int signal) {
  Resolved resolved = Resolve(names);
  std::vector<proto::ActionResult> results;
  for (const auto& name : resolved.unknown) {
    results.push_back({name, ErrorCode::kNotFound, "no such process"});
  }
  for (Process* p : resolved.processes) {
    ::warden::Status s = p->machine().Signal(signal);
    results.push_back(s.ok() ? Ok(p->full_name())
                             : proto::ActionResult{p->full_name(), s.code(), s.message()});
  }
  return results;
}

std::optional<int> Supervisor::Pid(const std::string& name) const {
  Resolved resolved = Resolve({name});
  if (resolved.processes.empty()) return std::nullopt;
  return resolved.processes.front()->machine().pid();
}

void Supervisor::Shutdown(std::function<void()> done) {
  shutting_down_ = true;
  std::vector<Process*> all;
  for (auto& p : processes_) all.push_back(p.get());
  StopTiers(all, [done = std::move(done)](std::vector<proto::ActionResult>) { done(); });
}

Result<std::vector<config::ProgramChange>> Supervisor::Reread() const {
  config::LoadResult loaded = config::LoadConfigFile(config_.path);
  if (!loaded.config) {
    std::string message;
    for (const auto& d : loaded.errors) message += (message.empty() ? "" : "\n") + d.ToString();
    return ::warden::Status(ErrorCode::kConfig, message);
  }
  return config::Diff(config_, *loaded.config);
}

void Supervisor::Update(
    const std::vector<std::string>& names,
    std::function<void(::warden::Status, std::vector<proto::ActionResult>)> done) {
  config::LoadResult loaded = config::LoadConfigFile(config_.path);
  if (!loaded.config) {
    std::string message;
    for (const auto& d : loaded.errors) {
      spdlog::error("{}", d.ToString());
      message += (message.empty() ? "" : "\n") + d.ToString();
    }
    spdlog::error("{} is not valid; the configuration in force is kept", config_.path);
    done(::warden::Status(ErrorCode::kConfig, message), {});
    return;
  }
  config::Config next = std::move(*loaded.config);

  // Names are program names or group names, in either config.
  std::vector<std::string> programs;
  std::vector<proto::ActionResult> unknown;
  for (const std::string& name : names) {
    bool any = false;
    for (const config::Config* c : {&config_, &next}) {
      if (c->FindProgram(name)) {
        programs.push_back(name);
        any = true;
      }
      for (const config::Group& g : c->groups) {
        if (g.name != name) continue;
        programs.insert(programs.end(), g.programs.begin(), g.programs.end());
        any = true;
      }
    }
    if (!any) unknown.push_back({name, ErrorCode::kNotFound, "no such program or group"});
  }
  if (!names.empty() && programs.empty()) {
    done(::warden::Status::Ok(), std::move(unknown));
    return;
  }
  if (on_reload_begin_) on_reload_begin_();
  if (names.empty()) {
    // config::LogLevel lists the levels in spdlog's order (trace .. error).
    spdlog::set_level(static_cast<spdlog::level::level_enum>(next.warden.log_level));
  }
  Apply(std::move(next), programs,
        [this, unknown, done = std::move(done)](std::vector<proto::ActionResult> results) {
          results.insert(results.begin(), unknown.begin(), unknown.end());
          if (on_reload_end_) on_reload_end_();
          done(::warden::Status::Ok(), std::move(results));
        });
}

void Supervisor::Apply(config::Config next, const std::vector<std::string>& only,
                       ResultsCallback done) {
  config::Config merged;
  if (only.empty()) {
    config::LogLevel level = next.warden.log_level;
    merged = std::move(next);
    merged.warden = config_.warden;  // socket and log_dir changes need a restart of wardend
    merged.warden.log_level = level;
  } else {
    // Programs not named keep their definitions (and group membership) in force.
    auto named = [&](const std::string& program) {
      return std::find(only.begin(), only.end(), program) != only.end();
    };
    merged = config_;
    merged.programs.clear();
    for (const auto& p : config_.programs) {
      if (!named(p.name)) merged.programs.push_back(p);
    }
    for (const auto& p : next.programs) {
      if (named(p.name)) merged.programs.push_back(p);
    }
    std::sort(merged.programs.begin(), merged.programs.end(), [](const auto& a, const auto& b) {
      return std::tie(a.priority, a.name) < std::tie(b.priority, b.name);
    });
    std::map<std::string, config::Group> groups;
    for (const auto& p : merged.programs) {
      const config::Config& source = named(p.name) ? next : config_;
      std::string group = config::GroupOf(source, p.name);
      if (group.empty()) continue;
      groups[group].name = group;
      groups[group].programs.push_back(p.name);
    }
    merged.groups.clear();
    for (auto& [name, group] : groups) merged.groups.push_back(std::move(group));
  }

  std::vector<config::ProgramChange> changes = config::Diff(config_, merged);
  config_ = std::move(merged);

  auto gather = std::make_shared<Gather>();
  gather->results.resize(changes.size());
  gather->remaining = changes.size() + 1;  // +1 until every operation is under way
  gather->done = std::move(done);

  // Each program's result is complete when its own operations are.
  struct ProgramOp {
    std::shared_ptr<Gather> gather;
    size_t slot;
    proto::ActionResult result;
    size_t pending = 1;
    void Finish() {
      if (--pending == 0) gather->Put(slot, result);
    }
  };

  std::vector<Process*> to_start;
  for (size_t slot = 0; slot < changes.size(); ++slot) {
    const config::ProgramChange& change = changes[slot];
    auto op = std::make_shared<ProgramOp>();
    op->gather = gather;
    op->slot = slot;
    op->result = {change.name, ErrorCode::kOk, ""};

    std::vector<Process*> existing;
    for (auto& p : processes_) {
      if (p->program().name == change.name) existing.push_back(p.get());
    }
    const config::Program* program = config_.FindProgram(change.name);
    if (change.kind == config::ProgramChange::Kind::kRemoved || program == nullptr) {
      op->result.message = "removed process group";
      spdlog::info("{}: removed from the configuration", change.name);
      for (Process* p : existing) {
        op->pending++;
        RemoveProcess(p, [op] { op->Finish(); });
      }
      op->Finish();
      continue;
    }

    auto shared = std::make_shared<const config::Program>(*program);
    std::vector<config::ProcessName> wanted = config::ExpandProcessNames(config_, *program);
    auto wanted_has = [&](const std::string& full) {
      return std::any_of(wanted.begin(), wanted.end(),
                         [&](const auto& n) { return n.FullName() == full; });
    };
    bool restarted = false;
    for (Process* p : existing) {
      if (!wanted_has(p->full_name())) {
        op->pending++;
        RemoveProcess(p, [op] { op->Finish(); });
        continue;
      }
      core::State state = p->machine().state();
      bool running = !IsStoppedState(state) && state != core::State::kBackoff;
      if (change.restart && running) {
        restarted = true;
        op->pending++;
        (void)p->machine().Stop(EventLoop::Now());
        p->Observe([this, p, shared, op](core::State s) {
          if (!IsStoppedState(s)) return false;
          p->Replace(shared);
          StartOne(p, [op](proto::ActionResult r) {
            if (r.code != ErrorCode::kOk) op->result = {op->result.name, r.code, r.message};
            op->Finish();
          });
          return true;
        });
      } else {
        p->Replace(shared);
      }
    }
    for (const auto& name : wanted) {
      if (by_full_name_.count(name.FullName())) continue;
      Process* added = AddProcess(shared, name);
      if (shared->autostart && !shutting_down_) {
        op->pending++;
        StartOne(added, [op](proto::ActionResult r) {
          if (r.code != ErrorCode::kOk) op->result = {op->result.name, r.code, r.message};
          op->Finish();
        });
      }
    }
    if (change.kind == config::ProgramChange::Kind::kAdded) {
      op->result.message = "added process group";
      spdlog::info("{}: added to the configuration", change.name);
    } else {
      std::string keys;
      for (const auto& k : change.keys) keys += (keys.empty() ? "" : ", ") + k;
      op->result.message = std::string(restarted ? "updated process group (restarted: "
                                                 : "updated process group (applied live: ") +
                           keys + ")";
      spdlog::info("{}: {}", change.name, op->result.message);
    }
    op->Finish();
  }
  SortProcesses();
  gather->Release();  // the hold: if nothing is pending, the results go out now
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
