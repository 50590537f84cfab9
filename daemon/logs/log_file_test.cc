#include "daemon/logs/log_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "daemon/os/os.h"

namespace warden {
namespace {

namespace fs = std::filesystem;

class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = (fs::temp_directory_path() / "log_file_test.XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~ScratchDir() { fs::remove_all(path_); }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Bytes 0..n of a stream no two windows of which look alike, with NULs and newlines in it.
std::string Stream(size_t n, uint32_t seed = 1) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng() % 256);
  return s;
}

std::string Kept(const LogFile& log) {
  std::string all;
  for (const std::string& f : log.Files()) all += Slurp(f);
  return all;
}

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

TEST(LogFile, RotatesAtExactByteBoundariesWithoutLossOrRepeat) {
  ScratchDir dir;
  LogFile log({dir / "out.log", 1000, 3});
  ASSERT_TRUE(log.Open().ok());
  const std::string data = Stream(10'537);
  std::mt19937 rng(7);
  size_t pos = 0;
  while (pos < data.size()) {
    size_t n = std::min<size_t>(data.size() - pos, 1 + rng() % 1500);
    auto r = log.Write(std::string_view(data).substr(pos, n));
    ASSERT_EQ(r.error, 0);
    ASSERT_EQ(r.written, n);
    pos += n;
  }
  // 10537 = 10 full files + 537: FILE holds 537, FILE.1..3 hold exactly 1000 each.
  EXPECT_EQ(log.rotations(), 10u);
  EXPECT_EQ(fs::file_size(dir / "out.log"), 537u);
  for (int i = 1; i <= 3; ++i)
    EXPECT_EQ(fs::file_size(dir / ("out.log." + std::to_string(i))), 1000u);
  EXPECT_FALSE(fs::exists(dir / "out.log.4"));
  std::string kept = Kept(log);
  EXPECT_EQ(kept.size(), 3537u);
  EXPECT_TRUE(EndsWith(data, kept));
}

TEST(LogFile, FullFileRotatesOnlyWhenTheNextByteArrives) {
  ScratchDir dir;
  LogFile log({dir / "f", 10, 2});
  ASSERT_TRUE(log.Open().ok());
  ASSERT_EQ(log.Write("0123456789").written, 10u);
  EXPECT_EQ(log.rotations(), 0u);
  EXPECT_EQ(Slurp(dir / "f"), "0123456789");
  ASSERT_EQ(log.Write("a").written, 1u);
  EXPECT_EQ(Slurp(dir / "f.1"), "0123456789");
  EXPECT_EQ(Slurp(dir / "f"), "a");
}

TEST(LogFile, ZeroBackupsStartsOverAndZeroMaxNeverRotates) {
  ScratchDir dir;
  LogFile truncating({dir / "t", 10, 0});
  ASSERT_TRUE(truncating.Open().ok());
  ASSERT_EQ(truncating.Write("0123456789abc").written, 13u);
  EXPECT_EQ(Slurp(dir / "t"), "abc");
  EXPECT_FALSE(fs::exists(dir / "t.1"));

  LogFile unlimited({dir / "u", 0, 5});
  ASSERT_TRUE(unlimited.Open().ok());
  std::string big = Stream(100'000);
  ASSERT_EQ(unlimited.Write(big).written, big.size());
  EXPECT_EQ(Slurp(dir / "u"), big);
  EXPECT_EQ(unlimited.rotations(), 0u);
}

TEST(LogFile, AppendsToAnExistingFileAndCountsItsBytes) {
  ScratchDir dir;
  std::ofstream(dir / "e") << "12345678";
  LogFile log({dir / "e", 10, 1});
  ASSERT_TRUE(log.Open().ok());
  EXPECT_EQ(log.size(), 8u);
  ASSERT_EQ(log.Write("abcd").written, 4u);
  EXPECT_EQ(Slurp(dir / "e.1"), "12345678ab");
  EXPECT_EQ(Slurp(dir / "e"), "cd");
}

TEST(LogFile, HoldsNoFdUntilWrittenAndWritesAtTheEndOfWhatIsThereThen) {
  ScratchDir dir;
  LogFile log({dir / "lazy", 10, 1});
  ASSERT_TRUE(log.Open().ok());
  EXPECT_TRUE(fs::exists(dir / "lazy"));  // created at once: a bad path fails the spawn
  log.CloseUntilWritten();
  EXPECT_FALSE(log.holds_fd());
  EXPECT_TRUE(log.is_open());
  std::ofstream(dir / "lazy") << "1234";  // someone else wrote meanwhile
  ASSERT_TRUE(log.Reopen().ok());         // logrotate while nothing is held: still nothing held
  EXPECT_FALSE(log.holds_fd());
  ASSERT_EQ(log.Write("abcdefgh").written, 8u);
  EXPECT_TRUE(log.holds_fd());
  EXPECT_EQ(Slurp(dir / "lazy.1"), "1234abcdef");
  EXPECT_EQ(Slurp(dir / "lazy"), "gh");
  log.CloseUntilWritten();
  ASSERT_TRUE(log.Clear().ok());
  EXPECT_EQ(Slurp(dir / "lazy"), "");
  EXPECT_FALSE(fs::exists(dir / "lazy.1"));
}

// A pipe that only ends (its writer gone, nothing in it) does not open a deferred file; bytes do.
TEST(LogFile, AnEmptyPipesEndLeavesADeferredFileClosed) {
  ScratchDir dir;
  LogFile log({dir / "quiet", 0, 0});
  ASSERT_TRUE(log.Open().ok());
  log.CloseUntilWritten();
  int p[2];
  ASSERT_EQ(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
  UniqueFd read_end(p[0]), write_end(p[1]);
  EXPECT_EQ(log.SpliceFrom(read_end.get(), 4096), -1);  // nothing yet, writer still there
  EXPECT_EQ(errno, EAGAIN);
  EXPECT_FALSE(log.holds_fd());
  ASSERT_EQ(write(write_end.get(), "hi\n", 3), 3);
  EXPECT_EQ(log.SpliceFrom(read_end.get(), 4096), 3);
  EXPECT_TRUE(log.holds_fd());
  log.CloseUntilWritten();
  write_end.reset();
  EXPECT_EQ(log.SpliceFrom(read_end.get(), 4096), 0);  // the end: no file needed for it
  EXPECT_FALSE(log.holds_fd());
  EXPECT_EQ(Slurp(dir / "quiet"), "hi\n");
}

TEST(LogFile, FileTruncatedBehindItsBackGetsNoHole) {
  ScratchDir dir;
  LogFile log({dir / "c", 0, 0});
  ASSERT_TRUE(log.Open().ok());
  ASSERT_EQ(log.Write("hello world\n").written, 12u);
  ASSERT_EQ(truncate((dir / "c").c_str(), 0), 0);  // logrotate's copytruncate
  ASSERT_EQ(log.Write("again\n").written, 6u);
  EXPECT_EQ(Slurp(dir / "c"), "again\n");
}

TEST(LogFile, DeletedFileAndFolderAreMadeAgainAtTheNextWrite) {
  ScratchDir dir;
  const std::string folder = dir / "logs";
  LogFile log({folder + "/d", 10, 2});
  ASSERT_TRUE(os::MakeDirs(folder).ok());
  ASSERT_TRUE(log.Open().ok());
  ASSERT_EQ(log.Write("before\n").written, 7u);
  fs::remove_all(folder);  // an operator's rm -rf, with the program still writing
  // Past max_bytes, so the write also rotates: nothing fails, nothing blocks.
  LogFile::WriteResult r = log.Write("after the folder was deleted\n");
  EXPECT_EQ(r.error, 0) << std::strerror(r.error);
  EXPECT_EQ(r.written, 29u);
  EXPECT_TRUE(fs::is_directory(folder));
  EXPECT_EQ(Slurp(folder + "/d.2") + Slurp(folder + "/d.1") + Slurp(folder + "/d"),
            "after the folder was deleted\n");
}

TEST(LogFile, ReopenFollowsAnExternalRename) {
  ScratchDir dir;
  LogFile log({dir / "r", 0, 0});
  ASSERT_TRUE(log.Open().ok());
  ASSERT_EQ(log.Write("old\n").written, 4u);
  fs::rename(dir / "r", dir / "r.rotated");
  ASSERT_EQ(log.Write("still old\n").written, 10u);
  ASSERT_TRUE(log.Reopen().ok());
  ASSERT_EQ(log.Write("new\n").written, 4u);
  EXPECT_EQ(Slurp(dir / "r.rotated"), "old\nstill old\n");
  EXPECT_EQ(Slurp(dir / "r"), "new\n");
}

TEST(LogFile, ReopenThatFailsKeepsTheOldDescriptor) {
  ScratchDir dir;
  fs::create_directory(dir / "sub");
  LogFile log({dir / "sub/x", 0, 0});
  ASSERT_TRUE(log.Open().ok());
  fs::rename(dir / "sub", dir / "moved");
  EXPECT_FALSE(log.Reopen().ok());  // sub/ is gone
  ASSERT_EQ(log.Write("kept\n").written, 5u);
  EXPECT_EQ(Slurp(dir / "moved/x"), "kept\n");
}

TEST(LogFile, ClearEmptiesTheFileAndRemovesBackups) {
  ScratchDir dir;
  LogFile log({dir / "k", 4, 2});
  ASSERT_TRUE(log.Open().ok());
  ASSERT_EQ(log.Write("0123456789").written, 10u);
  ASSERT_TRUE(fs::exists(dir / "k.2"));
  ASSERT_TRUE(log.Clear().ok());
  EXPECT_EQ(fs::file_size(dir / "k"), 0u);
  EXPECT_FALSE(fs::exists(dir / "k.1"));
  EXPECT_FALSE(fs::exists(dir / "k.2"));
  ASSERT_EQ(log.Write("ab").written, 2u);
  EXPECT_EQ(Slurp(dir / "k"), "ab");
}

TEST(LogFile, FailedRotationStopsAtTheBoundaryAndRetries) {
  ScratchDir dir;
  LogFile log({dir / "b", 5, 1});
  ASSERT_TRUE(log.Open().ok());
  fs::create_directories(dir / "b.1/blocker");  // rename(b, b.1) cannot replace a full directory
  auto r = log.Write("0123456789");
  EXPECT_EQ(r.written, 5u);
  EXPECT_NE(r.error, 0);
  EXPECT_EQ(Slurp(dir / "b"), "01234");
  fs::remove_all(dir / "b.1");
  r = log.Write("56789");
  EXPECT_EQ(r.error, 0);
  EXPECT_EQ(Slurp(dir / "b.1"), "01234");
  EXPECT_EQ(Slurp(dir / "b"), "56789");
}

TEST(LogFile, WriteErrorsReportWhatWasWritten) {
  LogFile full({"/dev/full", 10, 3});
  ASSERT_TRUE(full.Open().ok());
  EXPECT_FALSE(full.regular());
  auto r = full.Write("abc");
  EXPECT_EQ(r.written, 0u);
  EXPECT_EQ(r.error, ENOSPC);
}

TEST(LogFile, StreamsAreWrittenWithoutBlocking) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  UniqueFd read_end(fds[0]), write_end(fds[1]);
  LogFile out({"/proc/self/fd/" + std::to_string(fds[1]), 10, 3});
  ASSERT_TRUE(out.Open().ok());
  EXPECT_FALSE(out.regular());
  std::string big(1 << 20, 'x');  // more than a pipe holds
  auto r = out.Write(big);
  EXPECT_EQ(r.error, EAGAIN);
  EXPECT_GT(r.written, 0u);
  EXPECT_LT(r.written, big.size());
  EXPECT_EQ(out.rotations(), 0u);
}

TEST(LogFile, SpliceRotatesAtExactBoundaries) {
  ScratchDir dir;
  LogFile log({dir / "s", 4096, 2});
  ASSERT_TRUE(log.Open().ok());
  int fds[2];
  ASSERT_EQ(pipe2(fds, O_NONBLOCK), 0);
  UniqueFd read_end(fds[0]), write_end(fds[1]);
  const std::string data = Stream(3 * 4096 + 100);
  std::string sent;
  size_t pos = 0;
  while (true) {
    if (pos < data.size()) {
      ssize_t w =
          write(write_end.get(), data.data() + pos, std::min<size_t>(5000, data.size() - pos));
      ASSERT_GT(w, 0);
      pos += static_cast<size_t>(w);
      if (pos == data.size()) write_end.reset();
    }
    ssize_t n = log.SpliceFrom(read_end.get(), 1 << 20);
    if (n == 0) break;
    if (n < 0) {
      ASSERT_EQ(errno, EAGAIN);
    }
  }
  EXPECT_EQ(log.rotations(), 3u);
  EXPECT_EQ(fs::file_size(dir / "s.1"), 4096u);
  EXPECT_EQ(fs::file_size(dir / "s.2"), 4096u);
  EXPECT_EQ(Slurp(dir / "s"), data.substr(3 * 4096));
  EXPECT_TRUE(EndsWith(data, Kept(log)));
}

TEST(LogFile, SpliceEndingOnABoundaryLeavesTheFileFull) {
  ScratchDir dir;
  LogFile log({dir / "s", 100, 2});
  ASSERT_TRUE(log.Open().ok());
  int fds[2];
  ASSERT_EQ(pipe2(fds, O_NONBLOCK), 0);
  UniqueFd read_end(fds[0]), write_end(fds[1]);
  std::string data(100, 'z');
  ASSERT_EQ(write(write_end.get(), data.data(), data.size()), 100);
  EXPECT_EQ(log.SpliceFrom(read_end.get(), 1 << 20), 100);
  EXPECT_EQ(log.SpliceFrom(read_end.get(), 1 << 20), -1);
  EXPECT_EQ(errno, EAGAIN);
  write_end.reset();
  EXPECT_EQ(log.SpliceFrom(read_end.get(), 1 << 20), 0);
  EXPECT_EQ(log.rotations(), 0u);
  EXPECT_EQ(fs::file_size(dir / "s"), 100u);
}

TEST(ReadTail, BytesAndLinesAcrossRotatedFiles) {
  ScratchDir dir;
  std::ofstream(dir / "t.1") << "one\ntwo\nthr";
  std::ofstream(dir / "t") << "ee\nfour\n";
  std::vector<std::string> files = {dir / "t.2", dir / "t.1", dir / "t"};
  EXPECT_EQ(*ReadTail(files, TailUnit::kBytes, 5, 1 << 20), "four\n");
  EXPECT_EQ(*ReadTail(files, TailUnit::kBytes, 9, 1 << 20), "ree\nfour\n");  // spans t.1 and t
  EXPECT_EQ(*ReadTail(files, TailUnit::kLines, 1, 1 << 20), "four\n");
  EXPECT_EQ(*ReadTail(files, TailUnit::kLines, 2, 1 << 20), "three\nfour\n");
  EXPECT_EQ(*ReadTail(files, TailUnit::kLines, 10, 1 << 20), "one\ntwo\nthree\nfour\n");
  EXPECT_EQ(*ReadTail(files, TailUnit::kLines, 10, 7), "e\nfour\n");  // the cap wins
  EXPECT_EQ(*ReadTail(files, TailUnit::kLines, 0, 1 << 20), "");
}

TEST(ReadTail, UnterminatedLastLineCountsAsALine) {
  ScratchDir dir;
  std::ofstream(dir / "u") << "a\nb\nc";
  EXPECT_EQ(*ReadTail({dir / "u"}, TailUnit::kLines, 1, 1 << 20), "c");
  EXPECT_EQ(*ReadTail({dir / "u"}, TailUnit::kLines, 2, 1 << 20), "b\nc");
}

TEST(ReadTail, LongInputIsReadInBlocks) {
  ScratchDir dir;
  std::string text;
  for (int i = 0; i < 50'000; ++i) text += "line " + std::to_string(i) + "\n";
  std::ofstream(dir / "big") << text;
  auto last3 = ReadTail({dir / "big"}, TailUnit::kLines, 3, 1 << 20);
  ASSERT_TRUE(last3.ok());
  EXPECT_EQ(*last3, "line 49997\nline 49998\nline 49999\n");
  auto many = ReadTail({dir / "big"}, TailUnit::kLines, 40'000, 1 << 30);
  ASSERT_TRUE(many.ok());
  EXPECT_TRUE(many->starts_with("line 10000\n"));
  EXPECT_TRUE(EndsWith(text, *many));
  EXPECT_FALSE(ReadTail({"/dev/null"}, TailUnit::kBytes, 3, 10).ok());
}

TEST(TailOf, MatchesReadTail) {
  EXPECT_EQ(TailOf("a\nb\nc\n", TailUnit::kLines, 2), "b\nc\n");
  EXPECT_EQ(TailOf("a\nb\nc\n", TailUnit::kLines, 9), "a\nb\nc\n");
  EXPECT_EQ(TailOf("abc", TailUnit::kBytes, 2), "bc");
  EXPECT_EQ(TailOf("abc", TailUnit::kBytes, 0), "");
}

}  // namespace
}  // namespace warden

namespace warden {
namespace {

TEST(LogFile, DeletedFilesAreClosedByTheCloser) {
  ScratchDir dir;
  auto closer = std::make_shared<BackgroundCloser>();
  LogFile log({dir / "d", 10, 1});
  log.set_closer(closer);
  ASSERT_TRUE(log.Open().ok());
  const std::string data = Stream(35);
  ASSERT_EQ(log.Write(data).written, 35u);  // rotates 3 times: d.1 is renamed over twice
  closer->Flush();
  EXPECT_EQ(Slurp(dir / "d.1"), data.substr(20, 10));
  EXPECT_EQ(Slurp(dir / "d"), data.substr(30));
  ASSERT_TRUE(log.Clear().ok());
  closer->Flush();
  EXPECT_FALSE(fs::exists(dir / "d.1"));
  EXPECT_EQ(fs::file_size(dir / "d"), 0u);

  LogFile over({dir / "o", 10, 0});  // backups 0: starts over in a new file
  over.set_closer(closer);
  ASSERT_TRUE(over.Open().ok());
  ASSERT_EQ(over.Write("0123456789ab").written, 12u);
  EXPECT_EQ(Slurp(dir / "o"), "ab");
}

}  // namespace
}  // namespace warden
