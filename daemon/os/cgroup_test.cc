// The cgroup v2 parsers: /proc/self/cgroup, mountinfo, cgroup.events, cgroup.procs, cpu.stat,
// and the folder names of supervised processes.
#include "daemon/os/cgroup.h"

#include <gtest/gtest.h>

namespace warden::os {
namespace {

TEST(ParseUnifiedCgroup, FindsTheZeroLineAmongV1Lines) {
  const std::string text =
      "9:name=systemd:/\n4:memory:/process_api/44ba\n1:cpu:/\n0::/system.slice/warden.service\n";
  EXPECT_EQ(ParseUnifiedCgroup(text), "/system.slice/warden.service");
  EXPECT_EQ(ParseUnifiedCgroup("0::/\n"), "/");
  EXPECT_EQ(ParseUnifiedCgroup("4:memory:/x\n1:cpu:/\n"), std::nullopt);
  EXPECT_EQ(ParseUnifiedCgroup(""), std::nullopt);
}

TEST(ParseCgroup2Mount, FindsTheCgroup2MountWhateverTheOptionalFields) {
  const std::string hybrid =
      "30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
      "34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
      "40 30 0:37 / /sys/fs/cgroup/unified rw,relatime shared:9 master:2 - cgroup2 cgroup2 rw\n";
  auto mount = ParseCgroup2Mount(hybrid);
  ASSERT_TRUE(mount);
  EXPECT_EQ(mount->root, "/");
  EXPECT_EQ(mount->mount_point, "/sys/fs/cgroup/unified");

  const std::string unified =
      "26 21 0:23 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 "
      "rw,nsdelegate,memory_recursiveprot\n";
  mount = ParseCgroup2Mount(unified);
  ASSERT_TRUE(mount);
  EXPECT_EQ(mount->mount_point, "/sys/fs/cgroup");

  mount = ParseCgroup2Mount("41 30 0:37 /a\\040b /mnt/cg\\040two rw - cgroup2 none rw\n");
  ASSERT_TRUE(mount);
  EXPECT_EQ(mount->root, "/a b");
  EXPECT_EQ(mount->mount_point, "/mnt/cg two");

  EXPECT_EQ(ParseCgroup2Mount("34 30 0:31 / /sys/fs/cgroup/memory rw - cgroup cgroup rw\n"),
            std::nullopt);
  EXPECT_EQ(ParseCgroup2Mount("garbage\n- cgroup2\n"), std::nullopt);
}

TEST(CgroupFolder, JoinsTheMountAndThePath) {
  EXPECT_EQ(CgroupFolder({"/", "/sys/fs/cgroup"}, "/system.slice/warden.service"),
            "/sys/fs/cgroup/system.slice/warden.service");
  EXPECT_EQ(CgroupFolder({"/", "/sys/fs/cgroup/unified"}, "/"), "/sys/fs/cgroup/unified");
  // A mount of part of the hierarchy shows only what is below its root.
  EXPECT_EQ(CgroupFolder({"/a", "/mnt"}, "/a/b"), "/mnt/b");
  EXPECT_EQ(CgroupFolder({"/a", "/mnt"}, "/a"), "/mnt");
  EXPECT_EQ(CgroupFolder({"/a", "/mnt"}, "/ab"), std::nullopt);
  EXPECT_EQ(CgroupFolder({"/", "/mnt"}, "/../etc"), std::nullopt);
  EXPECT_EQ(CgroupFolder({"/", "/mnt"}, "relative"), std::nullopt);
}

TEST(ParseCgroupEvents, ReadsPopulatedAndFrozen) {
  auto events = ParseCgroupEvents("populated 1\nfrozen 0\n");
  ASSERT_TRUE(events);
  EXPECT_TRUE(events->populated);
  EXPECT_FALSE(events->frozen);
  events = ParseCgroupEvents("populated 0\nfrozen 1\n");
  ASSERT_TRUE(events);
  EXPECT_FALSE(events->populated);
  EXPECT_TRUE(events->frozen);
  EXPECT_EQ(ParseCgroupEvents("frozen 0\n"), std::nullopt);
  EXPECT_EQ(ParseCgroupEvents(""), std::nullopt);
}

TEST(ParseCgroupProcs, OnePidALine) {
  EXPECT_EQ(ParseCgroupProcs("12\n345\n"), (std::vector<int>{12, 345}));
  EXPECT_EQ(ParseCgroupProcs(""), std::vector<int>{});
  EXPECT_EQ(ParseCgroupProcs("7\nx\n0\n99999999999\n8"), (std::vector<int>{7, 8}));
}

TEST(ParseCpuUsageUsec, ReadsUsageUsec) {
  EXPECT_EQ(ParseCpuUsageUsec("usage_usec 1234\nuser_usec 1000\nsystem_usec 234\n"), 1234u);
  EXPECT_EQ(ParseCpuUsageUsec("user_usec 1000\n"), std::nullopt);
}

TEST(ParseMemoryEvents, ReadsTheCounters) {
  auto events = ParseMemoryEvents("low 0\nhigh 17\nmax 2\noom 1\noom_kill 1\noom_group_kill 0\n");
  ASSERT_TRUE(events);
  EXPECT_EQ(events->high, 17u);
  EXPECT_EQ(events->max, 2u);
  EXPECT_EQ(events->oom, 1u);
  EXPECT_EQ(events->oom_kill, 1u);
  EXPECT_EQ(ParseMemoryEvents("populated 1\n"), std::nullopt);
  EXPECT_EQ(ParseMemoryEvents("high x\n"), std::nullopt);
}

TEST(HasController, MatchesWholeWords) {
  EXPECT_TRUE(HasController("cpuset cpu io memory pids\n", "memory"));
  EXPECT_TRUE(HasController("cpuset cpu io memory pids\n", "pids"));
  EXPECT_FALSE(HasController("cpuset io\n", "cpu"));
  EXPECT_FALSE(HasController("", "memory"));
}

TEST(CgroupFolderName, EscapesAndAvoidsKernelNames) {
  EXPECT_EQ(CgroupFolderName("web", "web"), "web");
  EXPECT_EQ(CgroupFolderName("webapps", "web_00"), "webapps.web_00");
  EXPECT_EQ(CgroupFolderName("a.b", "c/d"), "a%2Eb.c%2Fd");
  EXPECT_EQ(CgroupFolderName("..", ".."), "%2E%2E");
  EXPECT_EQ(CgroupFolderName("cgroup", "procs"), "_cgroup.procs");
  EXPECT_EQ(CgroupFolderName("memory", "max"), "_memory.max");
  EXPECT_EQ(CgroupFolderName("_x", "_x"), "__x");
  EXPECT_EQ(CgroupFolderName("cpufarm", "cpufarm"), "cpufarm");
}

}  // namespace
}  // namespace warden::os
