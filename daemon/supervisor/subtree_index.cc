// The index of wardend's subtree. See subtree_index.h.
#include "daemon/supervisor/subtree_index.h"

#include <algorithm>
#include <unordered_set>

namespace warden {

void SubtreeIndex::Invalidate() {
  valid_ = false;
  entries_.clear();
  kids_.clear();
  loose_.clear();
  recheck_.clear();
}

void SubtreeIndex::Link(int pid, int ppid) {
  if (ppid == self_ || ppid == 0) {
    loose_.insert(pid);
  } else {
    kids_[ppid].push_back(pid);
  }
}

void SubtreeIndex::Unlink(int pid, int ppid) {
  if (ppid == self_ || ppid == 0) {
    loose_.erase(pid);
    return;
  }
  auto it = kids_.find(ppid);
  if (it == kids_.end()) return;
  std::vector<int>& kids = it->second;
  if (auto k = std::find(kids.begin(), kids.end(), pid); k != kids.end()) {
    *k = kids.back();
    kids.pop_back();
  }
  if (kids.empty()) kids_.erase(it);
}

void SubtreeIndex::Remove(int pid) {
  auto it = entries_.find(pid);
  if (it == entries_.end()) return;
  Unlink(pid, it->second.ppid);
  entries_.erase(it);
  // Its children were reparented, to wardend or to a subreaper between: unknown until read.
  if (auto kids = kids_.find(pid); kids != kids_.end()) {
    for (int kid : kids->second) {
      if (auto e = entries_.find(kid); e != entries_.end()) {
        e->second.ppid = 0;
        loose_.insert(kid);
      }
    }
    kids_.erase(kids);
  }
}

void SubtreeIndex::ParentGone(int pid) {
  auto kids = kids_.find(pid);
  if (kids == kids_.end() || entries_.count(pid) != 0) return;
  for (int kid : kids->second) {
    if (auto e = entries_.find(kid); e != entries_.end()) {
      e->second.ppid = self_;
      loose_.insert(kid);
    }
  }
  kids_.erase(kids);
}

bool SubtreeIndex::Add(const os::ProcStat& ps, const Anchor& anchor) {
  const int ppid = ps.ppid;
  if (ppid != self_ && entries_.count(ppid) == 0 && !(ppid > 0 && anchor(ppid))) return false;
  entries_[ps.pid] = Entry{ps.start_ticks, ppid};
  Link(ps.pid, ppid);
  return true;
}

bool SubtreeIndex::Refresh(int pid, const std::optional<os::ProcStat>& fresh,
                           const Anchor& anchor) {
  auto it = entries_.find(pid);
  if (it == entries_.end()) return false;
  if (!fresh || fresh->start_ticks != it->second.start) {
    Remove(pid);
    return false;
  }
  const int old = it->second.ppid;
  if (fresh->ppid == old) return true;
  // Reparented: to wardend, to a subreaper above it, or out of the subtree (when wardend is no
  // subreaper, to init).
  const int ppid = fresh->ppid;
  if (ppid != self_ && entries_.count(ppid) == 0 && !(ppid > 0 && anchor(ppid))) {
    Remove(pid);
    return false;
  }
  Unlink(pid, old);
  it->second.ppid = ppid;
  Link(pid, ppid);
  return true;
}

bool SubtreeIndex::Consider(int pid, const os::StatReader& read, const Anchor& anchor) {
  if (pid != self_ && anchor(pid)) {
    // One of the main processes (spawned since, as most of a range is at a mass start): the
    // index holds what is below it; nothing to read.
    Remove(pid);
    return true;
  }
  std::optional<os::ProcStat> ps = read(pid);
  if (!ps) {
    // Gone already, or not in /proc yet; an entry of that pid is gone either way.
    Remove(pid);
    return false;
  }
  if (ps->thread) return true;
  if (auto it = entries_.find(pid); it != entries_.end()) {
    if (it->second.start == ps->start_ticks) {
      Refresh(pid, ps, anchor);
      return true;
    }
    Remove(pid);  // the pid was reused
  }
  Add(*ps, anchor);
  return true;
}

void SubtreeIndex::Sweep(size_t count, const os::StatReader& read, const Anchor& anchor) {
  count = std::min(count, entries_.size());  // each entry once at most
  for (size_t i = 0; i < count && !entries_.empty(); ++i) {
    auto it = entries_.upper_bound(sweep_after_);
    if (it == entries_.end()) it = entries_.begin();
    sweep_after_ = it->first;
    Refresh(it->first, read(it->first), anchor);
  }
}

bool SubtreeIndex::Advance(const os::PidCursor& now, const os::StatReader& read,
                           const Anchor& anchor, size_t max_range) {
  if (!valid_ || now.pid_max <= kReservedPids || now.last_pid <= 0 || now.forks < last_.forks ||
      now.last_pid >= now.pid_max || last_.last_pid >= now.pid_max) {
    return false;
  }
  // No lap: a lap passes every pid above RESERVED_PIDS once, each one allocated (a fork) or
  // skipped (in use: alive at the last look, or forked since).
  const uint64_t forks = now.forks - last_.forks;
  const uint64_t lap = static_cast<uint64_t>(now.pid_max - kReservedPids);
  if (2 * forks + last_.tasks >= lap) return false;
  const bool wrapped = now.last_pid < last_.last_pid;
  const size_t range = wrapped ? static_cast<size_t>(now.pid_max - 1 - last_.last_pid) +
                                     static_cast<size_t>(now.last_pid)
                               : static_cast<size_t>(now.last_pid - last_.last_pid);
  if (range > max_range) return false;
  // A wrap with no fork counted (pid_max lowered, say) is no range to trust either.
  if (range > 0 && forks == 0) return false;

  const size_t before = entries_.size();
  std::vector<int> recheck = std::move(recheck_);
  recheck_.clear();
  for (int pid : recheck) (void)Consider(pid, read, anchor);
  // Allocation order: a parent, older than its child, comes before it.
  auto visit = [&](int first, int last) {
    for (int pid = first; pid <= last; ++pid) {
      if (!Consider(pid, read, anchor) && pid > now.last_pid - kRecheck && pid <= now.last_pid) {
        recheck_.push_back(pid);
      }
    }
  };
  if (wrapped) {
    visit(last_.last_pid + 1, now.pid_max - 1);
    visit(1, now.last_pid);
  } else {
    visit(last_.last_pid + 1, now.last_pid);
  }
  const size_t added = entries_.size() > before ? entries_.size() - before : 0;
  Sweep(added + kSweep, read, anchor);
  last_ = now;
  return true;
}

void SubtreeIndex::Reset(const os::PidCursor& at, const std::vector<os::ProcStat>& snapshot,
                         const os::StatReader& read, const Anchor& anchor) {
  std::map<int, Entry> old = std::move(entries_);
  Invalidate();
  std::unordered_map<int, std::vector<size_t>> children;  // ppid -> snapshot indexes
  for (size_t i = 0; i < snapshot.size(); ++i) {
    if (!snapshot[i].thread) children[snapshot[i].ppid].push_back(i);
  }
  // Breadth-first from wardend: parents before children, so that each finds its parent in.
  std::vector<int> queue{self_};
  std::unordered_set<int> seen{self_};
  for (size_t q = 0; q < queue.size(); ++q) {
    auto kids = children.find(queue[q]);
    if (kids == children.end()) continue;
    for (size_t k : kids->second) {
      const os::ProcStat& ps = snapshot[k];
      if (!seen.insert(ps.pid).second) continue;
      queue.push_back(ps.pid);
      if (queue[q] == self_ && anchor(ps.pid)) continue;  // a main process
      Add(ps, anchor);
    }
  }
  for (const auto& [pid, entry] : old) {
    if (entries_.count(pid) != 0 || anchor(pid)) continue;
    std::optional<os::ProcStat> ps = read(pid);
    if (!ps || ps->start_ticks != entry.start || ps->thread) continue;
    entries_[pid] = Entry{entry.start, 0};
    loose_.insert(pid);
  }
  last_ = at;
  valid_ = at.pid_max > kReservedPids && at.last_pid > 0;
}

std::vector<int> SubtreeIndex::Below(const std::vector<int>& mains) const {
  std::vector<int> out;
  std::unordered_set<int> seen;
  auto push_kids = [&](int parent) {
    auto kids = kids_.find(parent);
    if (kids == kids_.end()) return;
    for (int kid : kids->second) {
      if (seen.insert(kid).second) out.push_back(kid);
    }
  };
  for (int main : mains) push_kids(main);
  for (int pid : loose_) {
    if (seen.insert(pid).second) out.push_back(pid);
  }
  for (size_t i = 0; i < out.size(); ++i) push_kids(out[i]);
  return out;
}

}  // namespace warden
