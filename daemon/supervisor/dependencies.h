// Program dependencies (depends_on) as data: the graph between program names, the order it
// implies for starting and stopping, and the rule that decides when a process whose start was
// requested may go. No syscalls, no event loop: the Supervisor feeds it states and acts on the
// answers.
//
// The rules:
//   - a process starts only once every process of every program it depends on has been RUNNING
//     (not merely spawned) since its start was requested: is RUNNING now, or was and is
//     restarting on its own (STARTING or BACKOFF after a crash), as a systemd start job waits
//     for its dependencies' start jobs, not for all of them to be up at one instant (a
//     dependency with several instances that keep crashing would never be); starting a
//     program first requests the start of what it depends on;
//   - while a dependency is STARTING or in BACKOFF without having been RUNNING since (or is
//     itself waiting), the dependent waits, STOPPED, with "waiting for <dependency>" as its
//     reason;
//   - a dependency that is FATAL, or STOPPED/EXITED with no start pending, fails the dependent's
//     start: it stays STOPPED with "dependency <name> ..." as the reason;
//   - stopping a program first stops the programs that depend on it (dependents before their
//     dependencies), and when a program goes FATAL, its running dependents are stopped.
//
// Order: each program gets a tier. Lower tiers start first and stop last. A tier is the dense
// rank of (effective priority, depth): the effective priority of a program is the lowest
// priority among itself and everything that depends on it (so a dependency never waits behind
// its dependents' priority), and the depth is the length of the longest depends_on chain below
// it. A dependency's key is then always strictly below its dependent's, and among unrelated
// programs priority keeps supervisord's meaning.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "daemon/core/process_machine.h"

namespace warden {

class DependencyGraph {
 public:
  struct Program {
    std::string name;
    int priority = 999;
    std::vector<std::string> depends_on;  // names not in the graph are ignored
    bool operator==(const Program&) const = default;
  };

  DependencyGraph() = default;
  // Cycles are config errors and never reach here; if one did, its edges would be ignored for
  // the order (no infinite loop) and the programs on it would wait for each other.
  explicit DependencyGraph(std::vector<Program> programs);

  bool empty() const { return programs_.empty(); }
  // The tier of `program` (see the top of this file); 0 for an unknown name.
  int Tier(std::string_view program) const;
  // Direct dependencies of `program`, as written (known names only).
  const std::vector<std::string>& DependsOn(std::string_view program) const;
  // Everything `program` depends on, directly or not; dependencies before their dependents.
  std::vector<std::string> Requirements(std::string_view program) const;
  // Every program that depends on `program`, directly or not; dependents before their
  // dependencies' other dependents is not promised, only membership.
  std::vector<std::string> Dependents(std::string_view program) const;

 private:
  size_t Index(std::string_view name) const;  // programs_.size() when unknown

  std::vector<Program> programs_;
  std::unordered_map<std::string, size_t> index_;
  std::vector<std::vector<size_t>> deps_;        // edges to dependencies
  std::vector<std::vector<size_t>> dependents_;  // reverse edges
  std::vector<int> tier_;
};

// One process of a dependency, as the start rule sees it.
struct DependencyState {
  std::string name;  // full process name, for messages
  core::State state = core::State::kStopped;
  bool start_pending = false;      // its own start was requested and waits for its dependencies
  std::string reason;              // why it is not running, for messages
  bool ran_since_request = false;  // it was RUNNING after the dependent's start was requested
};

struct StartVerdict {
  enum Kind { kWait, kGo, kFail };
  Kind kind = kWait;
  std::string reason;  // kWait: "waiting for db"; kFail: "dependency db is FATAL: ..."
};

// Whether a process whose dependencies are `deps` (every process of every program it depends on)
// may start now.
StartVerdict JudgeStart(const std::vector<DependencyState>& deps);

}  // namespace warden
