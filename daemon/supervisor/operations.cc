// Supervisor: starting and stopping processes in dependency order (the rules are in
// dependencies.h).
//
// A start request marks the process, and every stopped process of the programs it depends on,
// as start_pending. PumpStarts runs after each request and after every state change (posted,
// never inside a machine): it launches the pending processes whose dependencies are all
// RUNNING, fails those whose dependencies failed (they stay STOPPED, the reason in
// hold_reason), and notes what the others wait for. Nothing recurses: a launch changes states,
// whose notifications are posted and pump again.
//
// Stops go tier by tier, highest tier first (dependents before their dependencies, then
// supervisord's priority order), each tier waiting until every process of the one before is
// stopped. Stopping a program stops its running dependents first; a program that goes FATAL
// stops its running dependents.
#include <spdlog/spdlog.h>
#include <algorithm>
#include <map>
#include <memory>
#include <unordered_set>
#include <utility>

#include "daemon/supervisor/outcomes.h"
#include "daemon/supervisor/supervisor.h"

namespace warden {

using outcomes::IsStoppedState;
using outcomes::Ok;

namespace {

// A process with a live main process (or on its way to one).
bool IsUp(core::State s) {
  return s == core::State::kStarting || s == core::State::kRunning || s == core::State::kStopping;
}

// Stopped for good: nothing runs, nothing is being cleaned up, no start is waiting.
bool IsSettledStopped(const Process& p) {
  return IsStoppedState(p.machine().state()) && !p.machine().cleaning() && !p.start_pending();
}

// What a job reports for a process that an update removed while the job was under way.
ActionOutcome Removed(const std::string& name) {
  return {name, ErrorCode::kNotFound, "removed by update"};
}

// One result per slot; `done` once the last one is in.
struct Collect {
  std::vector<ActionOutcome> results;
  size_t remaining = 0;
  Supervisor::ResultsCallback done;
  void Put(size_t slot, ActionOutcome r) {
    results[slot] = std::move(r);
    if (--remaining == 0 && done) {
      auto callback = std::move(done);
      done = nullptr;
      callback(std::move(results));
    }
  }
};

// Stops processes tier by tier: every process of one tier, then (once all of them are
// stopped) the next lower tier. Observers hold the batch; nothing holds itself. Processes are
// held by id and looked up when their tier comes: an update may remove one meanwhile.
struct StopBatch {
  const Supervisor* supervisor = nullptr;
  std::vector<uint64_t> ids;  // descending tier
  std::vector<std::string> names;
  std::vector<int> tiers;
  std::vector<ActionOutcome> results;
  size_t next = 0;       // the next process to stop
  size_t tier_end = 0;   // one past the last process of the current tier
  size_t in_flight = 0;  // processes of the current tier not yet stopped
  Supervisor::ResultsCallback done;
  std::function<void(Process*)> cancel_start;  // drops a pending start of a process
  // Stops go in slices, as launches do (Supervisor::kLaunchesPerTurn, kLaunchTimePerTurn):
  // `later` runs the next slice in a later turn of the loop, after everyone else was served.
  std::function<void(std::function<void()>)> later;
  int per_turn = Supervisor::kLaunchesPerTurn;
  bool booked = false;  // a later slice is booked: it goes on from there
};

void RunTiers(const std::shared_ptr<StopBatch>& batch) {
  if (batch->booked) return;  // the booked slice goes on
  const size_t count = batch->ids.size();
  const EventLoop::TimePoint began = EventLoop::Now();
  int stopped_now = 0;
  while (true) {
    while (batch->next < batch->tier_end) {
      if (stopped_now >= batch->per_turn ||
          (stopped_now > 0 && EventLoop::Now() - began >= Supervisor::kLaunchTimePerTurn)) {
        batch->booked = true;
        batch->later([batch] {
          batch->booked = false;
          RunTiers(batch);
        });
        return;
      }
      const size_t i = batch->next++;
      Process* p = batch->supervisor->Find(batch->ids[i]);
      if (p == nullptr) {  // removed and destroyed while an earlier tier stopped
        batch->results[i] = Removed(batch->names[i]);
        continue;
      }
      const bool was_pending = p->start_pending();
      if (was_pending) batch->cancel_start(p);
      ::warden::Status stopped = p->machine().Stop(EventLoop::Now());
      if (!stopped.ok()) {
        // A process that only waited to start is stopped by dropping that wait.
        batch->results[i] = was_pending && stopped.code() == ErrorCode::kNotRunning
                                ? Ok(p->full_name())
                                : ActionOutcome{p->full_name(), stopped.code(), stopped.message()};
        continue;
      }
      // Stop succeeded, so STOPPED is still to come (a posted change or a later exit).
      ++stopped_now;
      batch->in_flight++;
      p->Observe([batch, i, p](core::State state) {
        if (!IsStoppedState(state)) return false;
        batch->results[i] = p->removing() ? Removed(p->full_name()) : Ok(p->full_name());
        if (--batch->in_flight == 0) RunTiers(batch);
        return true;
      });
    }
    if (batch->in_flight > 0) return;  // the last of the tier to stop goes on
    if (batch->tier_end == count) {
      if (batch->done) {
        auto callback = std::move(batch->done);
        batch->done = nullptr;
        callback(std::move(batch->results));
      }
      return;
    }
    const int tier = batch->tiers[batch->tier_end];
    while (batch->tier_end < count && batch->tiers[batch->tier_end] == tier) ++batch->tier_end;
  }
}

}  // namespace

// --- the dependency graph -----------------------------------------------------------------------

const DependencyGraph& Supervisor::Graph() const {
  if (!graph_dirty_) return graph_;
  graph_dirty_ = false;
  std::vector<DependencyGraph::Program> input;
  std::unordered_set<std::string> seen;
  for (const auto& p : processes_) {
    if (p->removing()) continue;
    const config::Program& program = p->program();
    if (!seen.insert(program.name).second) continue;
    input.push_back({program.name, program.priority, program.depends_on});
  }
  if (input != graph_input_) {
    graph_ = DependencyGraph(input);
    graph_input_ = std::move(input);
  }
  return graph_;
}

std::vector<Process*> Supervisor::ProcessesOf(const std::string& program) const {
  std::vector<Process*> out;
  for (const auto& p : processes_) {
    if (p->program().name == program && !p->removing()) out.push_back(p.get());
  }
  return out;
}

std::vector<Process*> Supervisor::WithDependents(const std::vector<Process*>& processes) const {
  std::unordered_set<Process*> chosen(processes.begin(), processes.end());
  std::unordered_set<std::string> programs;
  for (Process* p : processes) programs.insert(p->program().name);
  for (const std::string& program : programs) {
    for (const std::string& dependent : Graph().Dependents(program)) {
      for (Process* q : ProcessesOf(dependent)) {
        if (!IsSettledStopped(*q)) chosen.insert(q);
      }
    }
  }
  // No dependent joined: `processes` as they came (Resolve gives them in processes_ order).
  if (chosen.size() == processes.size() &&
      std::is_sorted(processes.begin(), processes.end(),
                     [](const Process* a, const Process* b) { return a->order_ < b->order_; })) {
    return processes;
  }
  std::vector<Process*> out;
  for (const auto& p : processes_) {
    if (chosen.count(p.get())) out.push_back(p.get());
  }
  return out;
}

// --- starting -----------------------------------------------------------------------------------

void Supervisor::StartAutostart(std::function<void()> launched) {
  // Nothing below wardend yet: its subtree's index starts empty, and the scans after exits read
  // only what was forked since (our own spawns cost a lookup each) instead of listing every
  // process once first.
  if (!index_.valid() && by_pid_.empty() && !system_.HasChildren()) {
    index_.Reset(
        system_.ReadPidCursor(), {}, [this](int pid) { return system_.ReadProcStat(pid); },
        IndexAnchor());
  }
  for (auto& process : processes_) {
    if (process->program().autostart) RequestStart(process.get(), nullptr, /*pump=*/false);
  }
  PumpStarts();
  if (!launched) return;
  if (launching()) {
    on_launched_ = std::move(launched);
  } else {
    launched();
  }
}

void Supervisor::StartOne(Process* process, std::function<void(ActionOutcome)> done) {
  RequestStart(process, std::move(done));
}

void Supervisor::RequestStart(Process* process, std::function<void(ActionOutcome)> done,
                              bool pump) {
  // Nobody waits for an autostart: no waiter is kept, and Launch then watches nothing.
  auto reply = [&done](ActionOutcome result) {
    if (done) done(std::move(result));
  };
  const std::string& name = process->full_name();
  if (shutting_down_) {
    reply({name, ErrorCode::kShuttingDown, "wardend is shutting down"});
    return;
  }
  if (process->removing()) {
    reply(Removed(name));
    return;
  }
  if (!process->start_pending_ && IsUp(process->machine().state())) {
    reply({name, ErrorCode::kAlreadyStarted, "already started"});
    return;
  }
  // What it depends on is started too, unless it is up or retrying on its own already.
  for (const std::string& dependency : Graph().Requirements(process->program().name)) {
    for (Process* q : ProcessesOf(dependency)) {
      const core::State s = q->machine().state();
      if (q->start_pending_ || !(IsStoppedState(s) || s == core::State::kStopping)) continue;
      SetPending(q, true);
      q->start_mark_ = ++marks_;
    }
  }
  if (!process->start_pending_) {
    SetPending(process, true);
    process->start_mark_ = ++marks_;
  }
  if (done) process->start_waiters_.push_back(std::move(done));
  if (pump) PumpStarts();
}

void Supervisor::PumpStarts() {
  // A slice is booked: it goes on from there, after the loop has served everyone else.
  if (pump_timer_ != 0) return;
  // Called again from within a launch (a state change): the pass under way goes round once
  // more instead.
  if (pumping_) {
    pump_again_ = true;
    return;
  }
  // Every launch that could be done is done (StartAutostart's `launched`).
  auto all_launched = [this] {
    if (!on_launched_) return;
    auto launched = std::move(on_launched_);
    on_launched_ = nullptr;
    launched();
  };
  if (pending_.empty()) return all_launched();
  struct TrimWhenDone {  // a start of many programs leaves freed memory behind
    Supervisor* s;
    ~TrimWhenDone() {
      s->pumping_ = false;
      if (s->pending_.empty()) s->loop_.TrimAfter();
    }
  } trim_when_done{this};
  pumping_ = true;
  const DependencyGraph& graph = Graph();
  // A launch can make a later process's dependencies RUNNING at once (startsecs 0): go round
  // until nothing moves. At most one slice of launches per turn of the loop: past it, the
  // rest waits for a timer due at once, which fires after the ready sources of the next
  // wakeup, and control requests, exits and timers are served in between.
  const EventLoop::TimePoint began = EventLoop::Now();
  int launched = 0;
  auto slice_spent = [&] {
    return launched >= launches_per_turn_ ||
           (launched > 0 && EventLoop::Now() - began >= kLaunchTimePerTurn);
  };
  bool progress = true;
  while (progress && !pending_.empty()) {
    progress = false;
    pump_again_ = false;
    if (!start_order_valid_) SortPending(graph);
    // What was launched or given up since is skipped from the front for good: a process that
    // is pending again made the order be sorted again.
    while (start_order_from_ < start_order_.size() &&
           !start_order_[start_order_from_]->start_pending_) {
      ++start_order_from_;
    }
    for (size_t i = start_order_from_; i < start_order_.size() && start_order_valid_; ++i) {
      Process* q = start_order_[i];
      if (!q->start_pending_) continue;
      if (slice_spent()) {
        pump_timer_ = loop_.AddTimer(EventLoop::Now(), [this] {
          pump_timer_ = 0;
          PumpStarts();
        });
        return;
      }
      if (q->predecessor_ != 0) {
        if (Find(q->predecessor_) != nullptr) {
          q->hold_reason_ = "waiting for the previous instance to stop";
          continue;
        }
        q->predecessor_ = 0;  // gone: this one may start
      }
      if (q->machine().state() == core::State::kStopping) {
        q->hold_reason_ = "waiting for the previous instance to stop";
        continue;
      }
      std::vector<DependencyState> deps;
      for (const std::string& program : graph.DependsOn(q->program().name)) {
        for (Process* r : ProcessesOf(program)) {
          deps.push_back({r->full_name(), r->machine().state(), r->start_pending_, r->reason(),
                          r->running_mark_ > q->start_mark_});
        }
      }
      StartVerdict verdict = JudgeStart(deps);
      switch (verdict.kind) {
        case StartVerdict::kWait:
          if (q->hold_reason_ != verdict.reason) {
            spdlog::info("{}: {}", q->full_name(), verdict.reason);
            q->hold_reason_ = verdict.reason;
          }
          break;
        case StartVerdict::kGo:
          SetPending(q, false);
          q->hold_reason_.clear();
          Launch(q);
          ++launched;
          progress = true;
          break;
        case StartVerdict::kFail: {
          spdlog::warn("{}: not started: {}", q->full_name(), verdict.reason);
          q->hold_reason_ = verdict.reason;
          CancelStart(q, {q->full_name(), ErrorCode::kAbnormalTermination, verdict.reason});
          progress = true;
          break;
        }
      }
    }
    if (pump_again_ || !start_order_valid_) progress = true;
  }
  pumping_ = false;  // what all_launched calls may start more
  all_launched();
}

void Supervisor::SortPending(const DependencyGraph& graph) {
  // Tier first, then processes_ order. One tier lookup per process, not one per comparison.
  std::vector<std::pair<std::pair<int, size_t>, Process*>> tiered;
  tiered.reserve(pending_.size());
  for (Process* p : pending_) {
    tiered.push_back({{graph.Tier(p->program().name), p->order_}, p});
  }
  std::sort(tiered.begin(), tiered.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  start_order_.clear();
  start_order_.reserve(tiered.size());
  for (const auto& [tier, p] : tiered) start_order_.push_back(p);
  start_order_from_ = 0;
  start_order_valid_ = true;
}

void Supervisor::Launch(Process* process) {
  auto waiters = std::make_shared<std::vector<std::function<void(ActionOutcome)>>>(
      std::move(process->start_waiters_));
  process->start_waiters_.clear();
  const std::string name = process->full_name();
  process->ApplyPendingProgram();  // it is not up: a definition that waited for its stop applies
  auto finish = [waiters](const ActionOutcome& r) {
    for (auto& waiter : *waiters) waiter(r);
  };
  ::warden::Status started = process->machine().Start(EventLoop::Now());
  if (!started.ok()) {
    finish({name, started.code(), started.message()});
    return;
  }
  if (waiters->empty()) return;
  // Start always changes the state (to STARTING at least), so the observer sees every step.
  process->Observe([process, name, finish](core::State state) {
    if (process->removing() && IsStoppedState(state)) {
      finish(Removed(name));
      return true;
    }
    switch (state) {
      case core::State::kStarting:
        return false;
      case core::State::kRunning:
        finish(Ok(name));
        return true;
      case core::State::kBackoff:
      case core::State::kFatal: {
        const std::string& reason = process->machine().reason();
        bool spawn = reason.rfind("spawn error", 0) == 0;
        finish({name, spawn ? ErrorCode::kSpawnError : ErrorCode::kAbnormalTermination, reason});
        return true;
      }
      default:
        finish({name, ErrorCode::kAbnormalTermination, process->machine().reason()});
        return true;
    }
  });
}

void Supervisor::CancelStart(Process* process, const ActionOutcome& result) {
  if (!process->start_pending_) return;
  SetPending(process, false);
  auto waiters = std::move(process->start_waiters_);
  process->start_waiters_.clear();
  for (auto& waiter : waiters) waiter(result);
}

void Supervisor::OnProcessChanged(Process* process, core::State to) {
  memory_watch_.Arm();  // a process with a memory_limit may have come up, or gone down
  if (to == core::State::kFatal && !shutting_down_) {
    // Its dependents cannot run without it: they are stopped, and say why.
    std::vector<Process*> dependents;
    for (const std::string& program : Graph().Dependents(process->program().name)) {
      for (Process* q : ProcessesOf(program)) {
        if (q->start_pending_ || IsSettledStopped(*q)) continue;  // PumpStarts fails pending ones
        dependents.push_back(q);
      }
    }
    if (!dependents.empty()) {
      const std::string& why = process->machine().reason();
      const std::string reason =
          "dependency " + process->full_name() + " is FATAL" + (why.empty() ? "" : ": " + why);
      for (Process* q : dependents) {
        spdlog::warn("{}: stopping: {}", q->full_name(), reason);
        q->hold_reason_ = reason;
      }
      StopTiers(dependents, [](std::vector<ActionOutcome>) {});
    }
  }
  PumpStarts();
}

namespace {

std::vector<uint64_t> IdsOf(const std::vector<Process*>& processes) {
  std::vector<uint64_t> ids;
  ids.reserve(processes.size());
  for (const Process* p : processes) ids.push_back(p->id());
  return ids;
}

}  // namespace

// Like supervisorctl: "all" and "group:*" pass over processes already in the wanted state;
// a process named on its own reports "already started" / "not running" instead.
void Supervisor::Start(const std::vector<std::string>& names, ResultsCallback done) {
  Resolved resolved = Resolve(names);
  DropSettled(&resolved, /*want_running=*/true);
  const JobTable::Id job = jobs_.Open(JobKind::kStart, IdsOf(resolved.processes));
  done = jobs_.Completion(job, std::move(done));
  const size_t total = resolved.unknown.size() + resolved.processes.size();
  if (total == 0) {
    done({});
    return;
  }
  auto collect = std::make_shared<Collect>();
  collect->results.resize(total);
  collect->remaining = total;
  collect->done = std::move(done);
  size_t slot = 0;
  for (const auto& name : resolved.unknown) {
    collect->Put(slot++, {name, ErrorCode::kNotFound, "no such process"});
  }
  for (Process* p : resolved.processes) {
    const size_t mine = slot++;
    // Dependents are not started with it: its result names those that stay stopped.
    std::string stay;
    for (const std::string& dependent : Graph().Dependents(p->program().name)) {
      for (Process* q : ProcessesOf(dependent)) {
        const bool named = std::find(resolved.processes.begin(), resolved.processes.end(), q) !=
                           resolved.processes.end();
        if (named || !IsSettledStopped(*q)) continue;
        stay += (stay.empty() ? "" : ", ") + q->full_name();
      }
    }
    RequestStart(
        p,
        [collect, mine, stay](ActionOutcome r) {
          if (r.code == ErrorCode::kOk && !stay.empty())
            r.message = "dependents still stopped: " + stay;
          collect->Put(mine, std::move(r));
        },
        /*pump=*/false);
  }
  PumpStarts();
}

// --- stopping -----------------------------------------------------------------------------------

void Supervisor::StopTiers(std::vector<Process*> processes, ResultsCallback done) {
  const DependencyGraph& graph = Graph();
  std::reverse(processes.begin(), processes.end());
  std::stable_sort(processes.begin(), processes.end(), [&](Process* a, Process* b) {
    return graph.Tier(a->program().name) > graph.Tier(b->program().name);
  });
  auto batch = std::make_shared<StopBatch>();
  batch->supervisor = this;
  for (Process* p : processes) {
    batch->ids.push_back(p->id());
    batch->names.push_back(p->full_name());
    batch->tiers.push_back(graph.Tier(p->program().name));
  }
  batch->results.resize(processes.size());
  batch->done = std::move(done);
  batch->cancel_start = [this](Process* p) {
    CancelStart(p, {p->full_name(), ErrorCode::kAbnormalTermination, "start cancelled by a stop"});
  };
  batch->later = [this](std::function<void()> fn) { Later(std::move(fn)); };
  batch->per_turn = launches_per_turn_;
  RunTiers(batch);
}

void Supervisor::Stop(const std::vector<std::string>& names, ResultsCallback done) {
  Resolved resolved = Resolve(names);
  DropSettled(&resolved, /*want_running=*/false);
  std::vector<ActionOutcome> unknown;
  for (const auto& name : resolved.unknown) {
    unknown.push_back({name, ErrorCode::kNotFound, "no such process"});
  }
  for (Process* p : resolved.processes) p->hold_reason_.clear();  // stopped on request now
  std::vector<Process*> stop = WithDependents(resolved.processes);
  // The dependents stopped with them say why, in their result and their status reason.
  auto because = std::make_shared<std::map<std::string, std::string>>();
  for (Process* p : stop) {
    if (std::find(resolved.processes.begin(), resolved.processes.end(), p) !=
        resolved.processes.end()) {
      continue;
    }
    for (Process* named : resolved.processes) {
      const std::vector<std::string> dependents = Graph().Dependents(named->program().name);
      if (std::find(dependents.begin(), dependents.end(), p->program().name) == dependents.end()) {
        continue;
      }
      (*because)[p->full_name()] = "depends on " + named->full_name();
      p->hold_reason_ = "stopped: depends on " + named->full_name();
      break;
    }
  }
  // A restart or update in flight that meant to start one of them afterwards does not now.
  for (Process* p : stop) ++p->stop_requests_;
  const JobTable::Id job = jobs_.Open(JobKind::kStop, IdsOf(stop));
  StopTiers(std::move(stop),
            jobs_.Completion(job, ResultsCallback([unknown, because, done = std::move(done)](
                                                      std::vector<ActionOutcome> results) {
                               for (ActionOutcome& r : results) {
                                 const auto why = because->find(r.name);
                                 if (why != because->end() && r.code == ErrorCode::kOk) {
                                   r.message = why->second;
                                 }
                               }
                               results.insert(results.begin(), unknown.begin(), unknown.end());
                               done(std::move(results));
                             })));
}

void Supervisor::Restart(const std::vector<std::string>& names, ResultsCallback done) {
  Resolved resolved = Resolve(names);
  // Dependents stopped on the way come back too, after their dependencies.
  const std::vector<Process*> stop = WithDependents(resolved.processes);
  std::vector<Process*> start;
  for (Process* p : stop) {
    const bool named = std::find(resolved.processes.begin(), resolved.processes.end(), p) !=
                       resolved.processes.end();
    if (named || !IsSettledStopped(*p)) start.push_back(p);
  }
  const JobTable::Id job = jobs_.Open(JobKind::kRestart, IdsOf(stop));
  done = jobs_.Completion(job, std::move(done));
  const size_t total = resolved.unknown.size() + start.size();
  if (total == 0) {
    done({});
    return;
  }
  auto collect = std::make_shared<Collect>();
  collect->results.resize(total);
  collect->remaining = total;
  collect->done = std::move(done);
  size_t slot = 0;
  for (const auto& name : resolved.unknown) {
    collect->Put(slot++, {name, ErrorCode::kNotFound, "no such process"});
  }
  if (shutting_down_) {
    for (Process* p : start) {
      collect->Put(slot++, {p->full_name(), ErrorCode::kShuttingDown, "wardend is shutting down"});
    }
    return;
  }
  for (Process* p : resolved.processes) p->hold_reason_.clear();
  StopThenStart(stop, start, [collect, first = slot](size_t i, ActionOutcome r) {
    collect->Put(first + i, std::move(r));
  });
}

void Supervisor::StopThenStart(std::vector<Process*> stop, std::vector<Process*> start,
                               std::function<void(size_t, ActionOutcome)> started) {
  // What is to start, by id: an update may remove any of them while the stops go on. Marked
  // until the stops are done, so that a re-execution meanwhile carries the start over, and an
  // update that changes one of them leaves its start to this restart.
  struct Planned {
    uint64_t id;
    std::string name;
    uint64_t stop_requests;  // a client's stop since then cancels the start
  };
  std::vector<Planned> planned;
  planned.reserve(start.size());
  for (Process* p : start) {
    ++p->start_after_stop_;
    planned.push_back({p->id(), p->full_name(), p->stop_requests_});
  }
  StopTiers(std::move(stop), [this, planned = std::move(planned),
                              started = std::move(started)](std::vector<ActionOutcome>) {
    for (const Planned& plan : planned) {
      if (Process* p = Find(plan.id)) --p->start_after_stop_;
    }
    for (size_t i = 0; i < planned.size(); ++i) {
      auto report = [&started, i](ActionOutcome r) {
        if (started) started(i, std::move(r));
      };
      Process* p = Find(planned[i].id);
      if (p == nullptr || p->removing()) {
        report(Removed(planned[i].name));
        continue;
      }
      if (p->stop_requests_ != planned[i].stop_requests) {
        report({p->full_name(), ErrorCode::kAbnormalTermination, "start cancelled by a stop"});
        continue;
      }
      if (!started) {
        RequestStart(p, nullptr, /*pump=*/false);
        continue;
      }
      RequestStart(
          p, [started, i](ActionOutcome r) { started(i, std::move(r)); }, /*pump=*/false);
    }
    PumpStarts();
  });
}

void Supervisor::Shutdown(std::function<void()> done) {
  shutting_down_ = true;
  std::vector<Process*> all;
  for (auto& p : processes_) {
    CancelStart(p.get(), {p->full_name(), ErrorCode::kShuttingDown, "wardend is shutting down"});
    ++p->stop_requests_;
    all.push_back(p.get());
  }
  const JobTable::Id job = jobs_.Open(JobKind::kShutdown, IdsOf(all));
  StopTiers(
      all,
      jobs_.Completion(
          job, ResultsCallback([done = std::move(done)](std::vector<ActionOutcome>) { done(); })));
}

}  // namespace warden
