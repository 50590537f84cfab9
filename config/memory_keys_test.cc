// memory_limit, memory_max and warden.memory_check_interval: their sizes, their errors, how an
// update treats them, and the host check of the memory controller behind memory_max.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <string_view>

#include "config/config.h"
#include "config/diff.h"
#include "config/loader_internal.h"
#include "config/values.h"

namespace warden::config {
namespace {

using internal::MemoryControllerProblem;
using internal::ParseSize;

constexpr uint64_t kKiB = 1024;
constexpr uint64_t kMiB = 1024 * kKiB;
constexpr uint64_t kGiB = 1024 * kMiB;

LoadResult Load(std::string_view yaml) { return LoadConfigString(yaml, "w.yaml"); }

TEST(ParseSizeTest, UnitsOfOneOrTwoLettersAndFractions) {
  EXPECT_EQ(ParseSize("1048576"), 1048576u);
  EXPECT_EQ(ParseSize("200M"), 200 * kMiB);
  EXPECT_EQ(ParseSize("200MB"), 200 * kMiB);
  EXPECT_EQ(ParseSize("200mib"), 200 * kMiB);
  EXPECT_EQ(ParseSize("512K"), 512 * kKiB);
  EXPECT_EQ(ParseSize("512 k"), 512 * kKiB);
  EXPECT_EQ(ParseSize("2G"), 2 * kGiB);
  EXPECT_EQ(ParseSize("1.5G"), kGiB + kGiB / 2);
  EXPECT_EQ(ParseSize("0.5K"), 512u);
  EXPECT_EQ(ParseSize("1.0001K"), 1024u);  // rounded down to whole bytes
  EXPECT_EQ(ParseSize("0"), 0u);
  for (std::string_view bad : {"", "M", "1.5", "1.G", "1.5.5G", "-1M", "+1M", "1T", "1 X", "1e3",
                               "1.5e3M", "99999999999999999999"}) {
    EXPECT_EQ(ParseSize(bad), std::nullopt) << bad;
  }
}

TEST(MemoryKeysTest, ReadWithTheirDefaults) {
  const LoadResult result = Load(R"(
warden:
  memory_check_interval: 0.5
programs:
  web: {command: x, memory_limit: 200M, memory_max: 1.5G}
  api: {command: x}
)");
  ASSERT_TRUE(result.config) << (result.errors.empty() ? "" : result.errors[0].ToString());
  const Config& c = *result.config;
  EXPECT_EQ(c.warden.memory_check_interval, 0.5);
  EXPECT_EQ(c.FindProgram("web")->memory_limit, 200 * kMiB);
  EXPECT_EQ(c.FindProgram("web")->memory_max, kGiB + kGiB / 2);
  EXPECT_EQ(c.FindProgram("web")->places.memory_max.line, 5);
  EXPECT_EQ(c.FindProgram("api")->memory_limit, 0u);
  EXPECT_EQ(c.FindProgram("api")->memory_max, 0u);

  const LoadResult defaults = Load("programs:\n  web: {command: x}\n");
  ASSERT_TRUE(defaults.config);
  EXPECT_EQ(defaults.config->warden.memory_check_interval, 10.0);
}

TEST(MemoryKeysTest, ErrorsPointAtTheValue) {
  const LoadResult result = Load(R"(
warden:
  memory_check_interval: 0.05
programs:
  web: {command: x, memory_limit: lots, memory_max: -1M}
  api: {command: x, max_memory_restart: 200M}
)");
  ASSERT_FALSE(result.config);
  std::vector<std::string> lines;
  for (const Diagnostic& d : result.errors) lines.push_back(d.ToString());
  EXPECT_EQ(lines,
            (std::vector<std::string>{
                "w.yaml:3:26: 'memory_check_interval' must be at least 0.1 seconds",
                "w.yaml:5:35: 'memory_limit' must be a size in bytes, or a number with K, M or G "
                "(200M, 1.5G, 50MB)",
                "w.yaml:5:53: 'memory_max' must be a size in bytes, or a number with K, M or G "
                "(200M, 1.5G, 50MB)",
                "w.yaml:6:21: unknown key 'max_memory_restart' in program 'api' (did you mean "
                "'memory_limit'?)",
            }));
}

TEST(MemoryKeysTest, ALimitAppliesLiveTheCapAtTheNextStart) {
  const LoadResult before = Load("programs:\n  web: {command: x}\n");
  const LoadResult after = Load("programs:\n  web: {command: x, memory_limit: 1G}\n");
  const LoadResult capped = Load("programs:\n  web: {command: x, memory_max: 1G}\n");
  ASSERT_TRUE(before.config && after.config && capped.config);
  const std::vector<ProgramChange> limit = Diff(*before.config, *after.config);
  ASSERT_EQ(limit.size(), 1u);
  EXPECT_EQ(limit[0].keys, std::vector<std::string>{"memory_limit"});
  EXPECT_FALSE(limit[0].restart);
  const std::vector<ProgramChange> cap = Diff(*before.config, *capped.config);
  ASSERT_EQ(cap.size(), 1u);
  EXPECT_EQ(cap[0].keys, std::vector<std::string>{"memory_max"});
  EXPECT_TRUE(cap[0].restart);

  // An update of everything applies a new check interval.
  const LoadResult faster = Load("warden: {memory_check_interval: 2}\nprograms: {}\n");
  ASSERT_TRUE(faster.config);
  EXPECT_EQ(Merge(*before.config, *faster.config, {}).warden.memory_check_interval, 2.0);
}

TEST(MemoryControllerTest, SaysWhichFileOrControllerIsMissing) {
  std::map<std::string, std::string> files;
  const auto read = [&](const std::string& path) -> std::optional<std::string> {
    auto it = files.find(path);
    if (it == files.end()) return std::nullopt;
    return it->second;
  };
  // This project's machines: memory on cgroup v1, an empty cgroup2 at /sys/fs/cgroup/unified.
  const std::string hybrid_cgroup = "4:memory:/box\n1:cpu:/\n0::/\n";
  const std::string hybrid_mounts =
      "34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
      "40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
  files["/sys/fs/cgroup/unified/cgroup.controllers"] = "\n";
  EXPECT_EQ(MemoryControllerProblem(hybrid_cgroup, hybrid_mounts, read),
            "the cgroup v2 hierarchy at /sys/fs/cgroup/unified has no memory controller "
            "(/sys/fs/cgroup/unified/cgroup.controllers lists none) (memory is on a cgroup v1 "
            "hierarchy here: /proc/self/cgroup)");
  files["/sys/fs/cgroup/unified/cgroup.controllers"] = "cpu pids\n";
  EXPECT_NE(
      MemoryControllerProblem(hybrid_cgroup, hybrid_mounts, read).find("lists only: cpu pids"),
      std::string::npos);

  // A unified hierarchy (systemd with Delegate=yes): wardend's own cgroup offers memory.
  const std::string unified_cgroup = "0::/system.slice/warden.service\n";
  const std::string unified_mounts =
      "25 20 0:22 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n";
  files["/sys/fs/cgroup/system.slice/warden.service/cgroup.controllers"] = "cpu io memory pids\n";
  EXPECT_EQ(MemoryControllerProblem(unified_cgroup, unified_mounts, read), "");
  // In a container whose cgroup2 mount is rooted at its own cgroup.
  const std::string rooted_mounts =
      "25 20 0:22 /system.slice/warden.service /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
  files["/sys/fs/cgroup/cgroup.controllers"] = "memory\n";
  EXPECT_EQ(MemoryControllerProblem(unified_cgroup, rooted_mounts, read), "");

  EXPECT_EQ(MemoryControllerProblem("4:memory:/\n", hybrid_mounts, read),
            "wardend is in no cgroup v2 hierarchy (/proc/self/cgroup has no 0:: line) (memory is "
            "on a cgroup v1 hierarchy here: /proc/self/cgroup)");
  EXPECT_EQ(MemoryControllerProblem("0::/\n", "", read),
            "no cgroup2 file system is mounted (/proc/self/mountinfo)");
  EXPECT_EQ(MemoryControllerProblem("0::/gone\n", unified_mounts, read),
            "cannot read /sys/fs/cgroup/gone/cgroup.controllers");
}

TEST(MemoryControllerTest, CheckHostWarnsOnlyWhereItCannotBeEnforced) {
  const LoadResult result = Load("programs:\n  web: {command: /bin/sh, memory_max: 100M}\n");
  ASSERT_TRUE(result.config);
  const HostCheck check = CheckHost(*result.config);
  const std::string problem = MemoryMaxUnavailable();
  if (problem.empty()) {
    EXPECT_TRUE(check.warnings.empty());
    return;
  }
  ASSERT_EQ(check.warnings.size(), 1u);
  EXPECT_EQ(check.warnings[0].ToString(),
            "w.yaml:2:39: warning: program 'web': memory_max cannot be enforced here: " + problem +
                "; the program runs without it");
}

TEST(MemoryControllerTest, WithCgroupNoneItIsNeverEnforced) {
  const LoadResult result =
      Load("warden: {cgroup: none}\nprograms:\n  web: {command: /bin/sh, memory_max: 100M}\n");
  ASSERT_TRUE(result.config);
  const HostCheck check = CheckHost(*result.config);
  ASSERT_EQ(check.warnings.size(), 1u);
  EXPECT_EQ(check.warnings[0].ToString(),
            "w.yaml:3:39: warning: program 'web': memory_max cannot be enforced here: "
            "warden.cgroup is none: processes are tracked through /proc, not in cgroups; the "
            "program runs without it");
}

}  // namespace
}  // namespace warden::config
