// Supervisor: the set of supervised processes. It turns the config into Process objects (one per
// numprocs instance), connects each one's core::ProcessMachine to the real world (fork/exec,
// kill, the loop's timers), routes reaped pids to their machine, and carries out the control
// commands, answering through callbacks once their outcome is known.
//
// State-change notifications are never delivered inside a machine's own call: Process posts them
// to the event loop, which runs them right after the current event (no re-entrancy).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "config/config.h"
#include "config/diff.h"
#include "daemon/core/process_machine.h"
#include "daemon/logs/log_capture.h"
#include "daemon/os/aside_worker.h"
#include "daemon/os/event_loop.h"
#include "daemon/os/os.h"
#include "daemon/supervisor/cgroups.h"
#include "daemon/supervisor/dependencies.h"
#include "daemon/supervisor/event_bus.h"
#include "daemon/supervisor/health.h"
#include "daemon/supervisor/jobs.h"
#include "daemon/supervisor/memory_watch.h"
#include "daemon/supervisor/orphans.h"
#include "daemon/supervisor/process_record.h"
#include "daemon/supervisor/readiness.h"
#include "daemon/supervisor/reports.h"
#include "daemon/supervisor/saved_state.h"
#include "daemon/supervisor/subtree_index.h"

namespace warden {

class Supervisor;

class Process final : public core::ProcessHost {
 public:
  Process(Supervisor& supervisor, std::shared_ptr<const config::Program> program,
          config::ProcessName name);
  ~Process() override;

  core::SpawnOutcome Spawn() override;
  void Kill(int pid, int signal, bool whole_group) override;
  void Continue(int pid, bool whole_group) override;
  void SetTimer(std::optional<core::TimePoint> deadline) override;
  void OnStateChange(core::State from, core::State to) override;
  // The state change from -> to as an event (daemon/control/events.h); process_tree.cc.
  StateChange EventFor(core::State from, core::State to) const;
  // Leftovers, jitter: daemon/supervisor/process_tree.cc.
  bool HasLeftovers() override;
  void KillLeftovers(int signal) override;
  double Random() override;

  core::ProcessMachine& machine() { return machine_; }
  const core::ProcessMachine& machine() const { return machine_; }
  const config::Program& program() const { return *program_; }
  // Takes a new definition of the same program: supervision settings apply from now on; the
  // running process keeps what it was started with until it is restarted.
  void Replace(std::shared_ptr<const config::Program> program);
  // Installs pending_program_, if any (the process is not up).
  void ApplyPendingProgram();
  const config::ProcessName& name() const { return name_; }
  const std::string& full_name() const { return full_name_; }
  // Its identity for jobs and callbacks that outlive a loop turn: never reused within one
  // wardend (a program removed and added again is a new process with a new id). Whoever keeps
  // it looks the process up again (Supervisor::Find) on every use.
  uint64_t id() const { return id_; }
  // An update removed it: it is being stopped and will then be destroyed. Nothing starts it,
  // no name resolves to it, and a job that waits for it ends for it with "removed by update".
  bool removing() const { return removing_; }
  // Removing, and its stop not asked for yet: it waits for a slice of StopQueued.
  bool removal_queued() const { return removal_queued_; }
  ProcessLogs& logs() { return logs_; }
  int64_t start_wall_ms() const { return start_wall_ms_; }
  int64_t stop_wall_ms() const { return stop_wall_ms_; }

  // Called (from the loop, after the change) with each new state until it returns true. An
  // observer lives inside its process, so it may use the process; anything else keeps ids.
  using Observer = std::function<bool(core::State)>;
  void Observe(Observer observer) { observers_.push_back(std::move(observer)); }
  // Tells every observer the process reached `state` for good (it is being removed).
  void FinishObservers(core::State state) {
    auto observers = std::move(observers_);
    observers_.clear();
    for (auto& observer : observers) observer(state);
  }

  // A start was requested and waits for the program's dependencies (see dependencies.h).
  bool start_pending() const { return start_pending_; }
  // A restart is under way: the process is to be started once its stop (and the stops of the
  // restart before it) completes.
  bool start_after_stop() const { return start_after_stop_ > 0; }
  // Why the process is held STOPPED by its dependencies ("waiting for db", "dependency db is
  // FATAL: ..."); empty when nothing holds it. Cleared when it starts or is stopped by request.
  const std::string& hold_reason() const { return hold_reason_; }
  // Why it is in its state, as status and events say it: the hold reason while it is held
  // STOPPED (rather than "Stopped"), else its machine's reason; a memory restart's
  // (MemoryReason) while it is under way and while the instance it started lives.
  std::string reason() const;
  // The last STATUS= line the process sent to its notify socket, while it lives.
  const std::string& status_text() const { return status_text_; }
  // The health check's state while RUNNING with a healthcheck ("healthy", "unhealthy 1/3:
  // http://...: 503", "starting"); empty otherwise.
  std::string HealthText() const { return health_ ? health_->Describe() : std::string(); }
  // memory_limit (memory_watch.h): "restarting: memory 212M over memory_limit 200M" while its
  // memory restart is under way, "restarted: ..." while the instance it started lives; else "".
  std::string MemoryReason() const;
  bool memory_restart_pending() const { return memory_restart_pending_; }
  // Its memory_limit is watched through its cgroup's memory.events (memory_watch.h), not by
  // the interval check.
  bool memory_by_events() const { return memory_by_events_; }

 private:
  friend class Supervisor;  // the start and stop bookkeeping below is the Supervisor's
  Supervisor& supervisor_;
  std::shared_ptr<const config::Program> program_;
  // A definition that changed a process-shaping key while the process was up: it takes effect
  // once the process has stopped, before anything starts it again (ApplyPendingProgram).
  std::shared_ptr<const config::Program> pending_program_;
  config::ProcessName name_;
  std::string full_name_;
  uint64_t id_ = 0;
  bool removing_ = false;
  bool removal_queued_ = false;
  // The id of the removed process of the same name that must stop before this one may start.
  uint64_t predecessor_ = 0;
  // Stops requested by a client or shutdown (not by a restart): a restart or an update that
  // planned to start the process afterwards does not when this moved meanwhile.
  uint64_t stop_requests_ = 0;
  ProcessLogs logs_;
  core::ProcessMachine machine_;
  EventLoop::TimerId timer_ = 0;
  int64_t start_wall_ms_ = 0;
  int64_t stop_wall_ms_ = 0;
  std::vector<Observer> observers_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  bool start_pending_ = false;
  size_t order_ = 0;  // its index in Supervisor::processes_ (Supervisor::Renumber)
  // Marks from one supervisor-wide counter, so that "RUNNING since that start was asked" is a
  // comparison: taken when the process last became RUNNING, and when its start was requested.
  uint64_t running_mark_ = 0;
  uint64_t start_mark_ = 0;
  int start_after_stop_ = 0;  // restarts under way that will start it
  std::string hold_reason_;
  std::vector<std::function<void(ActionOutcome)>> start_waiters_;

  // Readiness (daemon/supervisor/readiness.h, process_tree.cc): the watch of the current spawn.
  std::optional<core::SpawnError> PrepareReadiness(os::SpawnSpec* spec);
  std::unique_ptr<ReadinessWatch> readiness_;
  std::string status_text_;
  ReadinessWatch::Callbacks ReadinessCallbacks();
  // Health checks (daemon/supervisor/health.h, process_tree.cc): while RUNNING, when configured.
  void StartHealthChecks();
  // watchdog_sec (process_tree.cc): a deadline while RUNNING, moved by each WATCHDOG=1.
  void ArmWatchdog();
  void StopWatchdog();
  EventLoop::TimerId watchdog_timer_ = 0;
  std::unique_ptr<HealthMonitor> health_;
  uint64_t serial_ = 0;  // unique per wardend, names the notify socket
  // Leftovers (daemon/supervisor/orphans.h): what this process owns beyond its main process, as of
  // the last scan of wardend's subtree (updated by every scan, hence mutable).
  mutable ProcessClaim claim_;
  mutable size_t tree_slot_ = 0;        // its index in Supervisor::tree_ after a scan
  mutable bool tree_complete_ = false;  // that scan saw all of its processes
  // The signal the current cleanup sends, and to whom it went (pid -> start ticks), so that a
  // leftover found later (a daemon's grandchild) gets it too, and nobody gets it twice.
  int leftover_signal_ = 0;
  std::unordered_map<int, uint64_t> signalled_;
  // The cgroup its processes are in (cgroups.h): the folder, while one is in use; empty when
  // it is tracked through /proc (no cgroup2, or its folder could not be made).
  std::string cgroup_;
  bool in_cgroup_ = false;             // its latest spawn went into a cgroup
  uint64_t main_start_ticks_ = 0;      // the live main process's start (ProcStat::start_ticks)
  uint64_t cgroup_cpu_base_usec_ = 0;  // its cgroup's cpu.stat usage_usec at the spawn
  // Processes an earlier wardend left in its cgroup, left alone (warden.on_leftovers: leave):
  // it does not start while they run.
  std::vector<int> foreign_pids_;
  // The same, found through the record of tracked processes (process_record.h).
  std::vector<os::ProcStat> foreign_processes_;
  // Whether an earlier wardend's processes hold it back (on_leftovers: leave): the error its
  // start gets, or nothing once they are all gone (and out of the record).
  std::optional<core::SpawnError> HeldByForeign();
  // Events (daemon/control/events.h): the pid of the latest spawn (0 while one is being attempted)
  // and how many succeeded, to name the process a state change concerns.
  int last_pid_ = 0;
  uint64_t spawn_count_ = 0;
  // memory_limit (memory_watch.cc): why the last memory restart happened; whether it is under
  // way (stopping, not yet spawned again), the stop requests then (a client's stop since then
  // cancels it), and the spawn it started (MemoryReason says "restarted" while that one lives).
  std::string memory_note_;
  bool sent_kill_ = false;  // wardend sent SIGKILL to the current main process (not an OOM kill)
  // An entry of Supervisor::exits_expected_ names it: at most one each, so that a client
  // signalling a process again and again adds nothing until the next reap.
  bool exit_expected_ = false;
  bool memory_restart_pending_ = false;
  uint64_t memory_restart_stops_ = 0;
  uint64_t memory_note_spawn_ = 0;
  void NoteSpawnForMemory();
  // Sets its cgroup's memory.high for memory_limit and watches memory.events, where the memory
  // controller is enabled (at its spawn, when its definition changes, after a re-execution).
  void ApplyMemoryHigh();
  bool memory_by_events_ = false;
  uint64_t memory_high_seen_ = 0;  // memory.events `high` when last looked at
};

class Supervisor {
 public:
  using ResultsCallback = std::function<void(std::vector<ActionOutcome>)>;

  // `system` is the operating system the processes live in: the kernel, or a simulation's.
  Supervisor(EventLoop& loop, config::Config config, os::System& system = os::RealSystem());
  // Destroys the processes first: their destructors answer the start waiters they hold, whose
  // jobs, and the pid table, must still exist then.
  ~Supervisor();
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  EventLoop& loop() { return loop_; }
  os::System& system() const { return system_; }
  // The process with this id (Process::id()), removing ones included; null once destroyed.
  Process* Find(uint64_t id) const {
    auto it = by_id_.find(id);
    return it == by_id_.end() ? nullptr : it->second;
  }
  // Every process, in priority order, removing ones included (for checks and tests).
  const std::vector<std::unique_ptr<Process>>& processes() const { return processes_; }
  // The control operations in flight (daemon/supervisor/jobs.h).
  const JobTable& jobs() const { return jobs_; }
  // The memory_limit checks (memory_watch.h).
  const MemoryWatch& memory_watch() const { return memory_watch_; }
  // Processes removed by an update that are still stopping.
  size_t removing_count() const;
  // Stops an update asked for that wait for their slice (QueueStop): a re-execution waits for
  // them (the new image would not know to restart those processes).
  size_t queued_stop_count() const { return queued_stops_.size(); }
  // Program output capture: pipes, log files, tail -f (daemon/logs/log_capture.h).
  LogCapture& logs() { return log_capture_; }
  const config::Config& config() const { return config_; }

  // Starts every autostart program (and what it depends on), dependencies first. The spawns
  // go in slices (PumpStarts), so `launched` (may be null) is called once every process that
  // could be launched has been: at once when that is all of them, else from a later turn.
  void StartAutostart(std::function<void()> launched = nullptr);
  // Spawns done in one turn of the loop before the rest waits for the next turn, so that the
  // control socket, exits and timers are served in between: at most this many, or as many as
  // kLaunchTimePerTurn allows (the first always goes).
  static constexpr int kLaunchesPerTurn = 64;
  static constexpr std::chrono::milliseconds kLaunchTimePerTurn{5};
  // Fewer per slice (the simulation's small configs then start in several slices too).
  void set_launches_per_turn(int count) { launches_per_turn_ = count; }
  // Launches wait for a later turn of the loop (a slice of them is booked).
  bool launching() const { return pump_timer_ != 0; }
  // Reaps exited children and feeds the exits to their machines, or to the callback WatchChild
  // gave for it. Other pids (orphans adopted as subreaper) are reaped and forgotten. A slice per
  // call, as launches go (kLaunchesPerTurn, kLaunchTimePerTurn: an exit may spawn again at
  // once): the rest stay zombies, their pids held, until a timer due at once reaps on, after
  // the loop has served everyone else. A kill -9 of 10,000 programs is no deaf second.
  void ReapChildren();
  void set_reaps_per_turn(int count) { reaps_per_turn_ = count; }
  // While the exits ReapChildren expects (the stops it sent) come in, the walk over every child
  // for other zombies is done at most this often (see ReapChildren).
  static constexpr std::chrono::milliseconds kReapWalkGap{50};
  // A child wardend started for itself (no program's process): `on_exit` gets its exit status
  // once ReapChildren reaps it.
  void WatchChild(int pid, std::function<void(core::ExitStatus)> on_exit) {
    watched_[pid] = std::move(on_exit);
  }

  struct Resolved {
    std::vector<Process*> processes;  // in priority order, no duplicates
    std::vector<bool> explicitly;     // per process: named itself, not through all/group:*
    std::vector<std::string> unknown;
  };
  // NAME forms: "all", "group:*", "group:name", "name" (a program or group name). Empty names
  // resolve to every process.
  Resolved Resolve(const std::vector<std::string>& names) const;

  StatusReport Status(const std::vector<std::string>& names) const;
  void Start(const std::vector<std::string>& names, ResultsCallback done);
  void Stop(const std::vector<std::string>& names, ResultsCallback done);
  void Restart(const std::vector<std::string>& names, ResultsCallback done);
  std::vector<ActionOutcome> Signal(const std::vector<std::string>& names, int signal);
  // 0 when the process is not running. NOT_FOUND for a name that matches nothing,
  // INVALID_ARGUMENT for one that matches several processes (as TAIL refuses it).
  Result<int> Pid(const std::string& name) const;
  // Whether some process of `program` is STARTING or RUNNING: an update that changes its
  // process-shaping keys restarts those, and otherwise applies at the next start (REREAD).
  bool AnyUp(const std::string& program) const;

  // Stops everything, dependents before their dependencies and highest priority number first,
  // each tier waiting for the one before; then calls done. Further start requests are refused.
  void Shutdown(std::function<void()> done);
  bool shutting_down() const { return shutting_down_; }

  // The config file in force, read again: what `reread` shows. Errors as FILE:LINE:COL lines.
  // The file is read aside (ReadConfig), so `done` runs in a later turn of the loop.
  void Reread(std::function<void(Result<std::vector<config::ProgramChange>>)> done);
  // Reads the config file again (aside) and applies it to the programs named (program or group
  // names; all when empty): starts added programs, stops and removes removed ones, restarts
  // processes whose process-shaping keys changed, applies supervision keys live, and leaves
  // everything else untouched. One result per program, once all of it is done. An invalid file
  // changes nothing: the error carries every problem. A shutdown begun while the file was read
  // ends the update before it changes anything (SHUTTING_DOWN).
  void Update(const std::vector<std::string>& names,
              std::function<void(::warden::Status, std::vector<ActionOutcome>)> done);
  // Where the config file is read for Reread and Update: on the worker's thread, so that a file
  // of 10,000 programs (about a second of parsing) does not hold the loop. Null (the default,
  // and the simulation's): read in the caller, at once.
  void UseAsideWorker(AsideWorker* worker) { aside_ = worker; }
  void set_reload_hooks(std::function<void()> begin, std::function<void()> end) {
    on_reload_begin_ = std::move(begin);
    on_reload_end_ = std::move(end);
  }

  // "3 running, 1 fatal" for sd_notify STATUS= and logs.
  std::string Summary() const;
  // Every state change of every process, in order (EVENTS, WAIT).
  EventBus& events() { return events_; }
  // Called after any state change (for STATUS= updates).
  void set_on_change(std::function<void()> fn) { on_change_ = std::move(fn); }
  // Called when a process goes FATAL and warden.exit_on_fatal is set: main shuts down, exit 1.
  void set_on_exit_on_fatal(std::function<void()> fn) { on_exit_on_fatal_ = std::move(fn); }
  // A process went FATAL (failure_hooks.cc): starts its program's on_fatal, then warden.on_fatal
  // (each a child of wardend, watched and reaped, never waited for), then exit_on_fatal.
  void OnFatal(const Process& process);

  // Re-execution of wardend (daemon/reexec/reexec.h; daemon/reexec/reexec_state.cc). SaveState:
  // every process (machine, counters, deadlines, leftovers, readiness fds) and every log pipe, into
  // `state`. RestoreState, in the new image right after construction from the same config: takes
  // them over (same pids, no spawn, no signal); returns one line per thing it could not restore.
  void SaveState(DaemonState* state) const;
  std::vector<std::string> RestoreState(const DaemonState& state);

  // The cgroup v2 backend (cgroups.h): from now on each process starts in a cgroup of its own.
  // Call before anything starts; without it processes are tracked through /proc (orphans.h).
  void UseCgroups(std::unique_ptr<CgroupTree> cgroups);
  bool tracks_by_cgroup() const { return cgroups_ != nullptr; }
  // The record of the processes tracked through /proc (process_record.h), in the file `path`:
  // from now on each one is written down as it comes and goes. `resume` after a re-execution
  // (the file is this wardend's); else HandleLeftovers reads it, then starts it afresh.
  void UseRecord(const std::string& path, bool resume);
  const ProcessRecord* record() const { return record_.get(); }
  // After a re-execution (and AdoptCgroups): the restored main processes tracked through /proc
  // go into the record if it lacks them (an image without a record ran before).
  void RecordRestored();
  // At a fresh start (not a re-execution): the processes an earlier wardend on the same config
  // left in its cgroups, or left behind and recorded (process_record.h), killed or left alone
  // per warden.on_leftovers, and said in the log.
  void HandleLeftovers();
  // After a re-execution: the processes restored take their cgroups back.
  void AdoptCgroups();
  // For memory limits: the memory of a process's cgroup in bytes (memory.current), nullopt
  // when it has no cgroup or the memory controller is not enabled there (then the /proc sum
  // is the figure); and whether a memory.max can be set on it.
  std::optional<uint64_t> CgroupMemoryBytes(const Process& process) const;
  bool CanSetMemoryMax(const Process& process) const;
  // Whether memory_max can be set at all: cgroups in use, with the memory controller enabled
  // for the processes' folders.
  bool MemoryMaxEnforceable() const;
  // The folder of a process's cgroup while one is in use, else "".
  const std::string& CgroupOf(const Process& process) const { return process.cgroup_; }

 private:
  friend class Process;
  friend class MemoryWatch;  // measures the processes' trees (ScanTree, MainOf, MembersOf)
  // Restarts `process` alone, gracefully (stop, then start), because of its memory: `why` is
  // "memory 212M over memory_limit 200M" (memory_watch.cc).
  void RestartForMemory(Process* process, const std::string& why);
  // The live main processes by pid, each with its /proc/PID/stat kept open (os::OpenProcStat)
  // while wardend has fds to spare: the scans behind status read it with one pread.
  void Track(int pid, Process* process);
  void Untrack(int pid) {
    by_pid_.erase(pid);
    index_.ParentGone(pid);
    FactsChanged();
  }
  std::optional<os::ProcStat> ReadStat(int pid) const;
  // One reaped pid to its machine or watcher (ReapChildren); notes an orphan's.
  void ReapOne(const os::Reaped& reaped, bool* orphan_reaped);
  // One scan for a batch of exits of processes tracked through /proc, before ReapOne sees them:
  // each exit asks what its main process left (HasLeftovers, the record), and a scan costs
  // every process's claim, so a scan an exit made a stop of N programs cost N scans.
  void ScanBeforeExits(const std::vector<os::Reaped>& reaped);
  // The main process of `process` has just ended (reaped): its claim remembers when it lived.
  void NoteMainEnded(Process* process);
  void NotifyChange();
  static void DropSettled(Resolved* resolved, bool want_running);
  void CountTransition(core::State from, core::State to) {
    state_counts_[from]--;
    state_counts_[to]++;
  }

  // Runs `fn` in a later turn of the loop, from a timer due at once (after the ready sources of
  // the next wakeup): the next slice of a long piece of work. Dropped with the supervisor.
  void Later(std::function<void()> fn);

  // --- starting and stopping with dependencies (operations.cc) ---
  // Stops `processes` tier by tier (dependents and high priority numbers first, see
  // dependencies.h) and reports one result each. A pending start among them is cancelled.
  void StopTiers(std::vector<Process*> processes, ResultsCallback done);
  // The depends_on graph of the programs in processes_, rebuilt when that set changes.
  const DependencyGraph& Graph() const;
  std::vector<Process*> ProcessesOf(const std::string& program) const;
  // `processes` plus every process of a program that depends on one of theirs (directly or
  // not) and is not settled in STOPPED/EXITED/FATAL; in processes_ order.
  std::vector<Process*> WithDependents(const std::vector<Process*>& processes) const;
  // Requests the start of `process` and of what it depends on; the requests wait in
  // start_pending until their dependencies are RUNNING (PumpStarts).
  // `pump` false: the caller requests several starts and calls PumpStarts() once after the last,
  // so that no process of the set is launched (as another's dependency) before its own request
  // has joined its waiters; else it would answer "already started" to its own request.
  void RequestStart(Process* process, std::function<void(ActionOutcome)> done, bool pump = true);
  // Starts every pending process whose dependencies are RUNNING, fails those whose
  // dependencies failed, and notes why the others wait.
  void PumpStarts();
  void Launch(Process* process);
  void CancelStart(Process* process, const ActionOutcome& result);
  // After every state change of `process` (posted, never inside its machine).
  void OnProcessChanged(Process* process, core::State to);

  // --- what the programs started, beyond their main processes (process_tree.cc) ---
  // One scan of wardend's subtree, attributed to the processes (orphans.h); kept until the
  // current event-loop callback returns, and dropped when children are reaped. It always reads
  // what programs lost (wardend's children that are no main process), and below the live main
  // processes of `wanted` only (all of them when null): the leftover check after an exit, or a
  // status of one program, costs what it asks about, not every program's processes. A process's
  // members and main are known after a scan that wanted it, or when its main process is gone.
  void ScanTree(const std::vector<Process*>* wanted) const;
  // Scans for `process` unless the current scan already saw all of it.
  void ScanFor(const Process* process) const;
  const std::vector<os::ProcStat>& MembersOf(const Process* process) const;
  std::optional<os::ProcStat> MainOf(const Process* process) const;
  // Tells each process whose leftovers are being stopped, and that has none left, so. After an
  // orphan was reaped, also looks for leftovers of programs whose main process is gone that
  // could not be seen before (an exiting parent hides its children's names).
  void CheckCleanups(bool orphan_reaped);
  // The same for one process (its members scanned already, or read from its cgroup).
  void CheckCleanupOf(Process* process, bool orphan_reaped);
  Process* AddProcess(std::shared_ptr<const config::Program> program, config::ProcessName name);
  // Marks the process removing at once, then (in slices, QueueStop) stops it if it runs and
  // destroys it (Destroy); calls done after.
  void RemoveProcess(Process* process, std::function<void()> done);
  // Stops that an update asks for in bulk (its removals, the restarts of changed programs) wait
  // in one queue and are asked for a slice per turn, as launches go (kLaunchesPerTurn,
  // kLaunchTimePerTurn), from the next turn on: an update that removes or restarts 5000
  // processes sends 5000 signals over many turns, with the control socket served in between.
  // Each entry looks its process up again and returns whether it asked a stop (what counts
  // against the slice).
  void QueueStop(std::function<bool()> stop);
  void StopQueued();
  // Books the next slice of StopQueued, in a later turn of the loop (Later), unless one is.
  void BookStops();
  // Destroys the removed process `id` once the current event is over (never inside its own
  // notification), together with every other one destroyed in the same turn: one pass over
  // processes_ for all of them, not one each (O(N) per removal made a removal of N/2 O(N^2)).
  void Destroy(uint64_t id, std::function<void()> done);
  void DestroyDoomed();
  void SortProcesses();
  void Apply(config::Config next, const std::vector<std::string>& programs, ResultsCallback done);
  // The config file read aside (aside_, or at once without one), handed to `then` on the loop.
  void ReadConfig(std::function<void(config::LoadResult)> then);
  // Update's second half, once the file is read.
  void ApplyRead(const std::vector<std::string>& names, config::LoadResult loaded,
                 std::function<void(::warden::Status, std::vector<ActionOutcome>)> done);

  // A restart: stops `stop` tier by tier, then requests the start of `start` (some of them),
  // calling started(i, result) with the outcome of start[i] (may be null).
  void StopThenStart(std::vector<Process*> stop, std::vector<Process*> start,
                     std::function<void(size_t, ActionOutcome)> started);

  // Starts one process (after what it depends on) and reports its outcome once known.
  void StartOne(Process* process, std::function<void(ActionOutcome)> done);

  EventLoop& loop_;
  os::System& system_;
  LogCapture log_capture_{loop_};  // before the processes, whose logs it feeds
  config::Config config_;
  std::vector<std::unique_ptr<Process>> processes_;         // priority order
  std::unordered_map<std::string, Process*> by_full_name_;  // not the removing ones
  std::unordered_map<uint64_t, Process*> by_id_;
  uint64_t next_id_ = 0;
  JobTable jobs_;
  struct Tracked {
    Process* process = nullptr;
    UniqueFd stat;  // invalid when none was kept
  };
  std::unordered_map<int, Tracked> by_pid_;
  std::unordered_map<int, std::function<void(core::ExitStatus)>> watched_;  // WatchChild
  std::map<core::State, int> state_counts_;  // kept current, so Summary() is O(states)
  bool shutting_down_ = false;
  std::function<void()> on_change_;
  std::function<void()> on_exit_on_fatal_;
  std::function<void()> on_reload_begin_;
  std::function<void()> on_reload_end_;
  EventBus events_;
  // The processes with start_pending_ set: PumpStarts goes over these, not over every process,
  // after each state change and start request.
  std::unordered_set<Process*> pending_;
  void SetPending(Process* process, bool pending);
  // pending_ in launch order (tier, then processes_ order), kept between PumpStarts' slices:
  // sorted again only once a process became pending or the programs changed, not for every
  // slice (a slice is a few launches at 5 ms: sorting 10,000 pending ones each time made a
  // start of N cost O(N^2 log N)). Entries before start_order_from_ are no longer pending.
  std::vector<Process*> start_order_;
  size_t start_order_from_ = 0;
  bool start_order_valid_ = false;
  void SortPending(const DependencyGraph& graph);
  // PumpStarts is under way (a launch's state change calls it again: pump_again_ instead).
  bool pumping_ = false;
  bool pump_again_ = false;
  // Process::order_ again for every process, after processes_ was reordered or shrank.
  void Renumber();
  // The next slice of launches (PumpStarts), a timer due at once; 0 when none is booked.
  EventLoop::TimerId pump_timer_ = 0;
  int launches_per_turn_ = kLaunchesPerTurn;
  // Later's timer (0 when none is booked) and what it runs.
  EventLoop::TimerId later_timer_ = 0;
  std::vector<std::function<void()>> later_;
  // Stops still to be asked for (QueueStop), in order; whether a later slice of them is booked.
  std::deque<std::function<bool()>> queued_stops_;
  bool stops_booked_ = false;
  // Removed processes to destroy after the current event (Destroy); whether that is posted.
  std::vector<std::pair<uint64_t, std::function<void()>>> doomed_;
  bool destroy_posted_ = false;
  // The next slice of reaps (ReapChildren), a timer due at once; 0 when none is booked.
  EventLoop::TimerId reap_timer_ = 0;
  // Main processes sent a signal to end them (Process::Kill), oldest first: ReapChildren asks
  // for these by pid before it asks for any child (os::ReapAll's `likely`), so that the reaps
  // of a stop of N cost O(N), not O(N^2). A pid is dropped once reaped, or once its process
  // is no longer stopping it; one not exited yet goes to the back.
  struct ExpectedExit {
    int pid;
    uint64_t id;  // its Process
  };
  std::deque<ExpectedExit> exits_expected_;
  EventLoop::TimePoint last_walk_{};   // the latest walk (waitpid(-1)) of ReapChildren
  EventLoop::TimerId walk_timer_ = 0;  // the walk left out, booked kReapWalkGap after the last
  // Up to `count` of exits_expected_ that may still come, taken off its front.
  std::vector<int> TakeExpectedExits(size_t count);
  // The ones of `tried` that were not reaped go back, at the end.
  void ReturnExpectedExits(const std::vector<int>& tried, const std::vector<os::Reaped>& reaped);
  int reaps_per_turn_ = kLaunchesPerTurn;
  std::function<void()> on_launched_;  // StartAutostart's `launched`
  uint64_t marks_ = 0;                 // Process::running_mark_ and start_mark_
  mutable bool tree_valid_ = false;
  // Main processes reaped in the batch ScanBeforeExits scans for: gone, as after their exit.
  std::unordered_set<int> exiting_;
  mutable Attribution tree_;
  // What of wardend's subtree is not a main process, kept between scans (subtree_index.h): a
  // scan for some processes reads what was forked since the last one, not wardend's children.
  mutable SubtreeIndex index_;
  SubtreeIndex::Anchor IndexAnchor() const;
  // The processes a scan for the live main processes `descend` needs: those mains, what is
  // below them, and what is below wardend but below no main process.
  std::vector<os::ProcStat> LookBelow(const std::unordered_set<int>& descend,
                                      const os::StatReader& read) const;

  // --- the kernel facts status shows (process_tree.cc) ---
  // What the last whole status read from /proc, by processes_ index: each main process's state
  // letter, cpu and rss, and each process's members. Status reuses them for up to
  // warden.status_max_age, unless something wardend sees happens first (a child's exit, stop
  // or continue, a state change, a signal it sends, a process added or removed: FactsChanged).
  // At most one whole /proc read per max age, however many clients ask.
  struct KernelFacts {
    char state = 0;  // 0: no main process was seen
    uint64_t cpu_ms = 0;
    uint64_t memory_bytes = 0;
  };
  // A process's figures: its main process's state letter; cpu and memory from its cgroup where
  // it has one (cpu.stat's usage_usec since its spawn: every process of the cgroup, the exited
  // ones included; memory.current where the memory controller is enabled), else its main
  // process's (utime + stime, rss).
  // `memory_controller`: the memory controller is enabled for the processes' folders
  // (MemoryMaxEnforceable, asked once for a whole status): else memory.current is not there,
  // and not looked for.
  KernelFacts FactsOf(const Process& process, const os::ProcStat& main,
                      bool memory_controller) const;
  void FactsChanged() { facts_valid_ = false; }
  bool FactsFresh(core::TimePoint now) const;
  void KeepFacts(core::TimePoint now) const;
  mutable bool facts_valid_ = false;
  mutable core::TimePoint facts_taken_{};
  mutable std::vector<KernelFacts> facts_main_;
  mutable std::vector<uint32_t> facts_members_begin_;  // one more than facts_main_
  mutable std::vector<ChildReport> facts_members_;
  uint64_t next_serial_ = 0;
  std::mt19937_64 random_{system_.RandomSeed()};
  // --- the cgroup v2 backend (process_tree.cc) ---
  std::unique_ptr<CgroupTree> cgroups_;
  AsideWorker* aside_ = nullptr;  // UseAsideWorker
  // cgroup.events of a process's cgroup changed: its leftovers may be gone, its cgroup empty.
  void OnCgroupChange(uint64_t id);
  // memory.events of a process's cgroup changed: past memory.high, it is restarted for its
  // memory_limit (memory_watch.cc).
  void OnMemoryEvent(uint64_t id);
  // Removes the cgroup of a process that is down, has no leftover being stopped, and is empty.
  void MaybeRemoveCgroup(Process* process);
  // HandleLeftovers, per backend.
  void HandleCgroupLeftovers();
  void HandleRecordedLeftovers();
  // --- the record of tracked processes (process_record.h; process_tree.cc) ---
  std::unique_ptr<ProcessRecord> record_;
  // After a scan that saw all of `process` (tracked through /proc): its members not yet
  // recorded are added, the ones its claim knew that are gone removed.
  void RecordMembers(const Process& process, const std::vector<os::ProcStat>& members) const;
  // A process's members read from its cgroup.procs (the main process left out).
  std::vector<os::ProcStat> CgroupMembers(const Process* process) const;
  // Graph() builds again only after the set of programs or a definition changed: a scan of
  // every process per start request made starting N programs cost O(N^2).
  void GraphChanged() {
    graph_dirty_ = true;
    limits_dirty_ = true;
    start_order_valid_ = false;
  }
  // Whether some process (not being removed) has a memory_limit: MemoryWatch asks after every
  // state change, and a scan of every process for it cost each restart O(N).
  bool AnyMemoryLimit() const;
  mutable bool limits_dirty_ = true;
  mutable bool any_memory_limit_ = false;
  mutable bool graph_dirty_ = true;
  mutable DependencyGraph graph_;
  mutable std::vector<DependencyGraph::Program> graph_input_;  // what graph_ was built from
  MemoryWatch memory_watch_{*this};
  // The machine's OOM kills as last read (os::System::OomKillCount): a SIGKILL exit wardend did
  // not cause, with the count risen since, is reported as the OOM killer's (memory_watch.cc).
  std::optional<uint64_t> oom_kills_ = system_.OomKillCount();
  void NoteOomKill(Process* process, int pid, core::ExitStatus* status);
};

}  // namespace warden
