// Test doubles for ProcessMachine: a clock that moves only when told, and a ProcessHost that
// records what the machine asks of the world (spawns, signals, the armed deadline, published
// state changes) and answers Spawn from a script.
#pragma once

#include <csignal>
#include <deque>
#include <optional>
#include <ostream>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "daemon/core/process_machine.h"

namespace warden::core::testing {

// Simulated time. Starts at an arbitrary, non-zero point so that "zero" is never special.
struct FakeClock {
  TimePoint now = TimePoint() + std::chrono::hours(1000);
  void Advance(Duration d) { now += d; }
};

struct KillCall {
  int pid = 0;
  int signal = 0;
  bool whole_group = false;
  bool operator==(const KillCall&) const = default;
};

struct StateChange {
  State from = State::kStopped;
  State to = State::kStopped;
  bool operator==(const StateChange&) const = default;
};

inline void PrintTo(const KillCall& k, std::ostream* os) {
  *os << "Kill(" << k.pid << ", " << k.signal << (k.whole_group ? ", group)" : ", pid)");
}
inline void PrintTo(const StateChange& c, std::ostream* os) {
  *os << StateName(c.from) << "->" << StateName(c.to);
}

class FakeHost : public ProcessHost {
 public:
  explicit FakeHost(const FakeClock* clock) : clock_(clock) {}

  // Scripts the next Spawn calls, in order; once the script is used up, every spawn succeeds
  // with the next pid (100, 101, ...).
  void ScriptSpawn(SpawnOutcome outcome) { script_.push_back(std::move(outcome)); }
  void FailNextSpawn(SpawnError error) { ScriptSpawn(SpawnOutcome{0, std::move(error)}); }

  // Lets OnStateChange check that the machine's fields were updated before it was published.
  void Watch(const ProcessMachine* machine) { machine_ = machine; }

  SpawnOutcome Spawn() override {
    spawn_times.push_back(clock_->now);
    if (!script_.empty()) {
      SpawnOutcome outcome = std::move(script_.front());
      script_.pop_front();
      if (outcome.pid > 0) last_pid = outcome.pid;
      return outcome;
    }
    last_pid = next_pid_++;
    return SpawnOutcome{last_pid, std::nullopt};
  }

  void Kill(int pid, int signal, bool whole_group) override {
    EXPECT_GT(pid, 0) << "the machine signalled a non-pid";
    kills.push_back(KillCall{pid, signal, whole_group});
  }

  void Continue(int pid, bool whole_group) override {
    EXPECT_GT(pid, 0) << "the machine continued a non-pid";
    continues.push_back(KillCall{pid, SIGCONT, whole_group});
  }

  void SetTimer(std::optional<TimePoint> at) override {
    deadline = at;
    ++timer_calls;
  }

  void OnStateChange(State from, State to) override {
    EXPECT_NE(from, to) << "published a change to the same state " << StateName(to);
    if (machine_ != nullptr) {
      EXPECT_EQ(machine_->state(), to) << "published before the state was updated";
      // A process that is RUNNING or STOPPING has a pid; one that is not running has none.
      if (to == State::kRunning) {
        EXPECT_NE(machine_->pid(), 0);
      }
      // STOPPING: there is something to stop, the main process or its leftovers.
      if (to == State::kStopping) {
        EXPECT_TRUE(machine_->pid() != 0 || machine_->cleaning());
      }
      if (to == State::kBackoff || to == State::kFatal || to == State::kStopped ||
          to == State::kExited) {
        EXPECT_EQ(machine_->pid(), 0);
      }
    }
    changes.push_back(StateChange{from, to});
  }

  bool HasLeftovers() override {
    ++leftover_checks;
    return leftovers;
  }
  void KillLeftovers(int signal) override { leftover_kills.push_back(signal); }
  double Random() override { return random; }

  // What the machine asked for.
  std::vector<TimePoint> spawn_times;
  std::vector<KillCall> kills;
  std::vector<KillCall> continues;    // SIGCONT after a stop signal
  std::optional<TimePoint> deadline;  // the armed timer, if any
  int timer_calls = 0;
  std::vector<StateChange> changes;
  int last_pid = 0;                 // pid handed out by the last successful Spawn
  std::vector<int> leftover_kills;  // signals sent to the leftovers
  int leftover_checks = 0;

  // What the world looks like.
  bool leftovers = false;  // HasLeftovers' answer
  double random = 0.5;     // Random's answer: 0.5 means no jitter

 private:
  const FakeClock* clock_;
  const ProcessMachine* machine_ = nullptr;
  std::deque<SpawnOutcome> script_;
  int next_pid_ = 100;
};

}  // namespace warden::core::testing
