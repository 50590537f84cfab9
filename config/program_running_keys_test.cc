// The keys of how a program runs: ready, ready_timeout, backoff, rlimits, group, keep_orphans,
// and ${VAR} checks.
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"

namespace warden::config {
namespace {

std::string Text(std::string_view text) {
  if (!text.empty() && text.front() == '\n') text.remove_prefix(1);
  return std::string(text);
}

std::vector<std::string> ErrorsOf(std::string_view yaml) {
  const LoadResult result = LoadConfigString(Text(yaml), "w.yaml");
  EXPECT_FALSE(result.config.has_value());
  std::vector<std::string> out;
  for (const Diagnostic& d : result.errors) out.push_back(d.ToString());
  return out;
}

Program MustLoadProgram(std::string_view yaml) {
  LoadResult result = LoadConfigString(Text(yaml), "w.yaml");
  for (const Diagnostic& d : result.errors) ADD_FAILURE() << d.ToString();
  if (!result.config || result.config->programs.empty()) return Program{};
  return result.config->programs.front();
}

using Lines = std::vector<std::string>;

TEST(ProgramLifecycleKeysTest, Defaults) {
  Program p = MustLoadProgram("programs:\n  web:\n    command: /bin/true\n");
  EXPECT_EQ(p.ready, ReadyMode::kStartsecs);
  EXPECT_EQ(p.ready_timeout, 60.0);
  EXPECT_EQ(p.backoff, (Backoff{1.0, 60.0, 60.0, 0.1}));
  EXPECT_TRUE(p.rlimits.empty());
  EXPECT_TRUE(p.group.empty());
  EXPECT_FALSE(p.keep_orphans);
}

TEST(ProgramLifecycleKeysTest, ReadyForms) {
  EXPECT_EQ(MustLoadProgram("programs:\n  w:\n    command: x\n    ready: notify\n").ready,
            ReadyMode::kNotify);
  Program fd = MustLoadProgram("programs:\n  w:\n    command: x\n    ready: fd:3\n");
  EXPECT_EQ(fd.ready, ReadyMode::kFd);
  EXPECT_EQ(fd.ready_fd, 3);
  Program tcp = MustLoadProgram("programs:\n  w:\n    command: x\n    ready: {tcp: 8080}\n");
  EXPECT_EQ(tcp.ready, ReadyMode::kTcp);
  EXPECT_EQ(tcp.ready_port, 8080);
  Program tcp2 = MustLoadProgram("programs:\n  w:\n    command: x\n    ready: tcp:81\n");
  EXPECT_EQ(tcp2.ready_port, 81);
}

TEST(ProgramLifecycleKeysTest, EveryKeyRead) {
  Program p = MustLoadProgram(R"(
programs:
  web:
    command: /bin/true
    group: adm
    ready: notify
    ready_timeout: 2.5
    backoff: {initial: 0.5, max: 30, reset_after: 10, jitter: 0.25}
    rlimits: {nofile: 65536, core: 0, stack: 8MB, as: unlimited}
    keep_orphans: true
)");
  EXPECT_EQ(p.group, "adm");
  EXPECT_EQ(p.ready_timeout, 2.5);
  EXPECT_EQ(p.backoff, (Backoff{0.5, 30, 10, 0.25}));
  EXPECT_EQ(p.rlimits, (std::vector<ResourceLimit>{{"nofile", 65536},
                                                   {"core", 0},
                                                   {"stack", 8u << 20},
                                                   {"as", std::nullopt}}));
  EXPECT_TRUE(p.keep_orphans);
}

TEST(ProgramLifecycleKeysTest, BackoffFalseDisablesIt) {
  Program p = MustLoadProgram("programs:\n  w:\n    command: x\n    backoff: false\n");
  EXPECT_EQ(p.backoff.initial, 0.0);
}

TEST(ProgramLifecycleKeysTest, ErrorsAtTheirPlace) {
  EXPECT_EQ(ErrorsOf(R"(
programs:
  web:
    command: ["/bin/echo", "${PORT"]
    environment: {A: "${1X}"}
    ready: fd:2
    ready_timeout: -1
    backoff: {initial: 5, max: 2, jiter: 0.1}
    rlimits: {nofiles: 10, core: lots}
    keep_orphans: maybe
  api:
    command: x
    ready: {tcp: 70000}
    backoff: {jitter: 2}
)"),
            (Lines{
                "w.yaml:3:14: 'command': unterminated ${ (write $${ for a literal ${)",
                "w.yaml:4:18: 'environment': bad variable name '1X' in ${1X}",
                "w.yaml:5:12: 'ready' must be startsecs, notify, fd:N (N from 3 to 1023) or a "
                "map {tcp: PORT}",
                "w.yaml:6:20: 'ready_timeout' must be between 0 and 31536000 seconds",
                "w.yaml:7:14: 'backoff': 'max' must be at least 'initial'",
                "w.yaml:7:35: unknown key 'jiter' in 'backoff' (did you mean 'jitter'?)",
                "w.yaml:8:15: unknown key 'nofiles' in 'rlimits' (resources are setrlimit's, "
                "without RLIMIT_) (did you mean 'nofile'?)",
                "w.yaml:8:34: 'core' must be a number (sizes may use KB, MB or GB) or unlimited",
                "w.yaml:9:19: 'keep_orphans' must be true or false",
                "w.yaml:12:18: 'tcp' must be between 1 and 65535",
                "w.yaml:13:23: 'jitter' must be a number from 0 to 1 (a fraction)",
            }));
}

}  // namespace
}  // namespace warden::config
