// Which live processes belong to which supervised process: its main process's descendants, and
// the ones it lost. wardend is a child subreaper, so every process a program ever started stays
// in wardend's subtree: when an intermediate parent dies, its children become wardend's own
// ("orphans"). Attribution therefore only ever looks inside wardend's subtree, never at other
// processes of the machine, and works on one snapshot of /proc:
//
//   1. each direct child of wardend is a root: a program's main process, or an orphan;
//   2. an orphan root belongs to the program that
//        a. had it attributed before (same pid and start time), else
//        b. whose processes' sessions or process groups it is in (children are setsid'd, so a
//           program's session id is the pid of a main process it had), else
//        c. whose names it carries in its environment (WARDEN_GROUP and WARDEN_PROCESS, which
//           every program gets and double-forking daemons keep; a root that is exiting has no
//           environment left, so then its first descendant that has one speaks for it), else
//        d. when no environment names anyone (cleared with `env -i`, or overwritten by a
//           daemon setting its process title, as nginx does), whose main process, now gone,
//           lived when it was started: a process is reparented to wardend when its parent
//           dies, and one started within a main process's lifetime that turns up with nothing
//           else to tell is that main process's (the latest-started such main wins), else
//           nobody;
//   3. every descendant of a root belongs where its root belongs.
//
// The result feeds status (children), the leftover check and the kills (KillLeftovers), and what
// each program remembers for the next snapshot (known pids and sessions). Pure: the snapshot and
// the environ reader come in as arguments, so tests need no processes.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "daemon/os/os.h"

namespace warden {

// A set of ints in one sorted vector: a program owns one session or two, and a std::unordered_set
// of one element takes ~150 bytes of heap where this takes 32.
class IntSet {
 public:
  IntSet() = default;
  IntSet(std::initializer_list<int> values) { insert(values.begin(), values.end()); }

  void insert(int value) {
    auto it = std::lower_bound(values_.begin(), values_.end(), value);
    if (it == values_.end() || *it != value) values_.insert(it, value);
  }
  template <typename It>
  void insert(It first, It last) {
    for (; first != last; ++first) insert(*first);
  }
  size_t count(int value) const {
    return std::binary_search(values_.begin(), values_.end(), value) ? 1 : 0;
  }
  void clear() { values_.clear(); }
  bool empty() const { return values_.empty(); }
  size_t size() const { return values_.size(); }
  std::vector<int>::const_iterator begin() const { return values_.begin(); }
  std::vector<int>::const_iterator end() const { return values_.end(); }
  bool operator==(const IntSet& other) const = default;

 private:
  std::vector<int> values_;  // ascending, no duplicates
};

struct ProcessClaim {
  int main_pid = 0;                         // 0 when the main process is gone
  std::unordered_map<int, uint64_t> known;  // pid -> start ticks, attributed before
  IntSet sessions;                          // session / process group ids it owns
  std::string group;                        // WARDEN_GROUP of its processes
  std::string process;                      // WARDEN_PROCESS of its processes
  // The main process that ended last (while none lives): its start and exit, in clock ticks
  // since boot (ProcStat::start_ticks); 0 when none (rule d above).
  uint64_t ended_main_start = 0;
  uint64_t ended_main_exit = 0;
};

// WARDEN_GROUP and WARDEN_PROCESS from a process's environment, when readable.
using EnvironNames = std::function<std::optional<std::pair<std::string, std::string>>(int pid)>;

struct Attribution {
  // Per claim, in the order given: its live processes other than the main one (zombies
  // included), parents before children.
  std::vector<std::vector<os::ProcStat>> members;
  // Per claim: the snapshot's entry for its main process, if present.
  std::vector<std::optional<os::ProcStat>> main;
  // Orphan roots nobody claims (left alone; still reaped when they exit).
  std::vector<int> unclaimed;
};

// `claims` are the supervised processes' (each kept by its owner, not copied per scan).
Attribution Attribute(int self_pid, const std::vector<os::ProcStat>& snapshot,
                      const std::vector<const ProcessClaim*>& claims,
                      const EnvironNames& environ_names);
// The same, for claims held in a vector (tests).
Attribution Attribute(int self_pid, const std::vector<os::ProcStat>& snapshot,
                      const std::vector<ProcessClaim>& claims, const EnvironNames& environ_names);

// Reads WARDEN_GROUP and WARDEN_PROCESS out of /proc/PID/environ (as `system` shows it).
std::optional<std::pair<std::string, std::string>> ReadEnvironNames(int pid);
std::optional<std::pair<std::string, std::string>> ReadEnvironNames(os::System& system, int pid);

// After a snapshot: what `claim` remembers for the next one (the members' pids and sessions,
// and the main process's session).
void Remember(ProcessClaim* claim, const std::vector<os::ProcStat>& members);

}  // namespace warden
