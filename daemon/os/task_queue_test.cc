#include "daemon/os/task_queue.h"

#include <array>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace warden {
namespace {

TEST(InlineTask, RunsSmallAndLargeCallablesAndDestroysTheirCaptures) {
  auto counter = std::make_shared<int>(0);
  {
    InlineTask small([counter] { ++*counter; });
    std::array<char, 4 * InlineTask::kInline> big{};
    big[0] = 'x';
    InlineTask large([counter, big] { *counter += big[0] == 'x' ? 10 : 0; });
    small();
    large();
    InlineTask moved(std::move(large));
    moved();
    EXPECT_EQ(*counter, 21);
    EXPECT_EQ(counter.use_count(), 3);  // this one, small's and moved's copies
  }
  EXPECT_EQ(counter.use_count(), 1);
}

TEST(TaskQueue, RunsInOrderWithTasksPostedMeanwhile) {
  TaskQueue queue;
  std::vector<std::string> ran;
  queue.Push([&] {
    ran.push_back("a");
    queue.Push([&] { ran.push_back("c"); });
  });
  queue.Push([&] { ran.push_back("b"); });
  EXPECT_EQ(queue.size(), 2u);
  queue.RunAll();
  EXPECT_EQ(ran, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(queue.empty());
}

TEST(TaskQueue, ATaskMayRunTheRestItself) {
  TaskQueue queue;
  std::vector<int> ran;
  queue.Push([&] {
    ran.push_back(1);
    queue.RunAll();  // runs 2 and 3
    ran.push_back(4);
  });
  queue.Push([&] { ran.push_back(2); });
  queue.Push([&] { ran.push_back(3); });
  queue.RunAll();
  EXPECT_EQ(ran, (std::vector<int>{1, 2, 3, 4}));
  EXPECT_TRUE(queue.empty());
}

TEST(TaskQueue, ABurstBeyondTheKeptCapacityIsFreedAfterItRan) {
  TaskQueue queue;
  auto alive = std::make_shared<int>(0);
  int sum = 0;
  for (int i = 0; i < 1000; ++i) {
    queue.Push([&sum, alive, i] { sum += i; });
  }
  EXPECT_EQ(alive.use_count(), 1001);
  queue.RunAll();
  EXPECT_EQ(sum, 999 * 1000 / 2);
  EXPECT_EQ(alive.use_count(), 1);  // every capture destroyed
  EXPECT_TRUE(queue.empty());
}

}  // namespace
}  // namespace warden
