// warden_sim: runs the deterministic simulation of the supervisor (simulation.h).
//
//   warden_sim --seed S [--steps N] [--verbose]   one run; replays a failure exactly
//   warden_sim --seconds T [--first-seed S]       seeds S, S+1, ... (random S by default) for
//                                                 T seconds of wall time
//   --tail K     steps of the schedule shown on failure (40)
//   --twice      runs each seed twice and fails if the two schedules differ (determinism)
// Exits 0 when every run kept every invariant, 1 on the first failure (after printing the
// command that replays it), 2 on bad usage.
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>

#include "daemon/sim/simulation.h"

namespace {

int Usage() {
  std::fprintf(stderr,
               "usage: warden_sim [--seed S | --seconds T [--first-seed S]] [--steps N] "
               "[--tail K] [--twice] [--verbose]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  // A simulated process writing its readiness to a pipe whose reader is gone gets EPIPE, as
  // wardend (which ignores SIGPIPE too) would see it, instead of ending the simulation.
  std::signal(SIGPIPE, SIG_IGN);
  warden::sim::Options options;
  bool have_seed = false;
  bool have_first = false;
  bool twice = false;
  double seconds = 0;
  uint64_t first_seed = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--seed" && has_value) {
      options.seed = std::strtoull(argv[++i], nullptr, 10);
      have_seed = true;
    } else if (arg == "--steps" && has_value) {
      options.steps = std::strtoull(argv[++i], nullptr, 10);
    } else if (arg == "--seconds" && has_value) {
      seconds = std::strtod(argv[++i], nullptr);
    } else if (arg == "--first-seed" && has_value) {
      first_seed = std::strtoull(argv[++i], nullptr, 10);
      have_first = true;
    } else if (arg == "--tail" && has_value) {
      options.tail = std::strtoull(argv[++i], nullptr, 10);
    } else if (arg == "--twice") {
      twice = true;
    } else if (arg == "--verbose") {
      options.verbose = true;
    } else {
      return Usage();
    }
  }
  if (have_seed == (seconds > 0)) return Usage();
  if (!have_first) first_seed = std::random_device{}() % 1000000000;

  using Wall = std::chrono::steady_clock;
  const Wall::time_point began = Wall::now();
  size_t runs = 0;
  size_t steps = 0;
  size_t requests = 0;
  double simulated = 0;
  for (uint64_t seed = have_seed ? options.seed : first_seed;; ++seed) {
    options.seed = seed;
    const warden::sim::Outcome outcome = warden::sim::Simulate(options);
    if (outcome.ok && twice) {
      const warden::sim::Outcome again = warden::sim::Simulate(options);
      if (again.trace_hash != outcome.trace_hash || again.steps != outcome.steps) {
        std::printf("warden_sim: seed %llu is not deterministic: two runs differ\n",
                    static_cast<unsigned long long>(seed));
        return 1;
      }
    }
    ++runs;
    steps += outcome.steps;
    requests += outcome.requests;
    simulated += outcome.simulated_seconds;
    if (!outcome.ok) {
      std::printf("warden_sim: seed %llu FAILED at %s\n", static_cast<unsigned long long>(seed),
                  outcome.failure.c_str());
      std::printf("the last %zu steps:\n", options.tail);
      for (const auto& line : outcome.tail) std::printf("%s\n", line.c_str());
      std::printf("warden_sim: seed %llu FAILED at %s\n", static_cast<unsigned long long>(seed),
                  outcome.failure.c_str());
      std::printf("replay: %s --seed %llu --steps %zu\n", argv[0],
                  static_cast<unsigned long long>(seed), options.steps);
      return 1;
    }
    const double elapsed = std::chrono::duration<double>(Wall::now() - began).count();
    if (have_seed || elapsed >= seconds) {
      std::printf(
          "warden_sim: %zu run%s (seeds %llu..%llu), %zu steps, %zu requests, %.0f simulated "
          "seconds, all invariants held; %.1f s, %.0f steps/s, %.2f seeds/s\n",
          runs, runs == 1 ? "" : "s",
          static_cast<unsigned long long>(have_seed ? options.seed : first_seed),
          static_cast<unsigned long long>(seed), steps, requests, simulated, elapsed,
          static_cast<double>(steps) / elapsed, static_cast<double>(runs) / elapsed);
      return 0;
    }
  }
}
