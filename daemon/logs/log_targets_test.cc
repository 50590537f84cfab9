#include "daemon/logs/log_targets.h"

#include <gtest/gtest.h>

namespace warden {
namespace {

TEST(LogTargets, PrioritiesFollowSyslog) {
  EXPECT_EQ(JournalPriority(spdlog::level::debug), 7);
  EXPECT_EQ(JournalPriority(spdlog::level::info), 6);
  EXPECT_EQ(JournalPriority(spdlog::level::warn), 4);
  EXPECT_EQ(JournalPriority(spdlog::level::err), 3);
  EXPECT_EQ(JournalPriority(spdlog::level::critical), 2);
}

TEST(LogTargets, ProgramIsTheNameBeforeTheColon) {
  EXPECT_EQ(ProgramOfLine("web: started"), "web");
  EXPECT_EQ(ProgramOfLine("grp:web_01: exited: status 1"), "grp:web_01");
  EXPECT_EQ(ProgramOfLine("reaped pid 12: done"), "");
  EXPECT_EQ(ProgramOfLine(": nothing"), "");
  EXPECT_EQ(ProgramOfLine("no colon at all"), "");
}

TEST(LogTargets, EntryHasTheFieldsInTextForm) {
  EXPECT_EQ(JournalEntry(6, "wardend", "web: started"),
            "PRIORITY=6\nSYSLOG_IDENTIFIER=wardend\nWARDEN_PROGRAM=web\nMESSAGE=web: started\n");
  EXPECT_EQ(JournalEntry(3, "wardend", "plain"),
            "PRIORITY=3\nSYSLOG_IDENTIFIER=wardend\nMESSAGE=plain\n");
}

TEST(LogTargets, AMultiLineValueGoesInBinaryForm) {
  const std::string entry = JournalEntry(6, "wardend", "a\nb");
  const std::string expected_tail =
      std::string("MESSAGE\n") + std::string("\x03\0\0\0\0\0\0\0", 8) + "a\nb\n";
  ASSERT_GE(entry.size(), expected_tail.size());
  EXPECT_EQ(entry.substr(entry.size() - expected_tail.size()), expected_tail);
}

}  // namespace
}  // namespace warden
