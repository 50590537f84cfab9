// The deterministic simulation of the supervisor (docs/design.md, "Simulation"): the real
// Supervisor and its JobTable, on a hand-driven EventLoop, a simulated clock and a simulated OS
// (sim_system.h), driven by simulated clients and config edits on a schedule drawn from one
// seed. After every step the invariants (invariants.h) are checked; the same seed and step count
// replay the same run, step for step.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace warden::sim {

struct Options {
  uint64_t seed = 1;
  size_t steps = 5000;   // random steps; then the drain and the shutdown
  size_t tail = 40;      // steps of the schedule to show on failure
  bool verbose = false;  // print the schedule as it runs, and wardend's log (debug)
};

struct Outcome {
  bool ok = true;
  std::string failure;            // what broke, at which step
  std::vector<std::string> tail;  // the last `tail` steps of the schedule, with what they did
  size_t steps = 0;               // steps run, drain and shutdown included
  size_t requests = 0;
  size_t spawns = 0;
  double simulated_seconds = 0;
  uint64_t trace_hash = 0;  // of the whole schedule: equal for equal runs
};

Outcome Simulate(const Options& options);

}  // namespace warden::sim
