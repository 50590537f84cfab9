// The /proc/PID/stat reader: parsing, and reading a real child through a kept fd.
#include "daemon/os/os.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace warden::os {
namespace {

TEST(ParseProcStat, ReadsTheFieldsStatusNeeds) {
  // A real line (sleep under wardend), fields 1..24 and a few more.
  const std::string line =
      "4242 (sleep) S 100 4242 4242 0 -1 4194304 93 0 0 0 7 3 0 0 20 0 1 0 123456 5705728 "
      "129 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
  auto ps = ParseProcStat(4242, line);
  ASSERT_TRUE(ps);
  EXPECT_EQ(ps->pid, 4242);
  EXPECT_EQ(ps->state, 'S');
  EXPECT_EQ(ps->ppid, 100);
  EXPECT_EQ(ps->pgrp, 4242);
  EXPECT_EQ(ps->session, 4242);
  EXPECT_EQ(ps->cpu_ticks, 10u);  // utime 7 + stime 3
  EXPECT_EQ(ps->threads, 1);
  EXPECT_EQ(ps->start_ticks, 123456u);
  EXPECT_EQ(ps->rss_pages, 129u);
}

TEST(ParseProcStat, CommMayHoldSpacesAndParentheses) {
  auto ps = ParseProcStat(7, "7 (a) b (c) ) Z 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 3 0 99 0 0\n");
  ASSERT_TRUE(ps);
  EXPECT_EQ(ps->state, 'Z');
  EXPECT_EQ(ps->ppid, 1);
  EXPECT_EQ(ps->threads, 3);
  EXPECT_EQ(ps->start_ticks, 99u);
}

TEST(ParseProcStat, TellsAThreadFromAProcess) {
  // Field 38, exit_signal: -1 for a thread other than its process's first.
  const std::string fields_4_to_37 =
      "100 4242 4242 0 -1 4194304 93 0 0 0 7 3 0 0 20 0 2 0 123456 5705728 129 "
      "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 ";
  auto process = ParseProcStat(4242, "4242 (srv) S " + fields_4_to_37 + "17 1 0 0 0\n");
  auto thread = ParseProcStat(4243, "4243 (srv) S " + fields_4_to_37 + "-1 1 0 0 0\n");
  ASSERT_TRUE(process && thread);
  EXPECT_FALSE(process->thread);
  EXPECT_TRUE(thread->thread);
  EXPECT_EQ(thread->threads, 2);
  EXPECT_EQ(thread->rss_pages, 129u);
  // A short line (an old kernel's, or a test's) is a process.
  EXPECT_FALSE(ParseProcStat(7, "7 (a) S 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 3 0 99 0 0\n")->thread);
}

TEST(PidCursor, ParsesLoadavgAndStat) {
  PidCursor cursor;
  EXPECT_TRUE(ParseLoadavgPids("0.20 0.18 0.12 1/80 11206\n", &cursor));
  EXPECT_EQ(cursor.last_pid, 11206);
  EXPECT_EQ(cursor.tasks, 80u);
  EXPECT_TRUE(
      ParseStatForks("cpu  1 2 3\ncpu0 1 2 3\nintr 5 0 0\nctxt 9\nbtime 1\n"
                     "processes 1757797\nprocs_running 2\n",
                     &cursor));
  EXPECT_EQ(cursor.forks, 1757797u);
  EXPECT_FALSE(ParseLoadavgPids("0.20 0.18", &cursor));
  EXPECT_FALSE(ParseStatForks("cpu 1 2 3\n", &cursor));
  // This machine's.
  const PidCursor now = ReadPidCursor();
  EXPECT_GT(now.last_pid, 0);
  EXPECT_GT(now.forks, 0u);
  EXPECT_GT(now.tasks, 0u);
  EXPECT_GT(now.pid_max, now.last_pid);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) _exit(0);
  ASSERT_EQ(waitpid(child, nullptr, 0), child);
  const PidCursor after = ReadPidCursor();
  EXPECT_GT(after.forks, now.forks);
  EXPECT_NE(after.last_pid, now.last_pid);
}

TEST(ParseProcStat, RejectsWhatIsNotAStatLine) {
  EXPECT_FALSE(ParseProcStat(1, ""));
  EXPECT_FALSE(ParseProcStat(1, "1 (x)"));
  EXPECT_FALSE(ParseProcStat(1, "1 (x) S 0 1"));  // no session
  EXPECT_FALSE(ParseProcStat(1, "no parenthesis at all S 1 2 3"));
  auto short_line = ParseProcStat(1, "1 (x) R 0 1 1");  // the first fields only
  ASSERT_TRUE(short_line);
  EXPECT_EQ(short_line->state, 'R');
  EXPECT_EQ(short_line->rss_pages, 0u);
}

TEST(OpenProcStat, AKeptFdFollowsTheProcessUntilItIsReaped) {
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    pause();
    _exit(0);
  }
  UniqueFd fd = OpenProcStat(child);
  ASSERT_TRUE(fd);
  auto alive = ReadProcStat(child, fd.get());
  ASSERT_TRUE(alive);
  EXPECT_EQ(alive->ppid, getpid());
  EXPECT_EQ(alive->start_ticks, ReadProcStat(child)->start_ticks);  // the same as a fresh read

  ASSERT_EQ(kill(child, SIGKILL), 0);
  int status = 0;
  // A zombie still reads (state Z) until it is reaped.
  siginfo_t info{};
  ASSERT_EQ(waitid(P_PID, static_cast<id_t>(child), &info, WEXITED | WNOWAIT), 0);
  auto zombie = ReadProcStat(child, fd.get());
  ASSERT_TRUE(zombie);
  EXPECT_EQ(zombie->state, 'Z');
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_FALSE(ReadProcStat(child, fd.get()));  // gone for good, whatever the pid becomes
}

pid_t PausedChild() {
  pid_t child = fork();
  if (child == 0) {
    pause();
    _exit(0);
  }
  return child;
}

// Waits until `pid` (a child) is a zombie, without reaping it.
void AwaitZombie(pid_t pid) {
  siginfo_t info{};
  ASSERT_EQ(waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOWAIT), 0);
}

TEST(ReapAll, TheLikelyPidsComeFirstAndTheOthersAfter) {
  const pid_t running = PausedChild();
  const pid_t first = PausedChild();
  const pid_t second = PausedChild();
  ASSERT_GT(running, 0);
  ASSERT_GT(first, 0);
  ASSERT_GT(second, 0);
  ASSERT_EQ(kill(first, SIGKILL), 0);
  ASSERT_EQ(kill(second, SIGKILL), 0);
  AwaitZombie(first);
  AwaitZombie(second);
  // Asked for `second` by pid (and for one still running, and one that is no child): it comes
  // first although `first`, older, is a zombie too; the walk then finds `first`.
  std::vector<Reaped> reaped = ReapAll(1, {running, 1, second});
  ASSERT_EQ(reaped.size(), 1u);
  EXPECT_EQ(reaped[0].pid, second);
  EXPECT_TRUE(reaped[0].status.signaled);
  EXPECT_EQ(reaped[0].status.value, SIGKILL);
  reaped = ReapAll(8, {running, second});
  ASSERT_EQ(reaped.size(), 1u);
  EXPECT_EQ(reaped[0].pid, first);
  // Nothing is left but the one still running: nothing is reaped, nothing waits.
  EXPECT_TRUE(ReapAll(8, {running}).empty());
  ASSERT_EQ(kill(running, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(waitpid(running, &status, 0), running);
}

}  // namespace
}  // namespace warden::os

namespace warden::os {
namespace {

TEST(OomKillCount, TheOomKillLineOfVmstat) {
  EXPECT_EQ(ParseOomKillCount("nr_free_pages 1234\noom_kill 7\nnuma_hit 1\n"), 7u);
  EXPECT_EQ(ParseOomKillCount("oom_kill 0"), 0u);
  EXPECT_EQ(ParseOomKillCount("nr_free_pages 1234\n"), std::nullopt);  // before Linux 4.13
  EXPECT_EQ(ParseOomKillCount("oom_kill x\n"), std::nullopt);
  EXPECT_EQ(ParseOomKillCount("oom_kill_other 3\n"), std::nullopt);
  // This machine's, if it has one: a number.
  if (const auto count = ReadOomKillCount()) {
    EXPECT_LT(*count, 1000000000u);
  }
}

}  // namespace
}  // namespace warden::os
