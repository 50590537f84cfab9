// Attribution of wardend's subtree to supervised processes. See orphans.h.
#include "daemon/supervisor/orphans.h"

#include <string_view>

namespace warden {
namespace {

constexpr size_t kNoClaim = static_cast<size_t>(-1);
constexpr size_t kEnvironMax = 256 * 1024;
constexpr size_t kEnvironProbes = 64;  // environments read below one unclaimed root, at most

}  // namespace

Attribution Attribute(int self_pid, const std::vector<os::ProcStat>& snapshot,
                      const std::vector<ProcessClaim>& claims, const EnvironNames& environ_names) {
  std::vector<const ProcessClaim*> pointers;
  for (const ProcessClaim& c : claims) pointers.push_back(&c);
  return Attribute(self_pid, snapshot, pointers, environ_names);
}

Attribution Attribute(int self_pid, const std::vector<os::ProcStat>& snapshot,
                      const std::vector<const ProcessClaim*>& claim_list,
                      const EnvironNames& environ_names) {
  Attribution out;
  out.members.resize(claim_list.size());
  out.main.resize(claim_list.size());

  std::unordered_map<int, std::vector<size_t>> children;  // ppid -> snapshot indexes
  for (size_t i = 0; i < snapshot.size(); ++i) children[snapshot[i].ppid].push_back(i);
  auto roots = children.find(self_pid);
  if (roots == children.end()) return out;  // the common case of a light scan: nothing lost

  struct Claims {  // claims[c] reads as a reference
    const std::vector<const ProcessClaim*>& list;
    const ProcessClaim& operator[](size_t c) const { return *list[c]; }
    size_t size() const { return list.size(); }
  } claims{claim_list};
  std::unordered_map<int, size_t> main_of;  // main pid -> claim
  main_of.reserve(claims.size());
  for (size_t c = 0; c < claims.size(); ++c) {
    if (claims[c].main_pid > 0) main_of[claims[c].main_pid] = c;
  }

  auto claim_orphan = [&](const os::ProcStat& root) -> size_t {
    // Still in the session of a live main process: that program's, whatever else remembers it.
    if (auto it = main_of.find(root.session); it != main_of.end()) return it->second;
    for (size_t c = 0; c < claims.size(); ++c) {
      auto it = claims[c].known.find(root.pid);
      if (it != claims[c].known.end() && it->second == root.start_ticks) return c;
    }
    for (size_t c = 0; c < claims.size(); ++c) {
      if (claims[c].sessions.count(root.session) || claims[c].sessions.count(root.pgrp)) return c;
    }
    if (environ_names) {
      // The root's environment, or, when it has none to show (a process in the middle of
      // exiting has released its memory, environment included, before its children are
      // reparented), the first of its descendants that has one.
      std::vector<int> queue{root.pid};
      for (size_t q = 0; q < queue.size() && q < kEnvironProbes; ++q) {
        if (auto names = environ_names(queue[q])) {
          for (size_t c = 0; c < claims.size(); ++c) {
            if (claims[c].group == names->first && claims[c].process == names->second) return c;
          }
          return kNoClaim;  // someone else's names: not ours to guess further
        }
        if (auto kids = children.find(queue[q]); kids != children.end()) {
          for (size_t k : kids->second) queue.push_back(snapshot[k].pid);
        }
      }
    }
    // Nothing names it: the program whose main process lived when it started.
    size_t best = kNoClaim;
    for (size_t c = 0; c < claims.size(); ++c) {
      const ProcessClaim& claim = claims[c];
      if (claim.main_pid != 0 || claim.ended_main_exit == 0) continue;
      if (root.start_ticks < claim.ended_main_start || root.start_ticks > claim.ended_main_exit) {
        continue;
      }
      if (best == kNoClaim || claim.ended_main_start > claims[best].ended_main_start) best = c;
    }
    return best;
  };

  for (size_t r : roots->second) {
    const os::ProcStat& root = snapshot[r];
    size_t owner;
    auto main = main_of.find(root.pid);
    if (main != main_of.end()) {
      owner = main->second;
      out.main[owner] = root;
    } else {
      owner = claim_orphan(root);
      if (owner == kNoClaim) {
        out.unclaimed.push_back(root.pid);
        continue;
      }
      out.members[owner].push_back(root);
    }
    // Breadth-first below the root: parents before children. A pid cycle is impossible in
    // /proc, but a snapshot taken while processes come and go may repeat one; `seen` bounds it.
    std::vector<size_t> queue{r};
    std::unordered_set<int> seen{root.pid};
    for (size_t q = 0; q < queue.size(); ++q) {
      auto kids = children.find(snapshot[queue[q]].pid);
      if (kids == children.end()) continue;
      for (size_t k : kids->second) {
        if (!seen.insert(snapshot[k].pid).second) continue;
        out.members[owner].push_back(snapshot[k]);
        queue.push_back(k);
      }
    }
  }
  return out;
}

std::optional<std::pair<std::string, std::string>> ReadEnvironNames(int pid) {
  return ReadEnvironNames(os::RealSystem(), pid);
}

std::optional<std::pair<std::string, std::string>> ReadEnvironNames(os::System& system, int pid) {
  const std::string environ_text = system.ReadProcEnviron(pid, kEnvironMax);
  std::optional<std::string> group, process;
  std::string_view rest = environ_text;
  while (!rest.empty()) {
    const size_t end = rest.find('\0');
    const std::string_view entry = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    if (entry.rfind("WARDEN_GROUP=", 0) == 0) group = std::string(entry.substr(13));
    if (entry.rfind("WARDEN_PROCESS=", 0) == 0) process = std::string(entry.substr(15));
  }
  if (!group || !process) return std::nullopt;
  return std::make_pair(*group, *process);
}

void Remember(ProcessClaim* claim, const std::vector<os::ProcStat>& members) {
  claim->known.clear();
  claim->sessions.clear();
  if (claim->main_pid > 0) claim->sessions.insert(claim->main_pid);
  for (const os::ProcStat& m : members) {
    claim->known[m.pid] = m.start_ticks;
    claim->sessions.insert(m.session);
    claim->sessions.insert(m.pgrp);
  }
}

}  // namespace warden
