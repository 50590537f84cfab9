#include "ctl/render.h"

#include <signal.h>
#include <stdlib.h>
#include <time.h>

#include <gtest/gtest.h>

namespace warden::ctl {
namespace {

using proto::ExitKind;
using proto::ProcessInfo;
using proto::ProcessState;

constexpr int64_t kNov14 = 1700000000000;  // 2023-11-14 22:13:20 UTC
constexpr uint64_t kMiB = 1024 * 1024;

// Stop times print in local time; pin the zone so the expectations hold anywhere.
class RenderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tz = getenv("TZ");
    saved_tz_ = tz ? std::optional<std::string>(tz) : std::nullopt;
    setenv("TZ", "UTC", 1);
    tzset();
  }
  void TearDown() override {
    if (saved_tz_) {
      setenv("TZ", saved_tz_->c_str(), 1);
    } else {
      unsetenv("TZ");
    }
    tzset();
  }

 private:
  std::optional<std::string> saved_tz_;
};

ProcessInfo Running(std::string name = "web") {
  ProcessInfo p;
  p.name = name;
  p.group = name;
  p.state = ProcessState::kRunning;
  p.pid = 4242;
  p.kernel_state = 'S';
  p.start_time_ms = kNov14 - 62000;
  p.uptime_ms = 62000;
  p.cpu_time_ms = 186;
  p.rss_bytes = static_cast<uint64_t>(12.1 * kMiB);
  return p;
}

ProcessInfo Stopped(std::string name = "web") {
  ProcessInfo p;
  p.name = name;
  p.group = name;
  p.state = ProcessState::kStopped;
  return p;
}

TEST(FormatUptime, HoursMinutesSecondsThenDays) {
  EXPECT_EQ(FormatUptime(0), "0:00:00");
  EXPECT_EQ(FormatUptime(999), "0:00:00");
  EXPECT_EQ(FormatUptime(62000), "0:01:02");
  EXPECT_EQ(FormatUptime(10 * 3600 * 1000ull + 5000), "10:00:05");
  EXPECT_EQ(FormatUptime(86399 * 1000ull), "23:59:59");
  EXPECT_EQ(FormatUptime(86400 * 1000ull), "1 day, 0:00:00");
  EXPECT_EQ(FormatUptime((86400 + 2 * 3600 + 3 * 60 + 4) * 1000ull), "1 day, 2:03:04");
  EXPECT_EQ(FormatUptime((3 * 86400 + 59) * 1000ull), "3 days, 0:00:59");
}

TEST(FormatBytes, BinaryUnitsOneDecimal) {
  EXPECT_EQ(FormatBytes(0), "0B");
  EXPECT_EQ(FormatBytes(1023), "1023B");
  EXPECT_EQ(FormatBytes(1024), "1.0K");
  EXPECT_EQ(FormatBytes(1536), "1.5K");
  EXPECT_EQ(FormatBytes(static_cast<uint64_t>(12.1 * kMiB)), "12.1M");
  EXPECT_EQ(FormatBytes(kMiB - 1), "1.0M");  // not "1024.0K"
  EXPECT_EQ(FormatBytes(2 * 1024 * kMiB), "2.0G");
}

TEST(FormatCpuPercent, AverageOverUptime) {
  EXPECT_EQ(FormatCpuPercent(186, 62000), "0.3%");
  EXPECT_EQ(FormatCpuPercent(0, 62000), "0.0%");
  EXPECT_EQ(FormatCpuPercent(500, 0), "0.0%");
  EXPECT_EQ(FormatCpuPercent(124000, 62000), "200.0%");  // two busy threads
}

TEST_F(RenderTest, StopTimeIsIsoStyleWithA24HourClock) {
  EXPECT_EQ(FormatStopTime(kNov14), "2023-11-14 22:13:20");
  EXPECT_EQ(FormatStopTime(kNov14 - 12 * 3600 * 1000), "2023-11-14 10:13:20");
  EXPECT_EQ(FormatStopTime(0), "1970-01-01 00:00:00");
}

TEST(ExitDescription, CodeOrSignal) {
  EXPECT_EQ(ExitDescription(ExitKind::kExited, 0), "exit status 0");
  EXPECT_EQ(ExitDescription(ExitKind::kExited, 3), "exit status 3");
  EXPECT_EQ(ExitDescription(ExitKind::kSignaled, SIGKILL), "terminated by SIGKILL");
  EXPECT_EQ(ExitDescription(ExitKind::kNone, 0), "");
}

TEST(Describe, RunningShowsPidUptimeStateCpuRss) {
  EXPECT_EQ(Describe(Running()), "pid 4242, uptime 0:01:02, state S, cpu 0.3%, rss 12.1M");
}

TEST(Describe, RunningWithoutProcInfoLeavesOutStateCpuRss) {
  ProcessInfo p = Running();
  p.kernel_state = 0;
  EXPECT_EQ(Describe(p), "pid 4242, uptime 0:01:02");
}

TEST(Describe, ChildrenAndZombies) {
  ProcessInfo p = Running();
  p.children = {{100, 'S'}, {101, 'R'}};
  EXPECT_EQ(Describe(p), "pid 4242, uptime 0:01:02, state S, cpu 0.3%, rss 12.1M, children 2");
  p.children.push_back({102, 'Z'});
  p.children.push_back({103, 'Z'});
  EXPECT_EQ(Describe(p),
            "pid 4242, uptime 0:01:02, state S, cpu 0.3%, rss 12.1M, children 4 (Z: 2)");
}

TEST(Describe, StartingAndStoppingWithAPidLookLikeRunning) {
  ProcessInfo p = Running();
  p.state = ProcessState::kStarting;
  EXPECT_EQ(Describe(p), "pid 4242, uptime 0:01:02, state S, cpu 0.3%, rss 12.1M");
  p.state = ProcessState::kStopping;
  p.kernel_state = 'Z';
  EXPECT_EQ(Describe(p), "pid 4242, uptime 0:01:02, state Z, cpu 0.3%, rss 12.1M");
}

TEST(Describe, StartingWithoutAPidShowsTheReason) {
  ProcessInfo p = Stopped();
  p.state = ProcessState::kStarting;
  p.reason = "waiting for db";
  EXPECT_EQ(Describe(p), "waiting for db");
}

TEST_F(RenderTest, StoppedSaysWhenOrNotStarted) {
  ProcessInfo p = Stopped();
  EXPECT_EQ(Describe(p), "Not started");
  p.start_time_ms = kNov14 - 1000;
  p.stop_time_ms = kNov14;
  EXPECT_EQ(Describe(p), "2023-11-14 22:13:20");
  p.reason = "stopped by request";
  EXPECT_EQ(Describe(p), "stopped by request, 2023-11-14 22:13:20");
}

TEST_F(RenderTest, ExitedSaysWhyAndWhen) {
  ProcessInfo p = Stopped();
  p.state = ProcessState::kExited;
  p.start_time_ms = kNov14 - 5000;
  p.stop_time_ms = kNov14;
  p.exit_kind = ExitKind::kExited;
  p.exit_value = 1;
  EXPECT_EQ(Describe(p), "exit status 1, 2023-11-14 22:13:20");
  p.exit_kind = ExitKind::kSignaled;
  p.exit_value = SIGSEGV;
  EXPECT_EQ(Describe(p), "terminated by SIGSEGV, 2023-11-14 22:13:20");
  p.reason = "terminated by SIGSEGV";  // wardend's reason is the exit itself: said once
  EXPECT_EQ(Describe(p), "terminated by SIGSEGV, 2023-11-14 22:13:20");
  p.reason = "Exited too quickly (process log may have details)";
  EXPECT_EQ(Describe(p),
            "Exited too quickly (process log may have details), terminated by SIGSEGV, "
            "2023-11-14 22:13:20");
}

TEST(Describe, FatalAndBackoffShowTheReason) {
  ProcessInfo p = Stopped();
  p.state = ProcessState::kFatal;
  p.reason = "exec /usr/bin/nope: No such file or directory";
  EXPECT_EQ(Describe(p), "exec /usr/bin/nope: No such file or directory");
  p.reason.clear();
  EXPECT_EQ(Describe(p), "unknown error (try \"tail web\")");
  p.state = ProcessState::kBackoff;
  p.group = "webapps";
  EXPECT_EQ(Describe(p), "unknown error (try \"tail webapps:web\")");
}

TEST(Describe, BackoffSaysWhenTheNextTryIs) {
  ProcessInfo p = Stopped();
  p.state = ProcessState::kBackoff;
  p.reason = "exit status 1";
  p.retry_in_ms = 4250;
  EXPECT_EQ(Describe(p), "exit status 1, next try in 4.2s");
  p.retry_in_ms = 0;  // due now
  EXPECT_EQ(Describe(p), "exit status 1");
  nlohmann::ordered_json json = StatusJson({p});
  EXPECT_EQ(json[0]["retry_in_s"], 0.0);
  p.state = ProcessState::kFatal;
  EXPECT_TRUE(StatusJson({p})[0]["retry_in_s"].is_null());
  p.retry_in_ms = 299900;  // fatal_retry pending
  EXPECT_EQ(Describe(p), "exit status 1, next try in 299.9s");
  EXPECT_EQ(StatusJson({p})[0]["retry_in_s"], 299.9);
}

TEST(Describe, RestartsFollowALiveDescription) {
  ProcessInfo p = Running();
  p.restarts = 3;
  EXPECT_EQ(Describe(p), "pid 4242, uptime 0:01:02, state S, cpu 0.3%, rss 12.1M, restarts 3");
}

TEST(FitLine, CutsToTheColumnsWithAnEllipsis) {
  std::string line = "web   RUNNING   pid 4242, uptime 0:01:02";
  FitLine(&line, 0);
  EXPECT_EQ(line, "web   RUNNING   pid 4242, uptime 0:01:02") << "0: no limit";
  FitLine(&line, 80);
  EXPECT_EQ(line, "web   RUNNING   pid 4242, uptime 0:01:02") << "fits";
  FitLine(&line, 25);
  EXPECT_EQ(line, "web   RUNNING   pid 4242\u2026");
  EXPECT_EQ(VisibleWidth(line), 25u);
}

TEST(FitLine, ColourTakesNoColumns) {
  const std::string colored = "web  \033[32mRUNNING\033[0m   pid 4242, uptime 0:01:02";
  EXPECT_EQ(VisibleWidth(colored), 39u);
  std::string line = colored;
  FitLine(&line, 39);
  EXPECT_EQ(line, colored);
  FitLine(&line, 9);
  EXPECT_EQ(line, "web  \033[32mRUN\033[0m\u2026") << "a colour cut short is closed";
  EXPECT_EQ(VisibleWidth(line), 9u);
}

TEST(Describe, StatusTextFromNotifyEndsALiveDescription) {
  ProcessInfo p = Running();
  p.status_text = "Listening on :8080";
  EXPECT_EQ(Describe(p),
            "pid 4242, uptime 0:01:02, state S, cpu 0.3%, rss 12.1M, status: Listening on :8080");
  EXPECT_EQ(StatusJson({p})[0]["status_text"], "Listening on :8080");
  p.status_text.clear();
  EXPECT_TRUE(StatusJson({p})[0]["status_text"].is_null());
}

TEST(Describe, AReasonOfALiveProcessEndsItsDescription) {
  ProcessInfo p = Running();
  p.restarts = 1;
  p.reason = "restarted: memory 212M over memory_limit 200M";
  EXPECT_EQ(Describe(p),
            "pid 4242, uptime 0:01:02, state S, cpu 0.3%, rss 12.1M, restarts 1, restarted: memory "
            "212M over memory_limit 200M");
  EXPECT_EQ(StatusJson({p})[0]["reason"], "restarted: memory 212M over memory_limit 200M");
}

TEST(StatusLine, SupervisorctlShape) {
  ProcessInfo p = Running();
  std::vector<ProcessInfo> list = {p};
  EXPECT_EQ(NameColumnWidth(list), 33u);
  EXPECT_EQ(StatusLine(p, 33),
            "web                              RUNNING   "
            "pid 4242, uptime 0:01:02, state S, cpu 0.3%, rss 12.1M");
  std::string line = StatusLine(p, 33);
  EXPECT_EQ(line.substr(33, 7), "RUNNING");
  EXPECT_EQ(line.substr(43, 3), "pid");
}

TEST(StatusLine, NoTrailingBlanksWhenTheDescriptionIsEmpty) {
  ProcessInfo p = Stopped();
  p.state = ProcessState::kUnknown;
  EXPECT_EQ(StatusLine(p, 33), "web                              UNKNOWN");
}

TEST(StatusLines, NameColumnFollowsTheLongestFullName) {
  ProcessInfo a = Running("web");
  ProcessInfo b = Stopped("a_very_long_process_name_00");
  b.group = "a_rather_long_group";  // full name: 47 characters
  std::vector<ProcessInfo> list = {a, b};
  const size_t width = b.FullName().size() + 3;
  EXPECT_EQ(NameColumnWidth(list), width);
  std::vector<std::string> lines = StatusLines(list);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].substr(0, width), "web" + std::string(width - 3, ' '));
  EXPECT_EQ(lines[0].substr(width, 10), "RUNNING   ");
  EXPECT_EQ(lines[1].substr(0, width), b.FullName() + "   ");
  EXPECT_EQ(lines[1].substr(width), "STOPPED   Not started");
}

TEST(StatusLine, AppendedLinesMatchStatusLine) {
  // AppendStatusLine trims only its own line's trailing blanks, never into the text before it.
  ProcessInfo unknown = Stopped();
  unknown.state = ProcessState::kUnknown;
  ProcessInfo fatal = Stopped("db");
  fatal.state = ProcessState::kFatal;
  ProcessInfo grouped = Running("web_00");
  grouped.group = "web";
  std::vector<ProcessInfo> list = {Running(), unknown, fatal, grouped, Stopped("a")};
  const size_t width = NameColumnWidth(list);
  EXPECT_EQ(NameColumnWidthFor(grouped.FullName().size()), 33u);
  EXPECT_EQ(NameColumnWidthFor(40), 43u);
  for (bool color : {false, true}) {
    std::string text = "  ";
    std::string expected = "  ";
    for (const ProcessInfo& p : list) {
      EXPECT_EQ(FullNameSize(p), p.FullName().size());
      AppendStatusLine(&text, p, width, color);
      expected += StatusLine(p, width, color);
    }
    EXPECT_EQ(text, expected);
  }
  std::string blank = " ";
  ProcessInfo nameless = unknown;
  nameless.name = nameless.group = "";
  AppendStatusLine(&blank, nameless, 0);
  EXPECT_EQ(blank, " UNKNOWN");
}

TEST(StatusExitCode, FromWhatAStreamShowed) {
  EXPECT_EQ(StatusExitCode(false, true), kExitOk);
  EXPECT_EQ(StatusExitCode(false, false), kExitNotRunning);
  EXPECT_EQ(StatusExitCode(true, true), kExitNoSuchProcess);
  EXPECT_EQ(StatusExitCode(true, false), kExitNoSuchProcess);
}

TEST(StatusLines, ShortNamesStillGetThirtyThreeColumns) {
  std::vector<ProcessInfo> list = {Stopped("a"), Stopped("bb")};
  std::vector<std::string> lines = StatusLines(list);
  EXPECT_EQ(lines[0], "a" + std::string(32, ' ') + "STOPPED   Not started");
  EXPECT_EQ(lines[1], "bb" + std::string(31, ' ') + "STOPPED   Not started");
  EXPECT_TRUE(StatusLines({}).empty());
}

TEST(StatusLine, ColourWrapsOnlyTheStateWord) {
  ProcessInfo p = Running();
  std::string plain = StatusLine(p, 33);
  std::string coloured = StatusLine(p, 33, true);
  EXPECT_EQ(coloured, "web" + std::string(30, ' ') + "\033[32mRUNNING\033[0m   " +
                          "pid 4242, uptime 0:01:02, state S, cpu 0.3%, rss 12.1M");
  // Without the escapes the line is the plain one: the columns still line up.
  std::string stripped = coloured;
  for (const char* sgr : {"\033[32m", "\033[0m"}) {
    stripped.erase(stripped.find(sgr), std::string(sgr).size());
  }
  EXPECT_EQ(stripped, plain);
  EXPECT_EQ(StatusLines({p}, false)[0], plain);
  EXPECT_EQ(StatusLines({p}, true)[0], coloured);
}

TEST(StatusLine, StoppedIsPlainEvenWithColour) {
  ProcessInfo p = Stopped();
  EXPECT_EQ(StatusLine(p, 33, true), StatusLine(p, 33));
  EXPECT_STREQ(StateColor(ProcessState::kFatal), "\033[1;31m");
  EXPECT_STREQ(StateColor(ProcessState::kBackoff), "\033[33m");
  EXPECT_STREQ(StateColor(ProcessState::kStopped), "");
}

TEST(ColorWanted, TerminalOnlyAndNoColorWins) {
  EXPECT_TRUE(ColorWanted(true, false, nullptr, "xterm"));
  EXPECT_TRUE(ColorWanted(true, false, "", nullptr));  // NO_COLOR set but empty: ignored
  EXPECT_FALSE(ColorWanted(false, false, nullptr, "xterm"));
  EXPECT_FALSE(ColorWanted(true, true, nullptr, "xterm"));
  EXPECT_FALSE(ColorWanted(true, false, "1", "xterm"));
  EXPECT_FALSE(ColorWanted(true, false, nullptr, "dumb"));
}

TEST(NoSuchProcessLine, SupervisorctlWords) {
  EXPECT_EQ(NoSuchProcessLine("nope"), "nope: ERROR (no such process)");
}

TEST(StatusJson, RunningProcess) {
  ProcessInfo p = Running();
  p.group = "webapps";
  p.restarts = 2;
  p.children = {{100, 'Z'}, {101, 0}};
  nlohmann::ordered_json j = StatusJson({p});
  ASSERT_TRUE(j.is_array());
  ASSERT_EQ(j.size(), 1u);
  const nlohmann::ordered_json& o = j[0];
  EXPECT_EQ(o["name"], "webapps:web");
  EXPECT_EQ(o["group"], "webapps");
  EXPECT_EQ(o["state"], "RUNNING");
  EXPECT_EQ(o["pid"], 4242);
  EXPECT_EQ(o["kernel_state"], "S");
  EXPECT_DOUBLE_EQ(o["uptime_s"].get<double>(), 62.0);
  EXPECT_EQ(o["restarts"], 2);
  EXPECT_TRUE(o["exit_status"].is_null());
  EXPECT_TRUE(o["exit_signal"].is_null());
  EXPECT_EQ(o["description"], Describe(p));
  EXPECT_DOUBLE_EQ(o["start_time"].get<double>(), 1699999938.0);
  EXPECT_TRUE(o["stop_time"].is_null());
  EXPECT_DOUBLE_EQ(o["cpu_time_s"].get<double>(), 0.186);
  EXPECT_EQ(o["rss_bytes"], p.rss_bytes);
  ASSERT_EQ(o["children"].size(), 2u);
  EXPECT_EQ(o["children"][0]["pid"], 100);
  EXPECT_EQ(o["children"][0]["kernel_state"], "Z");
  EXPECT_TRUE(o["children"][1]["kernel_state"].is_null());
  EXPECT_EQ(o["reason"], "");
}

TEST(StatusJson, StoppedProcessHasNulls) {
  nlohmann::ordered_json o = StatusJson({Stopped()})[0];
  EXPECT_EQ(o["name"], "web");
  EXPECT_EQ(o["state"], "STOPPED");
  EXPECT_TRUE(o["pid"].is_null());
  EXPECT_TRUE(o["kernel_state"].is_null());
  EXPECT_TRUE(o["start_time"].is_null());
  EXPECT_TRUE(o["stop_time"].is_null());
  EXPECT_TRUE(o["exit_status"].is_null());
  EXPECT_EQ(o["description"], "Not started");
  EXPECT_TRUE(o["children"].is_array());
  EXPECT_TRUE(o["children"].empty());
}

TEST(StatusJson, ExitCodeOrSignal) {
  ProcessInfo p = Stopped();
  p.state = ProcessState::kExited;
  p.stop_time_ms = kNov14;
  p.exit_kind = ExitKind::kExited;
  p.exit_value = 3;
  nlohmann::ordered_json o = StatusJson({p})[0];
  EXPECT_EQ(o["exit_status"], 3);
  EXPECT_TRUE(o["exit_signal"].is_null());
  EXPECT_DOUBLE_EQ(o["stop_time"].get<double>(), 1700000000.0);

  p.exit_kind = ExitKind::kSignaled;
  p.exit_value = SIGKILL;
  o = StatusJson({p})[0];
  EXPECT_TRUE(o["exit_status"].is_null());
  EXPECT_EQ(o["exit_signal"], SIGKILL);
  EXPECT_TRUE(StatusJson({}).is_array());
  EXPECT_EQ(StatusJson({}).dump(), "[]");
}

TEST(StatusExitCode, ZeroThreeFour) {
  proto::StatusReply reply;
  EXPECT_EQ(StatusExitCode(reply), kExitOk);  // nothing configured, nothing wrong
  reply.processes = {Running("a"), Running("b")};
  EXPECT_EQ(StatusExitCode(reply), kExitOk);
  ProcessInfo starting = Running("c");
  starting.state = ProcessState::kStarting;
  reply.processes.push_back(starting);
  EXPECT_EQ(StatusExitCode(reply), kExitNotRunning);  // spec: anything but RUNNING
  reply.processes = {Running("a"), Stopped("b")};
  EXPECT_EQ(StatusExitCode(reply), kExitNotRunning);
  reply.unknown_names = {"nope"};
  EXPECT_EQ(StatusExitCode(reply), kExitNoSuchProcess);  // no such process wins
  reply.processes = {Running("a")};
  EXPECT_EQ(StatusExitCode(reply), kExitNoSuchProcess);
}

proto::ActionResult Result(std::string name, ErrorCode code = ErrorCode::kOk,
                           std::string message = "") {
  proto::ActionResult r;
  r.name = std::move(name);
  r.code = code;
  r.message = std::move(message);
  return r;
}

TEST(ActionLines, SupervisorctlWords) {
  proto::ActionReply reply;
  reply.results = {Result("web"), Result("nope", ErrorCode::kNotFound),
                   Result("api", ErrorCode::kSpawnError, "exec: No such file or directory"),
                   Result("db", ErrorCode::kAlreadyStarted, "already started")};
  EXPECT_EQ(ActionLines(CommandKind::kStart, reply),
            (std::vector<std::string>{"web: started", "nope: ERROR (no such process)",
                                      "api: ERROR (spawn error: exec: No such file or directory)",
                                      "db: ERROR (already started)"}));
  reply.results = {Result("web"), Result("x:y", ErrorCode::kNotRunning)};
  EXPECT_EQ(ActionLines(CommandKind::kStop, reply),
            (std::vector<std::string>{"web: stopped", "x:y: ERROR (not running)"}));
  EXPECT_EQ(ActionLines(CommandKind::kSignal, reply),
            (std::vector<std::string>{"web: signalled", "x:y: ERROR (not running)"}));
}

TEST(ActionLines, RestartPrintsStoppedThenStarted) {
  proto::ActionReply reply;
  reply.results = {Result("web"), Result("api", ErrorCode::kAbnormalTermination)};
  EXPECT_EQ(ActionLines(CommandKind::kRestart, reply),
            (std::vector<std::string>{"web: stopped", "web: started",
                                      "api: ERROR (abnormal termination)"}));
}

TEST(ActionJson, OneObjectPerResult) {
  proto::ActionReply reply;
  reply.results = {Result("web"), Result("api", ErrorCode::kSpawnError, "exec: EACCES")};
  nlohmann::ordered_json j = ActionJson(CommandKind::kRestart, reply);
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[0]["name"], "web");
  EXPECT_EQ(j[0]["ok"], true);
  EXPECT_EQ(j[0]["result"], "restarted");
  EXPECT_TRUE(j[0]["error"].is_null());
  EXPECT_EQ(j[1]["ok"], false);
  EXPECT_TRUE(j[1]["result"].is_null());
  EXPECT_EQ(j[1]["error"], "spawn error");
  EXPECT_EQ(j[1]["message"], "exec: EACCES");
}

TEST(ActionExitCode, ZeroOneFour) {
  proto::ActionReply reply;
  reply.results = {Result("web"), Result("api")};
  EXPECT_EQ(ActionExitCode(reply), kExitOk);
  reply.results.push_back(Result("db", ErrorCode::kSpawnError));
  EXPECT_EQ(ActionExitCode(reply), kExitFailure);
  reply.results.push_back(Result("nope", ErrorCode::kNotFound));
  EXPECT_EQ(ActionExitCode(reply), kExitNoSuchProcess);
  reply.results = {Result("nope", ErrorCode::kNotFound), Result("db", ErrorCode::kSpawnError)};
  EXPECT_EQ(ActionExitCode(reply), kExitNoSuchProcess);
}

TEST(ErrorText, WordFirstThenDetail) {
  EXPECT_EQ(ErrorText(ErrorCode::kNotFound, ""), "ERROR (no such process)");
  EXPECT_EQ(ErrorText(ErrorCode::kNotFound, "no such process"), "ERROR (no such process)");
  EXPECT_EQ(ErrorText(ErrorCode::kSpawnError, "spawn error: exec: No such file or directory"),
            "ERROR (spawn error: exec: No such file or directory)");
  EXPECT_EQ(ErrorText(ErrorCode::kSpawnError, "spawn errors galore"),
            "ERROR (spawn error: spawn errors galore)");
  EXPECT_EQ(ErrorText(ErrorCode::kShuttingDown, "wardend is stopping"),
            "ERROR (shutting down: wardend is stopping)");
}

}  // namespace
}  // namespace warden::ctl
