#include "daemon/supervisor/memory_watch.h"

#include <gtest/gtest.h>

namespace warden {
namespace {

using core::State;

constexpr uint64_t kMiB = 1024 * 1024;

TEST(FormatMemoryTest, UnitsAndOneDecimal) {
  EXPECT_EQ(FormatMemory(900), "900B");
  EXPECT_EQ(FormatMemory(512 * 1024), "512K");
  EXPECT_EQ(FormatMemory(200 * kMiB), "200M");
  EXPECT_EQ(FormatMemory(212 * kMiB + kMiB / 2), "212.5M");
  EXPECT_EQ(FormatMemory(1536 * kMiB), "1.5G");
  EXPECT_EQ(FormatMemory(0), "0B");
}

TEST(MemoryVerdictTest, OverTheLimitWhileUpRestarts) {
  EXPECT_EQ(MemoryVerdict(State::kRunning, 42, false, 212 * kMiB, 200 * kMiB),
            "memory 212M over memory_limit 200M");
  EXPECT_EQ(MemoryVerdict(State::kStarting, 42, false, 50 * kMiB, 20 * kMiB),
            "memory 50M over memory_limit 20M");
  // At the limit is not over it.
  EXPECT_EQ(MemoryVerdict(State::kRunning, 42, false, 200 * kMiB, 200 * kMiB), "");
  // Barely over: more digits rather than "200M over memory_limit 200M".
  EXPECT_EQ(MemoryVerdict(State::kRunning, 42, false, 200 * kMiB + 4096, 200 * kMiB),
            "memory 200.004M over memory_limit 200M");
  EXPECT_EQ(MemoryVerdict(State::kRunning, 42, false, 200 * kMiB + 1, 200 * kMiB),
            "memory 209715201B over memory_limit 200M");
}

TEST(MemoryVerdictTest, NeverTwiceNorWithoutAProcessNorWithoutALimit) {
  // Its memory restart is under way: no second one.
  EXPECT_EQ(MemoryVerdict(State::kRunning, 42, true, 300 * kMiB, 200 * kMiB), "");
  // Already stopping (a client's stop, or the restart's), or not up at all.
  for (State s :
       {State::kStopping, State::kStopped, State::kBackoff, State::kExited, State::kFatal}) {
    EXPECT_EQ(MemoryVerdict(s, 42, false, 300 * kMiB, 200 * kMiB), "") << core::StateName(s);
  }
  // STARTING with no pid: a spawn waiting for leftovers to go.
  EXPECT_EQ(MemoryVerdict(State::kStarting, 0, false, 300 * kMiB, 200 * kMiB), "");
  // No limit.
  EXPECT_EQ(MemoryVerdict(State::kRunning, 42, false, 300 * kMiB, 0), "");
}

TEST(MemoryHighFor, TheLimitUnlessMemoryMaxActsFirst) {
  EXPECT_EQ(MemoryHighFor(200 * kMiB, 0), 200 * kMiB);
  EXPECT_EQ(MemoryHighFor(200 * kMiB, 300 * kMiB), 200 * kMiB);
  EXPECT_EQ(MemoryHighFor(200 * kMiB, 200 * kMiB), 0u);  // the cap is the limit: no high
  EXPECT_EQ(MemoryHighFor(200 * kMiB, 100 * kMiB), 0u);
  EXPECT_EQ(MemoryHighFor(0, 100 * kMiB), 0u);  // no limit
}

TEST(MemoryHighVerdict, PastMemoryHighIsOverTheLimitEvenAfterReclaim) {
  using core::State;
  EXPECT_EQ(MemoryHighVerdict(State::kRunning, 42, false, 212 * kMiB, 200 * kMiB),
            "memory 212M over memory_limit 200M");
  // Reclaim brought it back under the limit before it was read: still over it a moment ago.
  EXPECT_EQ(MemoryHighVerdict(State::kRunning, 42, false, 199 * kMiB, 200 * kMiB),
            "memory over memory_limit 200M (its cgroup went past memory.high)");
  // Not up, already being restarted, no limit: nothing.
  EXPECT_EQ(MemoryHighVerdict(State::kStopping, 42, false, 300 * kMiB, 200 * kMiB), "");
  EXPECT_EQ(MemoryHighVerdict(State::kRunning, 42, true, 300 * kMiB, 200 * kMiB), "");
  EXPECT_EQ(MemoryHighVerdict(State::kRunning, 0, false, 300 * kMiB, 200 * kMiB), "");
  EXPECT_EQ(MemoryHighVerdict(State::kRunning, 42, false, 300 * kMiB, 0), "");
}

}  // namespace
}  // namespace warden
