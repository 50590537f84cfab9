#include "daemon/supervisor/jobs.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace warden {
namespace {

TEST(JobTable, IdsAreNeverReused) {
  JobTable jobs;
  const JobTable::Id a = jobs.Open(JobKind::kStart);
  EXPECT_TRUE(jobs.Close(a));
  const JobTable::Id b = jobs.Open(JobKind::kStop);
  EXPECT_NE(a, b);
  EXPECT_EQ(jobs.size(), 1u);
}

TEST(JobTable, CompletionRunsOnceAndEmptiesTheTable) {
  JobTable jobs;
  int calls = 0;
  std::vector<std::string> got;
  auto done = jobs.Completion(
      jobs.Open(JobKind::kRestart, {7, 8}),
      std::function<void(std::vector<std::string>)>([&](std::vector<std::string> results) {
        ++calls;
        got = std::move(results);
      }));
  EXPECT_EQ(jobs.size(), 1u);
  done({"web: started"});
  done({"web: started again"});  // a second completion is a bug: dropped
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(got, std::vector<std::string>{"web: started"});
  EXPECT_TRUE(jobs.empty());
}

TEST(JobTable, ForgetDropsARemovedProcessFromEveryJob) {
  JobTable jobs;
  const JobTable::Id a = jobs.Open(JobKind::kStop, {1, 2, 3});
  const JobTable::Id b = jobs.Open(JobKind::kUpdate, {2});
  EXPECT_TRUE(jobs.Refers(2));
  jobs.Forget(2);
  EXPECT_FALSE(jobs.Refers(2));
  EXPECT_EQ(jobs.jobs().at(a).processes, (std::vector<uint64_t>{1, 3}));
  EXPECT_TRUE(jobs.jobs().at(b).processes.empty());
  EXPECT_TRUE(jobs.Refers(3));
}

}  // namespace
}  // namespace warden
