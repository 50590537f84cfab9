// Supervisor: the set of supervised processes. It turns the config into Process objects (one per
// numprocs instance), connects each one's core::ProcessMachine to the real world (fork/exec,
// kill, the loop's timers), routes reaped pids to their machine, and carries out the control
// commands, answering through callbacks once their outcome is known.
//
// State-change notifications are never delivered inside a machine's own call: Process posts them
// to the event loop, which runs them right after the current event (no re-entrancy).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/config.h"
#include "config/diff.h"
#include "daemon/core/process_machine.h"
#include "daemon/event_loop.h"
#include "proto/messages.h"

namespace warden {

class Supervisor;

class Process final : public core::ProcessHost {
 public:
  Process(Supervisor& supervisor, std::shared_ptr<const config::Program> program,
          config::ProcessName name);
  ~Process() override;

  core::SpawnOutcome Spawn() override;
  void Kill(int pid, int signal, bool whole_group) override;
  void SetTimer(std::optional<core::TimePoint> deadline) override;
  void OnStateChange(core::State from, core::State to) override;

  core::ProcessMachine& machine() { return machine_; }
  const core::ProcessMachine& machine() const { return machine_; }
  const config::Program& program() const { return *program_; }
  // Takes a new definition of the same program: supervision settings apply from now on; the
  // running process keeps what it was started with until it is restarted.
  void Replace(std::shared_ptr<const config::Program> program);
  const config::ProcessName& name() const { return name_; }
  const std::string& full_name() const { return full_name_; }
  int64_t start_wall_ms() const { return start_wall_ms_; }
  int64_t stop_wall_ms() const { return stop_wall_ms_; }

  // Called (from the loop, after the change) with each new state until it returns true.
  using Observer = std::function<bool(core::State)>;
  void Observe(Observer observer) { observers_.push_back(std::move(observer)); }
  // Tells every observer the process reached `state` for good (it is being removed).
  void FinishObservers(core::State state) {
    auto observers = std::move(observers_);
    observers_.clear();
    for (auto& observer : observers) observer(state);
  }

 private:
  Supervisor& supervisor_;
  std::shared_ptr<const config::Program> program_;
  config::ProcessName name_;
  std::string full_name_;
  core::ProcessMachine machine_;
  EventLoop::TimerId timer_ = 0;
  int64_t start_wall_ms_ = 0;
  int64_t stop_wall_ms_ = 0;
  std::vector<Observer> observers_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

class Supervisor {
 public:
  using ResultsCallback = std::function<void(std::vector<proto::ActionResult>)>;

  Supervisor(EventLoop& loop, config::Config config);
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  EventLoop& loop() { return loop_; }
  const config::Config& config() const { return config_; }

  // Starts every autostart program in priority order.
  void StartAutostart();
  // Reaps every exited child and feeds the exits to their machines. Unknown pids (orphans
  // adopted as subreaper) are reaped and forgotten.
  void ReapChildren();

  struct Resolved {
    std::vector<Process*> processes;  // in priority order, no duplicates
    std::vector<bool> explicitly;     // per process: named itself, not through all/group:*
    std::vector<std::string> unknown;
  };
  // NAME forms: "all", "group:*", "group:name", "name" (a program or group name). Empty names
  // resolve to every process.
  Resolved Resolve(const std::vector<std::string>& names) const;

  proto::StatusReply Status(const std::vector<std::string>& names) const;
  void Start(const std::vector<std::string>& names, ResultsCallback done);
  void Stop(const std::vector<std::string>& names, ResultsCallback done);
  void Restart(const std::vector<std::string>& names, ResultsCallback done);
  std::vector<proto::ActionResult> Signal(const std::vector<std::string>& names, int signal);
  // 0 when the process is not running; nullopt when there is no such process.
  std::optional<int> Pid(const std::string& name) const;

  // Stops everything, highest priority number first, each tier waiting for the one before;
  // then calls done. Further start requests are refused.
  void Shutdown(std::function<void()> done);
  bool shutting_down() const { return shutting_down_; }

  // The config file in force, read again: what `reread` shows. Errors as FILE:LINE:COL lines.
  Result<std::vector<config::ProgramChange>> Reread() const;
  // Reads the config file again and applies it to the programs named (program or group names;
  // all when empty): starts added programs, stops and removes removed ones, restarts processes
  // whose process-shaping keys changed, applies supervision keys live, and leaves everything
  // else untouched. One result per program, once all of it is done. An invalid file changes
  // nothing: the error carries every problem.
  void Update(const std::vector<std::string>& names,
              std::function<void(::warden::Status, std::vector<proto::ActionResult>)> done);
  void set_reload_hooks(std::function<void()> begin, std::function<void()> end) {
    on_reload_begin_ = std::move(begin);
    on_reload_end_ = std::move(end);
  }

  // "3 running, 1 fatal" for sd_notify STATUS= and logs.
  std::string Summary() const;
  // Called after any state change (for STATUS= updates).
  void set_on_change(std::function<void()> fn) { on_change_ = std::move(fn); }

 private:
  friend class Process;
  void Track(int pid, Process* process) { by_pid_[pid] = process; }
  void Untrack(int pid) { by_pid_.erase(pid); }
  void NotifyChange();
  static void DropSettled(Resolved* resolved, bool want_running);
  void CountTransition(core::State from, core::State to) {
    state_counts_[from]--;
    state_counts_[to]++;
  }

  // Stops `processes` tier by tier (descending priority) and reports one result each.
  void StopTiers(std::vector<Process*> processes, ResultsCallback done);
  Process* AddProcess(std::shared_ptr<const config::Program> program, config::ProcessName name);
  // Stops the process (if it runs), then destroys it; calls done after.
  void RemoveProcess(Process* process, std::function<void()> done);
  void SortProcesses();
  void Apply(config::Config next, const std::vector<std::string>& programs, ResultsCallback done);

  // Starts one process and reports its outcome once known.
  void StartOne(Process* process, std::function<void(proto::ActionResult)> done);

  EventLoop& loop_;
  config::Config config_;
  std::vector<std::unique_ptr<Process>> processes_;  // priority order
  std::unordered_map<std::string, Process*> by_full_name_;
  std::unordered_map<int, Process*> by_pid_;
  std::map<core::State, int> state_counts_;  // kept current, so Summary() is O(states)
  bool shutting_down_ = false;
  std::function<void()> on_change_;
  std::function<void()> on_reload_begin_;
  std::function<void()> on_reload_end_;
};

}  // namespace warden
