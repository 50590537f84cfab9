#include "daemon/supervisor/orphans.h"

#include <gtest/gtest.h>

#include "daemon/supervisor/test_procs.h"

namespace warden {
namespace {

constexpr int kSelf = 1000;

using testing::Pids;
using testing::Proc;

ProcessClaim Claim(int main_pid, std::string group = "g", std::string process = "p") {
  ProcessClaim c;
  c.main_pid = main_pid;
  if (main_pid > 0) c.sessions.insert(main_pid);
  c.group = std::move(group);
  c.process = std::move(process);
  return c;
}

TEST(AttributeTest, DescendantsOfTheMainProcessParentsFirst) {
  std::vector<os::ProcStat> snap = {Proc(1, 0, 1),          Proc(kSelf, 1, kSelf),
                                    Proc(2001, 2000, 2000), Proc(2000, kSelf, 2000),
                                    Proc(2002, 2001, 2000), Proc(3000, 1, 3000)};
  Attribution a = Attribute(kSelf, snap, {Claim(2000)}, nullptr);
  ASSERT_TRUE(a.main[0]);
  EXPECT_EQ(a.main[0]->pid, 2000);
  EXPECT_EQ(Pids(a.members[0]), (std::vector<int>{2001, 2002}));
  EXPECT_TRUE(a.unclaimed.empty());
}

TEST(AttributeTest, OrphanInTheSessionOfAnExitedMain) {
  ProcessClaim c = Claim(0);
  c.sessions = {2000};  // the main process 2000 has exited
  std::vector<os::ProcStat> snap = {Proc(2001, kSelf, 2000), Proc(2005, 2001, 2000)};
  Attribution a = Attribute(kSelf, snap, {c}, nullptr);
  EXPECT_FALSE(a.main[0]);
  EXPECT_EQ(Pids(a.members[0]), (std::vector<int>{2001, 2005}));
}

TEST(AttributeTest, DoubleForkedDaemonFoundByItsEnvironment) {
  // main 2000 forked 2001, which called setsid (session 2001), forked 2002 and exited: 2002 is
  // wardend's now, in a session nobody knows.
  std::vector<os::ProcStat> snap = {Proc(2002, kSelf, 2001)};
  std::vector<ProcessClaim> claims = {Claim(0, "other", "other"), Claim(0, "web", "web_01")};
  claims[1].sessions = {2000};
  auto environ_names = [](int pid) -> std::optional<std::pair<std::string, std::string>> {
    if (pid == 2002) return std::make_pair(std::string("web"), std::string("web_01"));
    return std::nullopt;
  };
  Attribution a = Attribute(kSelf, snap, claims, environ_names);
  EXPECT_TRUE(a.members[0].empty());
  EXPECT_EQ(Pids(a.members[1]), std::vector<int>{2002});
}

TEST(AttributeTest, AnExitingRootIsClaimedThroughItsChild) {
  // 2001 is exiting (no environment left) and its child 2002 not reparented yet.
  std::vector<os::ProcStat> snap = {Proc(2001, kSelf, 2001), Proc(2002, 2001, 2001)};
  auto environ_names = [](int pid) -> std::optional<std::pair<std::string, std::string>> {
    if (pid == 2002) return std::make_pair(std::string("g"), std::string("p"));
    return std::nullopt;
  };
  Attribution a = Attribute(kSelf, snap, {Claim(0)}, environ_names);
  EXPECT_EQ(Pids(a.members[0]), (std::vector<int>{2001, 2002}));
}

TEST(AttributeTest, KnownPidsStayAttributedOnlyWithTheSameStartTime) {
  ProcessClaim c = Claim(0);
  c.known = {{2002, 77}};
  Attribution a = Attribute(kSelf, {Proc(2002, kSelf, 2002, 77)}, {c}, nullptr);
  EXPECT_EQ(Pids(a.members[0]), std::vector<int>{2002});
  // The same pid, another process (reused): not ours.
  a = Attribute(kSelf, {Proc(2002, kSelf, 2002, 78)}, {c}, nullptr);
  EXPECT_TRUE(a.members[0].empty());
  EXPECT_EQ(a.unclaimed, std::vector<int>{2002});
}

TEST(AttributeTest, OnlyWardendsSubtreeIsConsidered) {
  ProcessClaim c = Claim(0);
  c.sessions = {2000};
  // In the right session, but not below wardend: never claimed.
  Attribution a = Attribute(kSelf, {Proc(2001, 1, 2000)}, {c}, nullptr);
  EXPECT_TRUE(a.members[0].empty());
  EXPECT_TRUE(a.unclaimed.empty());
}

TEST(AttributeTest, ALiveMainsSessionWinsOverAStaleMemory) {
  ProcessClaim old = Claim(0);
  old.sessions = {2000};  // remembered, but pid 2000 now belongs to another program's main
  ProcessClaim now = Claim(2000);
  std::vector<os::ProcStat> snap = {Proc(2000, kSelf, 2000), Proc(2003, kSelf, 2000)};
  Attribution a = Attribute(kSelf, snap, {old, now}, nullptr);
  EXPECT_TRUE(a.members[0].empty());
  EXPECT_EQ(Pids(a.members[1]), std::vector<int>{2003});
}

TEST(AttributeTest, AnUnnamedOrphanBelongsToTheMainThatLivedWhenItStarted) {
  // 2001 (started at tick 150) left the session and cleared its environment; its parent, the
  // main process of the second claim (ticks 100 to 200), has exited. The first claim's main
  // ended before 2001 started; 2009 started after both ended: nobody's.
  std::vector<ProcessClaim> claims = {Claim(0, "a", "a"), Claim(0, "b", "b")};
  claims[0].ended_main_start = 10;
  claims[0].ended_main_exit = 90;
  claims[1].ended_main_start = 100;
  claims[1].ended_main_exit = 200;
  std::vector<os::ProcStat> snap = {Proc(2001, kSelf, 2001, 150), Proc(2009, kSelf, 2009, 250)};
  auto no_names = [](int) -> std::optional<std::pair<std::string, std::string>> {
    return std::nullopt;
  };
  Attribution a = Attribute(kSelf, snap, claims, no_names);
  EXPECT_TRUE(a.members[0].empty());
  EXPECT_EQ(Pids(a.members[1]), std::vector<int>{2001});
  EXPECT_EQ(a.unclaimed, std::vector<int>{2009});
  // Someone else's names win over the time rule.
  auto other = [](int) -> std::optional<std::pair<std::string, std::string>> {
    return std::make_pair(std::string("x"), std::string("x"));
  };
  a = Attribute(kSelf, snap, claims, other);
  EXPECT_TRUE(a.members[1].empty());
}

TEST(RememberTest, KeepsMembersAndTheirSessions) {
  ProcessClaim c = Claim(0);
  c.sessions = {1, 2, 3};
  Remember(&c, {Proc(2002, kSelf, 2001, 5)});
  EXPECT_EQ(c.known, (std::unordered_map<int, uint64_t>{{2002, 5}}));
  EXPECT_EQ(c.sessions, (IntSet{2001}));
  c.main_pid = 3000;
  Remember(&c, {});
  EXPECT_TRUE(c.known.empty());
  EXPECT_EQ(c.sessions, (IntSet{3000}));
}

TEST(IntSetTest, SortedUniqueValues) {
  IntSet set;
  EXPECT_TRUE(set.empty());
  set.insert(5);
  set.insert(1);
  set.insert(5);
  set.insert(3);
  EXPECT_EQ(set.size(), 3u);
  EXPECT_EQ(std::vector<int>(set.begin(), set.end()), (std::vector<int>{1, 3, 5}));
  EXPECT_EQ(set.count(3), 1u);
  EXPECT_EQ(set.count(4), 0u);
  const std::vector<int> more = {7, 1, 2};
  set.insert(more.begin(), more.end());
  EXPECT_EQ(set, (IntSet{1, 2, 3, 5, 7}));
  set.clear();
  EXPECT_TRUE(set.empty());
  EXPECT_EQ(set.count(1), 0u);
}

}  // namespace
}  // namespace warden
