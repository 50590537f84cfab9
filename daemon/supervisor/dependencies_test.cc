#include "daemon/supervisor/dependencies.h"

#include <gtest/gtest.h>

namespace warden {
namespace {

using core::State;

DependencyGraph Chain() {
  // a -> b -> c (a depends on b, b on c), and an unrelated d.
  return DependencyGraph({{"a", 999, {"b"}}, {"b", 999, {"c"}}, {"c", 999, {}}, {"d", 999, {}}});
}

TEST(DependencyGraphTest, TiersPutDependenciesFirst) {
  DependencyGraph g = Chain();
  EXPECT_LT(g.Tier("c"), g.Tier("b"));
  EXPECT_LT(g.Tier("b"), g.Tier("a"));
  EXPECT_EQ(g.Tier("d"), g.Tier("c")) << "unrelated programs of one priority share a tier";
  EXPECT_EQ(g.Tier("nosuch"), 0);
}

TEST(DependencyGraphTest, PriorityOrdersUnrelatedProgramsAndNeverDelaysADependency) {
  // web (priority 10) depends on db (priority 500): db must still start first, and before the
  // unrelated cache (priority 100).
  DependencyGraph g({{"web", 10, {"db"}}, {"db", 500, {}}, {"cache", 100, {}}});
  EXPECT_LT(g.Tier("db"), g.Tier("web"));
  EXPECT_LT(g.Tier("db"), g.Tier("cache"));
  EXPECT_LT(g.Tier("web"), g.Tier("cache"));
}

TEST(DependencyGraphTest, RequirementsAreTransitiveDependenciesFirst) {
  DependencyGraph g = Chain();
  EXPECT_EQ(g.Requirements("a"), (std::vector<std::string>{"c", "b"}));
  EXPECT_TRUE(g.Requirements("c").empty());
  EXPECT_TRUE(g.Requirements("nosuch").empty());
}

TEST(DependencyGraphTest, DependentsAreTransitive) {
  DependencyGraph g = Chain();
  auto dependents = g.Dependents("c");
  std::sort(dependents.begin(), dependents.end());
  EXPECT_EQ(dependents, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(g.Dependents("a").empty());
  EXPECT_TRUE(g.Dependents("d").empty());
}

TEST(DependencyGraphTest, DiamondIsListedOnce) {
  DependencyGraph g({{"top", 999, {"left", "right"}},
                     {"left", 999, {"base"}},
                     {"right", 999, {"base"}},
                     {"base", 999, {}}});
  auto req = g.Requirements("top");
  ASSERT_EQ(req.size(), 3u);
  EXPECT_EQ(req.front(), "base");
  EXPECT_EQ(g.Dependents("base").size(), 3u);
  EXPECT_LT(g.Tier("left"), g.Tier("top"));
}

TEST(DependencyGraphTest, UnknownNamesAndSelfEdgesAreIgnored) {
  DependencyGraph g({{"a", 999, {"a", "ghost"}}});
  EXPECT_TRUE(g.Requirements("a").empty());
  EXPECT_EQ(g.Tier("a"), 0);
}

TEST(DependencyGraphTest, ACycleDoesNotHang) {
  DependencyGraph g({{"a", 999, {"b"}}, {"b", 999, {"a"}}});
  EXPECT_EQ(g.Requirements("a"), std::vector<std::string>{"b"});
  (void)g.Tier("a");
}

TEST(JudgeStartTest, GoWhenEveryDependencyIsRunning) {
  EXPECT_EQ(JudgeStart({}).kind, StartVerdict::kGo);
  EXPECT_EQ(
      JudgeStart({{"db", State::kRunning, false, ""}, {"mq", State::kRunning, false, ""}}).kind,
      StartVerdict::kGo);
}

TEST(JudgeStartTest, WaitWhileADependencyIsOnItsWay) {
  for (State s : {State::kStarting, State::kBackoff, State::kStopping}) {
    StartVerdict v = JudgeStart({{"db", s, false, ""}, {"mq", State::kRunning, false, ""}});
    EXPECT_EQ(v.kind, StartVerdict::kWait) << core::StateName(s);
    EXPECT_EQ(v.reason, "waiting for db");
  }
  StartVerdict v =
      JudgeStart({{"db", State::kStopped, true, ""}, {"mq", State::kFatal, true, "old"}});
  EXPECT_EQ(v.kind, StartVerdict::kWait) << "pending starts are waited for, whatever the state";
  EXPECT_EQ(v.reason, "waiting for db, mq");
}

// One instance RUNNING and another restarting after a crash, each up since the request: go, as a
// systemd start job would. Not yet up since (or stopping): wait; a pending start still waits.
TEST(JudgeStartTest, ADependencyUpSinceTheRequestCountsWhileItRestarts) {
  for (State s : {State::kStarting, State::kBackoff}) {
    StartVerdict v = JudgeStart(
        {{"db:db_00", s, false, "", true}, {"db:db_01", State::kRunning, false, "", true}});
    EXPECT_EQ(v.kind, StartVerdict::kGo) << core::StateName(s);
  }
  EXPECT_EQ(JudgeStart({{"db", State::kStopping, false, "", true}}).kind, StartVerdict::kWait);
  EXPECT_EQ(JudgeStart({{"db", State::kBackoff, true, "", true}}).kind, StartVerdict::kWait);
  EXPECT_EQ(JudgeStart({{"db", State::kFatal, false, "", true}}).kind, StartVerdict::kFail);
}

TEST(JudgeStartTest, FailWhenADependencyIsFatalOrStopped) {
  StartVerdict v = JudgeStart(
      {{"db", State::kStarting, false, ""}, {"mq", State::kFatal, false, "Exited too quickly"}});
  EXPECT_EQ(v.kind, StartVerdict::kFail);
  EXPECT_EQ(v.reason, "dependency mq is FATAL: Exited too quickly");
  v = JudgeStart({{"db", State::kStopped, false, ""}});
  EXPECT_EQ(v.kind, StartVerdict::kFail);
  EXPECT_EQ(v.reason, "dependency db is STOPPED");
  v = JudgeStart({{"db", State::kExited, false, "exit status 0"}});
  EXPECT_EQ(v.reason, "dependency db is EXITED: exit status 0");
}

}  // namespace
}  // namespace warden
