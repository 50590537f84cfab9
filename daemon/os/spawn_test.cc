// os::Spawn on the real kernel: into a cgroup (born there, or by the child's own write), how a
// cgroup that cannot be used and an exec that fails are reported, the signals a child gets.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "base/unique_fd.h"
#include "daemon/os/cgroup.h"
#include "daemon/os/os.h"

namespace warden::os {
namespace {

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The value of a "Key:\t..." line of /proc/PID/status.
std::string StatusField(int pid, const std::string& key) {
  std::istringstream lines(ReadText("/proc/" + std::to_string(pid) + "/status"));
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(key + ":", 0) == 0) {
      size_t at = key.size() + 1;
      while (at < line.size() && (line[at] == '\t' || line[at] == ' ')) ++at;
      return line.substr(at);
    }
  }
  return "";
}

SpawnSpec Sleep() {
  SpawnSpec spec;
  spec.path = "/bin/sleep";
  spec.argv = {"sleep", "30"};
  spec.env = {"PATH=/usr/bin:/bin"};
  return spec;
}

void KillAndReap(int pid) {
  ASSERT_GT(pid, 0);
  kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
}

// A fresh cgroup below this process's own, where it may make one (root with a cgroup2
// hierarchy); empty otherwise.
struct ScratchCgroup {
  std::string folder;
  UniqueFd fd;
  ScratchCgroup() {
    auto own = OwnCgroupFolder();
    if (!own.ok()) return;
    const std::string path = own.value() + "/spawn-test-" + std::to_string(getpid());
    if (!MakeCgroup(path).ok()) return;
    fd.reset(open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (fd) folder = path;
  }
  ~ScratchCgroup() {
    if (!folder.empty()) (void)RemoveCgroup(folder);
  }
};

TEST(Spawn, TheChildRunsInItsCgroupFromTheStart) {
  ScratchCgroup cgroup;
  if (cgroup.folder.empty()) GTEST_SKIP() << "no cgroup2 folder this test may make";
  SpawnSpec spec = Sleep();
  spec.cgroup_fd = cgroup.fd.get();
  const core::SpawnOutcome outcome = Spawn(spec);
  ASSERT_FALSE(outcome.error) << outcome.error->ToString();
  ASSERT_GT(outcome.pid, 0);
  const std::vector<int> members = ReadCgroupProcs(cgroup.folder);
  EXPECT_EQ(members, std::vector<int>{outcome.pid});
  const std::string own_line = ReadText("/proc/" + std::to_string(outcome.pid) + "/cgroup");
  const std::string leaf = cgroup.folder.substr(cgroup.folder.rfind('/'));
  EXPECT_NE(own_line.find(leaf + "\n"), std::string::npos) << own_line;
  EXPECT_EQ(ReadText("/proc/" + std::to_string(outcome.pid) + "/comm"), "sleep\n");  // exec'd
  KillAndReap(outcome.pid);
}

TEST(Spawn, AFolderThatIsNoCgroupIsACgroupError) {
  char dir[] = "/tmp/spawn-test-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  UniqueFd fd(open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(fd);
  SpawnSpec spec = Sleep();
  spec.cgroup_fd = fd.get();
  const core::SpawnOutcome outcome = Spawn(spec);
  EXPECT_EQ(outcome.pid, 0);
  ASSERT_TRUE(outcome.error);
  EXPECT_EQ(outcome.error->ToString().rfind("cgroup: ", 0), 0u) << outcome.error->ToString();
  EXPECT_EQ(waitpid(-1, nullptr, WNOHANG), -1);  // no child left behind
  rmdir(dir);
}

TEST(Spawn, AnExecThatFailsInACgroupNamesTheProgram) {
  ScratchCgroup cgroup;
  if (cgroup.folder.empty()) GTEST_SKIP() << "no cgroup2 folder this test may make";
  SpawnSpec spec = Sleep();
  spec.path = "/nonexistent/warden-spawn-test";
  spec.cgroup_fd = cgroup.fd.get();
  const core::SpawnOutcome outcome = Spawn(spec);
  EXPECT_EQ(outcome.pid, 0);
  ASSERT_TRUE(outcome.error);
  EXPECT_EQ(outcome.error->ToString(),
            "exec /nonexistent/warden-spawn-test: No such file or directory");
  EXPECT_TRUE(ReadCgroupProcs(cgroup.folder).empty());  // reaped: nothing runs there
}

void Handler(int) {}

TEST(Spawn, TheChildGetsDefaultDispositionsAndAnEmptyMask) {
  // What wardend sets up before its first spawn: SIGPIPE ignored, a handler or two.
  signal(SIGPIPE, SIG_IGN);
  signal(SIGUSR2, SIG_IGN);
  struct sigaction handler {};
  handler.sa_handler = Handler;
  sigaction(SIGHUP, &handler, nullptr);
  sigset_t blocked, saved;
  sigemptyset(&blocked);
  sigaddset(&blocked, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &blocked, &saved);
  NoteSignalDispositions();
  const core::SpawnOutcome outcome = Spawn(Sleep());
  pthread_sigmask(SIG_SETMASK, &saved, nullptr);
  ASSERT_FALSE(outcome.error) << outcome.error->ToString();
  // Read once it has exec'd (Spawn returns then): sleep itself ignores and catches nothing.
  EXPECT_EQ(StatusField(outcome.pid, "SigIgn"), "0000000000000000");
  EXPECT_EQ(StatusField(outcome.pid, "SigCgt"), "0000000000000000");
  EXPECT_EQ(StatusField(outcome.pid, "SigBlk"), "0000000000000000");
  KillAndReap(outcome.pid);
  signal(SIGPIPE, SIG_DFL);
  signal(SIGUSR2, SIG_DFL);
  signal(SIGHUP, SIG_DFL);
  NoteSignalDispositions();
}

}  // namespace
}  // namespace warden::os
