// Snapshot entries for the tests of what reads /proc snapshots (orphans_test.cc,
// process_record_test.cc).
#pragma once

#include <cstdint>
#include <vector>

#include "daemon/os/os.h"

namespace warden::testing {

// A process in session (and process group) `session`.
inline os::ProcStat Proc(int pid, int ppid, int session, uint64_t start = 1, char state = 'S') {
  os::ProcStat p;
  p.pid = pid;
  p.ppid = ppid;
  p.session = session;
  p.pgrp = session;
  p.start_ticks = start;
  p.state = state;
  return p;
}

inline std::vector<int> Pids(const std::vector<os::ProcStat>& procs) {
  std::vector<int> out;
  for (const auto& p : procs) out.push_back(p.pid);
  return out;
}

}  // namespace warden::testing
