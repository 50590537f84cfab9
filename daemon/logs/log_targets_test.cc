#include "daemon/logs/log_targets.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

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

TEST(LogTargets, JournalStreamAnnouncesTheProgramThenCarriesItsLines) {
  char folder[] = "/tmp/journal_streamXXXXXX";
  ASSERT_NE(mkdtemp(folder), nullptr);
  const std::string path = std::string(folder) + "/stdout";
  UniqueFd listener(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size());
  ASSERT_EQ(bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(listener.get(), 1), 0);

  Result<UniqueFd> stream = OpenJournalStream("web", 3, path);
  ASSERT_TRUE(stream.ok()) << stream.status().message();
  ASSERT_EQ(write(stream->get(), "<4>careful\n", 11), 11);
  stream->reset();
  UniqueFd journal(accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  ASSERT_TRUE(journal);
  std::string received;
  char buf[256];
  for (ssize_t n; (n = read(journal.get(), buf, sizeof buf)) > 0;) received.append(buf, static_cast<size_t>(n));
  // identifier, no unit id, priority 3, level prefixes honoured, no forwarding.
  EXPECT_EQ(received, "web\n\n3\n1\n0\n0\n0\n<4>careful\n");

  unlink(path.c_str());
  Result<UniqueFd> gone = OpenJournalStream("web", 6, path);
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.status().message(), "connect " + path + ": No such file or directory");
  rmdir(folder);
}

}  // namespace
}  // namespace warden
