#include "daemon/logs/daemon_log.h"

#include <string>

#include <gtest/gtest.h>
#include <spdlog/logger.h>

namespace warden {
namespace {

TEST(LineRing, KeepsWholeLinesUpToTheCapacity) {
  LineRing ring(10);
  EXPECT_EQ(ring.Text(), "");
  ring.Push("abc\n");
  ring.Push("def\n");
  EXPECT_EQ(ring.Text(), "abc\ndef\n");
  ring.Push("gh\n");  // 11 bytes: the oldest line goes
  EXPECT_EQ(ring.Text(), "def\ngh\n");
  EXPECT_EQ(ring.lines(), 2u);
}

TEST(LineRing, ALineLongerThanTheCapacityIsKeptAlone) {
  LineRing ring(4);
  ring.Push("ab\n");
  ring.Push("0123456789\n");
  EXPECT_EQ(ring.Text(), "0123456789\n");
  ring.Push("x\n");
  EXPECT_EQ(ring.Text(), "x\n");
}

TEST(LineRing, ManyLinesKeepTheNewestInOrder) {
  // Pushes far past the capacity, through many compactions, and checks against a model.
  LineRing ring(100);
  std::string model;
  for (int i = 0; i < 5000; ++i) {
    std::string line =
        "line " + std::to_string(i) + std::string(static_cast<size_t>(i % 7), '.') + "\n";
    ring.Push(line);
    model += line;
    // The model: drop whole lines from the front while over capacity and more than one line.
    while (model.size() > 100) {
      size_t end = model.find('\n') + 1;
      if (end == model.size()) break;
      model.erase(0, end);
    }
    ASSERT_EQ(ring.Text(), model) << "after line " << i;
  }
}

TEST(DaemonLog, TailGivesTheLastLinesOfWhatWasLogged) {
  auto log = std::make_shared<DaemonLog>(1 << 10);
  spdlog::logger logger("t", log);
  for (int i = 0; i < 100; ++i) logger.info("message {}", i);
  auto tail = log->Tail(TailUnit::kLines, 2, 1 << 20);
  ASSERT_TRUE(tail.ok());
  EXPECT_NE(tail->find("message 98\n"), std::string::npos);
  EXPECT_NE(tail->find("message 99\n"), std::string::npos);
  EXPECT_EQ(tail->find("message 97\n"), std::string::npos);
  auto all = log->Tail(TailUnit::kBytes, 1 << 20, 1 << 20);
  ASSERT_TRUE(all.ok());
  EXPECT_LE(all->size(), 1u << 10);
  EXPECT_EQ(all->find("message 0\n"), std::string::npos);  // dropped by the capacity
}

}  // namespace
}  // namespace warden
