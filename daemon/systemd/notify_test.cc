#include "daemon/systemd/notify.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string>

namespace warden {
namespace {

TEST(SystemdProtocol, ListenFdsNeedOurPidAndAreForgotten) {
  setenv("LISTEN_PID", "1", 1);
  setenv("LISTEN_FDS", "1", 1);
  EXPECT_EQ(sd::ListenFds(), 0);  // someone else's
  EXPECT_EQ(std::getenv("LISTEN_FDS"), nullptr);

  setenv("LISTEN_PID", std::to_string(getpid()).c_str(), 1);
  setenv("LISTEN_FDS", "x", 1);
  EXPECT_EQ(sd::ListenFds(), 0);  // not a number
  EXPECT_EQ(std::getenv("LISTEN_PID"), nullptr);
  EXPECT_EQ(sd::ListenFds(), 0);  // nothing set
}

TEST(SystemdProtocol, OnlyAListeningUnixStreamSocketIsOne) {
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  EXPECT_FALSE(sd::IsListeningUnixStream(pipe_fds[0]));
  close(pipe_fds[0]);
  close(pipe_fds[1]);

  int pair[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
  EXPECT_FALSE(sd::IsListeningUnixStream(pair[0]));  // connected, not listening
  close(pair[0]);
  close(pair[1]);

  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string name = "warden-notify-test-" + std::to_string(getpid());
  std::memcpy(addr.sun_path + 1, name.data(), name.size());  // abstract: nothing to clean up
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr),
                 static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size())),
            0);
  EXPECT_FALSE(sd::IsListeningUnixStream(fd));
  ASSERT_EQ(listen(fd, 1), 0);
  EXPECT_TRUE(sd::IsListeningUnixStream(fd));
  close(fd);
}

TEST(SystemdProtocol, WatchdogIsForThisPidOnly) {
  unsetenv("WATCHDOG_PID");
  setenv("WATCHDOG_USEC", "30000000", 1);
  EXPECT_EQ(sd::WatchdogUsec(), 30000000u);
  setenv("WATCHDOG_PID", std::to_string(getpid()).c_str(), 1);
  EXPECT_EQ(sd::WatchdogUsec(), 30000000u);
  setenv("WATCHDOG_PID", "1", 1);
  EXPECT_EQ(sd::WatchdogUsec(), 0u);
  unsetenv("WATCHDOG_PID");
  setenv("WATCHDOG_USEC", "soon", 1);
  EXPECT_EQ(sd::WatchdogUsec(), 0u);
  unsetenv("WATCHDOG_USEC");
  EXPECT_EQ(sd::WatchdogUsec(), 0u);
}

}  // namespace
}  // namespace warden
