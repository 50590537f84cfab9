#include "daemon/logs/log_capture.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

namespace warden {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = (fs::temp_directory_path() / "log_capture_test.XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~ScratchDir() { fs::remove_all(path_); }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string Stream(size_t n, uint32_t seed = 3) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng() % 256);
  return s;
}

void WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    ASSERT_GT(n, 0) << strerror(errno);
    data.remove_prefix(static_cast<size_t>(n));
  }
}

// Runs the loop until `done` holds (checked every 2 ms) or `timeout` passes.
bool RunUntil(EventLoop& loop, const std::function<bool()>& done,
              std::chrono::milliseconds timeout = 10s) {
  const auto deadline = EventLoop::Now() + timeout;
  bool met = false;
  EventLoop::TimerId timer = 0;
  std::function<void()> tick = [&] {
    timer = 0;
    if (done()) {
      met = true;
      loop.Stop();
    } else if (EventLoop::Now() > deadline) {
      loop.Stop();
    } else {
      timer = loop.AddTimer(EventLoop::Now() + 2ms, tick);
    }
  };
  timer = loop.AddTimer(EventLoop::Now(), tick);
  loop.Run();
  loop.CancelTimer(timer);
  return met;
}

LogSinkOptions Options(const std::string& path, uint64_t max_bytes = 0, int backups = 0) {
  LogSinkOptions o;
  o.label = "test stdout";
  o.file = {path, max_bytes, backups};
  return o;
}

class LogCaptureTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(loop.Init().ok()); }
  EventLoop loop;
  ScratchDir dir;
};

TEST_F(LogCaptureTest, DrainsUntilEveryHolderOfThePipeIsGone) {
  LogCapture capture(loop);
  auto sink = capture.SinkFor(Options(dir / "out.log"));
  ASSERT_TRUE(sink.ok());
  auto program = capture.NewPipe(*sink);
  ASSERT_TRUE(program.ok());
  UniqueFd grandchild(dup(program->get()));
  WriteAll(program->get(), "from the program\n");
  program->reset();  // the program exits; its child keeps the pipe
  ASSERT_TRUE(RunUntil(loop, [&] { return Slurp(dir / "out.log") == "from the program\n"; }));
  EXPECT_EQ(capture.open_pipes(), 1u);
  WriteAll(grandchild.get(), "from its child\n");
  grandchild.reset();
  ASSERT_TRUE(RunUntil(loop, [&] { return capture.open_pipes() == 0; }));
  EXPECT_EQ(Slurp(dir / "out.log"), "from the program\nfrom its child\n");
}

TEST_F(LogCaptureTest, BinaryStreamRotatesThroughThePipeWithoutLoss) {
  LogCapture capture(loop);
  auto sink = capture.SinkFor(Options(dir / "bin.log", 256 * 1024, 50));
  ASSERT_TRUE(sink.ok());
  auto pipe = capture.NewPipe(*sink);
  ASSERT_TRUE(pipe.ok());
  const std::string data = Stream(3'000'017);
  std::thread writer([&, fd = std::move(pipe).value()]() mutable {
    WriteAll(fd.get(), data);
    fd.reset();
  });
  bool drained = RunUntil(loop, [&] { return capture.open_pipes() == 0; });
  writer.join();
  ASSERT_TRUE(drained);
  std::string kept;
  for (const std::string& f : (*sink)->file().Files()) kept += Slurp(f);
  EXPECT_EQ(kept.size(), data.size());
  EXPECT_TRUE(kept == data);
  EXPECT_EQ((*sink)->file().rotations(), 11u);  // 3000017 / 262144 = 11.4
  EXPECT_EQ((*sink)->bytes_in(), data.size());
}

// The file refuses bytes past a size (RLIMIT_FSIZE makes writes fail with EFBIG, as a full disk
// makes them fail with ENOSPC). Block mode holds the output and stops reading the pipe, so the
// writer blocks; once the file takes bytes again everything arrives, in order.
TEST_F(LogCaptureTest, RefusingFileBlocksTheWriterAndLosesNothing) {
  struct rlimit old_limit {};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  auto old_handler = signal(SIGXFSZ, SIG_IGN);
  struct rlimit small = old_limit;
  small.rlim_cur = 100'000;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);

  LogCapture capture(loop);
  auto sink = capture.SinkFor(Options(dir / "full.log"));
  ASSERT_TRUE(sink.ok());
  auto pipe = capture.NewPipe(*sink);
  ASSERT_TRUE(pipe.ok());
  const std::string data = Stream(2'000'000);
  std::atomic<bool> writer_done{false};
  std::thread writer([&, fd = std::move(pipe).value()]() mutable {
    WriteAll(fd.get(), data);
    fd.reset();
    writer_done = true;
  });
  EXPECT_TRUE(RunUntil(loop, [&] { return (*sink)->in_trouble() && (*sink)->paused(); }));
  RunUntil(
      loop, [] { return false; }, 300ms);  // retries come and fail
  EXPECT_FALSE(writer_done);               // back-pressure: blocked in write(2)
  EXPECT_EQ(fs::file_size(dir / "full.log"), 100'000u);

  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &old_limit), 0);
  bool drained = RunUntil(loop, [&] { return capture.open_pipes() == 0; });
  writer.join();
  signal(SIGXFSZ, old_handler);
  ASSERT_TRUE(drained);
  EXPECT_FALSE((*sink)->in_trouble());
  EXPECT_EQ((*sink)->dropped_total(), 0u);
  EXPECT_TRUE(Slurp(dir / "full.log") == data);
}

TEST_F(LogCaptureTest, DropModeKeepsReadingAndCountsTheLoss) {
  LogCapture capture(loop);
  LogSinkOptions options = Options("/dev/full");
  options.drop_when_full = true;
  auto sink = capture.SinkFor(options);
  ASSERT_TRUE(sink.ok());
  auto pipe = capture.NewPipe(*sink);
  ASSERT_TRUE(pipe.ok());
  const std::string data = Stream(700'000);
  std::thread writer([&, fd = std::move(pipe).value()]() mutable {
    WriteAll(fd.get(), data);
    fd.reset();
  });
  bool drained = RunUntil(loop, [&] { return capture.open_pipes() == 0; });
  writer.join();
  ASSERT_TRUE(drained);
  EXPECT_EQ((*sink)->dropped_total(), data.size());
  EXPECT_TRUE((*sink)->in_trouble());
}

TEST_F(LogCaptureTest, FollowersSeeEveryByteWhileSubscribed) {
  LogCapture capture(loop);
  auto sink = capture.SinkFor(Options(dir / "f.log"));
  ASSERT_TRUE(sink.ok());
  auto pipe = capture.NewPipe(*sink);
  ASSERT_TRUE(pipe.ok());
  std::string seen;
  bool ended = false;
  auto subscription =
      (*sink)->Follow([&](std::string_view b) { seen.append(b); }, [&] { ended = true; });
  EXPECT_TRUE((*sink)->wants_copy());
  WriteAll(pipe->get(), "abc\n");
  ASSERT_TRUE(RunUntil(loop, [&] { return seen == "abc\n"; }));
  subscription.reset();
  EXPECT_FALSE((*sink)->wants_copy());
  WriteAll(pipe->get(), "def\n");
  ASSERT_TRUE(RunUntil(loop, [&] { return Slurp(dir / "f.log") == "abc\ndef\n"; }));
  EXPECT_EQ(seen, "abc\n");
  EXPECT_FALSE(ended);
}

TEST_F(LogCaptureTest, FollowerMayUnsubscribeItselfDuringDelivery) {
  LogCapture capture(loop);
  auto sink = capture.SinkFor(Options(dir / "g.log"));
  ASSERT_TRUE(sink.ok());
  std::shared_ptr<void> first, second;
  int calls = 0;
  first = (*sink)->Follow(
      [&](std::string_view) {
        ++calls;
        first.reset();
        second.reset();
      },
      nullptr);
  second = (*sink)->Follow([&](std::string_view) { ++calls; }, nullptr);
  (*sink)->Accept("x");
  (*sink)->Accept("y");
  EXPECT_EQ(calls, 1);
}

TEST_F(LogCaptureTest, OnePathOneSink) {
  LogCapture capture(loop);
  auto a = capture.SinkFor(Options(dir / "same.log", 100, 1));
  auto b = capture.SinkFor(Options(dir / "same.log", 200, 2));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->get(), b->get());
  EXPECT_EQ((*a)->file().options().max_bytes, 200u);
  EXPECT_FALSE(capture.SinkFor(Options(dir / "no/such/dir/x.log")).ok());
}

TEST_F(LogCaptureTest, ProcessLogsNamesAutoFilesAndMergesStderr) {
  LogCapture capture(loop);
  ProcessLogs logs(capture, "grp:web");
  config::Program program;
  program.name = "web";
  program.stderr_log.merge_into_stdout = true;
  ProcessLogs::SpawnPipes pipes;
  ASSERT_FALSE(logs.Prepare(program, dir.path(), &pipes).has_value());
  EXPECT_GE(pipes.stdout_fd, 0);
  EXPECT_EQ(pipes.stderr_fd, pipes.stdout_fd);
  EXPECT_TRUE(fs::exists(dir / "grp.web.stdout.log"));
  EXPECT_FALSE(fs::exists(dir / "grp.web.stderr.log"));
  auto stderr_sink = logs.Sink(program, dir.path(), LogStream::kStderr);
  ASSERT_TRUE(stderr_sink.ok());
  EXPECT_EQ((*stderr_sink)->path(), dir / "grp.web.stdout.log");

  program.stdout_log.file = "NONE";
  program.stderr_log = config::LogSpec{};
  ProcessLogs::SpawnPipes second;
  ASSERT_FALSE(logs.Prepare(program, dir.path(), &second).has_value());
  EXPECT_EQ(second.stdout_fd, -1);
  EXPECT_GE(second.stderr_fd, 0);
  EXPECT_TRUE(fs::exists(dir / "grp.web.stderr.log"));
  EXPECT_EQ(logs.Sink(program, dir.path(), LogStream::kStdout).status().code(),
            ErrorCode::kNotFound);

  program.stdout_log.file = dir / "missing/dir/out.log";
  ProcessLogs::SpawnPipes third;
  auto error = logs.Prepare(program, dir.path(), &third);
  ASSERT_TRUE(error.has_value());
  EXPECT_NE(error->ToString().find("stdout log: open " + dir / "missing/dir/out.log"),
            std::string::npos)
      << error->ToString();
}

TEST(LineStamper, StampsEachLineOnceAcrossPieces) {
  LineStamper stamper;
  std::tm tm{};
  tm.tm_year = 2024 - 1900;
  tm.tm_mon = 4;
  tm.tm_mday = 1;
  tm.tm_hour = 12;
  tm.tm_isdst = -1;
  auto t = std::chrono::system_clock::from_time_t(mktime(&tm)) + 42ms;
  EXPECT_EQ(stamper.Apply("a\nb", t), "2024-05-01 12:00:00.042 a\n2024-05-01 12:00:00.042 b");
  EXPECT_EQ(stamper.Apply("c\n", t), "c\n");
  EXPECT_EQ(stamper.Apply(std::string_view("\0\n", 2), t + 1s),
            std::string("2024-05-01 12:00:01.042 \0\n", 26));
  EXPECT_EQ(stamper.Apply("", t), "");
}

}  // namespace
}  // namespace warden
