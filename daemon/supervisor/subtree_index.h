// SubtreeIndex: the processes of wardend's subtree other than the main processes, kept from one
// look to the next, so that a look at the processes tracked through /proc costs what was forked
// since the last one, not what runs.
//
// Listing wardend's children (/proc/self/task/*/children) costs the kernel a walk of the whole
// child list for every page it prints: at 10,000 programs a restart after kill -9 spent 16-38 ms
// of wardend's CPU there. Instead, each look reads the pids the kernel allocated since the last
// one (os::PidCursor: the last pid allocated; pids are handed out in increasing order and wrap
// around at pid_max) and adds those whose parent is wardend, a main process or a process already
// in the index. What was indexed stays valid, as a process is named by its pid and its start time:
//
//   - a pid reused by another process has another start time: the old entry goes, the new
//     process is judged as new;
//   - a process whose parent dies is reparented to wardend (a child subreaper): when a main
//     process is reaped its children move to wardend (ParentGone); when an indexed process is
//     found gone its children are marked as having an unknown parent, and every look reads
//     those and wardend's own children (the "loose" entries) and what is below them;
//   - the pids allocated since the last look are only enough when the allocation cannot have
//     gone round pid_max more than the once the range shows: a lap passes each pid once, either
//     allocating it (a fork: `processes` of /proc/stat counts them) or skipping it (a task that
//     lived at the last look or was forked since), so no lap happened while
//     2 * forks + tasks at the last look < pid_max - 300. Else, and on the first look, after a
//     re-execution, or when the range is larger than a listing would cost, Advance says so and
//     the caller lists the subtree whole (Reset);
//   - threads have pids too: a thread other than its process's first is no process of its own
//     (ProcStat::thread) and is left out.
//
// A few pids at the top of each range are read again at the next look: the kernel allocates a
// pid a moment before the process shows in /proc. Entries below main processes nobody looks at
// are read a few at a time, round robin, as forks are indexed, so that the dead among them do
// not pile up. Pure: /proc comes in through the reader and the cursor (tests need no processes).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>
#include <vector>

#include "daemon/os/os.h"

namespace warden {

class SubtreeIndex {
 public:
  // For wardend (its own pid) and each live main process: its start time; nullopt for any
  // other pid. The index holds what is below these, not these.
  using Anchor = std::function<std::optional<uint64_t>(int pid)>;

  explicit SubtreeIndex(int self) : self_(self) {}

  // Indexes the processes forked since the last look, from pids in (last, now.last_pid]. False
  // (the index unchanged) when that range cannot be trusted or would cost more than max_range
  // readings: the caller lists the subtree whole and calls Reset.
  bool Advance(const os::PidCursor& now, const os::StatReader& read, const Anchor& anchor,
               size_t max_range);
  // The index from a listing taken after `at` was read: every process of `snapshot` below
  // wardend that is not a main process (`snapshot` may hold other processes: they are left
  // out). Entries of the old index the listing missed (reparented while it was read) stay, if
  // `read` says they still live, with an unknown parent.
  void Reset(const os::PidCursor& at, const std::vector<os::ProcStat>& snapshot,
             const os::StatReader& read, const Anchor& anchor);
  // Forgets everything: the next Advance asks for a listing (after a re-execution, say).
  void Invalidate();
  bool valid() const { return valid_; }

  // The main process `pid` is gone (reaped, or no longer tracked): its children were
  // reparented to wardend.
  void ParentGone(int pid);
  // The entries a look below `mains` (main processes) reads: their descendants, wardend's own
  // children and the entries whose parent is unknown, and everything below those; parents
  // before children.
  std::vector<int> Below(const std::vector<int>& mains) const;
  // A fresh reading of entry `pid` (nullopt: it is gone): updates its parent, or drops it when
  // it is gone, is another process now, or left wardend's subtree. Whether it is still in.
  bool Refresh(int pid, const std::optional<os::ProcStat>& fresh, const Anchor& anchor);

  size_t size() const { return entries_.size(); }
  bool Contains(int pid, uint64_t start) const {
    auto it = entries_.find(pid);
    return it != entries_.end() && it->second.start == start;
  }
  // The parent the index has for `pid` (0: unknown), or nullopt when it has no such entry.
  std::optional<int> ParentOf(int pid) const {
    auto it = entries_.find(pid);
    if (it == entries_.end()) return std::nullopt;
    return it->second.ppid;
  }

  // Pids at the top of a range read again at the next look, and entries read round robin per
  // process indexed by a look (plus this many).
  static constexpr int kRecheck = 64;
  static constexpr size_t kSweep = 4;
  // The lowest pid the kernel hands out once it has wrapped is 300 (RESERVED_PIDS); the index
  // reads from 1, which costs 300 readings a lap and holds in any pid namespace.
  static constexpr int kReservedPids = 300;

 private:
  struct Entry {
    uint64_t start = 0;
    int ppid = 0;  // self_: wardend's own child; 0: unknown (loose either way)
  };
  // Adds `ps` below its parent when that is wardend, an anchor or an entry; false when it is
  // none of these (not in the subtree).
  bool Add(const os::ProcStat& ps, const Anchor& anchor);
  void Link(int pid, int ppid);
  void Unlink(int pid, int ppid);
  void Remove(int pid);
  // Reads one pid of a range: indexes it when it is new and in the subtree; false when it
  // could not be read.
  bool Consider(int pid, const os::StatReader& read, const Anchor& anchor);
  void Sweep(size_t count, const os::StatReader& read, const Anchor& anchor);

  int self_;
  bool valid_ = false;
  os::PidCursor last_;
  std::map<int, Entry> entries_;  // ordered: the round-robin sweep resumes after a pid
  // Parent (an entry or an anchor) -> its children among the entries.
  std::unordered_map<int, std::vector<int>> kids_;
  std::set<int> loose_;       // entries whose parent is wardend or unknown
  std::vector<int> recheck_;  // unreadable pids at the top of the last range
  int sweep_after_ = 0;       // the pid the sweep resumes after
};

}  // namespace warden
