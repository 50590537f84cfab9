#include "daemon/supervisor/process_record.h"

#include <filesystem>

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <string>

#include "daemon/supervisor/test_procs.h"

namespace warden {
namespace {

using testing::Pids;
using testing::Proc;

TEST(ParseRecord, AddsAndRemovesInOrder) {
  const ParsedRecord parsed = ParseRecord(
      "# warden process record, boot abc\n"
      "+ 10 100 web\n"
      "+ 11 101 webapps:web_00\n"
      "- 10 100\n"
      "+ 10 250 web\n");
  EXPECT_EQ(parsed.boot, "abc");
  EXPECT_EQ(parsed.lines, 5u);
  ASSERT_EQ(parsed.live.size(), 2u);
  EXPECT_EQ(parsed.live[0], (RecordEntry{11, 101, "webapps:web_00"}));
  EXPECT_EQ(parsed.live[1], (RecordEntry{10, 250, "web"}));
}

TEST(ParseRecord, SkipsALineCutShortAndGarbage) {
  const ParsedRecord parsed = ParseRecord(
      "+ 10 100 web\n"
      "+ x 100 web\n"
      "+ 12 100\n"
      "* 13 100 web\n"
      "- 99 1\n"
      "+ 14 140 web");  // no newline: a crash cut it
  ASSERT_EQ(parsed.live.size(), 1u);
  EXPECT_EQ(parsed.live[0].pid, 10);
  EXPECT_EQ(parsed.boot, "");
}

TEST(ParseRecord, RoundTripsWhatItFormats) {
  const RecordEntry e{4242, 987654321, "a name"};
  const ParsedRecord parsed = ParseRecord(FormatRecordHeader("b") + FormatAdded(e) +
                                          FormatAdded({5, 6, "x"}) + FormatRemoved(5, 6));
  EXPECT_EQ(parsed.boot, "b");
  ASSERT_EQ(parsed.live.size(), 1u);
  EXPECT_EQ(parsed.live[0], e);
}

TEST(FindRecordedLeftovers, ARecordedProcessNeedsItsStartTime) {
  const std::vector<RecordEntry> entries{{100, 50, "web"}, {200, 60, "db"}};
  // 100 is the same process; 200 is another one now (a pid used again).
  const auto found =
      FindRecordedLeftovers(entries, {Proc(100, 1, 100, 50), Proc(200, 1, 200, 99)}, 7);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].name, "web");
  EXPECT_EQ(Pids(found[0].processes), std::vector<int>{100});
}

TEST(FindRecordedLeftovers, DescendantsAndSessionMembersComeAlong) {
  const std::vector<RecordEntry> entries{{100, 50, "web"}};
  const std::vector<os::ProcStat> snapshot{
      Proc(100, 1, 100, 50),        Proc(101, 100, 100, 51),  // a child
      Proc(150, 101, 150, 52),       // a grandchild in a session of its own (setsid)
      Proc(160, 1, 100, 53),         // reparented, still in the session
      Proc(170, 1, 170, 54),         // someone else's
      Proc(180, 160, 180, 55),       // below a session member
      Proc(190, 100, 100, 56, 'Z'),  // a zombie: dead already
  };
  const auto found = FindRecordedLeftovers(entries, snapshot, 7);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(Pids(found[0].processes), (std::vector<int>{100, 101, 150, 160, 180}));
}

TEST(FindRecordedLeftovers, ASessionOfADeadRecordedProcessStillCounts) {
  // nginx's master was recorded; it died, its workers run on in its session.
  const std::vector<RecordEntry> entries{{300, 80, "nginx"}};
  const auto found =
      FindRecordedLeftovers(entries, {Proc(301, 1, 300, 81), Proc(302, 1, 300, 82)}, 7);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(Pids(found[0].processes), (std::vector<int>{301, 302}));
}

TEST(FindRecordedLeftovers, ASessionIdGivenToANewLeaderIsNotOurs) {
  const std::vector<RecordEntry> entries{{300, 80, "nginx"}};
  // 300 leads a session again, started later: a different process, and its members not ours.
  const auto found =
      FindRecordedLeftovers(entries, {Proc(300, 1, 300, 500), Proc(301, 300, 300, 501)}, 7);
  EXPECT_TRUE(found.empty());
  // A member that started before the recorded process cannot be in its session.
  EXPECT_TRUE(FindRecordedLeftovers(entries, {Proc(305, 1, 300, 10)}, 7).empty());
}

TEST(FindRecordedLeftovers, NeverTheWardendReadingIt) {
  const std::vector<RecordEntry> entries{{100, 50, "web"}};
  const auto found =
      FindRecordedLeftovers(entries, {Proc(100, 1, 100, 50), Proc(7, 100, 100, 60)}, 7);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(Pids(found[0].processes), std::vector<int>{100});
}

class ProcessRecordFile : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/warden-record-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    path_ = dir_ + "/warden.sock.procs";
  }
  void TearDown() override {
    unlink(path_.c_str());
    rmdir(dir_.c_str());
  }
  std::string Text() { return os::ReadFile(path_).value_or("<missing>"); }
  std::string dir_, path_;
};

TEST_F(ProcessRecordFile, AppendsAndRewritesWhenItHasGrown) {
  ProcessRecord record(os::RealSystem(), path_);
  record.Reset({{1, 2, "a"}});
  ParsedRecord parsed = ParseRecord(Text());
  EXPECT_EQ(parsed.lines, 2u);  // the header and one entry
  EXPECT_FALSE(parsed.boot.empty());
  record.Add(10, 11, "b");
  record.Add(10, 11, "b");  // once only
  record.Remove(1, 2);
  record.Remove(1, 2);
  EXPECT_EQ(ParseRecord(Text()).lines, 4u);
  // Churn: the file stays within twice the live entries, plus slack.
  for (int i = 0; i < 1000; ++i) {
    record.Add(1000 + i, 5, "c");
    record.Remove(1000 + i, 5);
  }
  parsed = ParseRecord(Text());
  EXPECT_LE(parsed.lines, 2 * record.size() + 40);
  ASSERT_EQ(parsed.live.size(), 1u);
  EXPECT_EQ(parsed.live[0], (RecordEntry{10, 11, "b"}));
}

size_t OpenFds() {
  size_t n = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    (void)entry;
    ++n;
  }
  return n;
}

TEST_F(ProcessRecordFile, KeepsOneFdAndAppendsToTheFileARewritePutInPlace) {
  ProcessRecord record(os::RealSystem(), path_);
  record.Reset({});
  record.Add(1, 2, "a");
  const size_t fds = OpenFds();
  // Enough churn for several rewrites, each a new file renamed over the old one: an append
  // after one must go to the new file, not the one the kept fd opened before.
  for (int i = 0; i < 300; ++i) {
    record.Add(1000 + i, 5, "c");
    record.Remove(1000 + i, 5);
    EXPECT_LE(OpenFds(), fds) << "after " << i;
  }
  record.Add(20, 21, "last");
  EXPECT_EQ(ParseRecord(Text()).live, (std::vector<RecordEntry>{{1, 2, "a"}, {20, 21, "last"}}));
}

TEST_F(ProcessRecordFile, ReadGivesWhatAnEarlierOneLeftAndResumeGoesOn) {
  {
    ProcessRecord earlier(os::RealSystem(), path_);
    earlier.Reset({});
    earlier.Add(10, 11, "web");
    earlier.Add(12, 13, "db");
    earlier.Remove(12, 13);
  }
  ProcessRecord later(os::RealSystem(), path_);
  EXPECT_EQ(later.Read(), (std::vector<RecordEntry>{{10, 11, "web"}}));
  later.Resume();
  EXPECT_TRUE(later.Has(10, 11));
  later.Remove(10, 11);
  EXPECT_TRUE(ParseRecord(Text()).live.empty());
}

TEST_F(ProcessRecordFile, ARecordFromAnotherBootIsWorthNothing) {
  ASSERT_TRUE(
      os::ReplaceFile(path_, FormatRecordHeader("another-boot") + FormatAdded({10, 11, "web"}))
          .ok());
  ProcessRecord record(os::RealSystem(), path_);
  EXPECT_TRUE(record.Read().empty());
}

TEST_F(ProcessRecordFile, FinishKeepsWhatStillRunsAndRemovesAnEmptyRecord) {
  ProcessRecord record(os::RealSystem(), path_);
  auto self = os::ReadProcStat(getpid());
  ASSERT_TRUE(self);
  record.Reset({{getpid(), self->start_ticks, "me"}, {getpid(), self->start_ticks + 1, "gone"}});
  record.Finish();
  EXPECT_EQ(ParseRecord(Text()).live,
            (std::vector<RecordEntry>{{getpid(), self->start_ticks, "me"}}));
  record.Remove(getpid(), self->start_ticks);
  record.Finish();
  EXPECT_EQ(Text(), "<missing>");
}

}  // namespace
}  // namespace warden
